"""The staff accounts' admin pages: the list (found by name or login, filtered by role, state and
unit), a new account, an edit that leaves the password alone, a new generated password shown
once, disable and enable, and lifting the lock that wrong passwords put on a sign-in."""

from __future__ import annotations

import math
import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from mobile_contracts.v1 import identity as wire
from workbench.console import Console, nav, once, visible_to
from workbench.errors import DomainError, ServiceUnavailable
from workbench.http.deps import CurrentCaller, Db
from workbench.identity import queries as identity_queries
from workbench.identity import staff
from workbench.identity.admin_console import forms
from workbench.identity.admin_console.forms import ROLES, USERS_PATH, Tree
from workbench.identity.console import PLATFORM_LABELS, ago
from workbench.identity.service import Auth
from workbench.pagination import decode_cursor, encode_cursor

PAGE_ROWS = 50
# The state filter: query value -> (label, `active` filter).
STATE_FILTERS: dict[str, tuple[str, bool | None]] = {
    "": ("全部状态", None),
    "active": ("正常", True),
    "disabled": ("已停用", False),
}
# Roles in the order a form offers them.
ROLE_CHOICES = [
    (role.value, nav.ROLE_LABELS[role])
    for role in (wire.Role.RM, wire.Role.BRANCH_HEAD, wire.Role.MARKETING, wire.Role.COMPLIANCE,
                 wire.Role.ADMIN)
]  # fmt: skip
# Generated passwords: no look-alike characters (0/O, 1/l/I), read aloud or copied by hand.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105
FIELD_ERRORS = {
    "login": "登录名为 1–64 位字母、数字或 . _ @ -，以字母或数字开头。",
    "role": "请选择角色。",
    "org_unit_id": "请选择机构。",
    "password": "密码至少 8 位，最多 256 位。",
}
USER_FIELDS = ("login", "name", "role", "org_unit_id")
# The edit form's hidden copy of each field as it was shown: field -> hidden input's name.
SHOWN_FIELDS = {"login": "was_login", "name": "was_name", "role": "was_role",
                "org_unit_id": "was_unit"}  # fmt: skip
STALE_EDIT = "该用户资料已被他人修改，请核对后再保存。"


def generate_password() -> str:
    """ "Hq7m-Kx3p-Zt9w": 71 random bits in three groups of four, easy to read out."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


def _back(value: str | None) -> str:
    """The users list (with its filters) to return to; anything else is the plain list."""
    if not value or len(value) > 500 or "\\" in value or any(ord(c) < 32 for c in value):
        return USERS_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != USERS_PATH:
        return USERS_PATH
    return value


def _user_path(user_id: uuid.UUID, action: str) -> str:
    return f"{USERS_PATH}/users/{user_id}/{action}"


def _person(user: wire.User, tree: Tree, now: datetime) -> dict[str, Any]:
    """A user as the pages show them."""
    return {
        "u": user,
        "role_label": nav.ROLE_LABELS.get(user.role, user.role.value),
        "unit_name": tree.name(user.org_unit_id),
        "unit_path": " › ".join(tree.ancestors(user.org_unit_id)),
        "seen_ago": ago(user.last_seen_at, now) if user.last_seen_at else "",
        "edit_url": _user_path(user.id, "edit"),
        "password_url": _user_path(user.id, "password"),
        "disable_url": _user_path(user.id, "disable"),
        "enable_url": _user_path(user.id, "enable"),
        "unlock_url": _user_path(user.id, "unlock-sign-in"),
    }


def _device_label(device: staff.SignedInDevice) -> str:
    """ "iOS · iPhone 15": what the device is, in a few words."""
    platform = PLATFORM_LABELS.get(device.platform, device.platform.value)
    return f"{platform} · {device.model}" if device.model else platform


def _wipe_text(devices: int) -> str:
    """What disabling did to the user's phones and tablets."""
    if not devices:
        return ""
    return f"其 {devices} 台手机或平板下次联网时将清除 App 中的离线数据（设备本身未停用）"


def _handover_text(handover: wire.Handover | None) -> str:
    if handover is None or not (handover.customers or handover.open_tasks):
        return ""
    return f"名下 {handover.customers} 位客户、{handover.open_tasks} 项未完成任务需另行转交"


# ---- users -----------------------------------------------------------------------------------


