"""The customer's real-name verification page: `GET /v/{token}` shows it, `POST` checks it.

Every answer to a form is a redirect (Post/Redirect/Get: a reload or the back button never posts
again). A right answer goes to the result at `GET /v/{token}/done`. A wrong one, or one with a
field that cannot be right (no name, an ID number or phone that is not one), goes back to
`GET /v/{token}`, which shows the message: it travels in a short-lived cookie on the link's path,
encrypted and bound to the invitation (nothing in the URL), with what the customer typed: the
name and phone after a wrong answer (never the ID number), every field after a malformed one
(nothing was checked, and no attempt used). The ID number may be typed with spaces (`110105
19820921 0009`): the page and the server drop them before checking. The page's script sends a
form once per tap. HEAD answers as GET."""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from html import escape
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post, route
from litestar.datastructures import State
from litestar.enums import HttpMethod, RequestEncodingType
from litestar.params import Body, FromPath

from workbench.customers import verification
from workbench.customers.verification import Answers, FieldProblem, InviteState, Outcome
from workbench.http.auth import CUSTOMER_PAGE
from workbench.http.deps import Db
from workbench.http.guessing import SIGNED_LINK
from workbench.public.pages import message, page
from workbench.security.vault import DecryptionError, Vault

_STATE_PAGES = {
    InviteState.INVALID: ("链接无效", "该链接无效或不完整，请向您的客户经理索取新的链接。", 404),
    InviteState.EXPIRED: ("链接已过期", "该认证链接已过期，请联系您的客户经理重新发送。", 410),
    InviteState.USED: ("已完成认证", "您已完成实名认证，无需重复操作。", 410),
    InviteState.LOCKED: ("链接已锁定", "错误次数过多，该链接已锁定。请联系您的客户经理。", 410),
}
DONE = ("认证成功", "您已完成实名认证，感谢您的配合。")
ID_MAX = 24  # 18 characters and the spaces a customer may type between their groups
_SPACES = re.compile(r"\s+")
FLASH_COOKIE = "wb_verify"  # the last answer's message and what was typed, on the link's path
FLASH_SECONDS = 600
WRONG = "answers"  # the flash's key for "the answers do not match the record"
_FIELD_MESSAGES = {
    ("name", FieldProblem.MISSING): "请输入姓名",
    ("id_number", FieldProblem.MISSING): "请输入身份证号",
    ("id_number", FieldProblem.MALFORMED): "身份证号格式有误，请检查后重新输入",
    ("phone", FieldProblem.MISSING): "请输入手机号",
    ("phone", FieldProblem.MALFORMED): "手机号格式有误，请输入 11 位手机号码",
}
# Spaces typed in the ID number are dropped before the form is sent (the server drops them too).
# One submission per tap: a second tap while the first is on its way sends nothing; the button
# comes back when the page is shown again (the back button, a page kept in memory).
_SCRIPT = (
    "(function(){var f=document.getElementById('verify');if(!f){return;}"
    "var b=document.getElementById('send'),sending=false;"
    "f.addEventListener('submit',function(e){if(sending){e.preventDefault();return;}"
    "sending=true;"
    "var id=document.getElementById('id_number');id.value=id.value.replace(/\\s+/g,'');"
    "setTimeout(function(){b.disabled=true;b.textContent='正在提交…';},0);});"
    "window.addEventListener('pageshow',function(){sending=false;b.disabled=false;"
    "b.textContent='提交认证';});})();"
)
_HEAD_OR_GET = [HttpMethod.GET, HttpMethod.HEAD]


def signed_by_us(state: State, token: str) -> bool:
    """Whether a link's token is one the server made (its MAC, or an older link's signature,
    checked as `verification.open_invite` checks them; no database): the link guessing limit
    serves such a link to an address it bars, so a customer on a network where someone else
    guessed can still verify; a forged token stays barred."""
    named = verification.invite_named_by(vault=state.vault, keyring=state.auth.keyring, token=token)
    return named is not None


# The opt of every `/v/{token}` route: a customer's page, its token checked by `signed_by_us`.
VERIFICATION_LINK = CUSTOMER_PAGE | {SIGNED_LINK: signed_by_us}


