"""What the identity SQL modules share: the row type, a RETURNING row that must be there, and a
user's columns."""

from __future__ import annotations

import asyncpg

Record = asyncpg.Record


def _returned(row: Record | None) -> Record:
    """The row of an INSERT/UPDATE ... RETURNING that cannot come back empty."""
    assert row is not None, "RETURNING gave no row"
    return row


_USER_COLUMNS = "u.id, u.login, u.name, u.role, u.org_unit_id, u.active, u.created_at"
