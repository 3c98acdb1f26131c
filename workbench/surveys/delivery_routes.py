"""Survey delivery endpoints: invitations to customers and staff, progress, the staff inbox, and
the survey message outbox the bank's gateway reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from mobile_contracts.v1.surveys import Submission
from workbench.access import requires_role
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERROR_DESCRIPTIONS, ERRORS
from workbench.http.raw_body import BodyReadByHandler
from workbench.pagination import DEFAULT_LIMIT, Limit, decode_cursor, encode_cursor
from workbench.surveys import delivery, delivery_jobs, inbox, submission

OutboxLimit = Annotated[int, QueryParameter(ge=1, le=1000)]
ADMIN = [requires_role(Role.ADMIN)]
AFTER = "Deprecated: `cursor` under its earlier name, for gateways built on it"


def rules_of(request: Request[Any, Any, Any]) -> delivery.Rules:
    return delivery.Rules.from_settings(request.app.state.settings)


class AnswersAsSent(BodyReadByHandler[Submission]):
    """A staff member's answer read as the survey page reads an app's (`submission.decode`):
    each answer as the JSON value sent, so a value of the wrong type is said at its question
    (`survey.answers_invalid`), never as the decoder's general English 422. Documented as the
    contract's `Submission`, which it still is on the wire."""

    def decode_bytes(self, value: bytes) -> Submission:
        return Submission(answers=submission.decode(value))