class Flash(msgspec.Struct, frozen=True):
    """What the page shows after an answer that was not a match."""

    at: int  # when (Unix seconds): older than FLASH_SECONDS is not shown
    problems: dict[str, str]  # field -> FieldProblem, or WRONG -> "wrong"
    name: str = ""
    phone: str = ""
    id_number: str = ""  # kept only when nothing was checked (a malformed answer)


def _flash_aad(invite_id: uuid.UUID) -> str:
    return f"verification.page_flash:{invite_id}"


def seal_flash(vault: Vault, invite_id: uuid.UUID, flash: Flash) -> str:
    """The cookie's value: the flash encrypted under the data key, bound to the invitation (a
    cookie copied to another link does not open)."""
    blob = vault.cipher.encrypt(msgspec.json.encode(flash).decode(), aad=_flash_aad(invite_id))
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def open_flash(vault: Vault, invite_id: uuid.UUID, value: str | None) -> Flash | None:
    """The flash a cookie holds for this invitation; None when absent, altered or too old."""
    if not value or len(value) > 3000:
        return None
    try:
        blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        flash = msgspec.json.decode(
            vault.cipher.decrypt(blob, aad=_flash_aad(invite_id)), type=Flash
        )
    except (binascii.Error, ValueError, DecryptionError, msgspec.DecodeError):
        return None
    return flash if 0 <= time.time() - flash.at <= FLASH_SECONDS else None


def _refused(state: InviteState, bank: str) -> Response[str]:
    title, text, status = _STATE_PAGES[state]
    return message(title, text, bank=bank, status=status)


def _field(key: str, label: str, attributes: str, *, value: str | None, problem: str | None) -> str:
    """One labelled input; a field at fault says why under it (and to a screen reader)."""
    html = f'<label for="{key}">{label}</label><input id="{key}" name="{key}" {attributes}'
    if value is not None:
        html += f' value="{escape(value)}"'
    if problem is None:
        return html + ">"
    text = _FIELD_MESSAGES.get((key, FieldProblem(problem)), "格式有误，请检查后重新输入")
    return (
        f'{html} aria-invalid="true" aria-describedby="{key}-error" style="border-color:#c8102e">'
        f'<p class="error" id="{key}-error">{escape(text)}</p>'
    )


def _form(flash: Flash | None = None, *, attempts_left: int = verification.MAX_ATTEMPTS) -> str:
    """The form; after an answer that was not a match, its message and what was typed."""
    note, problems = "", {}
    if flash is not None and WRONG in flash.problems:
        note = f"信息与登记不符，请核对后重试（还可尝试 {attempts_left} 次）。"
    elif flash is not None:
        note = "请按提示修改后重新提交（本次未计入尝试次数）。"
        problems = {k: v for k, v in flash.problems.items() if v in set(FieldProblem)}
    alert = f'<p class="error" role="alert">{escape(note)}</p>' if note else ""
    name = flash.name if flash else ""
    phone = flash.phone if flash else ""
    id_number = flash.id_number if flash and flash.id_number else None
    return (
        f"{alert}<p>请填写您在本行登记的信息，完成实名认证。</p>"
        '<form method="post" id="verify">'
        + _field("name", "姓名", 'autocomplete="name" required maxlength="50"', value=name,
                 problem=problems.get("name"))
        + _field("id_number", "身份证号",
                 f'required maxlength="{ID_MAX}" autocomplete="off" autocapitalize="characters"'
                 ' spellcheck="false"', value=id_number, problem=problems.get("id_number"))
        + _field("phone", "手机号", 'type="tel" required maxlength="20" autocomplete="tel"',
                 value=phone, problem=problems.get("phone"))
        + '<button type="submit" id="send">提交认证</button>'
        "</form>"
        '<p class="note">您的信息仅用于核对身份，全程加密传输与存储。</p>'
    )  # fmt: skip


@route("/v/{token:str}", http_method=_HEAD_OR_GET, operation_id="verificationPage",
       opt=VERIFICATION_LINK, tags=["public"], include_in_schema=False)  # fmt: skip
