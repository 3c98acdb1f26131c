"""The list of brochures (/console/brochures): filter chips, search, pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.params import FromQuery

from mobile_contracts.v1 import brochures as wire
from mobile_contracts.v1.identity import Role
from workbench.brochures import views
from workbench.brochures.console._shared import (
    AUTHORS,
    LIST_PATH,
    PAGE_SIZE,
    QUEUE_PATH,
    STAFF,
    Status,
    _labels,
    _signer,
)
from workbench.console import Console, visible_to
from workbench.http.deps import CurrentCaller, Db

# The list's filter chips: (query value, label, statuses of the latest version).
FILTERS: tuple[tuple[str, str], ...] = (
    ("", "全部"),
    (Status.DRAFT.value, "草稿"),
    (Status.PENDING_REVIEW.value, "待审核"),
    (Status.APPROVED.value, "已通过"),
    (Status.REJECTED.value, "已退回"),
    (Status.PUBLISHED.value, "已发布"),
    (Status.UNPUBLISHED.value, "已下架"),
)


@get("/brochures", opt=visible_to(*STAFF), name="console:brochures")
async def brochure_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    status: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """The brochures of my subtree by latest version: filter chips, search, pages of 20."""
    chosen = status if status in {value for value, _ in FILTERS} else ""
    text = (q or "").strip()[:100]
    page = await views.staff_list(
        db,
        caller=caller,
        statuses=[Status(chosen)] if chosen else None,
        q=text or None,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    thumbs = await views.covers(db, caller=caller, rows=page.items, sign=_signer(request))
    rows = [
        {"row": row, "thumb": thumbs.get(row.id), "action": _row_action(row, caller.role)}
        for row in page.items
    ]
    return console.render(
        "brochures/list.html",
        {
            "rows": rows,
            "chips": [
                {"label": label, "href": _list_url(value, text, None), "current": value == chosen}
                for value, label in FILTERS
            ],
            "status": chosen,
            "q": text,
            "first_page": not cursor,
            "next_url": _list_url(chosen, text, page.next_cursor) if page.next_cursor else None,
            "first_url": _list_url(chosen, text, None),
            "can_upload": caller.role in AUTHORS,
            **_labels(),
        },
    )


def _list_url(status: str, q: str, cursor: str | None) -> str:
    params = {k: v for k, v in (("status", status), ("q", q), ("cursor", cursor or "")) if v}
    return LIST_PATH + (f"?{urlencode(params)}" if params else "")


def _row_action(row: wire.StaffBrochureRow, role: Role) -> dict[str, str]:
    """The one thing this viewer most likely does next with the brochure."""
    base = f"{LIST_PATH}/{row.id}"
    if role is Role.COMPLIANCE and row.status is Status.PENDING_REVIEW:
        return {"label": "审核", "href": f"{QUEUE_PATH}/{row.id}", "kind": "primary"}
    if role in AUTHORS and row.status in (Status.DRAFT, Status.REJECTED):
        return {"label": "编辑", "href": f"{base}/edit", "kind": "primary"}
    again = row.status in (Status.APPROVED, Status.PUBLISHED, Status.UNPUBLISHED)
    held = again and (
        row.risk_changed or (row.withdrawal_reason and row.status is Status.UNPUBLISHED)
    )
    if held:  # withdrawn by compliance, or the product's risk level changed: back to review
        if role in AUTHORS:
            return {"label": "重新提交审核", "href": f"{base}#submit", "kind": "primary"}
        return {"label": "查看", "href": base, "kind": "quiet"}
    if row.status is Status.APPROVED:
        return {"label": "发布", "href": f"{base}#publish", "kind": "primary"}
    return {"label": "查看", "href": base, "kind": "quiet"}
