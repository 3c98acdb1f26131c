"""Client schema versions: the row shapes a client understands.

- 4 (current): as 3, and surveys (`SyncSurvey`: customer surveys the user may send, staff
  surveys the user is invited to answer) and work orders (`SyncWorkOrder`) with their
  `work_order.transition` mutation.
- 3: as 2, and brochures live for the user (`SyncBrochure`), with their window edges
  found by the pull itself.
- 2: tasks carry their form, values and timestamps; notes and notifications sync.
- 1: tasks as the inbox lists them (the form comes from the template); no notes, no
  notifications.

Versions 1 to 3 are still served, exactly as before, while apps move over. A client below
`WORKBENCH_SYNC_MIN_SCHEMA` gets `sync.schema_too_old` and must update the app; a client that
changes version starts a fresh initial sync (its cursor names the old version).
"""

from __future__ import annotations

from typing import Any

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1 import tasks as task_wire
from workbench.errors import DomainError

CURRENT = 4
OLDEST = 1  # the oldest version this server still serves
_E = wire.Entity
_V1_ENTITIES = frozenset({_E.PRODUCT, _E.TASK_TEMPLATE, _E.CUSTOMER, _E.HOLDING, _E.TASK})
_ENTITIES = {
    1: _V1_ENTITIES,
    2: _V1_ENTITIES | {_E.NOTE, _E.NOTIFICATION},
    3: _V1_ENTITIES | {_E.NOTE, _E.NOTIFICATION, _E.BROCHURE},
    4: _V1_ENTITIES | {_E.NOTE, _E.NOTIFICATION, _E.BROCHURE, _E.SURVEY, _E.WORK_ORDER},
}


class SchemaTooOld(DomainError):
    status, code, title = 426, "sync.schema_too_old", "Update the app to keep syncing"


class SchemaUnknown(DomainError):
    status, code, title = 422, "sync.schema_unknown", "This server does not know that schema"


def check(version: int, minimum: int) -> None:
    if version < max(minimum, OLDEST):
        raise SchemaTooOld(
            f"Schema {version} is no longer served; the oldest served is {max(minimum, OLDEST)}",
            min_schema_version=max(minimum, OLDEST),
            current_schema_version=CURRENT,
        )
    if version > CURRENT:
        raise SchemaUnknown(
            f"The newest schema this server serves is {CURRENT}", current_schema_version=CURRENT
        )


def carries(version: int, entity: wire.Entity) -> bool:
    """Whether a client of `version` (a served one) knows `entity`."""
    return entity in _ENTITIES[min(version, CURRENT)]


def shape(version: int, entity: wire.Entity, row: Any) -> Any:
    """The row as a client of `version` expects it."""
    if version >= 2 or entity is not wire.Entity.TASK:
        return row
    return task_wire.TaskSummary(
        id=row.id, title=row.title, status=row.status, due_at=row.due_at, overdue=row.overdue,
        assignee_id=row.assignee_id, customer_id=row.customer_id, template_id=row.template_id,
        template_version=row.template_version, created_at=row.created_at,
        updated_at=row.updated_at,
    )  # fmt: skip