async def show(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """The verification form (opening it, or a chat app's preview of it, changes nothing); after
    an answer that was not a match, with its message (from the cookie the answer set)."""
    bank = request.app.state.settings.bank_name
    state, row = await verification.open_invite(
        db, vault=request.app.state.vault, keyring=request.app.state.auth.keyring, token=token
    )
    if state is not InviteState.OPEN or row is None:
        return _refused(state, bank)
    flash = open_flash(request.app.state.vault, row["id"], request.cookies.get(FLASH_COOKIE))
    left = verification.MAX_ATTEMPTS - row["attempts"]
    return page("实名认证", _form(flash, attempts_left=left), bank=bank,
                rm_name=await verification.inviter_name(db, row), script=_SCRIPT)  # fmt: skip


def _back_to_form(
    request: Request[Any, Any, Any], token: str, invite_id: uuid.UUID, flash: Flash
) -> Response[str]:
    """303 to the form, which shows `flash` (a client that does not follow reads it here)."""
    bank = request.app.state.settings.bank_name
    path = f"/v/{token}"
    wrong = WRONG in flash.problems
    text = "信息与登记不符，请核对后重试。" if wrong else "请按提示修改后重新提交。"
    response = message("实名认证", text, bank=bank, status=303, headers={"Location": path})
    response.set_cookie(
        FLASH_COOKIE,
        seal_flash(request.app.state.vault, invite_id, flash),
        max_age=FLASH_SECONDS, path=path, httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@post("/v/{token:str}", operation_id="verificationSubmit", opt=VERIFICATION_LINK,
      tags=["public"], include_in_schema=False, request_max_body_size=4096)  # fmt: skip
async def submit(
    request: Request[Any, Any, Any],
    db: Db,
    token: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[str]:
    """Check the answers against the bank's record; five wrong answers lock the link (the same
    wrong answer sent again within seconds counts once; a malformed one counts nothing). A
    match answers 303 to the result page (its body says the same, for a client that does not
    follow); anything else 303 back to the form."""
    state_ = request.app.state
    bank = state_.settings.bank_name
    state, row = await verification.open_invite(
        db, vault=state_.vault, keyring=state_.auth.keyring, token=token, lock=True
    )
    if state is not InviteState.OPEN or row is None:
        return _refused(state, bank)
    name = str(data.get("name", ""))[:50]
    phone = str(data.get("phone", ""))[:32]
    id_number = _SPACES.sub("", str(data.get("id_number", "")))[:32]
    answers = Answers(name=name, id_number=id_number, phone=phone)
    now = int(time.time())
    recent = verification.RecentWrongAnswers(state_.redis, state_.settings.redis_prefix)
    outcome = await verification.submit(
        db, vault=state_.vault, invite_row=row, answers=answers, recent=recent
    )
    if outcome is Outcome.MALFORMED:  # nothing checked, no attempt used: all typed comes back
        problems = {k: v.value for k, v in verification.malformed(answers).items()}
        flash = Flash(at=now, problems=problems, name=name, phone=phone, id_number=id_number)
        return _back_to_form(request, token, row["id"], flash)
    if outcome is Outcome.VERIFIED:
        done_ = message(*DONE, bank=bank, status=303, headers={"Location": f"/v/{token}/done"})
        if FLASH_COOKIE in request.cookies:
            done_.delete_cookie(FLASH_COOKIE, path=f"/v/{token}")
        return done_
    if outcome is Outcome.LOCKED:  # the form's page now says so
        return message("链接已锁定", _STATE_PAGES[InviteState.LOCKED][1], bank=bank, status=303,
                       headers={"Location": f"/v/{token}"})  # fmt: skip
    # A wrong answer: the name and phone come back, never the ID number (the secret part).
    flash = Flash(at=now, problems={WRONG: "wrong"}, name=name, phone=phone)
    return _back_to_form(request, token, row["id"], flash)


@route("/v/{token:str}/done", http_method=_HEAD_OR_GET, operation_id="verificationDone",
       opt=VERIFICATION_LINK, tags=["public"], include_in_schema=False)  # fmt: skip
async def done(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """The result of a right answer: it says only what the link's own page says once verified.
    Before that, back to the form."""
    bank = request.app.state.settings.bank_name
    state, _ = await verification.open_invite(
        db, vault=request.app.state.vault, keyring=request.app.state.auth.keyring, token=token
    )
    if state is InviteState.USED:
        return message(*DONE, bank=bank, status=200)
    if state is InviteState.OPEN:
        return message("实名认证", "请先完成实名认证。", bank=bank, status=303,
                       headers={"Location": f"/v/{token}"})  # fmt: skip
    return _refused(state, bank)


ROUTES = [show, submit, done]
