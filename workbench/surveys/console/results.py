"""Console pages of survey results: charts, terms and their answers, exports.

/console/surveys/{id}/results shows a period's (and a unit's) headline numbers, NPS and CSAT,
a row per child unit, each question's distribution as a bar chart drawn here as SVG (the CSP
allows no inline style), and the most frequent words of text answers, each linking to the page
of answers containing it. Same service, scope and rules as GET /api/v1/surveys/{id}/results:
a staff survey still open (not archived) shows its counts only (回收情况) and says its answers
come once it is closed (to whoever may close it, where: the editor's 归档问卷); one whose answers
are withheld in the scope (fewer than `results.MIN_STAFF_GROUP` responses, or the rest of a unit
above would be fewer: `results.disclosure`) shows its counts and says why its answers are not
shown; neither has exports (its answers and exports pages say so too). A staff survey's page
covers its whole life (no period filter: the page says so), its remainder row (其他) comes under
its unit rows, and its exports hold the page's figures.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, QueryParameter

from mobile_contracts.v1 import survey_results as wire
from mobile_contracts.v1.surveys import QuestionType
from workbench.access import Caller
from workbench.console import Console, bad_period, visible_to
from workbench.console.errors import error_page
from workbench.db import Connection
from workbench.http.deps import CurrentCaller, Db
from workbench.surveys import results
from workbench.surveys.queries import AUTHORS
from workbench.surveys.results_routes import export
from workbench.surveys.rollups import queries

FROM = Annotated[str | None, QueryParameter(name="from")]
PATH = "/surveys/{survey_id:uuid}/results"
PERIODS = ((7, "最近 7 天"), (30, "最近 30 天"), (90, "最近 90 天"))
ANSWERS_PAGE = 30
MAX_UNITS = 200
# The chart's drawing box (SVG user units); the page scales it to its width.
CHART_WIDTH, ROW_HEIGHT, LABEL_WIDTH, COUNT_WIDTH = 640, 30, 150, 96
COLUMN_HEIGHT = 150
# An open staff survey's page, answers and exports: its answers come once it is closed.
OPEN_NOTICE = "员工问卷结束后才显示回答内容，以保护匿名（目前只显示回收情况）。"
OPEN_TITLE = "问卷结束后才显示回答"


@dataclass(frozen=True, slots=True)
class Filters:
    """What the page's filters chose: `from`/`to` days as written and a unit (or none)."""

    from_: str | None
    to: str | None
    unit: uuid.UUID | None

    def query(self, **extra: Any) -> str:
        pairs = {"from": self.from_, "to": self.to, "org_unit_id": self.unit, **extra}
        return urlencode({k: str(v) for k, v in pairs.items() if v is not None})


async def _target(
    request: Request[Any, Any, Any],
    db: Connection,
    caller: Caller,
    survey_id: uuid.UUID,
    filters: Filters,
) -> results.Target:
    tz = request.app.state.settings.bank_timezone
    period = results.period(filters.from_, filters.to, tz=tz, now=datetime.now(UTC))
    return await results.target(
        db, caller=caller, survey_id=survey_id, org_unit_id=filters.unit, period=period
    )


