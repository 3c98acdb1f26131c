"""Alert rules applied to answers: a matching answer opens exactly one work order.

On each new response (in its submission transaction) the survey's active rules are tried in
order; the first that matches opens the work order. A rule added or changed later can be applied
to the survey's past responses on request (`apply_rule`, chunk by chunk). Either way the insert is
`on conflict (response_id) do nothing`: one work order per answer whatever rules match, however
often or concurrently they are applied; only the call that opened it notifies and records.

Assignment: `owner_rm` goes to the customer's owning RM; `branch_head` to the nearest active
branch head at or above the answer's unit (the RM's unit for a customer). A staff survey's answer
opens none: it is anonymous (no rule can be made on a staff survey; one made before this rule
matches nothing), and a work order would hand the respondent's branch head their answer, team
and minute. With nobody to assign to
(no branch head above, an owner disabled or no longer an RM) the answer falls back to the other
of the two (the owner's branch head: the nearest active one at or above the customer's unit),
and failing both opens nothing (logged).

The owner is read under the customer's row lock (`customers.queries.hold_owners`), taken after the
shared side of the staff lock (`_hold_owners`): a bank feed moving the customer meanwhile either
committed first (its RM, or the branch head over them, gets the work order) or waits for this
transaction and then hands the work order over with the customer's others.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from mobile_contracts.v1.surveys import Question
from workbench.customers import queries as customer_queries
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.notifications import categories
from workbench.notifications.service import notify
from workbench.security.vault import FieldCipher
from workbench.timeline import service as timeline
from workbench.workorders import queries, rules, sla

log = logging.getLogger("workbench.workorders.alerts")
TIMELINE_SOURCE = "work_order"
APPLY_CHUNK = 500


def texts_aad(response_id: uuid.UUID) -> str:
    """Associated data of a response's encrypted text answers (`survey_responses.texts_enc`)."""
    return f"survey_response.texts:{response_id}"


def response_texts(cipher: FieldCipher, row: queries.Record) -> dict[str, str]:
    """A stored response's text answers in clear ({} when it has none or they are unreadable)."""
    blob = row["texts_enc"]
    if blob is None:
        return {}
    text = cipher.decrypt_or_none(
        bytes(blob), aad=texts_aad(row["id"]), column="survey_responses.texts_enc", row=row["id"]
    )
    if text is None:
        return {}
    try:
        found = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


@dataclass(slots=True)
class _Questions:
    """Questions of the versions met so far, by (version, key)."""

    survey_id: uuid.UUID
    by_version: dict[int, dict[str, Question]]

    async def of(self, conn: Connection, version: int) -> dict[str, Question]:
        if version not in self.by_version:
            raw = await queries.version_questions(conn, self.survey_id, version) or []
            parsed = msgspec.convert(raw, list[Question])
            self.by_version[version] = {q.key: q for q in parsed}
        return self.by_version[version]


async def on_response(
    conn: Connection, *, response_id: uuid.UUID, texts: dict[str, str], now: datetime | None = None
) -> uuid.UUID | None:
    """Apply the survey's alert rules to a response just stored (in its transaction); `texts`:
    its text answers in clear. The work order it opened, if any."""
    response = await queries.response(conn, response_id)
    if response is None:
        return None
    active = await queries.active_rules(conn, response["survey_id"])
    if not active:
        return None
    questions = await _Questions(response["survey_id"], {}).of(conn, response["version"])
    for rule in active:
        if rules.matches(
            questions.get(rule["question_key"]),
            op=rule["op"],
            value=rule["value"],
            answers=response["answers"],
            texts=texts,
        ):
            return await open_work_order(
                conn, rule=rule, response=response, now=now or datetime.now(UTC)
            )
    return None


async def open_work_order(
    conn: Connection, *, rule: queries.Record, response: queries.Record, now: datetime
) -> uuid.UUID | None:
    """Open the response's work order under `rule`, unless it has one: assign it, set its due
    time, tell the assignee and note it on the customer's timeline. Its id, or None (also for a
    staff survey's answer: anonymous, it opens none)."""
    if response["customer_id"] is None:
        return None
    await _hold_owners(conn, [response["customer_id"]])
    response = await queries.response(conn, response["id"]) or response
    assignee = await _assignee(conn, rule=rule, response=response)
    if assignee is None:
        log.warning(
            "alert rule matched but nobody to assign the work order to",
            extra={"rule_id": str(rule["id"]), "response_id": str(response["id"])},
        )
        return None
    assignee_id, unit_id = assignee
    due = sla.due_at(
        now, hours=rule["sla_hours"], kind=rule["sla_kind"], calendar=sla.bank_calendar()
    )
    work_order_id = uuid7()
    opened = await queries.insert_work_order(
        conn,
        work_order_id=work_order_id,
        response_id=response["id"],
        rule_id=rule["id"],
        survey_id=response["survey_id"],
        customer_id=response["customer_id"],
        respondent_id=response["user_id"],
        assignee_id=assignee_id,
        org_unit_id=unit_id,
        sla_hours=rule["sla_hours"],
        sla_kind=rule["sla_kind"],
        due_at=due,
        now=now,
    )
    if not opened:
        return None
    await queries.insert_event(
        conn, event_id=uuid7(), work_order_id=work_order_id, kind="opened", from_state=None,
        to_state="open", actor_id=None, note_enc=None, root_cause=None,
        data={"rule_id": str(rule["id"]), "assignee_id": str(assignee_id), **matched(rule)},
        now=now,
    )  # fmt: skip
    title = await queries.survey_title(conn, response["survey_id"], response_id=response["id"])
    local_due = due.astimezone(sla.BANK_ZONE).strftime("%m-%d %H:%M")
    await notify(
        conn,
        user_id=assignee_id,
        category=categories.WORK_ORDER,
        title="新工单：客户反馈预警" if response["customer_id"] else "新工单：员工反馈预警",
        body=f"“{title}”的一份回答触发了预警，请在 {local_due} 前处理",
        dedupe_key=f"work_order:{work_order_id}:assigned",
        data={"work_order_id": str(work_order_id), "due_at": due.isoformat()},
        subject_id=work_order_id,
    )
    if response["customer_id"] is not None:
        await timeline.record_events(
            conn,
            source=TIMELINE_SOURCE,
            events=[
                timeline.Event(
                    customer_id=response["customer_id"],
                    kind="work_order.opened",
                    occurred_at=now,
                    source_id=f"{work_order_id}:opened",
                    data={
                        "work_order_id": str(work_order_id),
                        "survey_id": str(response["survey_id"]),
                        "response_id": str(response["id"]),
                        "survey_title": title,
                        "due_at": due.isoformat(),
                    },
                )
            ],
        )
    return work_order_id


