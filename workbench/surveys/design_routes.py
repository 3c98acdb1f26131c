"""Survey design endpoints: drafts, publication as immutable versions, archiving."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from mobile_contracts.v1 import surveys as wire
from mobile_contracts.v1.common import Page
from mobile_contracts.v1.identity import Role
from workbench.access import requires_role
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.pagination import DEFAULT_LIMIT, Limit
from workbench.surveys import design

AUTHORS = [requires_role(Role.ADMIN, Role.MARKETING)]
READERS = [requires_role(Role.ADMIN, Role.MARKETING, Role.BRANCH_HEAD, Role.RM)]
TEMPLATE_ERRORS = {
    404: "The survey is not one I may change (`survey.not_found`), or `after_template_id` "
    "names no task template I see (`task_template.not_found`)",
    409: "The survey is archived (`survey.archived`)",
    422: "Invalid body (questions are checked for shape; their logic only at publication); "
    "a title, question text or option label of only spaces (`survey.blank_text`); "
    "`after_template_id` on a staff survey (`survey.template_not_for_staff`); both "
    "`after_template_id` and `clear_after_template` (`survey.ambiguous_template`)",
}


def _ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address for the audit trail (relay headers believed from trusted proxies)."""
    return request_ip(request)


class SurveyDesignController(Controller):
    path = "/api/v1/surveys"
    tags = ["surveys"]

    @post(
        "",
        operation_id="createSurvey",
        guards=AUTHORS,
        status_code=HTTP_201_CREATED,
        opt={
            ERRORS: {
                404: "`after_template_id` names no task template I see (`task_template.not_found`)",
                422: "Invalid body (questions are checked for shape; their logic only at "
                "publication); a title, question text or option label of only spaces "
                "(`survey.blank_text`); `after_template_id` on a staff survey "
                "(`survey.template_not_for_staff`)",
            }
        },
    )
    async def create(
        self, db: Db, caller: CurrentCaller, data: JSONBody[wire.SurveyCreate]
    ) -> wire.Survey:
        """Draft a survey: a title, its audience (customers or staff) and its questions.

        A draft may be incomplete: its skip logic is checked when it is published, and `flaws`
        lists what would keep it from being published now. `after_template_id` (customer
        surveys): send it to the customer of every task of that template once the task is done.
        The survey belongs to my unit.
        """
        return await design.create(db, caller=caller, request=data)

    @get("", operation_id="listSurveys", guards=READERS)
    async def list_surveys(
        self,
        db: Db,
        caller: CurrentCaller,
        status: FromQuery[wire.SurveyStatus | None] = None,
        audience: FromQuery[wire.Audience | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.SurveyRow]:
        """Surveys, most recently changed first, without their questions.

        Admin and marketing: every survey of their subtree (drafts and archived ones too),
        filtered by `status` and `audience`. A branch head: published surveys (archived ones with
        `status=archived`). An RM: published customer surveys, the ones they may send.
        """
        return await design.list_surveys(
            db, caller=caller, status=status, audience=audience, cursor=cursor, limit=limit
        )

    @get("/{survey_id:uuid}", operation_id="getSurvey", guards=READERS)
    async def get_survey(
        self, db: Db, caller: CurrentCaller, survey_id: FromPath[uuid.UUID]
    ) -> wire.Survey:
        """A survey with its draft, the draft's flaws and its latest published version.

        404 when I may not see it (see listSurveys). A branch head or an RM gets the latest
        published version's title and questions instead of the draft: what is sent and answered
        (getSurveyVersion gives any version).
        """
        return await design.get(db, caller=caller, survey_id=survey_id)

    @patch(
        "/{survey_id:uuid}",
        operation_id="editSurvey",
        guards=AUTHORS,
        status_code=HTTP_200_OK,
        opt={ERRORS: TEMPLATE_ERRORS},
    )
    async def edit(
        self,
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        data: JSONBody[wire.SurveyEdit],
    ) -> wire.Survey:
        """Change the draft (title, questions, the task template it follows).

        What is left out stays. Published versions never change: publish the draft again to
        make a new version.
        """
        return await design.edit(db, caller=caller, survey_id=survey_id, request=data)

    @post(
        "/{survey_id:uuid}/publish",
        operation_id="publishSurvey",
        guards=AUTHORS,
        status_code=HTTP_201_CREATED,
        opt={
            ERRORS: {
                404: "The survey is not one I may change (`survey.not_found`)",
                409: "The survey is archived (`survey.archived`), or the draft is the same as "
                "the latest published version (`survey.unchanged`)",
                422: "The questions' logic does not hold (`survey.logic_invalid`, one `errors[]` "
                "entry `{key, code, detail}` per flaw, the codes of `SurveyFlaw`); a blank "
                "title, question text or option label (`survey.blank_text`)",
            }
        },
    )
    async def publish(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
    ) -> wire.SurveyVersion:
        """Publish the draft as the next version, which never changes again.

        Its logic must hold: unique keys, option values and option labels, every `show_if`
        names an earlier choice, NPS or rating question and values it can be answered with, no
        cycles, the first question always shown, and every key asked as the type an earlier
        version asked it (results count versions together by key). Invitations and answers keep
        the version they were sent.
        """
        return await design.publish(db, caller=caller, survey_id=survey_id, client_ip=_ip(request))

    @post(
        "/{survey_id:uuid}/archive",
        operation_id="archiveSurvey",
        guards=AUTHORS,
        status_code=HTTP_200_OK,
        opt={ERRORS: {404: "The survey is not one I may change (`survey.not_found`)"}},
    )
    async def archive(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
    ) -> wire.Survey:
        """Archive the survey: it is sent no more; links already sent can still be answered.

        It takes no edits or publications afterwards. Archiving again changes nothing.
        """
        return await design.archive(db, caller=caller, survey_id=survey_id, client_ip=_ip(request))

    @get(
        "/{survey_id:uuid}/versions/{version:int}",
        operation_id="getSurveyVersion",
        guards=READERS,
        opt={
            ERRORS: {
                404: "I may not see the survey (`survey.not_found`), or it has no such version "
                "(`survey_version.not_found`)"
            }
        },
    )
    async def get_version(
        self,
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        version: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
    ) -> wire.SurveyVersion:
        """A published version, exactly as it was sent and answered."""
        return await design.version(db, caller=caller, survey_id=survey_id, number=version)


ROUTES = [SurveyDesignController]
