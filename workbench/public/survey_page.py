"""The public survey page `/f/{token}`: a light zh-CN mobile page, its submission, thank-you.

Opening the link (GET, HEAD: a customer, a chat's link preview, a mail scanner) never uses it:
only a submission does. The page is a plain HTML form that works without JavaScript; a small
script (a static file, so the CSP allows no inline script) applies the skip logic as the
customer answers (a hidden one is not sent; a text typed there is kept should it come back).
The server checks everything again (`workbench.surveys.answers.check`). A form submission with
mistakes is answered 303 back to the page (Post/Redirect/Get: a reload or the back button never
posts again), which shows a message next to each question and the answers kept: they wait in
Redis for `DRAFT_SECONDS`, encrypted and bound to the invitation, under a random id in a cookie
on the link's path (nothing in the URL or the logs; every API process reads them). A JSON
submission (apps, tests) gets 422 problem+json. Expired links answer 410, unknown or forged ones
404, answered ones 409.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
import msgspec
from litestar import Request, Response, get, post, route
from litestar.datastructures import State as AppState
from litestar.enums import HttpMethod, MediaType, RequestEncodingType
from litestar.params import FromPath
from litestar.response import Redirect
from redis.exceptions import RedisError

from mobile_contracts.v1.surveys import Question, QuestionType
from workbench.http.auth import CUSTOMER_PAGE
from workbench.http.deps import Db
from workbench.http.guessing import SIGNED_LINK
from workbench.http.head import static_files
from workbench.public.pages import SECURITY_HEADERS, valid_until
from workbench.security.vault import DecryptionError
from workbench.surveys import submission
from workbench.surveys.answers import MAX_TEXT, AnswersInvalid, without_hidden
from workbench.surveys.links import SurveyLinks
from workbench.surveys.submission import State

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
STATIC_PATH = "/public/static"
MAX_BODY = 256 * 1024  # 50 questions, text answers of up to 2,000 characters
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = dict(SECURITY_HEADERS) | {"Content-Security-Policy": CSP}
ANSWERED_COOKIE = "wb_answered"  # set with a form's answer, on its link's path only
ANSWERED_COOKIE_SECONDS = 30 * 86400
DRAFT_COOKIE = "wb_draft"  # the id of the answers with mistakes the page shows, on its path
DRAFT_SECONDS = 30 * 60
_DRAFT_ID = re.compile(r"^[A-Za-z0-9_-]{24}\Z")

log = logging.getLogger("workbench.public.survey_page")

_STATES = {
    State.UNKNOWN: ("链接无效", "该问卷链接无效或不完整，请向您的客户经理索取新的链接。",
                    404, "?", ""),
    State.EXPIRED: ("问卷已过期", "该问卷已过有效期，感谢您的关注。如有需要，请联系您的客户经理。",
                    410, "!", "warn"),
    State.ANSWERED: ("您已提交过本问卷", "您已提交过本问卷，感谢您的参与！每个链接仅可提交一次。",
                     409, "✓", "good"),
}  # fmt: skip


@functools.cache
def static_url(name: str) -> str:
    """A static file's URL, versioned by its content (so cached for a year)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise LookupError(f"no public static file {name!r}")
    return f"{STATIC_PATH}/{name}?v={hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.globals["static"] = static_url


def _html(template: str, status: int, **context: Any) -> Response[str]:
    return Response(
        _TEMPLATES.get_template(template).render(**context),
        status_code=status,
        media_type=MediaType.HTML,
        headers=HEADERS,
    )


def _state_page(state: State, bank: str) -> Response[str]:
    title, text, status, mark, tone = _STATES[state]
    return _html("survey_message.html", status, title=title, text=text, bank=bank, mark=mark,
                 tone=tone)  # fmt: skip


class Draft(msgspec.Struct, frozen=True):
    """A form submitted with mistakes, as the page shows it again."""

    values: dict[str, list[str]]  # by question key, as the form sent them
    errors: dict[str, str]  # by question key


def _draft_key(request: Request[Any, Any, Any], draft_id: str) -> str:
    return f"{request.app.state.settings.redis_prefix}survey_draft:{draft_id}"


