"""Console pages to design surveys (/console/surveys): the list, a new survey, the draft editor
(questions, options, skip logic, a preview of the customer's page), publication, archiving and
the published versions.

Every page calls the API's own service (`workbench.surveys.design`) with the console's `Caller`,
so roles, scope and the rules are exactly the API's: a survey the caller may not see is the 404
page. Admin and marketing design; branch heads read the published surveys. A save is checked
for shape at once (said in Chinese beside the question, nothing saved); the logic only when
publishing: the draft is saved, and what keeps it from being published is listed beside the
questions it concerns. Every message marks the fields it is about; a refused page says how many
there are and takes the person to the first. The blank starter's hints ("请输入题目") may stay in
a draft but are never published.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, Parameter

from mobile_contracts.v1 import surveys as wire
from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.console import Console, nav, once, visible_to
from workbench.db import Connection
from workbench.errors import DomainError
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.surveys import design, logic
from workbench.surveys.console import _design_form as editor
from workbench.tasks import queries as task_queries

LIST_PATH = "/console/surveys"
PAGE_SIZE = 20
FORM_LIMIT = 2_000_000  # 50 questions of 30 options with long labels fit easily
READERS = tuple(sorted(nav.SURVEYS.roles))
AUTHORS = (Role.ADMIN, Role.MARKETING)
SENDERS = frozenset({Role.ADMIN, Role.BRANCH_HEAD})  # who sends surveys (the delivery pages)
Version = Annotated[int, Parameter(ge=1, le=2**31 - 1)]

STATUS_CHIPS = (("", "全部"), ("draft", "草稿"), ("published", "已发布"), ("archived", "已归档"))
# A branch head's: the published surveys, or the archived ones (a staff survey's answers are
# shown once it is archived, so its results are found there).
READER_CHIPS = (("", "已发布"), ("archived", "已归档"))
MESSAGES = {
    "survey.archived": "这份问卷已归档，不能再修改或发布；如需调整，请新建问卷。",
    "survey.unchanged": "草稿与线上版本相同，无需重新发布。",
    "task_template.not_found": "所选的任务模板不存在或您无权使用，请重新选择。",
    "survey.template_not_for_staff": "只有客户问卷可以在任务完成后自动发送。",
    "survey.blank_text": "问卷标题、题目和选项文字不能只有空格。",
}

# What a new survey starts from: the officer edits it in the editor.
STARTERS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "nps": (
        "NPS 回访：推荐度与原因",
        [
            {"key": "nps", "type": "nps", "text": "您有多大可能向亲友推荐我行？", "required": True},
            {"key": "reason", "type": "text", "text": "请告诉我们哪些地方需要改进",
             "show_if": {"key": "nps", "in": list(range(7))}},
            {"key": "comment", "type": "text", "text": "还有什么想对我们说的吗？"},
        ],
    ),
    "csat": (
        "满意度评分",
        [
            {"key": "overall", "type": "rating", "text": "您对本次服务的总体满意度如何？",
             "required": True},
            {"key": "channel", "type": "single", "text": "您通过什么渠道办理的业务？",
             "options": [{"value": "branch", "label": "网点"}, {"value": "phone", "label": "电话"},
                         {"value": "app", "label": "手机银行"}]},
            {"key": "advice", "type": "text", "text": "意见与建议"},
        ],
    ),
    # Hints to type over (a draft must hold text): publishing refuses them while they stay.
    "blank": (
        "空白问卷（一道单选题）",
        [
            {"key": "q1", "type": "single", "text": editor.STARTER_TEXT,
             "options": [{"value": f"o{n}", "label": label}
                         for n, label in enumerate(editor.STARTER_LABELS, 1)]},
        ],
    ),
}  # fmt: skip


# ---- the list --------------------------------------------------------------------------------


@get("/surveys", opt=visible_to(*READERS), name="console:surveys")
async def survey_list(
    db: Db,
    caller: CurrentCaller,
    console: Console,
    status: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """Surveys most recently changed first: authors all of theirs, branch heads the published
    (or, chosen, the archived)."""
    authors = caller.role in AUTHORS
    chips = STATUS_CHIPS if authors else READER_CHIPS if caller.role is Role.BRANCH_HEAD else ()
    chosen = status if status and status in {v for v, _ in chips} else ""
    page = await design.list_surveys(
        db,
        caller=caller,
        status=wire.SurveyStatus(chosen) if chosen else None,
        audience=None,
        cursor=cursor or None,
        limit=PAGE_SIZE,
    )
    return console.render(
        "surveys/list.html",
        {
            "rows": [{"row": row, "links": _row_links(row, caller.role)} for row in page.items],
            "chips": [
                {"label": label, "href": _list_url(value, None), "current": value == chosen}
                for value, label in chips
            ],
            "status": chosen,
            "can_design": authors,
            "first_page": not cursor,
            "next_url": _list_url(chosen, page.next_cursor) if page.next_cursor else None,
            "first_url": _list_url(chosen, None),
            **_labels(),
        },
    )


def _list_url(status: str, cursor: str | None) -> str:
    params = {k: v for k, v in (("status", status), ("cursor", cursor or "")) if v}
    return LIST_PATH + (f"?{urlencode(params)}" if params else "")


def _row_links(row: wire.SurveyRow, role: Role) -> list[dict[str, str]]:
    """What this viewer does with the survey: edit it, read it, see its results, send it."""
    base = f"{LIST_PATH}/{row.id}"
    links = []
    if role in AUTHORS and row.status is not wire.SurveyStatus.ARCHIVED:
        links.append({"label": "编辑", "href": f"{base}/edit", "kind": "primary"})
    elif row.version:
        links.append({"label": "查看", "href": f"{base}/versions/{row.version}", "kind": "quiet"})
    elif role in AUTHORS:  # archived before it was ever published: its last draft
        links.append({"label": "查看", "href": f"{base}/edit", "kind": "quiet"})
    if row.version:
        links.append({"label": "结果", "href": f"{base}/results", "kind": "quiet"})
    if role in SENDERS and row.status is wire.SurveyStatus.PUBLISHED:
        links.append({"label": "发送", "href": f"{base}/send", "kind": "quiet"})
    return links


# ---- a new survey ----------------------------------------------------------------------------


@get("/surveys/new", opt=visible_to(*AUTHORS), name="console:survey-new")
async def new_survey(db: Db, caller: CurrentCaller, console: Console) -> Response[Any]:
    """A new survey: its title, audience, what it starts from, and the task it may follow."""
    return await _new_page(db, caller, console, {"audience": "customer", "starter": "nps"})


@post(
    "/surveys/new",
    opt=visible_to(*AUTHORS, acts_once=True),
    name="console:survey-create",
    request_max_body_size=FORM_LIMIT,
)
async def create_survey(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Make the draft (design.create) and open it in the editor; the form sent again makes no
    second draft (409, linking to the first)."""
    data = await request.form()
    fields = {
        name: editor.form_text(data, name).strip()
        for name in ("audience", "starter", "after_template_id")
    }
    fields["title"] = editor.shown_text(data, "title")
    errors: dict[str, str] = {}
    title = editor.title_error(fields["title"])
    if title:
        errors["title"] = title
    if fields["audience"] not in {a.value for a in wire.Audience}:
        errors["audience"] = "请选择问卷对象。"
    if fields["starter"] not in STARTERS:
        errors["starter"] = "请选择从哪里开始。"
    template_id = _uuid(fields["after_template_id"])
    if fields["after_template_id"] and template_id is None:
        errors["after_template_id"] = "请重新选择任务模板。"
    if template_id is not None and fields["audience"] == wire.Audience.STAFF:
        errors["after_template_id"] = MESSAGES["survey.template_not_for_staff"]
    if not errors:
        request_body = wire.SurveyCreate(
            title=fields["title"],
            audience=wire.Audience(fields["audience"]),
            questions=msgspec.convert(STARTERS[fields["starter"]][1], list[wire.Question]),
            after_template_id=template_id,
        )
        claim = await once.claim(request, data, db, back=f"{LIST_PATH}/new")
        try:
            async with claim, db.transaction():  # a refusal lets the form's token go
                survey = await design.create(db, caller=caller, request=request_body)
                claim.made(f"{LIST_PATH}/{survey.id}/edit")
        except DomainError as exc:
            field = "title" if exc.code == "survey.blank_text" else "after_template_id"
            errors[field] = MESSAGES.get(exc.code, exc.detail or exc.title)
        else:
            return console.redirect(
                f"{LIST_PATH}/{survey.id}/edit",
                flash="已创建草稿。修改题目后保存，检查无误即可发布。",
            )
    return await _new_page(db, caller, console, fields, errors=errors, status=422)


