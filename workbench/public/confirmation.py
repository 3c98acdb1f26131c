"""The customer's visit confirmation page: `GET /c/{token}` shows it, `POST` confirms once and
sends the browser to the result at `GET /c/{token}/done` (Post/Redirect/Get: a reload or the
back button never posts again). HEAD answers as GET, without side effects."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, post, route
from litestar.enums import HttpMethod, RequestEncodingType
from litestar.params import Body, FromPath

from mobile_contracts.v1.tasks import Location
from workbench.customers.views import masked_name
from workbench.http.auth import CUSTOMER_PAGE
from workbench.http.deps import Db
from workbench.public.pages import message, page, valid_until
from workbench.tasks import confirmation
from workbench.tasks.confirmation import LinkState

_STATE_PAGES = {
    LinkState.INVALID: ("链接无效", "该确认链接无效或不完整，请让客户经理重新生成二维码。", 404),
    LinkState.EXPIRED: ("二维码已过期", "该确认二维码已过期，请让客户经理重新生成。", 410),
    LinkState.USED: ("已确认", "本次拜访已确认，感谢您的配合。", 410),
    LinkState.REPLACED: (
        "二维码已失效",
        "此二维码已被新的二维码取代，请扫描客户经理出示的最新二维码。",
        410,
    ),
    LinkState.CLOSED: ("无需确认", "该任务已不需要确认，如有疑问请联系您的客户经理。", 410),
}
DONE = ("确认成功", "本次拜访已确认，感谢您的配合，祝您生活愉快。")
# The location is asked for only when the customer ticks the box (the box is shown only with a
# script: without one there is no location to send); confirming works without it.
_LOCATE = (
    "var box=document.getElementById('locate'),say=document.getElementById('locate-state'),"
    "lat=document.getElementById('lat'),lng=document.getElementById('lng');"
    "if(navigator.geolocation){document.getElementById('locate-row').hidden=false;"
    "box.addEventListener('change',function(){lat.value='';lng.value='';"
    "if(!box.checked){say.textContent='';return;}say.textContent='正在获取位置…';"
    "navigator.geolocation.getCurrentPosition(function(p){if(!box.checked){return;}"
    "lat.value=p.coords.latitude;lng.value=p.coords.longitude;say.textContent='已获取位置';},"
    "function(){box.checked=false;say.textContent='未能获取位置，您仍可直接确认';},"
    "{timeout:8000});});}"
)
# One confirmation per tap, as the verification and survey pages send their forms: a second tap
# while the first is on its way sends nothing, and the button says so (disabled, "正在提交…",
# after the submit event: a button disabled before it would send nothing). The button comes back
# when the page is shown again (the back button, a page kept in memory). Without a script the
# form posts as ever.
_SEND_ONCE = (
    ";(function(){var f=document.getElementById('confirm'),b=document.getElementById('send'),"
    "sending=false;if(!f||!b){return;}"
    "f.addEventListener('submit',function(e){if(sending){e.preventDefault();return;}"
    "sending=true;setTimeout(function(){b.disabled=true;b.textContent='正在提交…';},0);});"
    "window.addEventListener('pageshow',function(){sending=false;b.disabled=false;"
    "b.textContent='确认本次拜访';});})();"
)
_HEAD_OR_GET = [HttpMethod.GET, HttpMethod.HEAD]


def _refused(state: LinkState, bank: str) -> Response[str]:
    title, text, status = _STATE_PAGES[state]
    return message(title, text, bank=bank, status=status)


@route("/c/{token:str}", http_method=_HEAD_OR_GET, operation_id="confirmationPage",
       opt=CUSTOMER_PAGE, tags=["public"], include_in_schema=False)  # fmt: skip
async def show(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """What the visit is (the RM, the day, the customer masked) and a confirm button; opening it
    changes nothing."""
    state_ = request.app.state
    bank = state_.settings.bank_name
    state, row = await confirmation.open_link(db, token=token)
    if state is not LinkState.OPEN or row is None:
        return _refused(state, bank)
    customer = "—"
    if row["customer_id"] is not None:
        customer = await masked_name(db, vault=state_.vault, customer_id=row["customer_id"])
    tz = state_.settings.bank_timezone
    today = datetime.now(UTC).astimezone(ZoneInfo(tz))
    body = (
        f"<p>请确认客户经理 {escape(row['rm_name'])} 今天与您会面、为您提供了服务：</p>"
        f"<p>拜访日期：{today.year}年{today.month}月{today.day}日<br>"
        f"客户经理：{escape(row['rm_name'])}<br>客户：{escape(customer)}</p>"
        '<form method="post" id="confirm"><input type="hidden" id="lat" name="lat">'
        '<input type="hidden" id="lng" name="lng">'
        '<div id="locate-row" class="locate" hidden>'
        '<label class="check"><input type="checkbox" id="locate"> 同时共享我当前的位置</label>'
        '<p class="note">位置仅用于帮助银行核实本次拜访确实发生；不共享也可以确认。'
        '<span id="locate-state" class="state" role="status"></span></p></div>'
        '<button id="send" type="submit">确认本次拜访</button></form>'
        f'<p class="note">二维码{valid_until(row["expires_at"], tz)}，仅可确认一次。</p>'
    )
    return page("拜访确认", body, bank=bank, rm_name=row["rm_name"], script=_LOCATE + _SEND_ONCE)


@post("/c/{token:str}", operation_id="confirmationSubmit", opt=CUSTOMER_PAGE,
      tags=["public"], include_in_schema=False, request_max_body_size=2048)  # fmt: skip
async def submit(
    request: Request[Any, Any, Any],
    db: Db,
    token: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[str]:
    """Confirm the visit: the task is done and the RM is notified. Only the first confirm counts.
    Answers 303 to the result page (its body says the same, for a client that does not follow)."""
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
    return message(*DONE, bank=bank, status=303, headers={"Location": f"/c/{token}/done"})


@route("/c/{token:str}/done", http_method=_HEAD_OR_GET, operation_id="confirmationDone",
       opt=CUSTOMER_PAGE, tags=["public"], include_in_schema=False)  # fmt: skip
async def done(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """The result of confirming: it says only what the link's own page says once confirmed.
    Before a confirmation, back to the page."""
    bank = request.app.state.settings.bank_name
    state, _ = await confirmation.open_link(db, token=token)
    if state is LinkState.USED:
        return message(*DONE, bank=bank, status=200)
    if state is LinkState.OPEN:
        return message("拜访确认", "请先确认本次拜访。", bank=bank, status=303,
                       headers={"Location": f"/c/{token}"})  # fmt: skip
    return _refused(state, bank)


def _location(data: dict[str, str]) -> Location | None:
    try:
        lat, lng = float(data.get("lat", "")), float(data.get("lng", ""))
    except ValueError:
        return None
    if -90 <= lat <= 90 and -180 <= lng <= 180:
        return Location(lat=lat, lng=lng)
    return None


ROUTES = [show, submit, done]
