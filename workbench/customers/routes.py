"""Customer butler endpoints: bank feeds, the RM's customers, notes, verification, advice."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import customers as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.customers import feeds, recommendations, verification, views
from workbench.http.client_ip import client_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.problems import PROBLEM_RESPONSES
from workbench.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]
FEED_BODY_LIMIT = 32_000_000  # 10,000 customers with tags fit with room to spare
ADMIN = [requires_role(Role.ADMIN)]
STAFF = [requires_role(Role.RM, Role.BRANCH_HEAD)]
OWNER = [requires_role(Role.RM)]


class FeedController(Controller):
    """Bank systems push their data here (admin / integration accounts)."""

    path = "/api/v1/integration"
    tags = ["integration"]
    guards = ADMIN

    @post("/customers:bulk-upsert", responses=PROBLEM_RESPONSES, operation_id="upsertCustomers",
          status_code=HTTP_200_OK, request_max_body_size=FEED_BODY_LIMIT)  # fmt: skip
    async def customers(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.CustomerFeed]
    ) -> wire.FeedResult:
        """Upsert up to 10,000 customers by external_id; bad rows are reported, good rows land."""
        return await feeds.upsert_customers(db, vault=request.app.state.vault, rows=data.customers)

    @post("/holdings:bulk-upsert", responses=PROBLEM_RESPONSES, operation_id="upsertHoldings",
          status_code=HTTP_200_OK, request_max_body_size=FEED_BODY_LIMIT)  # fmt: skip
    async def holdings(self, db: Db, data: JSONBody[wire.HoldingFeed]) -> wire.FeedResult:
        """Upsert holdings by (customer, product); an older position never overwrites a newer."""
        return await feeds.upsert_holdings(db, rows=data.holdings)

    @post("/products:bulk-upsert", responses=PROBLEM_RESPONSES, operation_id="upsertProducts",
          status_code=HTTP_200_OK, request_max_body_size=FEED_BODY_LIMIT)  # fmt: skip
    async def products(self, db: Db, data: JSONBody[wire.ProductFeed]) -> wire.FeedResult:
        """Upsert the product master by code."""
        return await feeds.upsert_products(db, rows=data.products)


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get("", responses=PROBLEM_RESPONSES, operation_id="listCustomers", guards=STAFF)
    async def list_customers(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        q: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        segment: FromQuery[str | None] = None,
        risk_level: FromQuery[wire.CustomerRisk | None] = None,
        min_aum: FromQuery[Decimal | None] = None,
        max_aum: FromQuery[Decimal | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.CustomerSummary]:
        """My customers (RM) or my subtree's (branch head), richest first, masked.

        `q` finds by full name, surname, phone or ID number; AUM band is [min_aum, max_aum).
        """
        filters = views.CustomerFilters(
            q=q, tag=tag, segment=segment, risk_level=risk_level, min_aum=min_aum, max_aum=max_aum
        )
        return await views.list_customers(
            db, vault=request.app.state.vault, caller=caller, filters=filters, cursor=cursor,
            limit=limit,
        )  # fmt: skip

    @get("/{customer_id:uuid}", responses=PROBLEM_RESPONSES, operation_id="getCustomer",
         guards=STAFF)  # fmt: skip
    async def get_customer(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
    ) -> wire.Customer360:
        """The 360° view: masked profile, holdings, intimacy score, newest timeline (audited)."""
        return await views.customer_360(
            db,
            vault=request.app.state.vault,
            caller=caller,
            customer_id=customer_id,
            client_ip=client_ip(request.scope, request.app.state.trusted_networks),
        )

    @get("/{customer_id:uuid}/timeline", responses=PROBLEM_RESPONSES,
         operation_id="getCustomerTimeline", guards=STAFF)  # fmt: skip
    async def timeline(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
        limit: Limit = views.TIMELINE_PAGE,
        cursor: FromQuery[str | None] = None,
    ) -> wire.TimelinePage:
        """Older timeline entries, newest first."""
        return await views.timeline_page(
            db, vault=request.app.state.vault, caller=caller, customer_id=customer_id,
            cursor=cursor, limit=limit,
        )  # fmt: skip

    @post("/{customer_id:uuid}/notes", responses=PROBLEM_RESPONSES, operation_id="addNote",
          guards=OWNER, status_code=HTTP_201_CREATED)  # fmt: skip
    async def add_note(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
        data: JSONBody[wire.NoteCreate],
    ) -> wire.TimelineEntry:
        """Record a visit, call or chat with my customer on its timeline."""
        return await views.add_note(
            db, vault=request.app.state.vault, caller=caller, customer_id=customer_id, note=data
        )

    @post(
        "/{customer_id:uuid}/verification-invites",
        responses=PROBLEM_RESPONSES,
        operation_id="inviteVerification",
        guards=OWNER,
        status_code=HTTP_201_CREATED,
    )
    async def invite_verification(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
    ) -> wire.VerificationInvite:
        """A link for my customer to complete real-name verification on their phone."""
        state = request.app.state
        return await verification.invite(
            db,
            vault=state.vault,
            keyring=state.auth.keyring,
            caller=caller,
            customer_id=customer_id,
            ttl_seconds=state.settings.verification_ttl_seconds,
            public_base_url=state.settings.public_base_url,
        )

    @get("/{customer_id:uuid}/recommendations", responses=PROBLEM_RESPONSES,
         operation_id="recommendProducts", guards=STAFF)  # fmt: skip
    async def recommend(
        self,
        db: Db,
        caller: CurrentCaller,
        customer_id: FromPath[uuid.UUID],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = recommendations.DEFAULT_LIMIT,
    ) -> list[wire.Recommendation]:
        """Products ranked for this customer; none above their risk level or held at the cap."""
        return await recommendations.recommend(
            db, caller=caller, customer_id=customer_id, limit=limit
        )


class RecommendationRuleController(Controller):
    path = "/api/v1/admin/recommendation-rules"
    tags = ["customers"]
    guards = ADMIN

    @get("", responses=PROBLEM_RESPONSES, operation_id="getRecommendationRules")
    async def get_rules(self, db: Db) -> wire.RecommendationRules:
        """The rule table that ranks recommendations."""
        return await recommendations.rules(db)

    @put("", responses=PROBLEM_RESPONSES, operation_id="replaceRecommendationRules")
    async def replace_rules(
        self, db: Db, data: JSONBody[wire.RecommendationRules]
    ) -> Response[wire.RecommendationRules]:
        """Replace the whole rule table at once."""
        return Response(await recommendations.replace_rules(db, table=data))


ROUTES = [FeedController, CustomerController, RecommendationRuleController]
