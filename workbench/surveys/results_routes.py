"""Survey results endpoints: rates, NPS, CSAT, distributions and text terms, with exports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from mobile_contracts.v1 import survey_results as wire
from mobile_contracts.v1.common import DAY_OR_TIME, Page
from mobile_contracts.v1.patterns import whole
from workbench.access import Caller, requires_role
from workbench.audit import downloads
from workbench.db import Connection
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.pagination import DEFAULT_LIMIT, MAX_LIMIT
from workbench.surveys import exports, results

# A question's key, as the contract's `surveys.QuestionKey` (the same pattern, in the same words).
QUESTION_KEY = whole(
    "[a-z][a-z0-9_]{0,39}", says="1 to 40 lowercase letters, digits and _, starting with a letter"
)
FROM = Annotated[
    str | None,
    QueryParameter(
        name="from",
        pattern=DAY_OR_TIME,
        description="First day (bank time zone; a time counts its whole day); default 30 days "
        "before `to`",
    ),
]
TO = Annotated[
    str | None,
    QueryParameter(
        pattern=DAY_OR_TIME,
        description="Last day (included; a time counts its whole day); default today",
    ),
]
NOT_FOUND = {
    404: "No such survey (`survey.not_found`), or `org_unit_id` is unknown or outside my "
    "subtree (`org_unit.not_found`)",
    422: "Invalid parameters, `to` not after `from`, or more than 366 days (`survey.bad_period`)",
}
TOO_FEW = {
    **NOT_FOUND,
    409: "A staff survey still open (`survey.results_after_close`): its answers are shown once "
    f"it is closed (archived), to keep them anonymous; or one with fewer than "
    f"{results.MIN_STAFF_GROUP} responses in the scope and period (`survey.too_few_answers`): "
    f"its answers are shown in groups of at least {results.MIN_STAFF_GROUP}",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _target(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    survey_id: uuid.UUID,
    from_: str | None,
    to: str | None,
    org_unit_id: uuid.UUID | None,
) -> results.Target:
    tz = request.app.state.settings.bank_timezone
    period = results.period(from_, to, tz=tz, now=datetime.now(UTC))
    return await results.target(
        db, caller=caller, survey_id=survey_id, org_unit_id=org_unit_id, period=period
    )


async def export(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    target: results.Target,
    kind: str,
) -> Stream:
    """The target's responses as a streamed CSV or XLSX download (also used by the console);
    ResultsAfterClose for a staff survey still open, TooFewAnswers for a staff survey's group
    under `results.MIN_STAFF_GROUP`."""
    await results.require_group(db, target)
    await downloads.survey_results(db, request, caller, target, kind)  # the audit trail's
    state = request.app.state
    source = exports.csv_chunks if kind == "csv" else exports.xlsx_chunks
    chunks = source(state.pool, target, cipher=state.vault.cipher, role=caller.role,
                    tz=state.settings.bank_timezone)  # fmt: skip
    return Stream(
        chunks,
        media_type="text/csv" if kind == "csv" else XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{exports.filename(target, kind)}"',
            "Cache-Control": "no-store",
        },
    )


class SurveyResultsController(Controller):
    path = "/api/v1/surveys/{survey_id:uuid}"
    tags = ["surveys"]
    guards = [requires_role(*results.READERS)]

    @get("/results", operation_id="getSurveyResults", opt={ERRORS: NOT_FOUND})
    async def survey_results(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        from_: FROM = None,
        to: TO = None,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        group_by: FromQuery[wire.ResultsGroupBy | None] = None,
    ) -> wire.SurveyResults:
        """A survey's results: delivered, responded, response rate, NPS, CSAT, distributions,
        top words of text answers; with `group_by=org_unit`, a row per child unit.

        Counts the invitations sent on the period's days and their answers, whenever they came
        (so no rate is above 100 %). Admins and marketing see the whole bank, a branch head
        their subtree; `org_unit_id` narrows to a subtree I may see. Read from rollups kept as
        answers arrive.

        Staff answer anonymously: a staff survey's answers are shown once it is closed
        (archived: no answer comes any more), and then in groups of at least
        `MIN_STAFF_GROUP` (5) responses, so that no two figures shown, in any scopes or at any
        times, subtract to fewer. While it is open, every scope and row gives its counts only
        (`withheld` true, `withheld_reason` `survey_open`). It ignores `from`/`to` and covers
        the survey's whole life (`whole_survey`); a `by_unit` row is shown only while the rest
        of the scope (`other`: its own level and the rows not shown) is 0 or 5 or more, and a
        scope only if it would be shown as a row of its parent. A scope or row withheld shows
        its counts but not the answers (distributions at zero, no NPS, CSAT or words;
        `withheld` true, and `withheld_reason` says why).
        """
        target = await _target(request, db, caller, survey_id, from_, to, org_unit_id)
        return await results.results(db, target=target, group_by=group_by)

    @get("/results/answers", operation_id="getSurveyTermAnswers", opt={ERRORS: TOO_FEW})
    async def term_answers(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        term: Annotated[str, QueryParameter(min_length=1, max_length=40)],
        question_key: Annotated[str | None, QueryParameter(pattern=QUESTION_KEY)] = None,
        from_: FROM = None,
        to: TO = None,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.TermAnswer]:
        """The text answers containing a word of the top terms, newest first.

        Each with the whole text, the customer's masked name (staff answers are anonymous),
        the unit and the time. Same scope and period as the results.

        A staff survey's answers only once it is closed (archived; before, 409
        `survey.results_after_close`) and when its results show the scope (at least
        `MIN_STAFF_GROUP` (5) responses, over the survey's whole life; else 409
        `survey.too_few_answers`), each under the scope's unit, on its day
        (`submitted_at` is midnight, bank time), under an id that is not the response's (nor
        the same in another scope), by day, then by that id."""
        target = await _target(request, db, caller, survey_id, from_, to, org_unit_id)
        items, next_cursor = await results.term_answers(
            db, caller=caller, target=target, cipher=request.app.state.vault.cipher,
            term=term, question_key=question_key, cursor=cursor, limit=limit,
            tz=request.app.state.settings.bank_timezone,
        )  # fmt: skip
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/results.csv",
        operation_id="exportSurveyResultsCsv",
        media_type="text/csv",
        opt={ERRORS: TOO_FEW},
    )
    async def results_csv(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        from_: FROM = None,
        to: TO = None,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
    ) -> Stream:
        """Every response of the scope and period, one row each with its answers (text answers
        in full, customers masked), as CSV in UTF-8 with a BOM, streamed.

        A staff survey's holds its figures instead, one a line (部分, 机构, 题目, 项目, 数值: the
        headline, unit rows, 其他, distributions, top words, withheld as on the page), never a
        row per response; only once it is closed (archived; before, 409
        `survey.results_after_close`) and when its results show the scope (else 409
        `survey.too_few_answers`)."""
        target = await _target(request, db, caller, survey_id, from_, to, org_unit_id)
        return await export(request, db, caller, target, "csv")

    @get("/results.xlsx", operation_id="exportSurveyResultsXlsx", media_type=XLSX,
         opt={ERRORS: TOO_FEW})  # fmt: skip
    async def results_xlsx(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        survey_id: FromPath[uuid.UUID],
        from_: FROM = None,
        to: TO = None,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
    ) -> Stream:
        """The same rows as the CSV export, as an Excel workbook."""
        target = await _target(request, db, caller, survey_id, from_, to, org_unit_id)
        return await export(request, db, caller, target, "xlsx")


ROUTES: list[Any] = [SurveyResultsController]