async def _hold_owners(conn: Connection, customer_ids: list[uuid.UUID]) -> None:
    """Keep, until the transaction ends, the staff and these customers' owners as they are now:
    whoever is owner or branch head is read afterwards, and the work order goes to them.

    First the shared side of the staff lock (`queries.hold_off_staff_changes`): not at the same
    moment as an admin change to staff (the owner moved, a head disabled, which hand on the work
    orders there are); after one, the owner and heads as it left them. Then the customers' rows
    (`customers.queries.hold_owners`, FOR KEY SHARE in external id order, as a feed locks them):
    a feed moving one committed first, or waits and then hands the work order over. In this
    order because a change to staff takes its lock before any row: while this holds the shared
    side, no change holds a user's row for a feed to wait for. The other way round, this could
    hold a customer a feed is waiting for, itself waiting for a change to staff that waits for
    the feed (a user the feed holds, as the owner of customers it has just added)."""
    await queries.hold_off_staff_changes(conn)
    await customer_queries.hold_owners(conn, customer_ids)


def matched(rule: queries.Record) -> dict[str, object]:
    """What the work order matched, as its `opened` event keeps it (`question_key`, `op`,
    `value`): the answer it marks stays the one that opened it after the rule is edited."""
    return {"question_key": rule["question_key"], "op": rule["op"], "value": rule["value"]}


async def _assignee(
    conn: Connection, *, rule: queries.Record, response: queries.Record
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(assignee, the unit the work order belongs to) for this rule and response."""
    owner, owner_unit = response["owner_id"], response["owner_unit_id"]
    return await assignee_for(
        conn,
        assign_to=rule["assign_to"],
        owner=owner,
        owner_unit=owner_unit,
        unit=owner_unit or response["org_unit_id"],
    )


async def assignee_for(
    conn: Connection,
    *,
    assign_to: str,
    owner: uuid.UUID | None,
    owner_unit: uuid.UUID | None,
    unit: uuid.UUID,
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(assignee, the work order's unit) under a rule's `assign_to` for a customer owned by
    `owner` (in `owner_unit`; `unit`: the answer's unit): the owner, or the nearest branch head
    at or above the unit, each falling back to the other (also when a customer moves:
    `handover`). None: nobody to assign to."""
    if assign_to == "branch_head":
        head = await queries.nearest_branch_head(conn, unit)
        if head is not None:
            return head, unit
    if owner is not None and owner_unit is not None:
        return owner, owner_unit
    head = await queries.nearest_branch_head(conn, unit)
    return (head, unit) if head is not None else None


async def apply_rule(
    conn: Connection,
    *,
    cipher: FieldCipher,
    rule: queries.Record,
    after: uuid.UUID | None,
    limit: int | None = None,
    now: datetime | None = None,
    as_of_submission: bool = False,
) -> tuple[int, uuid.UUID | None]:
    """Apply a rule to one chunk of its survey's past responses (id order after `after`):
    (work orders opened, the last response id seen or None when there are no more).
    `as_of_submission`: open each as if the rule had been live when it was answered (the demo)."""
    limit = limit or APPLY_CHUNK
    rows = await queries.responses_without_work_order(
        conn, rule["survey_id"], after=after, limit=limit
    )
    questions = _Questions(rule["survey_id"], {})
    matching = []
    for row in rows:
        if row["has_work_order"]:
            continue
        by_key = await questions.of(conn, row["version"])
        question = by_key.get(rule["question_key"])
        texts = response_texts(cipher, row) if rule["op"] == "contains" else {}
        if rules.matches(
            question, op=rule["op"], value=rule["value"], answers=row["answers"], texts=texts
        ):
            matching.append(row)
    # The chunk's customers all at once, in the feeds' order (each `open_work_order` takes its
    # own again): held one by one in response order, a feed moving several of them could hold
    # one this waits for while waiting for one held here, and one of the two would fail.
    customers = list(dict.fromkeys(r["customer_id"] for r in matching if r["customer_id"]))
    if customers:
        await _hold_owners(conn, customers)
    opened = 0
    for row in matching:
        at = row["submitted_at"] if as_of_submission else now or datetime.now(UTC)
        if await open_work_order(conn, rule=rule, response=row, now=at):
            opened += 1
    last = rows[-1]["id"] if len(rows) == limit else None
    return opened, last
