"""The authenticated caller, as every service receives it."""

from __future__ import annotations

import uuid

import msgspec

from mobile_contracts.v1.identity import Role


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: taken from a verified access token whose session and device are live."""

    user_id: uuid.UUID
    role: Role
    org_unit_id: uuid.UUID
    session_id: uuid.UUID
    device_id: str

    @property
    def sees_everything(self) -> bool:
        """Admins are scoped to the whole bank; everyone else to their own unit's subtree."""
        return self.role is Role.ADMIN

    @property
    def scope_root(self) -> uuid.UUID | None:
        """Root of the org subtree this caller may see, or None for the whole bank.

        Queries use it in SQL as `... from org_subtree($n) s(id)` (in FROM, so PostgreSQL inlines
        it into an index range scan); RMs are narrowed further to their own records by each
        feature's queries.
        """
        return None if self.sees_everything else self.org_unit_id