def _draft_aad(invitation_id: uuid.UUID, draft_id: str) -> str:
    return f"survey.draft:{invitation_id}:{draft_id}"


async def _keep_draft(
    request: Request[Any, Any, Any], invitation_id: uuid.UUID, draft: Draft
) -> str | None:
    """Keep a draft for the page to show after the redirect: its id, or None when Redis cannot
    take it (the caller then shows the page at once)."""
    draft_id = secrets.token_urlsafe(18)
    sealed = request.app.state.vault.cipher.encrypt(
        msgspec.json.encode(draft).decode(), aad=_draft_aad(invitation_id, draft_id)
    )
    try:
        await request.app.state.redis.set(_draft_key(request, draft_id), sealed, ex=DRAFT_SECONDS)
    except (RedisError, OSError) as exc:
        log.warning("survey draft not kept", extra={"error": type(exc).__name__})
        return None
    return draft_id


async def _kept_draft(request: Request[Any, Any, Any], invitation_id: uuid.UUID) -> Draft | None:
    """The draft this browser's cookie names for this invitation; None if none (or gone, or of
    another link, or Redis cannot say: the customer still gets the survey, blank)."""
    draft_id = request.cookies.get(DRAFT_COOKIE, "")
    if not _DRAFT_ID.match(draft_id):
        return None
    try:
        sealed = await request.app.state.redis.get(_draft_key(request, draft_id))
    except (RedisError, OSError) as exc:
        log.warning("survey draft not read", extra={"error": type(exc).__name__})
        return None
    if not isinstance(sealed, bytes):
        return None
    try:
        text = request.app.state.vault.cipher.decrypt(
            sealed, aad=_draft_aad(invitation_id, draft_id)
        )
        return msgspec.json.decode(text, type=Draft)
    except (DecryptionError, msgspec.DecodeError):
        return None


async def _drop_draft(request: Request[Any, Any, Any], response: Response[Any], path: str) -> None:
    """After the answer is stored: the draft is of no use any more."""
    draft_id = request.cookies.get(DRAFT_COOKIE)
    if draft_id is None:
        return
    response.delete_cookie(DRAFT_COOKIE, path=path)
    if _DRAFT_ID.match(draft_id):
        try:
            await request.app.state.redis.delete(_draft_key(request, draft_id))
        except (RedisError, OSError):  # it expires on its own
            log.warning("survey draft not dropped")


def _links(request: Request[Any, Any, Any]) -> SurveyLinks:
    return SurveyLinks(request.app.state.settings.jwt_keys)


def signed_by_us(state: AppState, token: str) -> bool:
    """Whether a survey link's token carries our tag (no database): the link guessing limit
    serves such a link to an address it bars, so a customer on a network where someone else
    guessed can still answer; a forged token stays barred."""
    return SurveyLinks(state.settings.jwt_keys).invitation_id(token) is not None


# The opt of every `/f/{token}` route: a customer's page, its token checked by `signed_by_us`.
SURVEY_LINK = CUSTOMER_PAGE | {SIGNED_LINK: signed_by_us}


def _condition(question: Question, by_key: dict[str, tuple[int, Question]]) -> str:
    """When a conditional question is to be answered, for a reader without the script: the
    options' labels, or a score's runs ("0–6 分")."""
    if question.show_if is None or question.show_if.key not in by_key:
        return ""
    number, source = by_key[question.show_if.key]
    if source.type in (QuestionType.NPS, QuestionType.RATING):
        scores = sorted({int(v) for v in question.show_if.in_ if str(v).isdigit()})
        return f"第 {number} 题评分为 {_runs(scores)} 分"
    labels = {o.value: o.label for o in source.options}
    wanted = "、".join(f"“{labels.get(str(v), v)}”" for v in question.show_if.in_)
    return f"第 {number} 题选择{wanted}"


