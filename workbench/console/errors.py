"""Errors on console routes are console pages (zh-CN, in the console's layout), never
problem+json or a trace. `workbench.http.problems` calls these for routes whose `PAGE` opt is
`CONSOLE` (and for unmatched paths under /console)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response

from workbench.console import cookies
from workbench.console.csrf import CsrfRefused
from workbench.console.guard import SignInRequired
from workbench.console.once import OnceMissing, Resubmitted
from workbench.console.rendering import redirect, render
from workbench.console.sessions import Ended
from workbench.errors import DomainError
from workbench.http.input_checks import NulInConsoleForm
from workbench.logs import request_id_var

SIGN_IN_PATH = "/console/sign-in"
UNAVAILABLE_RETRY_AFTER = 30  # seconds

_INVALID = ("无法处理", "提交的内容无效，请返回检查后重新提交。")
_TEXTS: dict[int, tuple[str, str]] = {
    400: _INVALID,
    401: ("需要登录", "请重新登录后再试。"),
    403: ("无法完成操作", "您没有执行此操作的权限。"),
    404: ("页面不存在", "您要找的页面不存在，或您没有查看它的权限。"),
    405: ("无法处理", "不支持这样打开此页面，请从工作台的菜单进入。"),
    409: ("操作未完成", "内容的状态已经变化（可能已被他人处理），请刷新页面后重试。"),
    413: ("内容过大", "提交的内容超过了允许的大小，请缩小后重试。"),
    415: _INVALID,
    422: _INVALID,
    429: ("操作过于频繁", "请稍后再试。"),
    500: (
        "出错了",
        "页面暂时无法显示，请稍后再试。如果问题持续，请把下方的请求编号告诉系统管理员。",
    ),
    503: ("服务暂时不可用", "服务暂时不可用，请稍后再试。"),
}
_ONCE_MISSING = (
    "页面已过期",
    "这次提交没有被处理：表单缺少防止重复提交的标记（页面可能是在系统更新前打开的）。"
    "请刷新页面后重新提交，填写的内容可以恢复。",
)
_CSRF = (
    "页面已过期",
    "为保护您的账户，这次提交没有被处理：页面可能已经过期，或请求不是从本站页面发出的。"
    "请刷新页面后重试。",
)


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    *,
    title: str | None = None,
    text: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """The page for an error `status` (wording by status unless given); signed in, inside the
    layout with the user's navigation, otherwise on its own."""
    default_title, default_text = _TEXTS.get(status, _TEXTS[500 if status >= 500 else 400])
    all_headers = dict(headers or {})
    if status == 503:
        all_headers.setdefault("Retry-After", str(UNAVAILABLE_RETRY_AFTER))
    return render(
        request,
        "error.html",
        {
            "title": title or default_title,
            "text": text or default_text,
            "status": status,
            "code": code,
            "request_id": request_id_var.get(),
        },
        status=status,
        headers=all_headers,
    )


def domain_error_page(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, SignInRequired):
        return to_sign_in(request, exc.ended)
    if isinstance(exc, CsrfRefused):
        title, text = _CSRF
        return error_page(request, 403, title=title, text=text, code=exc.code)
    if isinstance(exc, Resubmitted):
        return resubmitted_page(request, exc)
    if isinstance(exc, NulInConsoleForm):
        return nul_page(request, exc)
    if isinstance(exc, OnceMissing):
        title, text = _ONCE_MISSING
        return error_page(request, 400, title=title, text=text, code=exc.code)
    return error_page(request, exc.status, code=exc.code, headers=exc.headers or None)


def nul_page(request: Request[Any, Any, Any], exc: NulInConsoleForm) -> Response[Any]:
    """A form holding a NUL (422): said in words, with the field's name (the page script finds
    its label), and 返回修改 back to the form's page, where the page script offers the typed
    text back without it. Nothing was done."""
    return render(
        request,
        "nul_refused.html",
        {
            "field": exc.field,
            "back": _form_page(request),
            "status": exc.status,
            "code": exc.code,
            "request_id": request_id_var.get(),
        },
        status=exc.status,
    )


def _form_page(request: Request[Any, Any, Any]) -> str:
    """The console page the form was sent from (the Referer's path, if a console page one may
    go to), else home."""
    from workbench.console.routes import safe_next  # the routes import this module

    referer = urlsplit(request.headers.get("referer", ""))
    page = referer.path + (f"?{referer.query}" if referer.query else "")
    if referer.path == SIGN_IN_PATH:
        return SIGN_IN_PATH
    return safe_next(page) or "/console"


def resubmitted_page(request: Request[Any, Any, Any], exc: Resubmitted) -> Response[Any]:
    """A form sent again (409): nothing was done this time; what the first sending made, or the
    form's page. Not a refusal of what was typed (the first sending took it)."""
    return render(
        request, "once_used.html", {"link": exc.link, "back": exc.back}, status=exc.status
    )


def to_sign_in(request: Request[Any, Any, Any], ended: Ended) -> Response[Any]:
    """303 to the sign-in page, saying why; back to this page after signing in (GETs)."""
    target = SIGN_IN_PATH
    path = request.scope["path"]
    if request.method == "GET" and path not in ("/console", SIGN_IN_PATH):
        query = request.scope.get("query_string", b"").decode("latin-1")
        target += "?next=" + quote(path + (f"?{query}" if query else ""), safe="/")
    message = _ended_message(request, ended)
    return redirect(
        request,
        target,
        flash=message[1] if message else None,
        kind=message[0] if message else "info",
        cookies_=[cookies.expire(cookies.SESSION)],
    )


def _ended_message(request: Request[Any, Any, Any], ended: Ended) -> tuple[Any, str] | None:
    settings = request.app.state.settings
    match ended:
        case Ended.IDLE:
            return (
                "warning",
                f"您已超过 {settings.console_idle_minutes} 分钟未操作，"
                "为保护账户安全已自动退出，请重新登录。",
            )
        case Ended.EXPIRED:
            return (
                "warning",
                f"本次登录已超过 {settings.console_session_hours} 小时，请重新登录。",
            )
        case Ended.SESSION_ENDED:
            return (
                "warning",
                "您的登录已失效（可能已在别处退出，或账号信息有变更），请重新登录。",
            )
        case Ended.DEVICE_REVOKED:
            return (
                "error",
                "此浏览器已被停用，无法继续使用工作台。如有疑问，请联系系统管理员或支行负责人。",
            )
        case Ended.USER_DISABLED:
            return ("error", "您的账号已停用，请联系系统管理员。")
    return None