@get(PATH, opt=visible_to(*results.READERS), name="console:survey-results")
async def results_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    survey_id: FromPath[uuid.UUID],
    from_: FROM = None,
    to: FromQuery[str | None] = None,
    org_unit_id: FromQuery[uuid.UUID | None] = None,
) -> Response[Any]:
    """A survey's results for a period and unit, with charts, words and exports; a period
    that cannot be read is its page, with the form again."""
    filters = Filters(from_ or None, to or None, org_unit_id)
    try:
        target = await _target(request, db, caller, survey_id, filters)
    except (results.BadPeriod, ValidationException) as exc:
        return _bad_period(request, survey_id, filters, exc)
    found = await results.results(db, target=target, group_by=wire.ResultsGroupBy.ORG_UNIT)
    tz = request.app.state.settings.bank_timezone
    base = f"/console/surveys/{survey_id}/results"
    period = target.period
    root_units = await queries.subtree_units(db, await _scope_root(db, caller), limit=MAX_UNITS)
    survey_open = found.withheld_reason is wire.WithheldReason.SURVEY_OPEN
    return console.render(
        "surveys/results.html",
        {
            "survey": found,
            "audience": target.audience,
            "archived": target.archived,
            # The unit chosen (its subtree is the scope), by name; none: the caller's view.
            "scope_name": target.root["name"] if filters.unit else None,
            "first_day": period.first_day,
            "last_day": period.end_day - timedelta(days=1),
            "filters": filters,
            "period_chips": _period_chips(base, filters, tz=tz),
            "units": [{"id": u["id"], "label": "　" * u["level"] + u["name"]} for u in root_units],
            "headline": _headline(found),
            "has_nps": any(q.type is QuestionType.NPS for q in found.questions),
            "has_csat": any(q.type is QuestionType.RATING for q in found.questions),
            "by_unit": [
                {
                    **_headline(row),
                    "row": row,
                    "href": f"{base}?{_with_unit(filters, row)}",
                    "why": _why_withheld(row, found),
                }
                for row in found.by_unit or []
            ],
            "other": {**_headline(found.other), "row": found.other, **_other_words(found)}
            if found.other
            else None,
            "whole_survey": found.whole_survey,
            "questions": [_question(q, base, filters) for q in found.questions],
            "top_terms": _terms(found.top_terms, base, filters, None),
            "csv_href": f"{base}.csv?{filters.query()}",
            "xlsx_href": f"{base}.xlsx?{filters.query()}",
            "withheld_notice": _withheld_notice(found),
            # A staff survey still open: its answers come once it is closed, which its authors
            # do in the editor (归档问卷); others are told who does.
            "survey_open": survey_open,
            "min_group": results.MIN_STAFF_GROUP,
            "close_href": f"/console/surveys/{survey_id}/edit#archive"
            if survey_open and caller.role in AUTHORS
            else None,
        },
    )


def _withheld_notice(found: wire.SurveyResults) -> str | None:
    """Why the page shows a staff survey's counts only: open, or too few (None: shown)."""
    if found.withheld_reason is wire.WithheldReason.SURVEY_OPEN:
        return OPEN_NOTICE
    return too_few_notice(found.responded) if found.withheld else None


def too_few_notice(responded: int) -> str:
    """Why a staff survey's answers are not shown, in the page's words: too few, or as many but
    the rest of a unit above would be too few (`results.disclosure`)."""
    least = results.MIN_STAFF_GROUP
    if responded < least:
        return f"员工问卷的回答满 {least} 份才显示，以保护匿名；目前 {responded} 份。"
    return (
        f"员工问卷的回答满 {least} 份才显示，以保护匿名；这里有 {responded} 份，但上级机构的其余"
        f"回答不足 {least} 份，单独显示这里的结果会让人推算出那几份回答，请查看上级机构的结果。"
    )


def _why_withheld(row: wire.UnitResult, found: wire.SurveyResults) -> str:
    """Why a unit row's scores are not shown: too few, or as many but shown alone it would leave
    the rest too few (with 其他 under the rows, each says it is counted there), or the scope's
    own are withheld."""
    least = results.MIN_STAFF_GROUP
    if row.withheld_reason is wire.WithheldReason.SURVEY_OPEN:
        return "问卷结束后显示"
    if found.other is not None:
        if row.responded < least:
            return f"不足 {least} 份，计入“其他”"
        return f"满 {least} 份，计入“其他”（原因见“其他”一行）"
    if row.responded < least:
        return f"不足 {least} 份，不显示"
    return "为保护匿名，不显示"


OTHER_NAMED = 4  # units named in the 其他 row's label; more are counted