def _runs(scores: list[int]) -> str:
    """Sorted scores as runs: [0, 1, 2, 3, 9, 10] -> "0–3、9–10"; [5] -> "5"."""
    runs: list[list[int]] = []
    for score in scores:
        if runs and score == runs[-1][-1] + 1:
            runs[-1].append(score)
        else:
            runs.append([score])
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _form(
    request: Request[Any, Any, Any],
    opened: submission.Opened,
    *,
    values: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    settings = request.app.state.settings
    row = opened.row
    assert row is not None
    questions = opened.questions
    by_key = {q.key: (n, q) for n, q in enumerate(questions, start=1)}
    shown = []
    for q in questions:
        shown.append(
            {
                "key": q.key, "type": q.type.value, "text": q.text, "required": q.required,
                "options": q.options, "show_if": q.show_if,
                "show_in_json": json.dumps(q.show_if.in_ if q.show_if else [], ensure_ascii=False),
                "condition": _condition(q, by_key), "chosen": (values or {}).get(q.key, []),
            }
        )  # fmt: skip
    # "共 N 题" only when every question is asked: with skip logic the number depends on the
    # answers (the script shows the questions that apply, numbered).
    fixed = all(q.show_if is None for q in questions)
    return _html(
        "survey_form.html", status, title=row["title"], bank=settings.bank_name.strip(),
        rm_name=row["rm_name"], questions=shown, errors=errors or {},
        count=len(questions) if fixed else None, max_text=MAX_TEXT,
        valid_until=valid_until(row["expires_at"], settings.bank_timezone),
    )  # fmt: skip


@route("/f/{token:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD],
       operation_id="surveyPage", opt=SURVEY_LINK, tags=["public"],
       include_in_schema=False)  # fmt: skip
async def show(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """The survey for the customer; opening it changes nothing. After a submission with
    mistakes, with the answers kept and a message next to each question to fix."""
    invitation_id = _links(request).invitation_id(token)
    opened = await submission.open_invitation(db, invitation_id, customer=True)
    if opened.state is not State.OPEN or invitation_id is None:
        return _state_page(opened.state, request.app.state.settings.bank_name.strip())
    draft = await _kept_draft(request, invitation_id)
    if draft is None:
        return _form(request, opened)
    return _form(request, opened, values=draft.values, errors=draft.errors)


@get("/f/{token:str}/thanks", operation_id="surveyThanks", opt=SURVEY_LINK, tags=["public"],
     include_in_schema=False)  # fmt: skip
async def thanks(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[Any]:
    """After a submission: thank you (before one, back to the survey)."""
    bank = request.app.state.settings.bank_name.strip()
    opened = await submission.open_invitation(
        db, _links(request).invitation_id(token), customer=True
    )
    if opened.state is State.OPEN:  # only a token exactly as made opens an invitation
        return Redirect(f"/f/{token}", status_code=303, headers={"Cache-Control": "no-store"})
    if opened.state is not State.ANSWERED:
        return _state_page(opened.state, bank)
    text = "感谢您的宝贵意见！您的反馈已提交，我们会认真阅读并持续改进服务。"
    return _html("survey_message.html", 200, title="提交成功", bank=bank, mark="✓", tone="good",
                 text=text)  # fmt: skip


@post("/f/{token:str}", operation_id="surveySubmit", opt=SURVEY_LINK, tags=["public"],
      include_in_schema=False, request_max_body_size=MAX_BODY)  # fmt: skip
async def submit(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[Any]:
    """Answer the survey once: a form (the page) or a JSON Submission (apps and tests)."""
    state = request.app.state
    invitation_id = _links(request).invitation_id(token)
    if request.content_type[0] == MediaType.JSON:
        # Each answer as sent: a value of the wrong type is said at its question.
        submitted = submission.decode(await request.body())
        response_id, _ = await submission.store(
            db, cipher=state.vault.cipher, invitation_id=invitation_id, submitted=submitted,
            customer=True,
        )  # fmt: skip
        return Response({"response_id": str(response_id)}, status_code=201)
    bank = state.settings.bank_name.strip()
    if invitation_id is None:  # not exactly a token of ours: never put into a header
        return _state_page(State.UNKNOWN, bank)
    page = f"/f/{token}"  # exactly as made (`SurveyLinks.invitation_id` takes nothing else)
    answered_here = request.cookies.get(ANSWERED_COOKIE) == "1"
    opened = await submission.open_invitation(db, invitation_id, customer=True)
    thanks_ = Redirect(f"{page}/thanks", status_code=303, headers={"Cache-Control": "no-store"})
    if opened.state is State.ANSWERED and answered_here:  # posted again (a double tap, back)
        return thanks_
    if opened.state is not State.OPEN:
        return _state_page(opened.state, bank)
    values = _form_values(await _form_fields(request), opened.questions)
    try:
        # A page without its script cannot hide a follow-up the answers make moot: the answers
        # to hidden questions are dropped, not refused (the JSON API stays strict).
        await submission.store(
            db, cipher=state.vault.cipher, invitation_id=invitation_id,
            submitted=without_hidden(opened.questions, _submitted(values, opened.questions)),
            customer=True,
        )  # fmt: skip
    except AnswersInvalid as exc:
        # Back to the page, which shows the mistakes (Post/Redirect/Get: reloading it or coming
        # back to it later never posts again, and the browser never asks to resubmit).
        draft_id = await _keep_draft(request, invitation_id, Draft(values, exc.errors))
        if draft_id is None:  # Redis cannot keep them: the page at once, as the answer
            return _form(request, opened, values=values, errors=exc.errors, status=422)
        back = Redirect(page, status_code=303, headers={"Cache-Control": "no-store"})
        back.set_cookie(
            DRAFT_COOKIE, draft_id, max_age=DRAFT_SECONDS, path=page, httponly=True,
            samesite="lax", secure=request.url.scheme == "https",
        )  # fmt: skip
        return back
    except (submission.AlreadyAnswered, submission.LinkExpired):  # a race with another submit
        again = await submission.open_invitation(db, invitation_id, customer=True)
        if again.state is not State.EXPIRED and answered_here:
            return thanks_
        return _state_page(again.state if again.state is not State.OPEN else State.ANSWERED, bank)
    # This browser answered: when it posts again (a second tap, the back button), it is shown
    # the thank-you rather than "already answered". Scoped to this link; says nothing else.
    thanks_.set_cookie(
        ANSWERED_COOKIE, "1", max_age=ANSWERED_COOKIE_SECONDS, path=page,
        httponly=True, samesite="lax", secure=request.url.scheme == "https",
    )  # fmt: skip
    await _drop_draft(request, thanks_, page)
    return thanks_


async def _form_fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """The fields a form sent, by name. A form with `enctype="multipart/form-data"` is read as
    Litestar parsed it: its body is a stream read once (by the input checks, before this
    handler), so it cannot be read again as bytes. Files sent with it are no answer: ignored."""
    if request.content_type[0] == RequestEncodingType.MULTI_PART:
        fields: dict[str, list[str]] = {}
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str):
                fields.setdefault(name, []).append(value)
        return fields
    try:
        return parse_qs((await request.body()).decode("utf-8", "replace"),
                        keep_blank_values=True, max_num_fields=1000)  # fmt: skip
    except ValueError:
        return {}


def _form_values(fields: dict[str, list[str]], questions: list[Question]) -> dict[str, list[str]]:
    """What the form sent for each question (unknown fields are ignored)."""
    return {q.key: fields[q.key] for q in questions if q.key in fields}


def _submitted(values: dict[str, list[str]], questions: list[Question]) -> dict[str, Any]:
    """The form's values as answers: a list for a multi question, one value otherwise. Two
    values or more for a question that takes one (a single choice, a score, a text: a form
    made by hand) stay a list, which the question's check refuses, as the JSON API does;
    never the first of them kept and the rest dropped unsaid."""
    answers: dict[str, Any] = {}
    for q in questions:
        given = [v for v in values.get(q.key, []) if v != ""]
        if not given:
            continue
        answers[q.key] = given if q.type is QuestionType.MULTI or len(given) > 1 else given[0]
    return answers


STATIC_FILES = static_files(
    path=STATIC_PATH, directory=STATIC, name="public-static", opt=CUSTOMER_PAGE
)

ROUTES: list[Any] = [show, thanks, submit, STATIC_FILES]
