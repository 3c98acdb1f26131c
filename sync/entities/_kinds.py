"""Entities: the table of them (`KINDS`), in initial-sync order, each with its two reads and whose
partitions hold it, and the same by entity name (`BY_ENTITY`)."""

from __future__ import annotations

from mobile_contracts.v1 import sync as wire
from sync.entities._brochures import _brochures_by_keys, _brochures_page, _presents
from sync.entities._common import Kind
from sync.entities._customers import (
    _customers_by_keys,
    _customers_page,
    _holdings_by_keys,
    _holdings_page,
    _notes_by_keys,
    _notes_page,
)
from sync.entities._notifications import _notifications_by_keys, _notifications_page
from sync.entities._products import _products_by_keys, _products_page
from sync.entities._surveys import _surveys_by_keys, _surveys_page
from sync.entities._tasks import _tasks_by_keys, _tasks_page, _templates_by_keys, _templates_page
from sync.entities._work_orders import _handles, _work_orders_by_keys, _work_orders_page

# In initial-sync order: what other rows refer to comes first. A cursor holds the index of the
# entity it streams: a new entity goes at the end.
KINDS: tuple[Kind, ...] = (
    Kind(wire.Entity.PRODUCT, _products_by_keys, _products_page),
    Kind(wire.Entity.TASK_TEMPLATE, _templates_by_keys, _templates_page, delete_unseen=False),
    Kind(wire.Entity.CUSTOMER, _customers_by_keys, _customers_page),
    Kind(wire.Entity.HOLDING, _holdings_by_keys, _holdings_page),
    Kind(wire.Entity.NOTE, _notes_by_keys, _notes_page),
    Kind(wire.Entity.TASK, _tasks_by_keys, _tasks_page),
    Kind(wire.Entity.NOTIFICATION, _notifications_by_keys, _notifications_page),
    Kind(
        wire.Entity.BROCHURE,
        _brochures_by_keys,
        _brochures_page,
        delete_unseen=False,
        holds=_presents,
    ),
    Kind(wire.Entity.SURVEY, _surveys_by_keys, _surveys_page, delete_unseen=False, holds=_presents),
    Kind(wire.Entity.WORK_ORDER, _work_orders_by_keys, _work_orders_page, holds=_handles),
)
BY_ENTITY = {k.entity.value: k for k in KINDS}