def _other_words(found: wire.SurveyResults) -> dict[str, str]:
    """What the 其他 row holds, in the page's words: the rows withheld (its own level among
    them) added up (`results._other`), and why a unit with enough answers is among them."""
    least = results.MIN_STAFF_GROUP
    merged = [row for row in found.by_unit or [] if row.withheld]
    names = "、".join(row.name for row in merged[:OTHER_NAMED])
    if len(merged) > OTHER_NAMED:
        names += f" 等 {len(merged)} 个机构"
    enough = [f"{row.name}（{row.responded} 份）" for row in merged if row.responded >= least]
    note = ""
    if enough:
        note = (
            f"{'、'.join(enough)}单独显示会使其余回答不足 {least} 份、可被推算，"
            "所以一并计入“其他”。"
        )
    return {"holds": f"合计：{names}" if names else "", "note": note}


def _too_few_page(
    request: Request[Any, Any, Any], exc: results.TooFewAnswers | results.ResultsAfterClose
) -> Response[Any]:
    """The answers or an export of a staff survey asked for while it is open, or below the
    group: the page says so."""
    if isinstance(exc, results.ResultsAfterClose):
        return error_page(request, exc.status, title=OPEN_TITLE, text=OPEN_NOTICE, code=exc.code)
    return error_page(
        request, exc.status, title="回答太少，暂不显示", text=too_few_notice(exc.responded),
        code=exc.code,
    )  # fmt: skip


def _bad_period(
    request: Request[Any, Any, Any], survey_id: uuid.UUID, filters: Filters, exc: Exception
) -> Response[Any]:
    base = f"/console/surveys/{survey_id}/results"
    why = (
        bad_period.reason(exc.detail, max_days=results.MAX_PERIOD_DAYS)
        if isinstance(exc, results.BadPeriod)
        else bad_period.FORMAT_REASON
    )
    unit = Filters(None, None, filters.unit)
    return bad_period.page(
        request, area="问卷结果", home=base,
        hidden={"org_unit_id": str(filters.unit)} if filters.unit else {},
        from_=filters.from_, to=filters.to, why=why,
        period_chips=_period_chips(base, unit, tz=request.app.state.settings.bank_timezone),
        code=results.BadPeriod.code,
    )  # fmt: skip


async def _scope_root(db: Connection, caller: Caller) -> uuid.UUID:
    """The root of the units the caller may pick from (the bank's root for whole-bank roles)."""
    visible = None if caller.role in results.WHOLE_BANK else caller.org_unit_id
    root = await queries.unit_in_view(db, None, visible)
    assert root is not None
    return uuid.UUID(str(root["id"]))


