"""SQL of the branch-head dashboard: the only place it talks to PostgreSQL.

Every query is scoped in SQL to a subtree (`org_subtree(root)`); RMs are the users of role `rm`
whose unit lies in it. Task counts read the per-assignee per-bank-day rollup
(`dashboard_task_days`, migration 0025) for the whole bank days inside a period and the tasks
themselves (index `tasks_by_assignee_created`) for the parts of a day at either end, so any
period [start, end) is counted exactly and a period of whole days reads the rollup alone.

One private module per role, re-exported here:
- `_units`: the unit a view shows, its child units (teams or not), the marker of the view's
  one transaction
- `_rm_counts`: per RM of the subtree, tasks assigned (not cancelled), done, overdue and
  cancelled in a period (and the plan of that query, for bench/dashboard.py), the median hours
  to done
- `_weekly_counts`: the subtree's tasks assigned and done week by week
- `_satisfaction`: the customer surveys answered, responses and answer values per week
- `_low_scores`: customers' low scores (a page of them, and their number)
- `_work_orders`: the subtree's unresolved work orders, counted per assignee and listed
- `_one_rm`: one RM found in the subtree, their tasks and shares; the subtree's RMs
- `_demo`: the demo bank's task history (workbench.dashboard.demo)
- `_common`: what they share (`Record`, `OPEN_TASK`, `OPEN_WORK_ORDER`, the subtree's RMs)
"""

from workbench.dashboard.queries._common import OPEN_TASK, OPEN_WORK_ORDER, Record
from workbench.dashboard.queries._demo import (
    DEMO_TASK_COLUMNS,
    demo_history_exists,
    demo_rms,
    demo_template,
    insert_demo_tasks,
)
from workbench.dashboard.queries._low_scores import low_score_count, low_scores
from workbench.dashboard.queries._one_rm import (
    rm_ids,
    rm_in_subtree,
    rm_shares,
    rm_tasks,
    tasks_page,
)
from workbench.dashboard.queries._rm_counts import (
    explain_rm_counts,
    median_hours_to_done,
    rm_counts,
)
from workbench.dashboard.queries._satisfaction import (
    customer_surveys_answered,
    satisfaction_counts,
)
from workbench.dashboard.queries._units import (
    children,
    children_are_teams,
    transaction_marker,
    unit_in_scope,
)
from workbench.dashboard.queries._weekly_counts import weekly_counts
from workbench.dashboard.queries._work_orders import open_work_orders, work_order_counts

__all__ = [
    "DEMO_TASK_COLUMNS",
    "OPEN_TASK",
    "OPEN_WORK_ORDER",
    "Record",
    "children",
    "children_are_teams",
    "customer_surveys_answered",
    "demo_history_exists",
    "demo_rms",
    "demo_template",
    "explain_rm_counts",
    "insert_demo_tasks",
    "low_score_count",
    "low_scores",
    "median_hours_to_done",
    "open_work_orders",
    "rm_counts",
    "rm_ids",
    "rm_in_subtree",
    "rm_shares",
    "rm_tasks",
    "satisfaction_counts",
    "tasks_page",
    "transaction_marker",
    "unit_in_scope",
    "weekly_counts",
    "work_order_counts",
]
