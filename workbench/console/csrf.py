"""Cross-site request forgery: every state-changing console request must come from our own pages.

Two checks, both on every POST/PUT/PATCH/DELETE under /console (the console guard runs them):

1. Same origin: the browser's `Origin` header (or, without one, `Referer`) must name this site,
   as the request reached it (`Host`, and the scheme; behind a trusted proxy its
   `X-Forwarded-Proto`), or `WORKBENCH_PUBLIC_BASE_URL`. Neither header, or `Origin: null`: refused.
2. A token only our pages know: signed in, an HMAC of the session's cookie token under a key
   derived from `WORKBENCH_BLIND_INDEX_KEY` (so it changes with every sign-in and needs no
   storage); on the sign-in form, an HMAC of a random pre-session cookie. Sent as the form field
   `_csrf_token` (templates: `{{ csrf_input }}`) or the `X-CSRF-Token` header (scripts; the
   token is `{{ csrf_token() }}`), compared in constant time.

A refusal is 403 with a console page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from workbench.console.cookies import purpose_key
from workbench.errors import Forbidden
from workbench.http.input_checks import read_form

FIELD = "_csrf_token"  # Litestar's name: its `csrf_input` template variable writes this field
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class CsrfRefused(Forbidden):
    code = "console.csrf_refused"


def session_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a signed-in console session."""
    return _token(secret, "csrf/session", session_token)


def sign_in_token(secret: bytes, pre_session_secret: str) -> str:
    """The CSRF token of the sign-in form, for the browser's pre-session cookie."""
    return _token(secret, "csrf/sign-in", pre_session_secret)


def _token(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(purpose_key(secret, purpose), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def check(request: Request[Any, Any, Any], *, expected: str | None) -> None:
    """Refuse (403) a state-changing request that is cross-origin or lacks the right token."""
    if not same_origin(request):
        raise CsrfRefused("The request did not come from this site")
    sent = request.headers.get(HEADER)
    if sent is None and sends_form(request):
        value = (await read_form(request)).get(FIELD)
        sent = value if isinstance(value, str) else None
    if (
        expected is None
        or sent is None
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRefused("The form is out of date or did not come from this site")


def sends_form(request: Request[Any, Any, Any]) -> bool:
    """Whether the request's body is a form (URL-encoded or multipart)."""
    return _content_type(request) in _FORMS


def same_origin(request: Request[Any, Any, Any]) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return False
        origin = referer
    sent = _origin(origin)
    return sent is not None and sent in _own_origins(request)


def scheme_of(request: Request[Any, Any, Any]) -> str:
    """The scheme the browser used: ours, or a trusted proxy's `X-Forwarded-Proto`."""
    forwarded = request.headers.get("x-forwarded-proto")
    if forwarded and _peer_is_trusted(request, request.app.state.trusted_networks):
        return forwarded.split(",")[0].strip().lower()
    return str(request.scope.get("scheme", "http"))


def secure_context(request: Request[Any, Any, Any]) -> bool:
    """Whether the browser keeps Secure cookies here: HTTPS, or http on this very machine."""
    if scheme_of(request) == "https":
        return True
    origin = _origin(f"http://{request.headers.get('host', '')}")
    host = urlsplit(origin).hostname if origin else None
    return host in _LOOPBACK_HOSTS


def _own_origins(request: Request[Any, Any, Any]) -> set[str]:
    state = request.app.state
    scheme = scheme_of(request)
    own = set()
    if (host := request.headers.get("host")) and (mine := _origin(f"{scheme}://{host}")):
        own.add(mine)
    if public := _origin(state.settings.public_base_url):
        own.add(public)
    return own


def _peer_is_trusted(request: Request[Any, Any, Any], trusted: tuple[Any, ...]) -> bool:
    """The TLS-terminating proxy in front of us (`WORKBENCH_TRUSTED_PROXIES`) says the scheme."""
    peer = (request.scope.get("client") or ("", 0))[0]
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _origin(url: str) -> str | None:
    """`scheme://host[:port]`, lower case, without the scheme's default port."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _content_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