class DeliveryController(Controller):
    path = "/api/v1/surveys"
    tags = ["surveys"]

    @post(
        "/{survey_id:uuid}/deliveries",
        operation_id="createSurveyDelivery",
        status_code=HTTP_201_CREATED,
        responses={
            202: ResponseSpec(
                data_container=wire.Delivery,
                description="Queued for the worker (more than 200 recipients, or a selection): "
                "follow it at GET .../deliveries/{id}",
                generate_examples=False,
            )
        },
        opt={
            ERRORS: {
                403: "I see the survey but my role sends none (`auth.forbidden`: marketing "
                "designs surveys; admins send them to anyone, branch heads within their "
                "subtree, RMs a customer survey to their own customers); or "
                + ERROR_DESCRIPTIONS[403][0].lower()
                + ERROR_DESCRIPTIONS[403][1:],
                404: "The survey is not published, or not one I see (`survey.not_found`), or "
                "a recipient is out of my reach (`customer.not_found`, `user.not_found`, "
                "`org_unit.not_found`)",
                409: "The survey is archived and is sent no more (`survey.archived`); the "
                "`Idempotency-Key` was used for a different delivery "
                "(`delivery.idempotency_key_reused`)",
                422: "Recipients of the wrong kind for the survey's audience, or none: a "
                "selection (`org_unit_id`, `tag`) that reaches no customer now, its `detail` "
                "naming the unit and tag (`survey.wrong_recipients`; nothing is sent or kept); "
                "an empty `Idempotency-Key`",
            }
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        data: JSONBody[wire.DeliveryCreate],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=200)
        ] = None,
    ) -> Response[wire.Delivery]:
        """Send a published survey to customers (single-use links) or staff (their inbox).

        One link per customer, or an inbox entry per staff member. An admin sends to anyone;
        a branch head to customers owned by RMs of their subtree and to its staff; an RM a
        customer survey to their own customers (marketing, who design surveys, send none: 403).
        Up to 200 listed recipients are sent now (201, each with its invitation and, for a
        customer, its `url`;
        `skipped` with `reason: contact_cap` when the customer already got the most survey
        messages allowed lately, or `already_invited` when they hold an open link to the
        survey: with its `url` when I sent that link). More, or a selection (`org_unit_id` and
        optional `tag`, read as the customer list's `?tag=`: trimmed, a blank one is no tag;
        every customer owned by an RM of that subtree; one that reaches nobody now, a
        mistyped tag, is 422 `survey.wrong_recipients`), go to the worker: 202
        with the delivery queued; follow it at GET .../deliveries/{id}. Sending again with the
        same `Idempotency-Key` (non-empty) sends nothing again and answers that delivery as it
        is now, with its recipients and their links as first answered.
        """
        state = request.app.state
        made, done = await delivery.create(
            db, caller=caller, survey_id=survey_id, request=data, rules=rules_of(request),
            wake=delivery_jobs.waker(state.redis, state.settings.redis_prefix),
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return Response(made, status_code=HTTP_201_CREATED if done else HTTP_202_ACCEPTED)

    @get(
        "/{survey_id:uuid}/deliveries/{delivery_id:uuid}",
        operation_id="getSurveyDelivery",
        opt={ERRORS: {404: "No such delivery that I may follow (`delivery.not_found`)"}},
    )
    async def progress(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> wire.Delivery:
        """A delivery's progress: recipients invited and skipped of the total, and its status.

        `done` invited and `skipped` (contact cap) of `total`. For whoever sent it, their
        branch head, and admins. Whoever sent it also gets its `recipients` with their links,
        as first answered, when they were sent in the request (up to 200 listed).
        """
        return await delivery.progress(
            db, caller=caller, survey_id=survey_id, delivery_id=delivery_id,
            rules=rules_of(request),
        )  # fmt: skip

    @get("/inbox", operation_id="listSurveyInbox")
    async def waiting(
        self,
        db: Db,
        caller: CurrentCaller,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.InboxItem]:
        """Surveys waiting for my answer (not answered, expired or closed), newest first."""
        return await inbox.waiting(db, caller=caller, cursor=cursor, limit=limit)

    @get(
        "/invitations/{invitation_id:uuid}",
        operation_id="getSurveyInvitation",
        opt={ERRORS: {404: "Not one of my invitations (`invitation.not_found`)"}},
    )
    async def invitation(
        self, db: Db, caller: CurrentCaller, invitation_id: FromPath[uuid.UUID]
    ) -> wire.Invitation:
        """One of my survey invitations with the questions of its version."""
        return await inbox.invitation(db, caller=caller, invitation_id=invitation_id)

    @post(
        "/invitations/{invitation_id:uuid}/response",
        operation_id="answerSurveyInvitation",
        status_code=HTTP_201_CREATED,
        opt={
            ERRORS: {
                404: "Not one of my invitations (`invitation.not_found`)",
                409: "I answered it already; the first answer is kept "
                "(`survey.already_answered`); or the survey is closed (archived) and takes no "
                "more answers (`survey.archived`)",
                410: "The invitation has expired (`survey.link_expired`)",
                422: "Answers to fix: `errors[]` at `$.answers.<key>` and the same messages "
                "by question key in `answer_errors`, a value of the wrong type too; a body that "
                'is not `{"answers": {...}}` at `$.answers` (`survey.answers_invalid`)',
            }
        },
        dto=AnswersAsSent,
        return_dto=None,
    )
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        invitation_id: FromPath[uuid.UUID],
        data: JSONBody[Submission],
    ) -> wire.ResponseStored:
        """Answer a survey sent to me, once (skipped questions must be left out)."""
        return await inbox.answer(
            db, cipher=request.app.state.vault.cipher, caller=caller,
            invitation_id=invitation_id, data=data,
        )  # fmt: skip


class OutboxController(Controller):
    path = "/api/v1/integration/survey-messages"
    tags = ["integration"]
    guards = ADMIN

    @get("", operation_id="listSurveyMessages")
    async def outbox(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        cursor: FromQuery[str | None] = None,
        after: Annotated[
            str | None, QueryParameter(description=AFTER, schema_extra={"deprecated": True})
        ] = None,
        limit: OutboxLimit = 500,
    ) -> Page[wire.SurveyMessage]:
        """Survey messages for the bank's SMS or WeChat gateway to send, oldest first.

        Each is an invitation (`seq` 0) or a reminder, with the customer's external id and the
        single-use link. Pass `next_cursor` back as `cursor` to read on, as for every list;
        `next_cursor` is given also on the last page, to poll from later. A message is listed
        once it is 10 seconds old, so that none committed late is passed over. Deprecated:
        `after`, the same cursor under the name of earlier versions (`cursor` wins when both
        are sent).
        """
        sent, name = (cursor, "cursor") if cursor else (after, "after")
        position = decode_cursor(sent, tuple[datetime, uuid.UUID], name=name)
        items, last = await delivery.messages(
            db, rules=rules_of(request), after=position, limit=limit
        )
        return Page(items=items, next_cursor=encode_cursor(list(last)) if last else sent)


ROUTES: list[Any] = [DeliveryController, OutboxController]
