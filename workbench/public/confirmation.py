"""The customer's visit confirmation page: `GET /c/{token}` shows it, `POST` confirms once."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath

from mobile_contracts.v1.tasks import Location
from workbench.customers.views import masked_name
from workbench.http.auth import CUSTOMER_PAGE
from workbench.http.deps import Db
from workbench.public.pages import message, page
from workbench.tasks import confirmation
from workbench.tasks.confirmation import LinkState

_STATE_PAGES = {
    LinkState.INVALID: ("链接无效", "该确认链接无效或不完整，请让客户经理重新生成二维码。", 404),
    LinkState.EXPIRED: ("二维码已过期", "该确认二维码已过期，请让客户经理重新生成。", 410),
    LinkState.USED: ("已确认", "本次拜访已确认，感谢您的配合。", 410),
    LinkState.CLOSED: ("无需确认", "该任务已不需要确认，如有疑问请联系您的客户经理。", 410),
}
# Fills the hidden location fields if the customer allows it; confirming works without.
_LOCATE = (
    "if(navigator.geolocation){navigator.geolocation.getCurrentPosition(function(p){"
    "document.getElementById('lat').value=p.coords.latitude;"
    "document.getElementById('lng').value=p.coords.longitude;},function(){},{timeout:8000});}"
)


def _refused(state: LinkState, bank: str) -> Response[str]:
    title, text, status = _STATE_PAGES[state]
    return message(title, text, bank=bank, status=status)


@get("/c/{token:str}", operation_id="confirmationPage", opt=CUSTOMER_PAGE,
     tags=["public"], include_in_schema=False)  # fmt: skip
async def show(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """A masked summary of the visit and a confirm button; opening it changes nothing."""
    state_ = request.app.state
    bank = state_.settings.bank_name
    state, row = await confirmation.open_link(db, token=token)
    if state is not LinkState.OPEN or row is None:
        return _refused(state, bank)
    customer = "—"
    if row["customer_id"] is not None:
        customer = await masked_name(db, vault=state_.vault, customer_id=row["customer_id"])
    expires = row["expires_at"].astimezone(ZoneInfo(state_.settings.bank_timezone))
    body = (
        "<p>请确认您的客户经理已为您提供本次服务：</p>"
        f"<p>事项：{escape(row['title'])}<br>客户：{escape(customer)}</p>"
        '<form method="post"><input type="hidden" id="lat" name="lat">'
        '<input type="hidden" id="lng" name="lng">'
        '<button type="submit">确认本次拜访</button></form>'
        f'<p class="note">二维码 {expires:%H:%M} 前有效，仅可确认一次。</p>'
    )
    return page("拜访确认", body, bank=bank, rm_name=row["rm_name"], script=_LOCATE)


@post("/c/{token:str}", operation_id="confirmationSubmit", opt=CUSTOMER_PAGE,
      tags=["public"], include_in_schema=False, request_max_body_size=2048)  # fmt: skip
async def submit(
    request: Request[Any, Any, Any],
    db: Db,
    token: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[str]:
    """Confirm the visit: the task is done and the RM is notified. Only the first confirm counts."""
    state_ = request.app.state
    bank = state_.settings.bank_name
    state, row = await confirmation.open_link(db, token=token, lock=True)
    if state is not LinkState.OPEN or row is None:
        return _refused(state, bank)
    await confirmation.confirm(
        db,
        vault=state_.vault,
        row=row,
        customer_location=_location(data),
        radius_m=state_.settings.confirmation_radius_m,
        tz=state_.settings.bank_timezone,
    )
    return message("确认成功", "感谢您的确认，祝您生活愉快。", bank=bank, status=200)


def _location(data: dict[str, str]) -> Location | None:
    try:
        lat, lng = float(data.get("lat", "")), float(data.get("lng", ""))
    except ValueError:
        return None
    if -90 <= lat <= 90 and -180 <= lng <= 180:
        return Location(lat=lat, lng=lng)
    return None


ROUTES = [show, submit]