@get(f"{PATH}/answers", opt=visible_to(*results.READERS), name="console:survey-term-answers")
async def answers_page(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    survey_id: FromPath[uuid.UUID],
    term: FromQuery[str] = "",
    question_key: FromQuery[str | None] = None,
    from_: FROM = None,
    to: FromQuery[str | None] = None,
    org_unit_id: FromQuery[uuid.UUID | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """The answers containing a word, newest first, the word marked."""
    filters = Filters(from_ or None, to or None, org_unit_id)
    try:
        target = await _target(request, db, caller, survey_id, filters)
    except (results.BadPeriod, ValidationException) as exc:
        return _bad_period(request, survey_id, filters, exc)
    word = results.normalized_term(term)[:40]
    items: list[wire.TermAnswer] = []
    next_cursor = None
    if word:
        try:
            items, next_cursor = await results.term_answers(
                db, caller=caller, target=target, cipher=request.app.state.vault.cipher,
                term=word, question_key=question_key or None, cursor=cursor, limit=ANSWERS_PAGE,
                tz=request.app.state.settings.bank_timezone,
            )  # fmt: skip
        except (results.TooFewAnswers, results.ResultsAfterClose) as exc:
            return _too_few_page(request, exc)
    texts = {q.key: q.text for q in target.questions}
    base = f"/console/surveys/{survey_id}/results"
    keep = {"term": word, "question_key": question_key or None}
    return console.render(
        "surveys/answers.html",
        {
            "title": target.title,
            "term": word,
            "question": texts.get(question_key or ""),
            "first_day": target.period.first_day,
            "last_day": target.period.end_day - timedelta(days=1),
            "items": [
                {
                    "item": item,
                    "question": texts.get(item.question_key, item.question_key),
                    "parts": _marked(item.text, word),
                }
                for item in items
            ],
            "staff": results.STAFF,
            "day_only": target.staff,
            "back_href": f"{base}?{filters.query()}",
            "next_href": f"{base}/answers?{filters.query(**keep, cursor=next_cursor)}"
            if next_cursor
            else None,
        },
    )


@get(f"{PATH}.csv", opt=visible_to(*results.READERS), name="console:survey-results-csv")
async def results_csv(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    survey_id: FromPath[uuid.UUID],
    from_: FROM = None,
    to: FromQuery[str | None] = None,
    org_unit_id: FromQuery[uuid.UUID | None] = None,
) -> Response[Any]:
    """Every response of the page's period and unit as CSV."""
    target = await _target(request, db, caller, survey_id, Filters(from_, to, org_unit_id))
    try:
        return await export(request, db, caller, target, "csv")
    except (results.TooFewAnswers, results.ResultsAfterClose) as exc:
        return _too_few_page(request, exc)


@get(f"{PATH}.xlsx", opt=visible_to(*results.READERS), name="console:survey-results-xlsx")
async def results_xlsx(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    survey_id: FromPath[uuid.UUID],
    from_: FROM = None,
    to: FromQuery[str | None] = None,
    org_unit_id: FromQuery[uuid.UUID | None] = None,
) -> Response[Any]:
    """Every response of the page's period and unit as an Excel workbook."""
    target = await _target(request, db, caller, survey_id, Filters(from_, to, org_unit_id))
    try:
        return await export(request, db, caller, target, "xlsx")
    except (results.TooFewAnswers, results.ResultsAfterClose) as exc:
        return _too_few_page(request, exc)


# ---- what the template draws -----------------------------------------------------------------


def _with_unit(filters: Filters, row: wire.UnitResult) -> str:
    return Filters(filters.from_, filters.to, row.org_unit_id).query()


def _period_chips(base: str, filters: Filters, *, tz: str) -> list[dict[str, Any]]:
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    chips = []
    for days, label in PERIODS:
        start = (today - timedelta(days=days - 1)).isoformat()
        chosen = Filters(start, today.isoformat(), filters.unit)
        current = (filters.from_, filters.to) == (chosen.from_, chosen.to) or (
            days == results.DEFAULT_PERIOD_DAYS and not filters.from_ and not filters.to
        )
        chips.append({"label": label, "href": f"{base}?{chosen.query()}", "current": current})
    return chips


def _percent(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{places}f}%"


def _headline(head: wire.Headline) -> dict[str, Any]:
    """The headline figures as shown, with the NPS gauge's geometry (-100..100 on 0..200)."""
    nps = head.nps
    return {
        "delivered": head.delivered,
        "responded": head.responded,
        "rate": _percent(head.response_rate),
        "rate_width": round(100 * head.response_rate, 2),
        "nps": "—" if nps is None else f"{nps:+.1f}".replace("+0.0", "0.0"),
        "nps_tone": "none" if nps is None else "good" if nps > 0 else "bad" if nps < 0 else "flat",
        "nps_x": None if nps is None else round(min(nps, 0) + 100, 2),
        "nps_width": None if nps is None else round(abs(nps), 2),
        "csat": _percent(head.csat),
        "csat_width": None if head.csat is None else round(100 * head.csat, 2),
    }


def _tone(question: wire.QuestionResult, value: str) -> str:
    """The colour group of a scale point: NPS detractors, passives, promoters; rating 1-2, 3,
    4-5; options all alike."""
    if not value.isdigit():
        return "option"
    score = int(value)
    if question.type is QuestionType.NPS:
        return "low" if score <= 6 else "mid" if score <= 8 else "high"
    if question.type is QuestionType.RATING:
        return "low" if score <= 2 else "mid" if score == 3 else "high"
    return "option"


def _question(question: wire.QuestionResult, base: str, filters: Filters) -> dict[str, Any]:
    scale = question.type in (QuestionType.NPS, QuestionType.RATING)
    return {
        "q": question,
        "type_label": {
            QuestionType.NPS: "推荐度 0-10",
            QuestionType.RATING: "评分 1-5",
            QuestionType.SINGLE: "单选",
            QuestionType.MULTI: "多选（每项分别计数）",
            QuestionType.TEXT: "文字",
        }[question.type],
        "columns": _columns(question) if scale else None,
        "bars": None if scale or question.type is QuestionType.TEXT else _bars(question),
        "terms": _terms(question.top_terms, base, filters, question.key),
    }


def _columns(question: wire.QuestionResult) -> dict[str, Any]:
    """A column per scale point: x, y, height in a COLUMN_HEIGHT-high box, with its share."""
    values = question.distribution
    peak = max((v.count for v in values), default=0) or 1
    slot = CHART_WIDTH / max(len(values), 1)
    gap = slot * 0.22
    columns = []
    for index, v in enumerate(values):
        height = round((COLUMN_HEIGHT - 20) * v.count / peak, 2)
        columns.append({
            "x": round(index * slot + gap / 2, 2), "width": round(slot - gap, 2),
            "y": round(COLUMN_HEIGHT - height, 2), "height": height,
            "center": round(index * slot + slot / 2, 2), "value": v,
            "tone": _tone(question, v.value),
            "share": _percent(v.count / question.answered if question.answered else None, 0),
        })  # fmt: skip
    return {"items": columns, "width": CHART_WIDTH, "height": COLUMN_HEIGHT + 26}


def _bars(question: wire.QuestionResult) -> dict[str, Any]:
    """A horizontal bar per option, its length the share of the responses answering."""
    track = CHART_WIDTH - LABEL_WIDTH - COUNT_WIDTH
    rows = []
    for index, v in enumerate(question.distribution):
        share = v.count / question.answered if question.answered else 0.0
        rows.append({
            "y": index * ROW_HEIGHT, "label": v.label, "count": v.count,
            "share": _percent(share if question.answered else None, 0),
            "width": round(track * min(share, 1.0), 2),
        })  # fmt: skip
    return {
        "items": rows, "width": CHART_WIDTH, "height": max(len(rows), 1) * ROW_HEIGHT,
        "track": track, "label_width": LABEL_WIDTH, "row_height": ROW_HEIGHT,
    }  # fmt: skip


def _terms(
    terms: list[wire.TermCount], base: str, filters: Filters, question_key: str | None
) -> list[dict[str, Any]]:
    peak = max((t.count for t in terms), default=0) or 1
    return [
        {
            "term": t.term,
            "count": t.count,
            "weight": 1 + round(3 * t.count / peak),  # 1..4: the chip's emphasis
            "href": f"{base}/answers?{filters.query(term=t.term, question_key=question_key)}",
        }
        for t in terms
    ]


def _marked(text: str, term: str) -> list[tuple[str, bool]]:
    """The text cut around each case-insensitive occurrence of the term: (part, is_term)."""
    if not term:
        return [(text, False)]
    parts: list[tuple[str, bool]] = []
    lower, start = text.lower(), 0
    while (at := lower.find(term, start)) >= 0:
        if at > start:
            parts.append((text[start:at], False))
        parts.append((text[at : at + len(term)], True))
        start = at + len(term)
    if start < len(text):
        parts.append((text[start:], False))
    return parts


PAGES: list[Any] = [results_page, answers_page, results_csv, results_xlsx]
