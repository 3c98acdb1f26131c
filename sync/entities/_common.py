"""What every entity of a partition plugs into: whose rows are pulled (`Partition`), an entity's
two reads, by key and in key order (`Kind`), the rows they give (`Rows`, `Page`), and the
helpers of a walk in key order (where it resumes; keys read as uuids)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mobile_contracts.v1 import sync as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.db import Connection
from workbench.security.vault import Vault

Rows = list[tuple[str, Any]]  # (key, wire row; None: in the partition's reach, not shown now)
# Rows in the walk's order, and where the walk resumes after them: after the last key it READ,
# None once a read came back short (the walk is over). A page may keep fewer rows than it read
# (a work order the caller cannot open): that never ends the walk early.
Page = tuple[Rows, list[str] | None]


@dataclass(frozen=True, slots=True)
class Partition:
    """Whose rows are pulled, and with what to unmask (then mask) them; `now`: the pull's clock
    (what is live is decided as of it)."""

    caller: Caller
    vault: Vault
    now: datetime | None = None

    @property
    def at(self) -> datetime:
        return self.now or datetime.now(UTC)

    @property
    def user_id(self) -> uuid.UUID:
        return self.caller.user_id

    @property
    def subtree_root(self) -> uuid.UUID | None:
        """Branch heads' partitions hold their org subtree's tasks."""
        return self.caller.org_unit_id if self.caller.role is Role.BRANCH_HEAD else None


@dataclass(frozen=True, slots=True)
class Kind:
    entity: wire.Entity
    by_keys: Callable[[Connection, Partition, list[str]], Awaitable[Rows]]
    page: Callable[[Connection, Partition, list[str] | None, int], Awaitable[Page]]
    # A key `by_keys` says nothing about: tell the app to delete it (it is not, or no longer,
    # in the partition). False for what is recorded for everyone and narrowed when pulled
    # (templates, brochures, surveys): a key the caller never saw is left alone, not deleted.
    # What came into or went out of one user's sight (their unit, or the template's owner,
    # moved in the tree: migrations 0012, 0022, 0043) is recorded for that user, and such a
    # key is a delete all the same (sync.pull); a user moved to another unit starts over (the
    # cursor names the unit). A None row is always a delete.
    delete_unseen: bool = True
    # Whose partitions hold this entity at all.
    holds: Callable[[Partition], bool] = lambda part: True


def _by_key(rows: Rows, limit: int) -> Page:
    """A walk in key order, one row per key read, resumes after the last key."""
    return rows, _resume(len(rows), limit, lambda: [rows[-1][0]])


def _resume(read: int, limit: int, last: Callable[[], list[str]]) -> list[str] | None:
    """Where a walk resumes after a read of `read` rows of at most `limit`: after the last one
    read (`last`), or None when the read came back short (nothing is left)."""
    return last() if read >= limit else None


def _uuids(keys: list[str]) -> list[uuid.UUID]:
    out = []
    for key in keys:
        try:
            out.append(uuid.UUID(key))
        except ValueError:
            continue
    return out
