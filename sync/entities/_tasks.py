"""Entities: a partition's tasks (an RM's own, a branch head's subtree's, each with its form
version) and the task templates the caller may see, read by key and in key order."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from mobile_contracts.v1.tasks import Form
from sync import queries
from sync.entities._common import Page, Partition, Rows, _by_key, _resume, _uuids
from workbench.db import Connection
from workbench.tasks import lifecycle, templates


async def _tasks(conn: Connection, part: Partition, rows: list[queries.Record]) -> Rows:
    """Each task as `GET /tasks/{id}` shows it: its answers decrypted, text answers masked."""
    versions = await queries.template_versions(
        conn, {(r["template_id"], r["template_version"]) for r in rows}
    )
    # A page of tasks shares a few form versions: each form is converted once.
    forms = {k: msgspec.convert(v["form"], Form) for k, v in versions.items()}
    out: Rows = []
    for r in rows:
        key = (r["template_id"], r["template_version"])
        task = lifecycle.task_of(r, versions[key], forms[key], cipher=part.vault.cipher)
        out.append((str(r["id"]), task))
    return out


async def _tasks_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    rows = await queries.tasks(conn, part.user_id, part.subtree_root, ids=_uuids(keys))
    return await _tasks(conn, part, rows)


async def _tasks_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    start = (datetime.fromisoformat(after[0]), uuid.UUID(after[1])) if after else None
    rows = await queries.tasks(conn, part.user_id, part.subtree_root, after=start, limit=limit)
    resume = _resume(
        len(rows), limit, lambda: [rows[-1]["created_at"].isoformat(), str(rows[-1]["id"])]
    )
    return await _tasks(conn, part, rows), resume


async def _templates_by_keys(conn: Connection, part: Partition, keys: list[str]) -> Rows:
    rows = await queries.templates(
        conn, part.caller.org_unit_id, part.caller.sees_everything, ids=_uuids(keys)
    )
    return [(str(r["id"]), templates.to_wire(r)) for r in rows]


async def _templates_page(
    conn: Connection, part: Partition, after: list[str] | None, limit: int
) -> Page:
    rows = await queries.templates(
        conn, part.caller.org_unit_id, part.caller.sees_everything,
        after=uuid.UUID(after[0]) if after else None, limit=limit,
    )  # fmt: skip
    return _by_key([(str(r["id"]), templates.to_wire(r)) for r in rows], limit)
