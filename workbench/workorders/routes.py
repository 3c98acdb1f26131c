"""Work order and alert rule endpoints."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from redis.exceptions import RedisError

from mobile_contracts.v1 import workorders as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.ids import uuid7
from workbench.pagination import DEFAULT_LIMIT, BareArray, Limit
from workbench.workorders import jobs, rules, service

log = logging.getLogger("workbench.workorders.routes")
ADMIN = [requires_role(Role.ADMIN)]
_CONDITION = (
    "Invalid body; no such question in the survey's latest published version "
    "(`alert_rule.question_unknown`); an op or value that does not fit the question "
    "(`alert_rule.condition_invalid`)"
)


def _ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address for the audit trail (relay headers believed from trusted proxies)."""
    return request_ip(request)


def _enqueue_apply(request: Request[Any, Any, Any], rule_id: uuid.UUID) -> Any:
    state = request.app.state
    prefix = state.settings.redis_prefix

    async def enqueue() -> None:
        try:
            await state.redis.enqueue_job(
                jobs.APPLY_JOB, str(rule_id), _job_id=f"{prefix}workorders:apply:{uuid7()}"
            )
        except (RedisError, OSError) as exc:
            log.warning("could not queue applying an alert rule: %s", type(exc).__name__)

    return enqueue


class AlertRuleController(Controller):
    path = "/api/v1/alert-rules"
    tags = ["work orders"]
    guards = ADMIN

    @post(
        "",
        operation_id="createAlertRule",
        status_code=HTTP_201_CREATED,
        opt={ERRORS: {404: "No such survey (`survey.not_found`)", 422: _CONDITION}},
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.AlertRuleCreate],
    ) -> wire.AlertRule:
        """Add an alert rule: answers matching it from now on open a work order.

        The rule names a question of the survey's latest published version: nps and rating
        questions take `lte`, `gte` or `eq` a score, choice questions `eq` an option value, text
        questions `contains` a term. Past answers are left alone until the rule is applied.
        """
        return await rules.create(db, caller=caller, request=data, client_ip=_ip(request))

    @get("", operation_id="listAlertRules")
    async def list_rules(
        self,
        db: Db,
        survey_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        array: BareArray = False,
    ) -> Page[wire.AlertRule] | list[wire.AlertRule]:
        """Alert rules in the order they apply.

        With `survey_id`, only that survey's. A page as every list answers: `{"items": [...],
        "next_cursor": "..." | null}`; pass `next_cursor` back as `cursor` for the next page.
        Deprecated: `array=true` answers the form of earlier versions of this API, every rule
        in a bare JSON array (`limit` and `cursor` do not apply); it will be removed once no
        client in use sends it.
        """
        if array:
            return await rules.list_rules(db, survey_id=survey_id)
        return await rules.page_rules(db, survey_id=survey_id, cursor=cursor, limit=limit)

    @get("/{rule_id:uuid}", operation_id="getAlertRule")
    async def get_rule(self, db: Db, rule_id: FromPath[uuid.UUID]) -> wire.AlertRule:
        """One alert rule."""
        return await rules.get(db, rule_id=rule_id)

    @patch(
        "/{rule_id:uuid}",
        operation_id="editAlertRule",
        opt={ERRORS: {422: _CONDITION}},
    )
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        rule_id: FromPath[uuid.UUID],
        data: JSONBody[wire.AlertRuleEdit],
    ) -> wire.AlertRule:
        """Change an alert rule, or switch it off and on.

        `active: false` stops it opening work orders. Work orders it already opened keep their
        assignee and SLA.
        """
        return await rules.edit(
            db, caller=caller, rule_id=rule_id, request=data, client_ip=_ip(request)
        )

    @post(
        "/{rule_id:uuid}/apply",
        operation_id="applyAlertRule",
        status_code=HTTP_200_OK,
        opt={ERRORS: {409: "The rule is inactive (`alert_rule.inactive`)"}},
    )
    async def apply(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        rule_id: FromPath[uuid.UUID],
    ) -> wire.RuleApplied:
        """Apply the rule to the survey's past answers.

        Answers that match and have no work order yet get one (an answer never has two). A
        few answers are done at once (`opened`); many are queued for the worker (`queued`).
        Applying again is harmless.
        """
        return await rules.apply(
            db, vault=request.app.state.vault, caller=caller, rule_id=rule_id,
            enqueue=_enqueue_apply(request, rule_id), client_ip=_ip(request),
        )  # fmt: skip