@get(forms.path(USERS_PATH), opt=visible_to(*ROLES), name="console:admin-users")
async def user_list(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    q: Annotated[str | None, QueryParameter(max_length=100)] = None,
    role: Annotated[str | None, QueryParameter(max_length=20)] = None,
    state_filter: Annotated[str | None, QueryParameter(name="state", max_length=20)] = None,
    unit: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Response[Any]:
    """Every staff account, by name, found by name or login and filtered by role, state, unit."""
    now = datetime.now(UTC)
    tree = await forms.tree(db, caller)
    text = (q or "").strip()
    chosen_state = state_filter if state_filter in STATE_FILTERS else ""
    chosen_role = wire.Role(role) if role and role in wire.Role._value2member_map_ else None
    unit_id = forms.parse_uuid(unit)
    if unit_id not in tree.by_id:
        unit_id = None
    try:
        after = decode_cursor(cursor, tuple[str, uuid.UUID])
    except DomainError:
        after = None  # a cursor mangled in the address bar: the first page
    found = await staff.list_users(
        db, caller=caller, org_unit_id=unit_id, after=after, limit=PAGE_ROWS + 1, q=text or None,
        role=chosen_role, active=STATE_FILTERS[chosen_state][1], by_name=True,
    )  # fmt: skip
    more, found = len(found) > PAGE_ROWS, found[:PAGE_ROWS]
    locked = await _locked(request.app.state.auth, found)
    filters = {
        "q": text,
        "role": chosen_role.value if chosen_role else "",
        "state": chosen_state,
        "unit": str(unit_id or ""),
    }
    kept = {k: v for k, v in filters.items() if v}
    here = f"{USERS_PATH}?{urlencode(kept)}" if kept else USERS_PATH
    next_url = None
    if more:
        key = encode_cursor([found[-1].name, str(found[-1].id)])
        next_url = f"{USERS_PATH}?{urlencode({**kept, 'cursor': key})}"
    return console.render(
        "admin/users.html",
        {
            "tab": "users",
            "items": [
                {
                    **_person(u, tree, now),
                    "me": u.id == caller.user_id,
                    "locked": u.id in locked,
                    "disable_url": _user_path(u.id, "disable") + "?" + urlencode({"back": here}),
                }
                for u in found
            ],
            "filters": filters,
            "roles": ROLE_CHOICES,
            "states": [(key, label) for key, (label, _) in STATE_FILTERS.items()],
            "units": tree.options(),
            "filtered": bool(kept),
            "here": here,
            "next_url": next_url,
            "first_url": here if after else None,
        },
    )


def _user_form_context(
    tree: Tree, fields: dict[str, str], errors: dict[str, str], **extra: Any
) -> dict[str, Any]:
    return {
        "tab": "users",
        "fields": fields,
        "errors": errors,
        "roles": ROLE_CHOICES,
        "units": tree.options(),
        **extra,
    }


@get(forms.path(USERS_PATH) + "/users/new", opt=visible_to(*ROLES), name="console:admin-user-new")
async def new_user_form(
    db: Db,
    caller: CurrentCaller,
    console: Console,
    unit: FromQuery[str | None] = None,
) -> Response[Any]:
    """The form for a new staff account (the unit may come chosen, from the org tree)."""
    tree = await forms.tree(db, caller)
    unit_id = forms.parse_uuid(unit)
    fields = {
        "login": "",
        "name": "",
        "role": wire.Role.RM.value,
        "org_unit_id": str(unit_id) if unit_id in tree.by_id else "",
    }
    return console.render("admin/user_new.html", _user_form_context(tree, fields, {}))


def _check_user_fields(fields: dict[str, str], tree: Tree) -> dict[str, str]:
    """Field -> what is wrong with it, by the contract's own rules."""
    errors: dict[str, str] = {}
    if not forms.valid(fields["login"], wire.NewLogin):
        errors["login"] = FIELD_ERRORS["login"]
    if problem := forms.name_problem(fields["name"], wire.NewName, what="姓名"):
        errors["name"] = problem
    if fields["role"] not in wire.Role._value2member_map_:
        errors["role"] = FIELD_ERRORS["role"]
    if forms.parse_uuid(fields["org_unit_id"]) not in tree.by_id:
        errors["org_unit_id"] = FIELD_ERRORS["org_unit_id"]
    return errors


@post(
    forms.path(USERS_PATH) + "/users/new",
    opt=visible_to(*ROLES, acts_once=True),
    name="console:admin-user-create",
)
async def create_user(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Create the account; a password left empty is generated and shown once, on this answer."""
    form = await request.form()
    tree = await forms.tree(db, caller)
    fields = {k: forms.text(form, k) for k in USER_FIELDS}
    typed = form.get("password")
    typed = typed if isinstance(typed, str) and typed else ""
    errors = _check_user_fields(fields, tree)
    if typed and not forms.valid(typed, wire.NewPassword):
        errors["password"] = FIELD_ERRORS["password"]
    if errors:
        return console.render(
            "admin/user_new.html",
            _user_form_context(tree, fields, errors),
            status=422,
        )
    try:
        claim = await once.claim(request, form, db, back=USERS_PATH)
    except once.Resubmitted as again:
        return await _already_created(db, console, again.link, fields["login"])
    password = typed or generate_password()
    try:
        async with claim:  # a refusal lets the form's token go
            created, _ = await staff.save_user(
                db,
                auth=request.app.state.auth,
                caller=caller,
                request=wire.UserCreate(
                    login=fields["login"],
                    name=fields["name"],
                    role=wire.Role(fields["role"]),
                    org_unit_id=uuid.UUID(fields["org_unit_id"]),
                    password=password,
                ),
                client_ip=forms.client_address(request),
            )
            claim.made(_user_path(created.id, "edit"))  # what a resubmission links to
    except DomainError as exc:
        if exc.code == "user.login_taken":
            errors["login"] = "这个登录名已被其他用户使用，请换一个。"
        elif exc.code == "org_unit.not_found":
            errors["org_unit_id"] = FIELD_ERRORS["org_unit_id"]
        else:
            raise
        return console.render(
            "admin/user_new.html",
            _user_form_context(tree, fields, errors),
            status=409,
        )
    who = f"{created.name}（{created.login}）"
    if typed:
        return console.redirect(
            USERS_PATH + "?" + urlencode({"q": created.login}),
            flash=f"已创建 {who}：请把您设定的初始密码当面或通过安全渠道交给本人。",
        )
    return _issued_page(console, created, tree, password, created_now=True)


async def _already_created(db: Db, console: Console, made: str | None, login: str) -> Response[Any]:
    """A resubmitted new-user form: the account was made by the first submission (`made`: the
    link to it, None while not known)."""
    made_id = forms.parse_uuid(made.split("/")[-2]) if made and made.count("/") > 1 else None
    user = await staff.user(db, user_id=made_id) if made_id else None
    link = _user_path(user.id, "edit") if user else f"{USERS_PATH}?{urlencode({'q': login})}"
    return console.render(
        "admin/once_used.html",
        {"tab": "users", "created": True, "u": user, "link": link},
        status=409,
    )


def _issued_page(
    console: Console, user: wire.User, tree: Tree, password: str, *, created_now: bool
) -> Response[Any]:
    """The page that shows a generated password, once: it is in this answer and nowhere else
    (console pages are never cached)."""
    return console.render(
        "admin/password_issued.html",
        {
            "tab": "users",
            **(it := _person(user, tree, datetime.now(UTC))),
            "it": it,
            "password": password,
            "created_now": created_now,
        },
        status=201 if created_now else 200,
    )


async def _user_or_404(db: Db, user_id: uuid.UUID) -> wire.User:
    return await staff.user(db, user_id=user_id)


@get(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/edit",
    opt=visible_to(*ROLES),
    name="console:admin-user-edit",
)
async def edit_user_form(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """The user's name, login, role and unit, to change (the password is not on this form);
    above it, a sign-in locked by wrong passwords, with the button that lifts the lock."""
    user = await _user_or_404(db, user_id)
    tree = await forms.tree(db, caller)
    fields = _fields_of(user)
    context = await _edit_context(db, caller, user, tree, fields, {}, fields)
    return console.render(
        "admin/user_edit.html", {**context, **await _lock_of(request.app.state.auth, user)}
    )


def _fields_of(user: wire.User) -> dict[str, str]:
    return {
        "login": user.login,
        "name": user.name,
        "role": user.role.value,
        "org_unit_id": str(user.org_unit_id),
    }


async def _edit_context(
    db: Db,
    caller: CurrentCaller,
    user: wire.User,
    tree: Tree,
    fields: dict[str, str],
    errors: dict[str, str],
    shown: dict[str, str],
    stale: str | None = None,
) -> dict[str, Any]:
    """`shown`: the values the form was first shown with, sent back in its hidden fields."""
    handover = await staff.handover(db, user_id=user.id) if user.role is wire.Role.RM else None
    return _user_form_context(
        tree,
        fields,
        errors,
        **(it := _person(user, tree, datetime.now(UTC))),
        it=it,
        handover=handover,
        me=user.id == caller.user_id,
        action=_user_path(user.id, "edit"),
        shown={SHOWN_FIELDS[k]: v for k, v in shown.items()},
        stale=stale,
    )


@post(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/edit",
    opt=visible_to(*ROLES),
    name="console:admin-user-save",
)
async def save_user(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Save the changes (the API's PATCH): a new role, unit or login signs the user out.

    Only the fields changed on the form are sent; if the user was changed by someone else since
    the form was shown (its hidden `was_*` fields), nothing is saved and the form comes back
    with the current values."""
    form = await request.form()
    # Locked for the transaction: nobody changes the user between this check and the save.
    await identity_queries.user_for_update(db, user_id)
    user = await _user_or_404(db, user_id)
    tree = await forms.tree(db, caller)
    current = _fields_of(user)
    shown = {
        k: value if isinstance(value := form.get(SHOWN_FIELDS[k]), str) else current[k]
        for k in USER_FIELDS
    }  # a form without them (an older page) was shown the current values
    if shown != current:
        context = await _edit_context(
            db, caller, user, tree, current, {}, current, stale=STALE_EDIT
        )
        context |= await _lock_of(request.app.state.auth, user)
        return console.render("admin/user_edit.html", context, status=409)
    fields = {k: forms.text(form, k) for k in USER_FIELDS}
    errors = _check_user_fields(fields, tree)
    if not errors:
        edits = {k: v for k, v in fields.items() if v != shown[k]}
        try:
            changed = await staff.update_user(
                db,
                auth=request.app.state.auth,
                caller=caller,
                user_id=user_id,
                request=msgspec.convert(edits, wire.UserUpdate),
                client_ip=forms.client_address(request),
            )
        except DomainError as exc:
            if exc.code == "user.login_taken":
                errors["login"] = "这个登录名已被其他用户使用，请换一个。"
            elif exc.code == "user.last_admin":
                errors["role"] = (
                    "这是最后一位在用的系统管理员，不能改为其他角色："
                    "请先把另一位用户设为系统管理员。"
                )
            elif exc.code == "org_unit.not_found":
                errors["org_unit_id"] = FIELD_ERRORS["org_unit_id"]
            else:
                raise
    if errors:
        context = await _edit_context(db, caller, user, tree, fields, errors, shown)
        context |= await _lock_of(request.app.state.auth, user)
        return console.render("admin/user_edit.html", context, status=409 if "role" in errors
                              or "login" in errors else 422)  # fmt: skip
    who = f"{changed.user.name}（{changed.user.login}）"
    text = f"已保存 {who}"
    if changed.sessions_ended:
        text += "：其已登录的设备需重新登录"
    handover = _handover_text(changed.handover)
    if handover:
        text += f"。{handover}（客户随银行系统推送的客户经理变更，任务请联系其支行负责人安排）"
    return console.redirect(
        USERS_PATH + "?" + urlencode({"q": changed.user.login}),
        flash=text + "。",
        kind="warning" if handover else "success",
    )


@get(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/password",
    opt=visible_to(*ROLES),
    name="console:admin-password-confirm",
)
async def confirm_password(
    db: Db, caller: CurrentCaller, console: Console, user_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """What a new password does, and the button that generates it."""
    user = await _user_or_404(db, user_id)
    tree = await forms.tree(db, caller)
    return console.render(
        "admin/password_confirm.html",
        {
            "tab": "users",
            **(it := _person(user, tree, datetime.now(UTC))),
            "it": it,
            "me": user.id == caller.user_id,
            "action": _user_path(user.id, "password"),
        },
    )


@post(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/password",
    opt=visible_to(*ROLES, acts_once=True),
    name="console:admin-password-reset",
)
async def reset_password(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Generate a new password, set it (sessions end) and show it, once."""
    form = await request.form()
    try:
        claim = await once.claim(request, form, db, back=_user_path(user_id, "password"))
    except once.Resubmitted:
        user = await _user_or_404(db, user_id)
        return console.render(
            "admin/once_used.html",
            {"tab": "users", "created": False, "u": user,
             "link": _user_path(user.id, "password")},
            status=409,
        )  # fmt: skip
    password = generate_password()
    async with claim:  # a refusal lets the form's token go
        changed = await staff.set_user_password(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id, password=password,
            client_ip=forms.client_address(request),
        )  # fmt: skip
        claim.made(_user_path(user_id, "password"))
    tree = await forms.tree(db, caller)
    return _issued_page(console, changed.user, tree, password, created_now=False)


@get(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/disable",
    opt=visible_to(*ROLES),
    name="console:admin-disable-confirm",
)
async def confirm_disable(
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
    back: Annotated[str | None, QueryParameter(max_length=500)] = None,
) -> Response[Any]:
    """What disabling this user does (for an RM: what they still hold), and the button."""
    user = await _user_or_404(db, user_id)
    to = _back(back)
    if not user.active:
        return console.redirect(to, flash=f"{user.name}（{user.login}）已经停用。", kind="info")
    if user.id == caller.user_id:
        return console.redirect(to, flash="不能停用自己的账号。", kind="error")
    tree = await forms.tree(db, caller)
    handover = await staff.handover(db, user_id=user.id) if user.role is wire.Role.RM else None
    now = datetime.now(UTC)
    devices = [
        {
            "label": _device_label(d),
            "seen_ago": ago(d.last_seen_at, now),
            "seen_at": d.last_seen_at,
        }
        for d in await staff.devices_to_wipe(db, user_id=user.id)
    ]
    return console.render(
        "admin/disable.html",
        {
            "tab": "users",
            **(it := _person(user, tree, now)),
            "it": it,
            "handover": handover,
            "devices": devices,
            "back": to,
            "action": _user_path(user.id, "disable"),
        },
    )


@post(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/disable",
    opt=visible_to(*ROLES),
    name="console:admin-disable",
)
async def disable(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Disable the user (the API's service): sessions end everywhere, sign-in is refused."""
    form = await request.form()
    to = _back(forms.text(form, "back"))
    user = await _user_or_404(db, user_id)
    who = f"{user.name}（{user.login}）"
    try:
        changed = await staff.set_user_active(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id, active=False,
            client_ip=forms.client_address(request),
        )  # fmt: skip
    except DomainError as exc:
        refusals = {
            "user.cannot_disable_self": "不能停用自己的账号。",
            "user.last_admin": f"不能停用 {who}：这是最后一位在用的系统管理员。",
        }
        if exc.code not in refusals:
            raise
        return console.redirect(to, flash=refusals[exc.code], kind="error")
    text = f"已停用 {who}：其会话已立即失效，无法再登录；"
    wipe = _wipe_text(changed.devices_to_wipe)
    if wipe:
        text += f"{wipe}；"
    text += "需要时可重新启用。"
    handover = _handover_text(changed.handover)
    if handover:
        text += f"{handover}。"
    return console.redirect(to, flash=text, kind="warning" if handover else "success")


@post(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/enable",
    opt=visible_to(*ROLES),
    name="console:admin-enable",
)
async def enable(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Enable the user again: they sign in with their password."""
    form = await request.form()
    changed = await staff.set_user_active(
        db, auth=request.app.state.auth, caller=caller, user_id=user_id, active=True,
        client_ip=forms.client_address(request),
    )  # fmt: skip
    return console.redirect(
        _back(forms.text(form, "back")),
        flash=f"已启用 {changed.user.name}（{changed.user.login}）：可以用原密码重新登录。",
    )


# ---- sign-in locks ---------------------------------------------------------------------------


async def _locked(auth: Auth, users: list[wire.User]) -> set[uuid.UUID]:
    """The users of a list whose sign-in is locked now; none while Redis cannot say (sign-in
    itself then answers that the service is unavailable, for everyone)."""
    try:
        return await staff.sign_in_locked(auth, users)
    except ServiceUnavailable:
        return set()


async def _lock_of(auth: Auth, user: wire.User) -> dict[str, Any]:
    """The user page's lock: `locked_minutes`, about how long until it unlocks by itself (0:
    not locked, or Redis cannot say; the page shows nothing then)."""
    try:
        seconds = await staff.sign_in_locked_for(auth, user)
    except ServiceUnavailable:
        seconds = 0
    return {"locked_minutes": math.ceil(seconds / 60)}


@post(
    forms.path(USERS_PATH) + "/users/{user_id:uuid}/unlock-sign-in",
    opt=visible_to(*ROLES),
    name="console:admin-unlock-sign-in",
)
async def unlock_sign_in(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    user_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Lift the lock wrong passwords put on the user's sign-in (the API's service, audited)."""
    user = await _user_or_404(db, user_id)
    unlocked = await staff.unlock_sign_in(
        db, auth=request.app.state.auth, caller=caller, user_id=user_id,
        client_ip=forms.client_address(request),
    )  # fmt: skip
    who = f"{user.name}（{user.login}）"
    if not unlocked.was_locked:  # a page left open: the window ended, or someone else lifted it
        return console.redirect(
            _user_path(user_id, "edit"),
            flash=f"{who}的登录没有被锁定（已自动解除，或已由他人解除），可以直接登录。",
            kind="info",
        )
    return console.redirect(
        _user_path(user_id, "edit"), flash=f"已解除 {who}的登录锁定：现在可以用原密码登录。"
    )
