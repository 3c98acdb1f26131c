"""Share endpoints: an RM shares a live brochure, gets its poster, and lists their shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import shares as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.errors import NotFound
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.media.routes import serve_blob
from workbench.pagination import DEFAULT_LIMIT, Limit
from workbench.shares import posters, service
from workbench.surveys import delivery as survey_delivery
from workbench.surveys import share_poster as survey_poster

RM = [requires_role(Role.RM)]
READERS = [requires_role(Role.RM, Role.BRANCH_HEAD)]


class ShareController(Controller):
    path = "/api/v1/shares"
    tags = ["shares"]

    @post(
        "",
        operation_id="createShare",
        guards=RM,
        status_code=HTTP_201_CREATED,
        responses={
            200: ResponseSpec(
                data_container=wire.Share,
                description="The share I made before with this `client_ref` (or key), or "
                "the customer's open link to the survey that I sent",
                generate_examples=False,
            )
        },
        opt={
            ERRORS: {
                404: "The brochure is not live for me (`brochure.not_found`), or the customer is "
                "not mine (`customer.not_found`)",
                409: "`client_ref` (or the `Idempotency-Key`) was used for a different share "
                "(`share.client_ref_reused`); the survey was archived (`survey.archived`); the "
                "customer holds an open link to the survey that I did not send "
                "(`survey.already_invited`)",
                422: "Invalid body; neither or both of `brochure_id` and `survey_id` "
                "(`share.one_target`); a survey without `customer_id` "
                "(`share.customer_required`); a product rated above the customer's risk "
                "level (`share.unsuitable`)",
            }
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.ShareCreate],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
        ] = None,
    ) -> Response[wire.Share]:
        """Share a live brochure (a tracked short link) or a survey, with a poster and QR code.

        Send `url` (WeChat, SMS, a link) or show the poster at `poster_png_url`; opens, dwell and
        clicks of the link's visitors appear in my share list. With `customer_id` (one of my
        customers) the share is theirs. A published customer survey (`survey_id`) is shared
        with one of my customers (`customer_id` required) as their single-use survey link;
        while they hold an open link to it that I sent (shared, by my delivery or a task I
        did), that link is answered with 200 and no second one is made.
        Sending the same `client_ref` again (or the same `Idempotency-Key`, when there is no
        `client_ref`) answers the same share with 200.
        """
        if data.client_ref is None and idempotency_key is not None:
            data = msgspec.structs.replace(
                data, client_ref=service.client_ref_for_key(caller, idempotency_key)
            )
        settings = request.app.state.settings
        share, created = await service.create(
            db, caller=caller, request=data, base_url=settings.public_base_url,
            survey_rules=survey_delivery.Rules.from_settings(settings),
        )  # fmt: skip
        return Response(share, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get("", operation_id="listShares", guards=READERS)
    async def list_shares(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        mine: FromQuery[bool] = False,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.ShareRow]:
        """My shares, newest first, with their visitors' opens, dwell and clicks.

        An RM sees their own shares (`mine=1` or not); a branch head those shared from their
        subtree, or with `mine=1` their own. Counts are of real visitors (bots are left out)
        whose page was visibly opened; `customer` is the customer's masked name. Surveys shared
        with a customer are listed too (`survey_id`; `answered`: whether the customer answered
        the link, `answered_at`, and when the link `expires_at`).
        """
        state = request.app.state
        return await service.list_shares(
            db, vault=state.vault, caller=caller, mine=mine, cursor=cursor, limit=limit,
            base_url=state.settings.public_base_url,
            survey_rules=survey_delivery.Rules.from_settings(state.settings),
        )  # fmt: skip

    @get(
        "/{share_id:uuid}/poster.png",
        operation_id="getSharePoster",
        guards=READERS,
        media_type="image/png",
    )
    async def poster(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        share_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """The share's poster: a 750 x 1334 PNG with the first page, title, my name and QR code.

        For the sharing RM and their branch head; a survey link's poster (also of a link I sent
        by my delivery or a task I did) only while the link is open and the customer is still
        mine (a branch head: held by an RM of their subtree). Drawn once and cached (ETag).
        """
        state = request.app.state
        try:
            key = await posters.poster_key(
                db, caller=caller, share_id=share_id, blobs=state.blobs,
                base_url=state.settings.public_base_url, bank_name=state.settings.bank_name,
                now=datetime.now(UTC),
            )  # fmt: skip
        except posters.NotLive:  # the share page answers 410: its poster is gone as well
            raise
        except NotFound:  # a survey share: its invitation's id
            key = await survey_poster.poster_key(
                db, caller=caller, invitation_id=share_id, blobs=state.blobs,
                rules=survey_delivery.Rules.from_settings(state.settings),
                bank_name=state.settings.bank_name,
            )  # fmt: skip
        return await serve_blob(
            request, state.blobs, key, content_type="image/png",
            cache_control="private, max-age=86400",
        )  # fmt: skip


ROUTES = [ShareController]