class WorkOrderController(Controller):
    path = "/api/v1/work-orders"
    tags = ["work orders"]

    @get(
        "",
        operation_id="listWorkOrders",
        opt={ERRORS: {404: "`org_unit_id` is no unit of my subtree (`org_unit.not_found`)"}},
    )
    async def list_work_orders(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        work_order_state: Annotated[
            wire.WorkOrderState | None, QueryParameter(name="state")
        ] = None,
        overdue: FromQuery[bool] = False,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.WorkOrderRow]:
        """Work orders, newest first: mine; a branch head's subtree; an admin all.

        `overdue=1`: only those past their due time and not yet resolved. `org_unit_id`: only
        those of that unit's subtree (a unit of my subtree: else 404 `org_unit.not_found`).
        `customer` is the customer's masked name (null for a staff survey).
        """
        return await service.list_work_orders(
            db, vault=request.app.state.vault, caller=caller, state=work_order_state,
            overdue=overdue, cursor=cursor, limit=limit, org_unit_id=org_unit_id,
        )  # fmt: skip

    @get("/root-causes", operation_id="listWorkOrderRootCauses")
    async def root_causes(
        self,
        db: Db,
        caller: CurrentCaller,
        all: FromQuery[bool] = False,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        array: BareArray = False,
    ) -> Page[wire.RootCause] | list[wire.RootCause]:
        """The root causes a work order can be closed with, in the bank's order.

        Admins see the deactivated ones too with `all=1`. A page as every list answers:
        `{"items": [...], "next_cursor": "..." | null}`; pass `next_cursor` back as `cursor`
        for the next page. Deprecated: `array=true` answers the form of earlier versions of
        this API, every cause in a bare JSON array (`limit` and `cursor` do not apply); it will
        be removed once no client in use sends it.
        """
        include_inactive = all and caller.role is Role.ADMIN
        if array:
            return await service.root_causes(db, include_inactive=include_inactive)
        return await service.page_root_causes(
            db, include_inactive=include_inactive, cursor=cursor, limit=limit
        )

    @post(
        "/root-causes",
        operation_id="saveWorkOrderRootCause",
        guards=ADMIN,
        status_code=HTTP_200_OK,
    )
    async def save_root_cause(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.RootCauseCreate],
    ) -> wire.RootCause:
        """Add a root cause, or relabel or (de)activate one by its code.

        Work orders closed with a deactivated cause keep it; new closings cannot use it.
        """
        return await service.save_root_cause(db, caller=caller, cause=data, client_ip=_ip(request))

    @get(
        "/{work_order_id:uuid}",
        operation_id="getWorkOrder",
        opt={ERRORS: {404: "No such work order in my scope (`work_order.not_found`)"}},
    )
    async def get_work_order(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        work_order_id: FromPath[uuid.UUID],
    ) -> wire.WorkOrder:
        """A work order with the answer that opened it and its history (notes included)."""
        return await service.detail(
            db, vault=request.app.state.vault, caller=caller, work_order_id=work_order_id
        )

    @post(
        "/{work_order_id:uuid}/transition",
        operation_id="transitionWorkOrder",
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                404: "No such work order in my scope (`work_order.not_found`)",
                409: "Not a next state of this work order (`work_order.transition_invalid`), "
                "or it is no longer in the state `from` names (`work_order.state_changed`, "
                "with `current_status`; nothing recorded)",
                422: "Invalid body; a note of only spaces (`work_order.note_required`); closing "
                "with a root cause not in the active list (`work_order.root_cause_unknown`)",
            }
        },
    )
    async def transition(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        work_order_id: FromPath[uuid.UUID],
        data: JSONBody[wire.WorkOrderTransition],
    ) -> wire.WorkOrder:
        """Move a work order on with a note: open -> in_progress -> resolved -> closed.

        A resolved one may be reopened (-> in_progress). Closing may name a `root_cause` from
        the active list; one closed without records none (shown as 未注明). For the assignee,
        a branch head over its unit, or an admin. `from` (optional; apps should send it): the
        state I saw when choosing the step; if the work order is in another by then (moved on
        from another device or by someone else), nothing is recorded: 409
        `work_order.state_changed`.
        """
        return await service.transition(
            db, vault=request.app.state.vault, caller=caller, work_order_id=work_order_id,
            to=data.to, note=data.note, root_cause=data.root_cause, expected_state=data.from_,
            client_ip=_ip(request),
        )  # fmt: skip


ROUTES: list[Any] = [AlertRuleController, WorkOrderController]
