"""Push: what an operation is: what each mutation runs with (the caller, the vault, the bank's
settings: `Context`), and what the operation a mutation names is made of (its arguments, the
roles that may perform it, how it is applied, what is a conflict and the server's row then, what
a duplicate answers again: `Operation`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.security.vault import Vault
from workbench.surveys import delivery as survey_delivery

DEFAULT_OFFLINE_MAX_DAYS = 7  # WORKBENCH_SYNC_OFFLINE_MAX_DAYS


@dataclass(frozen=True, slots=True)
class Context:
    caller: Caller
    vault: Vault
    bank_timezone: str
    public_base_url: str
    # Survey links and contact rules: a survey shared offline becomes its link once pushed.
    survey_rules: survey_delivery.Rules | None = None
    # How old a mutation's `occurred_at` may be and still be believed (settings).
    offline_max_days: int = DEFAULT_OFFLINE_MAX_DAYS
    # The address the push came from (relay headers believed from trusted proxies only), for
    # the audit trail of what a mutation does there (a work order's step); None: not known.
    client_ip: str | None = None


# (connection, context, arguments, when the RM did it: a plausible `occurred_at` or None)
Apply = Callable[[Connection, Context, Any, datetime | None], Awaitable[Any]]
ServerRow = Callable[[Connection, Context, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Operation:
    args: type[msgspec.Struct]
    roles: frozenset[Role]
    apply: Apply
    conflicts: tuple[type[DomainError], ...] = ()
    server_row: ServerRow | None = None
    # What a duplicate answers in `result`, for what the app gets nowhere else (a share is no
    # sync entity: its link came only in the first answer): the answer as found again from the
    # arguments, writing nothing, or None. The others' results are rows of the partition: the
    # next pull brings them as they are now.
    answered_again: ServerRow | None = None