async def _new_page(
    db: Connection,
    caller: Caller,
    console: Console,
    fields: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    return console.render(
        "surveys/design_new.html",
        {
            "fields": {"title": "", "after_template_id": "", **fields},
            "errors": errors or {},
            "starters": [(key, label) for key, (label, _) in STARTERS.items()],
            "templates": await _templates(db, caller),
            **_labels(),
        },
        status=status,
    )


# ---- the editor ------------------------------------------------------------------------------


@get("/surveys/{survey_id:uuid}/edit", opt=visible_to(*AUTHORS), name="console:survey-edit")
async def edit_survey(
    db: Db, caller: CurrentCaller, console: Console, survey_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """The draft editor: questions as rows, the flaws beside them, a preview, the versions."""
    survey = await design.get(db, caller=caller, survey_id=survey_id)
    form = editor.EditorForm(
        title=survey.title,
        after_template_id=str(survey.after_template_id or ""),
        questions=editor.rows_of(survey.questions, editor.survey_flaws(survey)),
    )
    survey_flaws = editor.unplaced_flaws(survey.questions, editor.survey_flaws(survey))
    return await _editor(db, caller, console, survey, form, survey_flaws=survey_flaws)


@post(
    "/surveys/{survey_id:uuid}/edit",
    opt=visible_to(*AUTHORS),
    name="console:survey-save",
    request_max_body_size=FORM_LIMIT,
)
async def save_survey(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    survey_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Save the draft (`action=save`), save and publish it (`publish`), or add a question to
    the page without saving (`add`, for a browser without script)."""
    survey = await design.get(db, caller=caller, survey_id=survey_id)
    data = await request.form()
    action = editor.form_text(data, "action")
    form = editor.read_form(data)
    if action == "add":
        form.questions.append(editor.blank_row(form.questions))
        return await _editor(db, caller, console, survey, form)
    questions = editor.questions_of(form)
    template_id = _uuid(form.after_template_id)
    if form.after_template_id and template_id is None:
        form.errors["after_template_id"] = MESSAGES["task_template.not_found"]
    if questions is None or form.invalid:
        alert = "还不能保存：请按提示修改标出的内容。"
        return await _editor(db, caller, console, survey, form, alert=alert, status=422)
    change = wire.SurveyEdit(
        title=form.title,
        questions=questions,
        after_template_id=template_id,
        clear_after_template=template_id is None,
    )
    try:
        async with db.transaction():
            survey = await design.edit(db, caller=caller, survey_id=survey_id, request=change)
    except DomainError as exc:
        if _beside_fields(exc, form, survey):
            alert = "还不能保存：请按提示修改标出的内容。"
            return await _editor(db, caller, console, survey, form, alert=alert, status=422)
        alert = MESSAGES.get(exc.code, exc.detail or exc.title)
        return await _editor(db, caller, console, survey, form, alert=alert, status=exc.status)
    edit_path = f"{LIST_PATH}/{survey_id}/edit"
    if action != "publish":
        return console.redirect(edit_path, flash="草稿已保存。")
    if editor.holds_starter_hints(survey.questions):
        return await _unpublishable(db, caller, console, survey)
    try:
        async with db.transaction():
            published = await design.publish(
                db, caller=caller, survey_id=survey_id, client_ip=_ip(request)
            )
    except logic.LogicInvalid:
        return await _unpublishable(db, caller, console, survey)
    except DomainError as exc:
        return console.redirect(
            edit_path, flash=MESSAGES.get(exc.code, exc.detail or exc.title), kind="warning"
        )
    return console.redirect(
        edit_path, flash=f"已发布第 {published.version} 版。此后发出的问卷使用这一版。"
    )


@post("/surveys/{survey_id:uuid}/archive", opt=visible_to(*AUTHORS), name="console:survey-archive")
async def archive_survey(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    survey_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Archive the survey (design.archive): sent no more; a customer survey's links already
    sent still work, a staff survey takes no more answers (its results show them now)."""
    archived = await design.archive(db, caller=caller, survey_id=survey_id, client_ip=_ip(request))
    if archived.audience is wire.Audience.STAFF:
        return console.redirect(
            f"{LIST_PATH}/{survey_id}/results" if archived.version else LIST_PATH,
            flash="问卷已结束（归档），不再发出，也不再接受回答；回答内容现在按组显示。",
        )
    return console.redirect(LIST_PATH, flash="问卷已归档，不会再发出；已发出的链接仍可作答。")


def _ip(request: Request[Any, Any, Any]) -> str:
    """The author's address for the audit trail, as sign-in records it (relay headers believed
    from trusted proxies)."""
    return request_ip(request)


def _beside_fields(exc: DomainError, form: editor.EditorForm, survey: wire.Survey) -> bool:
    """Put a refusal of the service beside the field it concerns (a task template it does not
    find, chosen in the customer survey's list); whether it was (else it is said above)."""
    if exc.code == "task_template.not_found" and survey.audience is wire.Audience.CUSTOMER:
        form.errors["after_template_id"] = MESSAGES[exc.code]
        return True
    return False


async def _unpublishable(
    db: Connection, caller: Caller, console: Console, survey: wire.Survey
) -> Response[Any]:
    """The saved draft again (422), with what keeps it from being published beside its fields."""
    flaws = editor.survey_flaws(survey)
    saved = editor.EditorForm(
        title=survey.title,
        after_template_id=str(survey.after_template_id or ""),
        questions=editor.rows_of(survey.questions, flaws),
    )
    return await _editor(
        db, caller, console, survey, saved,
        survey_flaws=editor.unplaced_flaws(survey.questions, flaws),
        alert="草稿已保存，但还不能发布：请先修改下面标出的问题。", status=422,
    )  # fmt: skip


async def _editor(
    db: Connection,
    caller: Caller,
    console: Console,
    survey: wire.Survey,
    form: editor.EditorForm,
    *,
    survey_flaws: list[str] | None = None,
    alert: str | None = None,
    status: int = 200,
) -> Response[Any]:
    history = await design.history(db, caller=caller, survey_id=survey.id)
    to_fix = editor.fields_to_fix(form)
    return console.render(
        "surveys/edit.html",
        {
            "survey": survey,
            "form": form,
            "rows": editor.with_spares(form.questions),
            "survey_flaws": [*form.problems, *(survey_flaws or [])],
            # The fields to fix, in page order: how many (with what concerns no question),
            # and the first one, which a refused page focuses (its script, or `autofocus`).
            "flaw_count": len(to_fix) + len(survey_flaws or []),
            "fix_count": len(to_fix),
            "first_fix": to_fix[0] if to_fix else None,
            "focus_id": to_fix[0][0] if to_fix and status >= 400 else None,
            "alert": alert,
            "history": history,
            "templates": await _templates(db, caller)
            if survey.audience is wire.Audience.CUSTOMER
            else [],
            "archived": survey.status is wire.SurveyStatus.ARCHIVED,
            # What the page's script copies for a new question or option.
            "new_row": editor.QuestionRow(
                row="__ROW__", options=[editor.OptionRow() for _ in range(editor.SPARE_OPTIONS)]
            ),
            "blank_option": editor.OptionRow(),
            **_labels(),
        },
        status=status,
    )


# ---- a published version ---------------------------------------------------------------------


@get(
    "/surveys/{survey_id:uuid}/versions/{version:int}",
    opt=visible_to(*READERS),
    name="console:survey-version",
)
async def survey_version(
    db: Db,
    caller: CurrentCaller,
    console: Console,
    survey_id: FromPath[uuid.UUID],
    version: Version,
) -> Response[Any]:
    """A published version as customers see it, with the survey's versions."""
    survey = await design.get(db, caller=caller, survey_id=survey_id)
    shown = await design.version(db, caller=caller, survey_id=survey_id, number=version)
    history = await design.history(db, caller=caller, survey_id=survey_id)
    return console.render(
        "surveys/design_version.html",
        {
            "survey": survey,
            "shown": shown,
            "rows": editor.rows_of(shown.questions),
            "history": history,
            "can_design": caller.role in AUTHORS,
            "can_send": caller.role in SENDERS and survey.status is wire.SurveyStatus.PUBLISHED,
            **_labels(),
        },
    )


# ---- helpers ---------------------------------------------------------------------------------


async def _templates(db: Connection, caller: Caller) -> list[dict[str, str]]:
    """The task templates the author may name (a customer survey sent after such a task)."""
    rows = await task_queries.templates_visible_to(
        db, org_unit_id=caller.org_unit_id, everything=caller.sees_everything
    )
    return [{"id": str(r["id"]), "name": r["name"]} for r in rows]


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _labels() -> dict[str, Any]:
    return {
        "type_labels": editor.TYPE_LABELS,
        "audience_labels": editor.AUDIENCE_LABELS,
        "status_labels": editor.STATUS_LABELS,
    }


PAGES: list[Any] = [
    survey_list,
    new_survey,
    create_survey,
    edit_survey,
    save_survey,
    archive_survey,
    survey_version,
]
