"""Event rule endpoints: the rules that turn the bank's events into tasks, and the event feed."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from mobile_contracts.v1 import tasks as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.http import feed_rows
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.feed_rows import EachRowAlone
from workbench.http.input_checks import ROWS_CHECKED
from workbench.http.openapi import ERRORS
from workbench.pagination import DEFAULT_LIMIT, BareArray, Limit
from workbench.tasks import rules

ADMIN = [requires_role(Role.ADMIN)]


def _ip(request: Request[Any, Any, Any]) -> str:
    """The admin's address for the audit trail (relay headers believed from trusted proxies)."""
    return request_ip(request)


class RuleController(Controller):
    path = "/api/v1"
    tags = ["tasks"]
    guards = ADMIN

    @post(
        "/task-rules",
        operation_id="createTaskRule",
        opt={
            ERRORS: {
                404: "No template `template_id` (`template.not_found`)",
                422: "Invalid body (a `name` that shows nothing or reads otherwise than typed, "
                "a blank `event_kind`), or a `value` its `op` can never match: `in` needs a "
                "non-empty list, `gt`/`gte`/`lt`/`lte` a number (`task_rule.bad_value`), or a "
                "template not visible to every unit (`task_rule.template_not_visible`)",
            }
        },
    )
    async def create_rule(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.TaskRuleCreate],
    ) -> wire.TaskRule:
        """Create an event rule: a matching event makes a task for the customer's RM.

        When an event of `event_kind` arrives for a customer and `data[field] op value`, a task
        from the template goes to the customer's owning RM, at most once per customer per
        `within_days`. The template must be one every unit sees (owned by the head office): a
        rule reaches the RMs of the whole bank. `event_kind` is stored trimmed, as events'
        kinds are; a number `value` comes back as it was sent (a whole number stays whole).
        """
        return await rules.create_rule(db, caller=caller, request=data, client_ip=_ip(request))

    @get("/task-rules", operation_id="listTaskRules")
    async def list_rules(
        self,
        db: Db,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        array: BareArray = False,
    ) -> Page[wire.TaskRule] | list[wire.TaskRule]:
        """The event rules, those switched off too, the oldest first.

        A page as every list answers: `{"items": [...], "next_cursor": "..." | null}`; pass
        `next_cursor` back as `cursor` for the next page. Deprecated: `array=true` answers the
        form of earlier versions of this API, every rule in a bare JSON array (`limit` and
        `cursor` do not apply); it will be removed once no client in use sends it.
        """
        if array:
            return await rules.list_rules(db)
        return await rules.page_rules(db, cursor=cursor, limit=limit)

    @get(
        "/task-rules/{rule_id:uuid}",
        operation_id="getTaskRule",
        opt={ERRORS: {404: "No such rule (`task_rule.not_found`)"}},
    )
    async def get_rule(self, db: Db, rule_id: FromPath[uuid.UUID]) -> wire.TaskRule:
        """One event rule."""
        return await rules.get_rule(db, rule_id=rule_id)

    @patch(
        "/task-rules/{rule_id:uuid}",
        operation_id="editTaskRule",
        opt={
            ERRORS: {
                404: "No such rule (`task_rule.not_found`), or no template `template_id` "
                "(`template.not_found`)",
                422: "Invalid body (a name that shows nothing, a blank `event_kind`, an unknown "
                "field, a `null`: `request.validation_failed` naming it), or a `value` its `op` "
                "can never match (`task_rule.bad_value`), or a template not visible to every "
                "unit (`task_rule.template_not_visible`)",
            }
        },
    )
    async def edit_rule(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        rule_id: FromPath[uuid.UUID],
        data: JSONBody[wire.TaskRuleEdit],
    ) -> wire.TaskRule:
        """Change an event rule, or switch it off and on.

        What the body leaves out stays; `null` is refused (422 naming the field): every
        setting of a rule has a value. `active: false` switches the rule off: events create no
        tasks from it until `active: true`. Changes are checked as on creation. Tasks the rule
        already created stay; after a change of `event_kind`, `field`, `op` or `value` its
        once-per-`within_days` windows start afresh for every customer.
        """
        return await rules.edit_rule(
            db, caller=caller, rule_id=rule_id, request=data, client_ip=_ip(request)
        )

    @post(
        "/integration/events",
        operation_id="ingestEvents",
        status_code=HTTP_200_OK,
        request_max_body_size=16_000_000,
        opt={ROWS_CHECKED: "events"},
        dto=EachRowAlone[wire.EventBatch],
        return_dto=None,
    )
    async def ingest(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.EventBatch]
    ) -> wire.EventResult:
        """Feed events from the bank's data platform; matching rules create tasks.

        Up to 10,000 events; those of unknown customers (`event.unknown_customer`), or dated
        outside 2000-2999 or more than an hour ahead of the server's clock (`event.bad_time`),
        or with a value of the wrong type or a field left out (`row.invalid`, naming the
        field), come back in `rejected` and the rest land. An `occurred_at` without an offset
        is UTC.
        """
        return await feed_rows.apply(
            request,
            data.events,
            lambda events, nul_events: rules.ingest(db, events=events, nul_events=nul_events),
            rejected_as=dict,
        )
