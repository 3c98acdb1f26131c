"""SQL of offline sync: the change log (`_log`), the partition's rows (`_rows`, `_surveys`,
`_work_orders`), offline clients (`_clients`), the feed (`_feed`).

A partition's rows are selected with the same scope every API query applies: an RM's own
customers (and their holdings and notes), own tasks; a branch head adds the tasks of their org
subtree's users; templates as GET /task-templates lists them; products; own notifications as
the notification centre lists them; brochures as the catalogue lists them (live now, owned by a
unit on the user's path to the root).
"""

from __future__ import annotations

from sync.queries._clients import answers_of, lock_client, save_answers, save_client
from sync.queries._common import EVERYONE, Record
from sync.queries._feed import (
    FEED_LOCK,
    branch_heads_above,
    feed_changes,
    feed_position,
    give_up_lead,
    save_feed_position,
    take_lead,
)
from sync.queries._log import changes_after, horizon, purge_answers, purge_changes
from sync.queries._rows import (
    brochure_edges,
    brochures,
    customers,
    holdings,
    notes,
    notifications,
    products,
    tasks,
    template_versions,
    templates,
    window_edges_around,
)
from sync.queries._surveys import sendable_surveys, survey_invitations
from sync.queries._work_orders import text_questions, work_orders

__all__ = [
    "EVERYONE",
    "FEED_LOCK",
    "Record",
    "answers_of",
    "branch_heads_above",
    "brochure_edges",
    "brochures",
    "changes_after",
    "customers",
    "feed_changes",
    "feed_position",
    "give_up_lead",
    "holdings",
    "horizon",
    "lock_client",
    "notes",
    "notifications",
    "products",
    "purge_answers",
    "purge_changes",
    "save_answers",
    "save_client",
    "save_feed_position",
    "sendable_surveys",
    "survey_invitations",
    "take_lead",
    "tasks",
    "template_versions",
    "templates",
    "text_questions",
    "window_edges_around",
    "work_orders",
]
