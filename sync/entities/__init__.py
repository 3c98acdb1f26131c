"""The entities of a partition: how each is read by key (for a change) and in key order (for
an initial sync), and shaped exactly as the API shows it (personal data masked for the role).

Surveys and work orders (schema 4) plug in here with their two reads like every entity.

One private module per role, re-exported here:
- `_common`: what every entity plugs into (`Partition`, `Kind`, `Rows`, `Page`, a walk's helpers)
- `_products`: the product catalogue
- `_tasks`: tasks and task templates
- `_customers`: customers, their holdings and notes
- `_notifications`: the user's notifications
- `_brochures`: brochures (`PRESENTERS`; `brochure_edges`: their live windows' edges)
- `_surveys`: surveys to send and invitations to answer
- `_work_orders`: work orders as the device carries them (`sync_work_order`, `work_order_row`)
- `_kinds`: the table of entities, in initial-sync order (`KINDS`, `BY_ENTITY`)
"""

from sync.entities._brochures import BROCHURE_SIZES, PRESENTERS, brochure_edges
from sync.entities._common import Kind, Page, Partition, Rows
from sync.entities._kinds import BY_ENTITY, KINDS
from sync.entities._work_orders import (
    SNIPPET_CHARS,
    snippet,
    sync_work_order,
    work_order_row,
    work_order_rows,
)

__all__ = [
    "BROCHURE_SIZES",
    "BY_ENTITY",
    "KINDS",
    "PRESENTERS",
    "SNIPPET_CHARS",
    "Kind",
    "Page",
    "Partition",
    "Rows",
    "brochure_edges",
    "snippet",
    "sync_work_order",
    "work_order_row",
    "work_order_rows",
]
