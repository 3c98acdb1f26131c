"""Conversions fed by bank systems, and the share funnels of RMs, units and brochures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from mobile_contracts.v1 import funnels as wire
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.funnels import attribution, views
from workbench.http import feed_rows
from workbench.http.deps import CurrentCaller, Db
from workbench.http.feed_rows import EachRowAlone
from workbench.http.input_checks import ROWS_CHECKED
from workbench.http.openapi import ERRORS
from workbench.periods import DAY_OR_TIME

FEED_BODY_LIMIT = 8_000_000  # 10,000 conversions with room to spare
FUNNEL_READERS = [
    requires_role(Role.RM, Role.BRANCH_HEAD, Role.MARKETING, Role.COMPLIANCE, Role.ADMIN)
]


class ConversionFeedController(Controller):
    path = "/api/v1/integration"
    tags = ["integration"]
    guards = [requires_role(Role.ADMIN)]

    @post("/conversions", operation_id="recordConversions", status_code=HTTP_200_OK,
          request_max_body_size=FEED_BODY_LIMIT, opt={ROWS_CHECKED: "conversions"},
          dto=EachRowAlone[wire.ConversionFeed], return_dto=None)  # fmt: skip
    async def conversions(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.ConversionFeed]
    ) -> wire.ConversionFeedResult:
        """Record up to 10,000 conversions (purchases, consultations), idempotent by external id.

        Each new conversion is attributed to the last share of its product to its customer
        made at most `WORKBENCH_ATTRIBUTION_WINDOW_DAYS` (30) days before `occurred_at`, else to
        none. A conversion already stored under the same `external_id` is left as it was
        (counted in `unchanged`); a row without one gets an id derived from its customer,
        product, kind, amount and `occurred_at`, so resending it changes nothing too. Bad rows
        (unknown customer or product, a bad kind, a negative amount, a time outside the years
        2000-2999, a NUL character; a value of the wrong type, an amount no column holds, a time
        without an offset or a field left out: `row.invalid`, naming the field) come back in
        `rejected` with their index; the others land.
        """
        window_days = request.app.state.settings.attribution_window_days
        return await feed_rows.apply(
            request,
            data.conversions,
            lambda rows, nul_rows: attribution.record_conversions(
                db, rows=rows, window_days=window_days, nul_rows=nul_rows
            ),
        )


class FunnelController(Controller):
    path = "/api/v1/funnels"
    tags = ["tracking"]

    @get(
        "",
        operation_id="getFunnels",
        guards=FUNNEL_READERS,
        opt={
            ERRORS: {
                404: "`org_unit_id` is unknown or outside my subtree (`org_unit.not_found`)",
                422: "Invalid parameters, `to` not after `from`, or a period of more than 366 "
                "days (`funnel.bad_period`)",
            }
        },
    )
    async def funnels(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        group_by: FromQuery[wire.FunnelGroupBy] = wire.FunnelGroupBy.RM,
        from_: Annotated[
            str | None,
            QueryParameter(
                name="from",
                pattern=DAY_OR_TIME,
                description="Start: a day (from its midnight in the bank's time zone) or an "
                "RFC 3339 time; default 30 days before `to`",
            ),
        ] = None,
        to: Annotated[
            str | None,
            QueryParameter(
                pattern=DAY_OR_TIME,
                description="End: a day (included) or an RFC 3339 time (excluded); default "
                "the end of today",
            ),
        ] = None,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        brochure_id: Annotated[
            uuid.UUID | None,
            QueryParameter(description="Only the shares of this brochure (any of its versions)"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=wire.MAX_FUNNEL_ROWS)] = 100,
        cursor: FromQuery[str | None] = None,
    ) -> wire.Funnel:
        """Share funnels per RM, org unit or brochure, over shares created in a period.

        An RM sees their own shares, a branch head the shares made in their subtree (by the
        sharer's unit when sharing), marketing, compliance and admins the whole bank;
        `org_unit_id` narrows to a subtree I may see, `brochure_id` to one brochure's shares (an
        unknown brochure counts nothing). Rows come most shares first (then by
        key), at most `limit` of `total_groups`; `total` covers every share of the scope. Pass
        `next_cursor` back as `cursor` (with the same parameters) for the rows after these.

        Steps count shares, each a subset of the one before (no step above the one before, no
        rate above 100 %): `shared` (created in the period); `opened` (at least one human
        visitor opened it); `engaged` (opened, and some opener stayed 10 s or more or clicked);
        `clicked` (opened, and some opener clicked the call to action); `converted` (clicked,
        and at least one conversion is attributed to it). Raw figures: `visitors` (each share's
        unique visitors who opened it, summed over the group's shares) and `conversions` (every
        conversion attributed to the group's shares, clicked or not).
        """
        tz = request.app.state.settings.bank_timezone
        start, end = views.period(from_, to, tz=tz, now=datetime.now(UTC))
        return await views.funnel(
            db, caller=caller, group_by=group_by, start=start, end=end,
            org_unit_id=org_unit_id, limit=limit, brochure_id=brochure_id, cursor=cursor,
        )  # fmt: skip


ROUTES = [ConversionFeedController, FunnelController]
