"""The customer's real-name verification page: `GET /v/{token}` shows it, `POST` checks it.

A right answer sends the browser to the result at `GET /v/{token}/done` (Post/Redirect/Get: a
reload or the back button never posts again). A wrong one shows the form again with the name
and phone kept, never the ID number. The ID number may be typed with spaces (`110105 19820921
0009`): the page and the server drop them before checking. HEAD answers as GET."""

from __future__ import annotations

import re
from html import escape
from typing import Annotated, Any

from litestar import Request, Response, post, route
from litestar.enums import HttpMethod, RequestEncodingType
from litestar.params import Body, FromPath

from workbench.customers import verification
from workbench.customers.verification import Answers, InviteState, Outcome
from workbench.http.auth import CUSTOMER_PAGE
from workbench.http.deps import Db
from workbench.public.pages import message, page

_STATE_PAGES = {
    InviteState.INVALID: ("链接无效", "该链接无效或不完整，请向您的客户经理索取新的链接。", 404),
    InviteState.EXPIRED: ("链接已过期", "该认证链接已过期，请联系您的客户经理重新发送。", 410),
    InviteState.USED: ("已完成认证", "您已完成实名认证，无需重复操作。", 410),
    InviteState.LOCKED: ("链接已锁定", "错误次数过多，该链接已锁定。请联系您的客户经理。", 410),
}
DONE = ("认证成功", "您已完成实名认证，感谢您的配合。")
ID_MAX = 24  # 18 characters and the spaces a customer may type between their groups
_SPACES = re.compile(r"\s+")
# Spaces typed in the ID number are dropped before the form is sent (the server drops them too).
_STRIP_ID = (
    "document.getElementById('verify').addEventListener('submit',function(){"
    "var id=document.getElementById('id_number');id.value=id.value.replace(/\\s+/g,'');});"
)
_HEAD_OR_GET = [HttpMethod.GET, HttpMethod.HEAD]


def _refused(state: InviteState, bank: str) -> Response[str]:
    title, text, status = _STATE_PAGES[state]
    return message(title, text, bank=bank, status=status)


def _form(error: str | None = None, *, name: str = "", phone: str = "") -> str:
    """The form; after a wrong answer with the name and phone as typed (the ID number is never
    sent back: it is the secret part)."""
    note = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        f"{note}<p>请填写您在本行登记的信息，完成实名认证。</p>"
        '<form method="post" id="verify">'
        '<label for="name">姓名</label>'
        f'<input id="name" name="name" autocomplete="name" required maxlength="50"'
        f' value="{escape(name)}">'
        '<label for="id_number">身份证号</label>'
        f'<input id="id_number" name="id_number" required maxlength="{ID_MAX}"'
        ' autocomplete="off" autocapitalize="characters" spellcheck="false">'
        '<label for="phone">手机号</label>'
        '<input id="phone" name="phone" type="tel" required maxlength="20" autocomplete="tel"'
        f' value="{escape(phone)}">'
        '<button type="submit">提交认证</button>'
        "</form>"
        '<p class="note">您的信息仅用于核对身份，全程加密传输与存储。</p>'
    )


@route("/v/{token:str}", http_method=_HEAD_OR_GET, operation_id="verificationPage",
       opt=CUSTOMER_PAGE, tags=["public"], include_in_schema=False)  # fmt: skip
async def show(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """The verification form (opening it, or a chat app's preview of it, changes nothing)."""
    bank = request.app.state.settings.bank_name
    state, row = await verification.open_invite(
        db, keyring=request.app.state.auth.keyring, token=token
    )
    if state is not InviteState.OPEN or row is None:
        return _refused(state, bank)
    return page("实名认证", _form(), bank=bank, rm_name=await verification.inviter_name(db, row),
                script=_STRIP_ID)  # fmt: skip


@post("/v/{token:str}", operation_id="verificationSubmit", opt=CUSTOMER_PAGE,
      tags=["public"], include_in_schema=False, request_max_body_size=4096)  # fmt: skip
async def submit(
    request: Request[Any, Any, Any],
    db: Db,
    token: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[str]:
    """Check the answers against the bank's record; five wrong answers lock the link. A match
    answers 303 to the result page (its body says the same, for a client that does not follow)."""
    bank = request.app.state.settings.bank_name
    state, row = await verification.open_invite(
        db, keyring=request.app.state.auth.keyring, token=token, lock=True
    )
    if state is not InviteState.OPEN or row is None:
        return _refused(state, bank)
    name = str(data.get("name", ""))[:50]
    phone = str(data.get("phone", ""))[:32]
    answers = Answers(
        name=name, id_number=_SPACES.sub("", str(data.get("id_number", "")))[:32], phone=phone
    )
    outcome = await verification.submit(
        db, vault=request.app.state.vault, invite_row=row, answers=answers
    )
    if outcome is Outcome.VERIFIED:
        return message(*DONE, bank=bank, status=303, headers={"Location": f"/v/{token}/done"})
    if outcome is Outcome.LOCKED:
        return _refused(InviteState.LOCKED, bank)
    left = verification.MAX_ATTEMPTS - (row["attempts"] + 1)
    return page(
        "实名认证",
        _form(f"信息与登记不符，请核对后重试（还可尝试 {left} 次）。", name=name, phone=phone),
        bank=bank,
        rm_name=await verification.inviter_name(db, row),
        status=422,
        script=_STRIP_ID,
    )


@route("/v/{token:str}/done", http_method=_HEAD_OR_GET, operation_id="verificationDone",
       opt=CUSTOMER_PAGE, tags=["public"], include_in_schema=False)  # fmt: skip
async def done(request: Request[Any, Any, Any], db: Db, token: FromPath[str]) -> Response[str]:
    """The result of a right answer: it says only what the link's own page says once verified.
    Before that, back to the form."""
    bank = request.app.state.settings.bank_name
    state, _ = await verification.open_invite(
        db, keyring=request.app.state.auth.keyring, token=token
    )
    if state is InviteState.USED:
        return message(*DONE, bank=bank, status=200)
    if state is InviteState.OPEN:
        return message("实名认证", "请先完成实名认证。", bank=bank, status=303,
                       headers={"Location": f"/v/{token}"})  # fmt: skip
    return _refused(state, bank)


ROUTES = [show, submit, done]
