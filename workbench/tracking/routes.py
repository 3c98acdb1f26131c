"""Public routes of share tracking: the viewer page `GET /s/{code}` and beacons `POST /t`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, post, route
from litestar.enums import HttpMethod
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from mobile_contracts.v1.tracking import Beacon
from workbench.http.auth import CUSTOMER_PAGE, PUBLIC
from workbench.http.client_ip import client_ip
from workbench.http.deps import Db
from workbench.public.pages import message
from workbench.tracking import beacons, viewer

_CODE = re.compile(r"^[0-9A-Za-z]{8,12}$")


@route("/s/{code:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD],
       operation_id="shareViewer", opt=CUSTOMER_PAGE, tags=["public"],
       include_in_schema=False)  # fmt: skip
async def share_page(request: Request[Any, Any, Any], db: Db, code: FromPath[str]) -> Response[str]:
    """The shared brochure for the customer; showing it counts nothing (beacons do)."""
    state = request.app.state
    bank = state.settings.bank_name
    if not _CODE.match(code):
        return _not_found(bank)
    ttl = state.settings.media_url_ttl_seconds
    signer = state.media_signer

    def sign(key: str) -> str:
        url: str = signer.url(key, ttl)
        return url

    found, shown = await viewer.find(db, code, now=datetime.now(UTC), sign=sign)
    if found is viewer.Found.UNKNOWN or shown is None:
        if found is viewer.Found.GONE:
            return message(
                "该资料已下架/已过期",
                "该资料已下架或已过期，无法继续查看。如有需要，请联系您的客户经理。",
                bank=bank,
                status=410,
            )
        return _not_found(bank)
    return viewer.render(shown, bank=bank, base_url=state.settings.public_base_url)


def _not_found(bank: str) -> Response[str]:
    return message("链接无效", "该链接无效或不完整，请向您的客户经理索取新的链接。", bank=bank,
                   status=404)  # fmt: skip


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


ROUTES = [share_page, beacon]
