"""The audit trail, for compliance review: who did what to which object, when and from where.

An event's `kind` names what happened (`login_failed`, `brochure.approved`, `export.downloaded`);
`kind_label` says it in the console's words (the kind itself for one the server has no words
for). `subject` is the object it happened to, by type and id (`{"type": "brochure", "id": ...}`;
an id-less object such as `recommendation_rules` has no id). `detail` holds what was recorded
with it (field names, versions, reasons, an export's table, format, filters and rows), never
personal data. Events are never changed or removed (the database refuses it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1.patterns import whole

# A kind as the server records them: lowercase words joined by `_` and `.`.
AuditKind = whole(
    "[a-z][a-z0-9_.]{0,79}",
    says="an event kind such as login_failed or brochure.approved (lowercase letters, digits, "
    "_ and .)",
)
# A login as users have them (see `identity.NewLogin`).
AuditActorLogin = whole(
    "[A-Za-z0-9._@-]{1,64}", says="a login: 1 to 64 letters, digits, ., _, @ and - only"
)


class AuditActor(msgspec.Struct, kw_only=True):
    """The staff member who acted."""

    id: uuid.UUID
    name: str
    login: str


class AuditSubject(msgspec.Struct, kw_only=True):
    """The object an event happened to: its type (`brochure`, `user`, `device`, `export`...)
    and id (none for an object of which there is one, such as `recommendation_rules`)."""

    type: str
    type_label: str
    id: str | None = None


class AuditEvent(msgspec.Struct, kw_only=True):
    id: int
    occurred_at: datetime
    kind: str
    kind_label: str
    # Null: the system (a job, a bootstrap) or someone not signed in (a failed sign-in).
    actor: AuditActor | None = None
    subject: AuditSubject | None = None
    client_ip: str | None = None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
