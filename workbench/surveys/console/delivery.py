"""Console pages to send a survey and follow a delivery's progress (admins and branch heads).

/console/surveys/{id}/send: recipients are a unit of the sender's subtree (a customer survey:
every customer owned by an RM there, optionally only those with a tag; a staff survey: its
staff), or pasted customer external ids. Nothing is sent from the form itself: it answers a
confirmation saying how many people the sending would reach (and whom it leaves out, and why),
counted with the selection, scope and skips of the sending; only 确认发送 there sends, once.
Sending goes through the same service as POST /api/v1/surveys/{id}/deliveries; the progress
page refreshes itself until the delivery is done.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from workbench.console import Console, once, visible_to
from workbench.customers.views import text_filter
from workbench.errors import NotFound
from workbench.http.deps import Db
from workbench.surveys import delivery, delivery_jobs
from workbench.surveys.console import queries

SENDERS = visible_to(Role.ADMIN, Role.BRANCH_HEAD)
SENDING = visible_to(Role.ADMIN, Role.BRANCH_HEAD, acts_once=True)  # the send form's POST
MAX_PASTED = 5000
STATUS_LABELS = {"queued": "排队中", "running": "发送中", "done": "已完成", "failed": "失败"}
_SPLIT = re.compile(r"[\s,，、;；]+")


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _page(
    console: Console,
    db: Db,
    survey: Any,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    units = await delivery.units_to_send_to(db, caller=console.caller)
    depth = min((u["path"].count(".") for u in units), default=0)
    return console.render(
        "surveys/send.html",
        {
            "survey": survey,
            "units": [{"id": str(u["id"]), "name": u["name"],
                       "indent": "　" * (u["path"].count(".") - depth)} for u in units],
            "form": form or {"mode": "unit", "unit": str(console.caller.org_unit_id), "tag": "",
                             "ids": ""},
            "errors": errors or {},
        },
        status=status,
    )  # fmt: skip


@get("/surveys/{survey_id:uuid}/send", opt=SENDERS, name="console:survey-send")
async def send_page(console: Console, db: Db, survey_id: FromPath[uuid.UUID]) -> Response[Any]:
    """Choose who gets the survey."""
    survey = await delivery.sendable(db, caller=console.caller, survey_id=survey_id)
    return await _page(console, db, survey)


@post("/surveys/{survey_id:uuid}/send", opt=SENDING, name="console:survey-send-submit",
      request_max_body_size=512 * 1024)  # fmt: skip
async def send(
    request: Request[Any, Any, Any], console: Console, db: Db, survey_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """The send form's two steps. Sent from the form, nothing is sent: the confirmation says
    how many it would reach (counted as the sending will) and carries the choice, with the
    form's one-time token, to 确认发送 (`step=send`), which sends and follows the progress;
    返回修改 (`step=edit`) shows the form again as it was filled. Confirmed again, it sends
    nothing (409, linking to the first sending's progress); its token is the delivery's
    idempotency key too, so even a claim Redis lost finds that delivery instead of making
    another."""
    caller = console.caller
    survey = await delivery.sendable(db, caller=caller, survey_id=survey_id)
    raw = await request.form()
    form = {k: _field(raw, k) for k in ("mode", "unit", "tag", "ids")}
    step = _field(raw, "step")
    if step == "edit":
        return await _page(console, db, survey, form=form)
    body, errors = await _chosen(db, console, survey, form)
    if errors:
        return await _page(console, db, survey, form=form, errors=errors, status=422)
    state = request.app.state
    if step != "send":
        return await _confirm_page(console, db, survey, form, body, state.settings,
                                   once.token_of(raw) or "")  # fmt: skip
    claim = await once.claim(request, raw, db, back=f"/console/surveys/{survey_id}/send")
    async with claim:  # a refusal lets the form's token go
        made, _ = await delivery.create(
            db, caller=caller, survey_id=survey_id, request=body,
            rules=delivery.Rules.from_settings(state.settings),
            wake=delivery_jobs.waker(state.redis, state.settings.redis_prefix),
            idempotency_key=f"console-once:{once.token_of(raw)}",
        )  # fmt: skip
        progress = f"/console/surveys/{survey_id}/deliveries/{made.id}"
        claim.made(progress)
    return console.redirect(progress, flash="问卷已开始发送。")


async def _chosen(
    db: Db, console: Console, survey: Any, form: dict[str, str]
) -> tuple[wire.DeliveryCreate, dict[str, str]]:
    """The recipients the form chose, as the deliveries service takes them, or why the form is
    refused, by field."""
    caller = console.caller
    errors: dict[str, str] = {}
    body = wire.DeliveryCreate()
    if form["mode"] == "ids" and survey["audience"] == "customer":
        ids = [i for i in _SPLIT.split(form["ids"]) if i][: MAX_PASTED + 1]
        if not ids:
            errors["ids"] = "请粘贴至少一个客户号。"
        elif len(ids) > MAX_PASTED:
            errors["ids"] = f"一次最多 {MAX_PASTED} 个客户号；更多请按机构发送。"
        else:
            found = await delivery.customers_by_external_id(db, caller=caller, external_ids=ids)
            missing = [i for i in dict.fromkeys(ids) if i not in found]
            if missing:
                shown = "、".join(missing[:10]) + (" 等" if len(missing) > 10 else "")
                errors["ids"] = f"{len(missing)} 个客户号不存在或不在您的管辖范围内：{shown}"
            else:
                body = wire.DeliveryCreate(customer_ids=list(dict.fromkeys(found[i] for i in ids)))
        return body, errors
    try:
        unit_id = uuid.UUID(form["unit"])
    except ValueError:
        unit_id = None
    if unit_id is None:
        errors["unit"] = "请选择机构。"
    elif len(form["tag"]) > 20:
        errors["tag"] = "标签最多 20 个字。"
    elif survey["audience"] == "staff":
        staff = await delivery.staff_of_unit(db, unit_id=unit_id)
        if not staff:
            errors["unit"] = "该机构下没有在职员工。"
        body = wire.DeliveryCreate(user_ids=staff)
    else:
        tag = form["tag"] or None
        if await delivery.selection_is_empty(db, caller=caller, unit_id=unit_id, tag=tag):
            # A send to nobody would only show 收件人 0 on its progress page.
            if tag:
                errors["tag"] = f"该机构及下级机构没有带「{tag}」标签的客户，请换标签或机构。"
            else:
                errors["unit"] = "该机构及下级机构还没有客户，请选择其他机构。"
        body = wire.DeliveryCreate(org_unit_id=unit_id, tag=tag)
    return body, errors


@dataclass(frozen=True, slots=True)
class Reach:
    """Whom a sending would reach, counted before it is confirmed: everyone chosen (`total`),
    less those holding the survey unanswered already (`held`) and, of customers, those at the
    contact cap (`capped`)."""

    total: int
    held: int
    capped: int = 0

    @property
    def reached(self) -> int:
        return max(0, self.total - self.held - self.capped)


async def _reach(
    db: Db, console: Console, survey: Any, form: dict[str, str], body: wire.DeliveryCreate,
    rules: delivery.Rules,
) -> Reach:  # fmt: skip
    """Count the recipients of `body` as the sending will: the same selection, scoped as the
    sending is (a unit outside the caller's subtree is the 404 page, as sending to it is), the
    same skips (an unanswered, unexpired invitation to the survey; a customer's contact cap)."""
    now = datetime.now(UTC)
    scope_root = console.caller.scope_root
    since = now - timedelta(days=rules.cap_days)
    row: Any
    if body.customer_ids is not None:
        row = await queries.listed_customers_reach(
            db, customer_ids=body.customer_ids, survey_id=survey["id"], now=now, since=since,
            cap=rules.cap,
        )  # fmt: skip
    elif survey["audience"] == "staff":
        row = await queries.unit_staff_reach(
            db, unit_id=uuid.UUID(form["unit"]), scope_root=scope_root, survey_id=survey["id"],
            now=now,
        )  # fmt: skip
    else:
        assert body.org_unit_id is not None
        row = await queries.unit_customers_reach(
            db, unit_id=body.org_unit_id, tag=text_filter(body.tag), scope_root=scope_root,
            survey_id=survey["id"], now=now, since=since, cap=rules.cap,
        )  # fmt: skip
    if row is None:
        raise NotFound("org_unit")
    return Reach(total=row["total"], held=row["held"], capped=row.get("capped") or 0)


async def _confirm_page(
    console: Console, db: Db, survey: Any, form: dict[str, str], body: wire.DeliveryCreate,
    settings: Any, token: str,
) -> Response[Any]:  # fmt: skip
    """The confirmation: whom the sending reaches, how many, whom it leaves out and why, and
    the choice to send (hidden, with the form's one-time token: 确认发送 acts once)."""
    rules = delivery.Rules.from_settings(settings)
    reach = await _reach(db, console, survey, form, body, rules)
    unit = None
    if body.customer_ids is None:
        units = await delivery.units_to_send_to(db, caller=console.caller)
        unit = next((u["name"] for u in units if str(u["id"]) == form["unit"]), None)
    hidden = {"mode": "ids" if body.customer_ids is not None else "unit", "unit": form["unit"],
              "tag": form["tag"] if body.customer_ids is None else "",
              "ids": ", ".join(i for i in _SPLIT.split(form["ids"]) if i)
                     if body.customer_ids is not None else ""}  # fmt: skip
    return console.render(
        "surveys/send_confirm.html",
        {
            "survey": survey, "reach": reach, "unit": unit, "tag": text_filter(body.tag),
            "pasted": len(body.customer_ids) if body.customer_ids is not None else None,
            "hidden": hidden, "once": token, "rules": rules,
            "action": f"/console/surveys/{survey['id']}/send",
        },
    )  # fmt: skip


@get("/surveys/{survey_id:uuid}/deliveries/{delivery_id:uuid}", opt=SENDERS,
     name="console:survey-delivery")  # fmt: skip
async def progress_page(
    console: Console, db: Db, survey_id: FromPath[uuid.UUID], delivery_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """A delivery's progress; the page refreshes itself until it is finished. The delivery is
    looked up in the caller's scope first: another branch's is the 404 page, whatever its
    survey's state (an archived survey's 409 would tell that it exists)."""
    made = await delivery.progress(
        db, caller=console.caller, survey_id=survey_id, delivery_id=delivery_id
    )
    survey = await delivery.followable(db, caller=console.caller, survey_id=survey_id)
    handled = made.done + made.skipped
    return console.render(
        "surveys/delivery.html",
        {
            "survey": survey, "delivery": made, "status": STATUS_LABELS[made.status.value],
            "finished": made.status in (wire.DeliveryStatus.DONE, wire.DeliveryStatus.FAILED),
            "percent": round(100 * handled / made.total) if made.total else
                       (100 if made.status is wire.DeliveryStatus.DONE else 0),
        },
    )  # fmt: skip


PAGES: list[Any] = [send_page, send, progress_page]
