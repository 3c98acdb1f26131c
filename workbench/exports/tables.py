"""What can be exported: a table is a title, columns and its rows streamed in order.

A feature registers its tables once (`register`); the export routes and the export worker find
them by key. Rows come from the feature's own service (the same queries its pages show), scoped
by the `ExportRequest`'s caller and view, so an export never holds more than its page would.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.access import Caller
    from workbench.dashboard.numbers import View
    from workbench.db import Connection
    from workbench.security.vault import Vault


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # machine name (CSV header row uses `label`)
    label: str  # zh-CN header
    # A rate: its cells are fractions (0.6111), which Excel shows as a percent (61.1%).
    rate: bool = False


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """Who asks, for which view, with the table's own filters (e.g. {"rm": "<uuid>"})."""

    caller: Caller
    view: View
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # in URLs: ?table=rm_progress
    title: str  # zh-CN: file and sheet names
    columns: tuple[Column, ...]
    # How many rows the export will have (an indexed count or an estimate that is never low by
    # more than a little): decides between a direct download and a worker export.
    count: Callable[[Connection, Vault, ExportRequest], Any]  # async -> int
    # The rows, in order, one tuple of cell values per row (str, int, float, date, datetime,
    # None); streamed (server-side cursor / keyset pages), never all in memory.
    rows: Callable[[Connection, Vault, ExportRequest], AsyncIterator[tuple[Any, ...]]]


TABLES: dict[str, Table] = {}
# The modules that register tables, imported on the first lookup.
PROVIDERS = ("workbench.dashboard.tables",)


def register(table: Table) -> Table:
    TABLES[table.key] = table
    return table


def table(key: str) -> Table | None:
    for module in PROVIDERS:
        importlib.import_module(module)
    return TABLES.get(key)


__all__ = ["TABLES", "Column", "ExportRequest", "Table", "register", "table"]
