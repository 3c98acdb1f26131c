"""Public routes of share tracking: the viewer page `GET /s/{code}` and beacons `POST /t`."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post, route
from litestar.enums import HttpMethod, RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_204_NO_CONTENT

from mobile_contracts.v1.tracking import Beacon
from workbench.console.csrf import same_origin
from workbench.errors import DomainError, NotFound
from workbench.http.auth import CUSTOMER_PAGE, PUBLIC
from workbench.http.client_ip import client_ip
from workbench.http.deps import Db
from workbench.public.pages import message, not_found_page
from workbench.tracking import beacons, viewer

_CODE = re.compile(r"^[0-9A-Za-z]{8,12}\Z")  # \Z: `$` also matches before a final "\n"


@route("/s/{code:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD],
       operation_id="shareViewer", opt=CUSTOMER_PAGE, tags=["public"],
       include_in_schema=False)  # fmt: skip
async def share_page(request: Request[Any, Any, Any], db: Db, code: FromPath[str]) -> Response[str]:
    """The shared brochure for the customer; showing it counts nothing (beacons do)."""
    bank = request.app.state.settings.bank_name
    looked = await _look(request, db, code)
    if looked.shown is None:
        return _unavailable(looked, bank)
    base_url = request.app.state.settings.public_base_url
    return viewer.render(looked.shown, bank=bank, base_url=base_url)


@get("/s/{code:str}/pages", operation_id="shareViewerPages", opt={PUBLIC: True},
     tags=["public"], include_in_schema=False)  # fmt: skip
async def share_pages(
    request: Request[Any, Any, Any], db: Db, code: FromPath[str]
) -> Response[Any]:
    """Fresh signed URLs of the share's page images, for a viewer page left open past their
    expiry: as scoped as the page (the code; the brochure live now), counts nothing. A share
    that is not live answers as the API does, problem+json: 410 `share.gone` (its brochure
    withdrawn or past its window, or made for a customer the bank closed since: the detail
    says the brochure's words, as the page, telling a visitor nothing of the customer), 404
    `share.not_found` (no such code)."""
    looked = await _look(request, db, code)
    if looked.shown is None:
        error = ShareGone() if looked.found is viewer.Found.GONE else NotFound("share")
        error.headers = dict(_NO_STORE)
        raise error
    return Response(viewer.page_urls(looked.shown), headers=_NO_STORE)


class ShareGone(DomainError):
    status, code, title = 410, "share.gone", "The shared brochure is no longer live"

    def __init__(self) -> None:
        super().__init__("The shared brochure was withdrawn or is past its window")


@post("/s/{code:str}/contact", operation_id="shareViewerContact", opt=CUSTOMER_PAGE,
      tags=["public"], include_in_schema=False, status_code=303,
      request_max_body_size=1024)  # fmt: skip
async def contact(
    request: Request[Any, Any, Any],
    db: Db,
    code: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[str]:
    """The button "我有兴趣，请联系我" without a script: the beacons the page's script would send,
    through the same stream (the worker counts them once, labels bots alike and tells the RM);
    303 to the result page (Post/Redirect/Get: going forward to it again or reloading it asks
    the browser to post nothing again; the body says the same, for a client that does not
    follow). Only from a page of this site (`_from_elsewhere`): a post from another site's page
    is refused (403) and records nothing; one with neither `Origin` nor `Referer` (an old
    browser) is taken."""
    state = request.app.state
    bank = state.settings.bank_name
    if _from_elsewhere(request):
        return message("无法提交", "请在资料页面上点击按钮。", bank=bank, status=403)
    looked = await _look(request, db, code)
    if looked.shown is None:
        return _unavailable(looked, bank)
    visitor = _visitor(request.cookies.get("wb_vid"), data.get("v"))
    door: beacons.Door = state.beacon_door
    ip = client_ip(request.scope, state.trusted_networks)
    user_agent = request.headers.get("user-agent", "")
    for beacon_ in viewer.contact_beacons(looked.shown.code, visitor):
        await door.append(beacon=beacon_, ip=ip, user_agent=user_agent)
    secure = "; Secure" if request.url.scheme == "https" else ""
    return _contacted(
        looked.shown,
        bank,
        status=303,
        headers={
            "Location": f"/s/{looked.shown.code}/contact/sent",
            "Set-Cookie": f"wb_vid={visitor}; Max-Age=31536000; Path=/; SameSite=Lax{secure}",
        },
    )


@route("/s/{code:str}/contact/sent", http_method=[HttpMethod.GET, HttpMethod.HEAD],
       operation_id="shareViewerContactSent", opt=CUSTOMER_PAGE, tags=["public"],
       include_in_schema=False)  # fmt: skip
async def contact_sent(
    request: Request[Any, Any, Any], db: Db, code: FromPath[str]
) -> Response[str]:
    """The no-script form's result page, where its post leads: records nothing, and is the same
    page for whoever opens it (nothing of a visitor, nor whether anyone asked: only what the
    share's own page shows, the RM's name it shows, if any), as scoped as that page (the code, a
    live brochure)."""
    bank = request.app.state.settings.bank_name
    looked = await _look(request, db, code)
    if looked.shown is None:
        return _unavailable(looked, bank)
    return _contacted(looked.shown, bank, status=200)


def _contacted(
    shown: viewer.Shown, bank: str, *, status: int, headers: dict[str, str] | None = None
) -> Response[str]:
    """The page that says the RM was told (the post's 303 carries it too)."""
    who = f"您的客户经理 {shown.rm_name}" if shown.rm_name else "您的客户经理"
    return message(
        "已告知您的客户经理",
        f"已告知{who}，将尽快与您联系。",
        bank=bank,
        status=status,
        headers=headers,
        link=(f"/s/{shown.code}", "返回资料"),
    )


@route("/s/{code:str}/contact", http_method=[HttpMethod.GET, HttpMethod.HEAD],
       operation_id="shareViewerContactPage", opt=CUSTOMER_PAGE, tags=["public"],
       include_in_schema=False)  # fmt: skip
async def contact_again(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """The no-script result page's address opened again (reloaded, copied, shared): back to the
    brochure (303), which says what is live now; counts nothing. A malformed code: not found."""
    if not _CODE.match(code):
        return not_found_page(request.app.state.settings.bank_name)
    return Redirect(f"/s/{code}", status_code=303, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # put into a Set-Cookie header


def _visitor(cookie: str | None, field: str | None) -> str:
    """The visitor id of a form post: the page script's (cookie `wb_vid`), else the one the page
    was rendered with, else a new one."""
    for candidate in (cookie, field):
        if candidate and _VISITOR.match(candidate):
            return candidate
    return secrets.token_hex(16)


def _from_elsewhere(request: Request[Any, Any, Any]) -> bool:
    """Whether a post of the no-script form came from another site's page: the browser says so
    (`Sec-Fetch-Site` other than same-origin or none), or its `Origin` (without one, its
    `Referer`) names a site that is not this one (the console's check, `csrf.same_origin`).
    `Origin: null` (a page sending no referrer, as the share page did before it sent them to
    its own site, or a sandboxed frame, which any site can make) is ours only when the browser
    vouches for it with `Sec-Fetch-Site: same-origin`. A post with neither header (an old
    browser, which sends none of them) is taken, as it always was."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None and not request.headers.get("referer"):
        return False
    if origin is not None and origin.strip().lower() == "null":
        return fetch_site != "same-origin"
    return not same_origin(request)


async def _look(request: Request[Any, Any, Any], db: Db, code: str) -> viewer.Looked:
    """The share behind `code` (its pages signed for the settings' media URL lifetime)."""
    if not _CODE.match(code):
        return viewer.Looked(viewer.Found.UNKNOWN)
    settings = request.app.state.settings
    ttl = settings.media_url_ttl_seconds
    signer = request.app.state.media_signer

    def sign(key: str) -> str:
        url: str = signer.url(key, ttl)
        return url

    return await viewer.find(db, code, now=datetime.now(UTC), sign=sign)


def _unavailable(looked: viewer.Looked, bank: str) -> Response[str]:
    if looked.found is viewer.Found.GONE:
        who = f"您的客户经理 {looked.rm_name}" if looked.rm_name else "您的客户经理"
        return message(
            "该资料已无法查看",
            f"该资料已下架或已过期，无法继续查看。如有需要，请联系{who}。",
            bank=bank,
            status=410,
        )
    return not_found_page(bank)


@post("/t", operation_id="trackBeacon", opt={PUBLIC: True}, tags=["public"],
      status_code=HTTP_204_NO_CONTENT, request_max_body_size=2048)  # fmt: skip
async def beacon(request: Request[Any, Any, Any], data: JSONBody[Beacon]) -> None:
    """One beacon of the brochure viewer page, stored for the worker; 204 also for a duplicate.

    Any content type is read as JSON (`navigator.sendBeacon` sends text/plain). The beacon is
    appended to a Redis stream and judged by the worker: one whose `event_id` the visitor sent
    in the last 24 hours is a retry and counts once (answered 204 all the same); per visitor
    and per IP, beacons over the limits of any 60 seconds are kept but flagged and never
    counted. Never touches PostgreSQL; 503 `service.unavailable` if Redis is away (nothing is
    stored then)."""
    state = request.app.state
    door: beacons.Door = state.beacon_door
    await door.append(
        beacon=data,
        ip=client_ip(request.scope, state.trusted_networks),
        user_agent=request.headers.get("user-agent", ""),
    )


ROUTES = [share_page, share_pages, contact, contact_sent, contact_again, beacon]
