"""Designing surveys: drafts, publication as immutable versions, archiving.

    draft -> published -> archived      (a draft may also be archived unpublished)

Rules:
- Admin and marketing write drafts of their own unit; a draft is edited in place and may be
  incomplete (its `flaws` say what would keep it from being published).
- Publishing checks the questions' logic whole (`logic.check_publishable`) and copies the draft
  into the next version, which never changes again; a published survey's draft may be edited
  and published again as a new version. A draft no different from the latest version is not
  published again (409 `survey.unchanged`).
- The survey row is locked while publishing, so concurrent publishes make consecutive versions
  (or one of them finds nothing changed), never the same number twice.
- An archived survey takes no edits and no publication (409 `survey.archived`), and is sent no
  more. A customer survey's links sent before still take answers until they expire; a staff
  survey is closed for good: it takes no more answers (its results show its answers only then,
  when they can no longer move: `results._staff_groups`).
- A title, question text, option label or option's customer tag that shows nothing (spaces or
  invisible characters only) is empty, and one that reads otherwise (control characters,
  direction overrides; a question's text may keep its line breaks and tabs) no better: refused
  when written and when published (422 `survey.blank_text`), as the customer would see a blank
  or a garbled line (and a tag in the customer's view).
- A key keeps the type it was published with (`logic`): results count versions together by key.
- `after_template_id` (customer surveys only) names a task template the author may see.
- Publications and archivings are written to the audit trail, with the caller's address
  (`client_ip`, from the API and the console alike).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from mobile_contracts.v1 import surveys as wire
from mobile_contracts.v1.common import Page
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.db import Connection
from workbench.errors import Conflict, DomainError, NotFound
from workbench.ids import uuid7
from workbench.pagination import decode_cursor, encode_cursor
from workbench.surveys import logic, queries, views
from workbench.tasks import queries as task_queries
from workbench.tasks.forms import READS_OTHERWISE, text_reads_otherwise
from workbench.visible import one_line_shown, reads_otherwise, shows_something


class SurveyArchived(Conflict):
    code, title = "survey.archived", "The survey is archived"


class SurveyUnchanged(Conflict):
    code, title = "survey.unchanged", "The draft is the same as the latest published version"


class TemplateNotForStaff(DomainError):
    status, code, title = 422, "survey.template_not_for_staff", "Only customer surveys follow tasks"


class AmbiguousTemplate(DomainError):
    status, code, title = 422, "survey.ambiguous_template", "Set or clear the template, not both"


class BlankText(DomainError):
    """422 `survey.blank_text`, one `errors[]` entry per blank: `{path, message}` as every error
    has, with `{key, field}` (key empty: the survey's title)."""

    status, code, title = 422, "survey.blank_text", "A title, question or option is blank"


SHOWS_NOTHING = "must show something (not spaces or invisible characters only)"
ONE_LINE_READS_OTHERWISE = (
    "must not hold a line break, a control character or a direction override, which make it"
    " read otherwise than typed; one line"
)


def _blank(key: str, field: str, path: str, message: str = SHOWS_NOTHING) -> dict[str, str]:
    """One `errors[]` entry: a FieldError (`path`, `message`) that also names the question's key
    and its field, as the editor shows them."""
    return {"path": path, "message": message, "key": key, "field": field}


def _one_line_problem(text: str) -> str | None:
    """Why a title, an option label or a tag (one line) would not show what it says, if so."""
    if one_line_shown(text):
        return None
    return ONE_LINE_READS_OTHERWISE if reads_otherwise(text) else SHOWS_NOTHING


def check_texts(title: str | None, questions: list[wire.Question] | None) -> None:
    """Refuse what a customer would see as a blank or a garbled line: a title, a question's
    text, an option's label or its customer tag that shows nothing (spaces or invisible
    characters only: the wire's length check counts them as text), or that reads otherwise
    (control characters, direction overrides: a title, a label and a tag are one line each,
    a question's text may keep its line breaks and tabs, `forms.text_reads_otherwise`)."""
    blanks = []
    if title is not None and (problem := _one_line_problem(title)):
        blanks.append(_blank("", "title", "$.title", problem))
    for i, question in enumerate(questions or []):
        path = f"$.questions[{i}].text"
        if not shows_something(question.text):
            blanks.append(_blank(question.key, "text", path))
        elif text_reads_otherwise(question.text):
            blanks.append(_blank(question.key, "text", path, READS_OTHERWISE))
        for n, option in enumerate(question.options):
            # A customer tag is added to whoever chooses the option: one that shows nothing
            # or reads otherwise would be a blank or garbled tag in the customer's view.
            for part, text in (("label", option.label), ("tag", option.tag)):
                if text is not None and (problem := _one_line_problem(text)):
                    field, path = f"options[{n}].{part}", f"$.questions[{i}].options[{n}].{part}"
                    blanks.append(_blank(question.key, field, path, problem))
    if blanks:
        where = ", ".join(f"{b['key'] or 'survey'}.{b['field']}" for b in blanks[:5])
        raise BlankText(
            "Only spaces or invisible characters are no text, and no text takes control"
            " characters or direction overrides (a title, an option label and a customer tag"
            f" are one line each): fix {where}",
            errors=blanks,
        )


async def create(conn: Connection, *, caller: Caller, request: wire.SurveyCreate) -> wire.Survey:
    """A new draft owned by the author's unit."""
    check_texts(request.title, request.questions)
    await _check_template(conn, caller, request.audience, request.after_template_id)
    survey_id = uuid7()
    await queries.insert_survey(
        conn,
        survey_id=survey_id,
        title=request.title,
        audience=request.audience.value,
        questions=views.stored(request.questions),
        after_template_id=request.after_template_id,
        owner_unit_id=caller.org_unit_id,
        created_by=caller.user_id,
    )
    return await get(conn, caller=caller, survey_id=survey_id)


async def get(conn: Connection, *, caller: Caller, survey_id: uuid.UUID) -> wire.Survey:
    """The survey with its draft and the draft's flaws, if the caller sees it (404 otherwise);
    to those who do not design surveys, its latest published version instead of the draft."""
    row = await _visible(conn, caller, survey_id)
    return views.survey(row, draft=caller.role in queries.AUTHORS)


async def list_surveys(
    conn: Connection,
    *,
    caller: Caller,
    status: wire.SurveyStatus | None,
    audience: wire.Audience | None,
    cursor: str | None,
    limit: int,
) -> Page[wire.SurveyRow]:
    """The surveys the caller sees, most recently changed first."""
    after = decode_cursor(cursor, tuple[datetime, uuid.UUID])
    rows = await queries.surveys_page(
        conn,
        caller=caller,
        status=status.value if status else None,
        audience=audience.value if audience else None,
        after=after,
        limit=limit + 1,
    )
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor([rows[-1]["updated_at"], rows[-1]["id"]]) if more else None
    draft = caller.role in queries.AUTHORS
    items = [views.survey_row(r, draft=draft) for r in rows]
    return Page[wire.SurveyRow](items=items, next_cursor=next_cursor)


async def edit(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, request: wire.SurveyEdit
) -> wire.Survey:
    """Change the draft; what the request leaves out stays. Versions never change."""
    row = await _changeable(conn, caller, survey_id)
    check_texts(request.title, request.questions)
    if request.clear_after_template and request.after_template_id is not None:
        raise AmbiguousTemplate("Give after_template_id or clear_after_template, not both")
    template_id = row["after_template_id"]
    if request.clear_after_template:
        template_id = None
    elif request.after_template_id is not None:
        template_id = request.after_template_id
        await _check_template(conn, caller, wire.Audience(row["audience"]), template_id)
    await queries.update_draft(
        conn,
        survey_id,
        title=request.title if request.title is not None else row["title"],
        questions=(
            views.stored(request.questions) if request.questions is not None else row["questions"]
        ),
        after_template_id=template_id,
    )
    return await get(conn, caller=caller, survey_id=survey_id)


async def publish(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, client_ip: str | None = None
) -> wire.SurveyVersion:
    """Publish the draft as the next version (422 `survey.logic_invalid` with every flaw, among
    them a key asked as another type than a published version asked it; 422 `survey.blank_text`
    for a draft saved blank before blanks were refused). `client_ip`: the caller's address, for
    the audit trail."""
    row = await _changeable(conn, caller, survey_id)
    questions = views.questions_of(row["questions"])
    check_texts(row["title"], questions)
    logic.check_publishable(questions, views.published_types(row))
    if not row["draft_changed"]:
        raise SurveyUnchanged(
            f"Version {row['version']} has this title and these questions already; change the"
            " draft first"
        )
    published = await queries.insert_version(
        conn, survey_id, version=row["version"] + 1, published_by=caller.user_id
    )
    await audit.record(
        conn,
        action="survey.published",
        actor_id=caller.user_id,
        subject=f"survey:{survey_id}",
        client_ip=client_ip,
        detail={"version": published["version"]},
    )
    return views.version(published)


async def archive(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, client_ip: str | None = None
) -> wire.Survey:
    """No new invitations from now on; a customer survey's links already sent still work, a
    staff survey takes no more answers (closed: its results show its answers from now on).
    Archiving again changes nothing. `client_ip`: the caller's address, for the audit trail."""
    row = await _visible(conn, caller, survey_id, lock=True, authors_only=True)
    if row["status"] != wire.SurveyStatus.ARCHIVED:
        await queries.archive(conn, survey_id)
        await audit.record(
            conn,
            action="survey.archived",
            actor_id=caller.user_id,
            subject=f"survey:{survey_id}",
            client_ip=client_ip,
            detail={"version": row["version"], "was": row["status"]},
        )
    return await get(conn, caller=caller, survey_id=survey_id)


async def version(
    conn: Connection, *, caller: Caller, survey_id: uuid.UUID, number: int
) -> wire.SurveyVersion:
    """A published version of a survey the caller sees."""
    await _visible(conn, caller, survey_id)
    row = await queries.version(conn, survey_id, number)
    if row is None:
        raise NotFound("survey_version")
    return views.version(row)


@dataclass(frozen=True, slots=True)
class Publication:
    """A published version in a survey's history: who published it, when."""

    version: int
    title: str
    published_by: str
    published_at: datetime
    question_count: int


async def history(conn: Connection, *, caller: Caller, survey_id: uuid.UUID) -> list[Publication]:
    """Every published version of a survey the caller sees, newest first."""
    await _visible(conn, caller, survey_id)
    return [
        Publication(
            version=r["version"],
            title=r["title"],
            published_by=r["published_by_name"],
            published_at=r["published_at"],
            question_count=r["question_count"],
        )
        for r in await queries.versions(conn, survey_id)
    ]


async def _visible(
    conn: Connection,
    caller: Caller,
    survey_id: uuid.UUID,
    *,
    lock: bool = False,
    authors_only: bool = False,
) -> queries.Record:
    row = None
    if not authors_only or caller.role in queries.AUTHORS:
        row = await queries.visible_survey(conn, survey_id, caller=caller, lock=lock)
    if row is None:
        raise NotFound("survey")
    return row


async def _changeable(conn: Connection, caller: Caller, survey_id: uuid.UUID) -> queries.Record:
    """The survey, locked, if the caller may change it and it is not archived."""
    row = await _visible(conn, caller, survey_id, lock=True, authors_only=True)
    if row["status"] == wire.SurveyStatus.ARCHIVED:
        raise SurveyArchived("This survey is archived; make a new one")
    return row


async def _check_template(
    conn: Connection, caller: Caller, audience: wire.Audience, template_id: uuid.UUID | None
) -> None:
    if template_id is None:
        return
    if audience is not wire.Audience.CUSTOMER:
        raise TemplateNotForStaff("Only a customer survey can be sent after a task is done")
    visible = await task_queries.template_visible(
        conn, template_id, org_unit_id=caller.org_unit_id, everything=caller.sees_everything
    )
    if not visible:
        raise NotFound("task_template")
