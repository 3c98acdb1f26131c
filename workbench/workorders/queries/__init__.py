"""SQL of alert rules and work orders, one private module per part, re-exported here: the only
place that talks to PostgreSQL for work orders."""

from workbench.workorders.queries._common import OPEN_STATES, Record
from workbench.workorders.queries._escalation import (
    claim_escalations,
    mark_escalated,
    survey_title,
)
from workbench.workorders.queries._handover import (
    hand_over,
    hold_off_staff_changes,
    insert_system_events,
    lock_staff_changes,
    resend_closed,
    resend_closed_of_owner,
    stale_holders_in_subtree,
    unfinished_held_by,
    unfinished_of_customers,
    unfinished_of_rm,
)
from workbench.workorders.queries._org import (
    escalation_head,
    nearest_branch_head,
    user_unit,
)
from workbench.workorders.queries._responses import (
    count_responses,
    response,
    responses_without_work_order,
    survey_for_rules,
    version_questions,
)
from workbench.workorders.queries._root_causes import (
    insert_root_cause,
    root_cause,
    root_causes,
    upsert_root_cause,
    work_orders_of_rule,
)
from workbench.workorders.queries._rules import (
    active_rules,
    insert_rule,
    rule,
    rules,
    update_rule,
)
from workbench.workorders.queries._work_orders import (
    customer_shown,
    events_of,
    ids_in_scope,
    insert_event,
    insert_work_order,
    list_work_orders,
    readable,
    response_for_summary,
    set_state,
    work_order_in_scope,
    work_orders_by_id,
)

__all__ = [
    "OPEN_STATES",
    "Record",
    "active_rules",
    "claim_escalations",
    "count_responses",
    "customer_shown",
    "escalation_head",
    "events_of",
    "hand_over",
    "hold_off_staff_changes",
    "ids_in_scope",
    "insert_event",
    "insert_root_cause",
    "insert_rule",
    "insert_system_events",
    "insert_work_order",
    "list_work_orders",
    "lock_staff_changes",
    "mark_escalated",
    "nearest_branch_head",
    "readable",
    "resend_closed",
    "resend_closed_of_owner",
    "response",
    "response_for_summary",
    "responses_without_work_order",
    "root_cause",
    "root_causes",
    "rule",
    "rules",
    "set_state",
    "stale_holders_in_subtree",
    "survey_for_rules",
    "survey_title",
    "unfinished_held_by",
    "unfinished_of_customers",
    "unfinished_of_rm",
    "update_rule",
    "upsert_root_cause",
    "user_unit",
    "version_questions",
    "work_order_in_scope",
    "work_orders_by_id",
    "work_orders_of_rule",
]
