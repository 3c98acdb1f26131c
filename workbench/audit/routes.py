"""The audit trail's endpoint (`GET /api/v1/audit-events`, compliance and admins) and its console
pages (`/console/audit`): `ROUTES` goes on the app as it is."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from mobile_contracts.v1 import audit as wire
from mobile_contracts.v1.common import DAY_OR_TIME, Page
from workbench.access import requires_role
from workbench.audit import console as audit_pages
from workbench.audit import service
from workbench.console import nav
from workbench.console.routes import console_router
from workbench.http.deps import Db
from workbench.http.openapi import ERRORS
from workbench.pagination import DEFAULT_LIMIT, Limit

READERS = sorted(nav.AUDIT.roles)  # compliance and admins: the whole bank's trail


class AuditEventController(Controller):
    path = "/api/v1/audit-events"
    tags = ["audit"]
    guards = [requires_role(*READERS)]

    @get(
        "",
        operation_id="listAuditEvents",
        opt={ERRORS: {422: "Invalid parameters, or `to` not after `from` (`audit.bad_period`)"}},
    )
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        from_: Annotated[
            str | None,
            QueryParameter(
                name="from",
                pattern=DAY_OR_TIME,
                description="Start: a day (from its midnight in the bank's time zone) or an "
                "RFC 3339 time; default: from the first event",
            ),
        ] = None,
        to: Annotated[
            str | None,
            QueryParameter(
                pattern=DAY_OR_TIME,
                description="End: a day (included) or an RFC 3339 time (excluded); default: up "
                "to the last event",
            ),
        ] = None,
        actor: Annotated[
            str | None,
            QueryParameter(
                pattern=wire.AuditActorLogin,
                description="Only the events of the user with this login (any case)",
            ),
        ] = None,
        kind: Annotated[
            str | None,
            QueryParameter(pattern=wire.AuditKind, description="Only events of this kind"),
        ] = None,
        object_id: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                description="Only events about the object of this id (a brochure's, a user's, a "
                "device's...)",
            ),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.AuditEvent]:
        """The bank's audit trail, newest first: sign-ins, changes, data views and exports.

        Each event says who (`actor`: null for the system or someone not signed in), what
        (`kind`, with `kind_label` in the console's words), about which object (`subject`: its
        type and id), from which address and with what detail (field names, versions, reasons,
        an export's table, format, filters and rows: never personal data). Filters: `from` and
        `to` (days in the bank's time zone, `to` included), `actor` (a login), `kind`,
        `object_id`. Pass `next_cursor` back as `cursor` (with the same filters) for the events
        after these. Events are never changed or removed.
        """
        tz = request.app.state.settings.bank_timezone
        start, end = service.period(from_, to, tz=tz)
        asked = service.filters(start=start, end=end, actor=actor, kind=kind, object_id=object_id)
        return await service.page(db, asked, cursor=cursor, limit=limit)


ROUTES: list[Any] = [AuditEventController, console_router(*audit_pages.PAGES)]
