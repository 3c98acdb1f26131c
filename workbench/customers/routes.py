"""Customer butler endpoints: bank feeds, the RM's customers, notes, verification, advice."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import customers as wire
from mobile_contracts.v1.common import MONEY_PATTERN, Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.customers import feeds, recommendations, verification, views
from workbench.http import feed_rows
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.feed_rows import EachRowAlone
from workbench.http.input_checks import ROWS_CHECKED
from workbench.http.openapi import ERRORS
from workbench.pagination import DEFAULT_LIMIT, BareArray, Limit

AmountQuery = Annotated[
    str | None, QueryParameter(pattern=MONEY_PATTERN, description="An amount in yuan, e.g. 50000")
]
FEED_BODY_LIMIT = 32_000_000  # 10,000 customers with tags fit with room to spare
ADMIN = [requires_role(Role.ADMIN)]
STAFF = [requires_role(Role.RM, Role.BRANCH_HEAD)]
OWNER = [requires_role(Role.RM)]


class FeedController(Controller):
    """Bank systems push their data here (admin / integration accounts)."""

    path = "/api/v1/integration"
    tags = ["integration"]
    guards = ADMIN

    @post("/customers:bulk-upsert", operation_id="upsertCustomers", status_code=HTTP_200_OK,
          request_max_body_size=FEED_BODY_LIMIT, opt={ROWS_CHECKED: "customers"},
          dto=EachRowAlone[wire.CustomerFeed], return_dto=None)  # fmt: skip
    async def customers(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.CustomerFeed]
    ) -> wire.FeedResult:
        """Upsert up to 10,000 customers by external id.

        Each row is checked on its own: bad rows come back in `rejected` (with their index and a
        code; a value of the wrong type or a field left out: `row.invalid`, naming the field)
        and the good ones land. A row that would change nothing is not written. A new
        `owner_login` moves the customer to that RM. `status: closed` (the customer left the
        bank) takes them out of the RMs' lists, views and devices and cancels their tasks not
        started; a row without it, or `active`, reopens them. Personal data is stored encrypted.
        """
        vault = request.app.state.vault
        return await feed_rows.apply(
            request,
            data.customers,
            lambda rows, nul_rows: feeds.upsert_customers(
                db, vault=vault, rows=rows, nul_rows=nul_rows
            ),
        )

    @post("/holdings:bulk-upsert", operation_id="upsertHoldings", status_code=HTTP_200_OK,
          request_max_body_size=FEED_BODY_LIMIT, opt={ROWS_CHECKED: "holdings"},
          dto=EachRowAlone[wire.HoldingFeed], return_dto=None)  # fmt: skip
    async def holdings(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.HoldingFeed]
    ) -> wire.FeedResult:
        """Upsert up to 10,000 holdings by customer and product.

        A position with an older `as_of` never overwrites a newer one; an `amount` of 0 is a
        position closed (sold), no longer shown. Bad rows come back in `rejected` (one of the
        wrong shape as `row.invalid`) and the good ones land.
        """
        return await feed_rows.apply(
            request,
            data.holdings,
            lambda rows, nul_rows: feeds.upsert_holdings(db, rows=rows, nul_rows=nul_rows),
        )

    @post("/products:bulk-upsert", operation_id="upsertProducts", status_code=HTTP_200_OK,
          request_max_body_size=FEED_BODY_LIMIT, opt={ROWS_CHECKED: "products"},
          dto=EachRowAlone[wire.ProductFeed], return_dto=None)  # fmt: skip
    async def products(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.ProductFeed]
    ) -> wire.FeedResult:
        """Upsert up to 10,000 products of the product master by code.

        `risk_level` is R1 to R5; `max_holding` caps what one customer may hold. Bad rows come
        back in `rejected` (one of the wrong shape as `row.invalid`) and the good ones land.
        """
        return await feed_rows.apply(
            request,
            data.products,
            lambda rows, nul_rows: feeds.upsert_products(db, rows=rows, nul_rows=nul_rows),
        )


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get("", operation_id="listCustomers", guards=STAFF)
    async def list_customers(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        q: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        segment: FromQuery[str | None] = None,
        risk_level: FromQuery[wire.CustomerRisk | None] = None,
        min_aum: AmountQuery = None,
        max_aum: AmountQuery = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.CustomerSummary]:
        """My customers, richest first, with personal data masked.

        An RM sees their own customers, a branch head those of the RMs in their subtree. `q`
        finds by full name, surname, phone or ID number; the AUM band is [min_aum, max_aum).
        """
        filters = views.CustomerFilters(
            q=q,
            tag=tag,
            segment=segment,
            risk_level=risk_level,
            min_aum=Decimal(min_aum) if min_aum else None,
            max_aum=Decimal(max_aum) if max_aum else None,
        )
        return await views.list_customers(
            db, vault=request.app.state.vault, caller=caller, filters=filters, cursor=cursor,
            limit=limit,
        )  # fmt: skip

    @get("/{customer_id:uuid}", operation_id="getCustomer", guards=STAFF)
    async def get_customer(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
    ) -> wire.Customer360:
        """The 360° view of a customer.

        Masked profile, tags, holdings with product names, AUM, risk level, verified flag,
        intimacy score (0-100) and the newest timeline entries. Every view is audited.
        """
        return await views.customer_360(
            db,
            vault=request.app.state.vault,
            caller=caller,
            customer_id=customer_id,
            client_ip=request_ip(request),
        )

    @get("/{customer_id:uuid}/timeline", operation_id="getCustomerTimeline", guards=STAFF)
    async def timeline(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
        limit: Limit = views.TIMELINE_PAGE,
        cursor: FromQuery[str | None] = None,
    ) -> wire.TimelinePage:
        """A customer's timeline, newest first.

        Notes, confirmed visits, owner changes, verification...; page with `cursor`.
        """
        return await views.timeline_page(
            db, vault=request.app.state.vault, caller=caller, customer_id=customer_id,
            cursor=cursor, limit=limit,
        )  # fmt: skip

    @post(
        "/{customer_id:uuid}/notes",
        operation_id="addNote",
        guards=OWNER,
        status_code=HTTP_201_CREATED,
        opt={
            ERRORS: {
                409: "This note `id` is already used for another note, or was sent before with "
                "another text or kind (`note.id_taken`)",
                422: "Invalid body (`request.validation_failed`, one `errors[]` entry per field, "
                "located by `path`), or a `text` of only spaces (`note.blank_text`)",
            }
        },
    )
    async def add_note(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
        data: JSONBody[wire.NoteCreate],
    ) -> wire.TimelineEntry:
        """Record a visit, call or chat with my customer on its timeline.

        An app may create the note's `id` offline: resending the same note answers the stored
        one and creates nothing new. A `text` of only spaces is refused.
        """
        return await views.add_note(
            db, vault=request.app.state.vault, caller=caller, customer_id=customer_id, note=data
        )

    @post(
        "/{customer_id:uuid}/verification-invites",
        operation_id="inviteVerification",
        guards=OWNER,
        status_code=HTTP_201_CREATED,
        opt={ERRORS: {409: "The customer is verified already (`customer.already_verified`)"}},
    )
    async def invite_verification(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
    ) -> wire.VerificationInvite:
        """A link for my customer to complete real-name verification on their phone.

        The customer opens `url` (valid until `expires_at`) and enters name, ID number and phone;
        a match marks the customer verified and notifies me. A customer is verified once: a
        verified customer gets no new link, and another open link of theirs says it is done.
        """
        state = request.app.state
        return await verification.invite(
            db,
            vault=state.vault,
            caller=caller,
            customer_id=customer_id,
            ttl_seconds=state.settings.verification_ttl_seconds,
            public_base_url=state.settings.public_base_url,
        )

    @get("/{customer_id:uuid}/recommendations", operation_id="recommendProducts",
         guards=STAFF)  # fmt: skip
    async def recommend(
        self,
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = recommendations.DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        array: BareArray = False,
    ) -> Page[wire.Recommendation] | list[wire.Recommendation]:
        """Products to suggest to this customer, best first.

        Ranked by the recommendation rules (highest score first, then by product code). Never a
        product above the customer's risk level, an inactive one, or one the customer already
        holds at its cap. A page as every list answers: `{"items": [...], "next_cursor": "..." |
        null}` (`limit` at most 50); pass `next_cursor` back as `cursor` for the products ranked
        below. Deprecated: `array=true` answers the form of earlier versions of this API, the
        page's items in a bare JSON array; it will be removed once no app in use sends it.
        """
        page = await recommendations.recommend_page(
            db, caller=caller, customer_id=customer_id, cursor=cursor, limit=limit
        )
        return page.items if array else page


class RecommendationRuleController(Controller):
    path = "/api/v1/admin/recommendation-rules"
    tags = ["customers"]
    guards = ADMIN

    @get("", operation_id="getRecommendationRules")
    async def get_rules(self, db: Db) -> wire.RecommendationRules:
        """The rule table that ranks recommendations."""
        return await recommendations.rules(db)

    @put(
        "",
        operation_id="replaceRecommendationRules",
        opt={
            ERRORS: {
                400: "Two rules carry the same id (`recommendation.duplicate_rule_id`), or a rule "
                "recommends neither a product nor a category (`recommendation.rule_without_target`)"
            }
        },
    )
    async def replace_rules(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.RecommendationRules],
    ) -> Response[wire.RecommendationRules]:
        """Replace the whole rule table at once.

        Rules left out are deleted. A rule applies when all of its `when` conditions hold and
        favours a product or a category by `weight`. A change is in the audit trail, with my
        address: the rules added, removed and changed (ids and field names, never values).
        """
        return Response(
            await recommendations.replace_rules(
                db,
                table=data,
                caller=caller,
                client_ip=request_ip(request),
            )
        )


ROUTES = [FeedController, CustomerController, RecommendationRuleController]
