"""A console form that makes something acts once, however often it is sent.

The form carries a random token, a fresh one each time the page is drawn (`{{ once_input() }}`
in the template); its route says so (`opt=visible_to(..., acts_once=True)`), and the handler
claims the token right before it makes the thing:

    claim = await once.claim(request, form, db, back=RULES_PATH)
    try:
        async with claim, db.transaction():
            rule = await rules.create(...)
            claim.made(f"{RULES_PATH}/{rule.id}/edit")
    except DomainError as exc:
        ...  # refused: the claim was let go, the same form may be sent again

The first POST claims the token in Redis (SET NX). Another one with the same token (a reload, a
double click without script, a retried or replayed request) makes nothing: `claim` raises
`Resubmitted`, answered 409 with a page that links to what the first one made (the link is
written once the request's transaction has committed). A block that raises lets the claim go
(nothing was made). A route that acts once refuses a form without a token (a page drawn before
its form had one, a hand-made request) before it reads anything else: 400 `OnceMissing`, the
typed values kept for the form (console.js). A claim lasts as long as the longest console
session: a replay needs that session's CSRF token, which ends with it.
"""

from __future__ import annotations

import logging
import secrets
from types import TracebackType
from typing import Any

from litestar import Request
from markupsafe import Markup

from workbench.db import Connection, after_commit
from workbench.errors import Conflict, DomainError

log = logging.getLogger("workbench.console.once")

FIELD = "once"
ROUTE_OPT = "console_acts_once"  # route opt (set by `visible_to(..., acts_once=True)`)
PENDING = "-"  # a claim whose thing is being made (or whose request failed after all)
# Named when only the admin's forms had a token: kept, so a token claimed before stays claimed.
_KEY = "console:admin-once:"


class Resubmitted(Conflict):
    """The form was sent before: nothing was done this time (the console answers a page)."""

    code, title = "console.form_resubmitted", "This form was sent before"

    def __init__(self, *, link: str | None, back: str) -> None:
        super().__init__("This form was already sent; nothing was done again")
        self.link = link  # what the first submission made (None: not known yet)
        self.back = back  # the page the form belongs to


class OnceMissing(DomainError):
    """A route that acts once got a form without its one-time token."""

    status, code, title = 400, "console.once_missing", "The form has no one-time token"


def new_token() -> str:
    return secrets.token_urlsafe(18)


def once_input() -> Markup:
    """`{{ once_input() }}`: the hidden field of a form that makes something (a fresh token)."""
    return Markup('<input type="hidden" name="once" value="%s">') % new_token()


def token_of(form: Any) -> str | None:
    """The form's one-time token (None: missing, or not one we make)."""
    value = form.get(FIELD) if form is not None else None
    if not isinstance(value, str) or not 16 <= len(value) <= 64:
        return None
    return value if all(c.isascii() and (c.isalnum() or c in "-_") for c in value) else None


def require_token(form: Any) -> None:
    """Refuse (400) a form without a one-time token: the console guard, on routes that act once."""
    if token_of(form) is None:
        raise OnceMissing("Reload the form: it has no one-time token, so it could act twice")


def _key(request: Request[Any, Any, Any], token: str) -> str:
    return f"{request.app.state.settings.redis_prefix}{_KEY}{token}"


def _seconds(request: Request[Any, Any, Any]) -> int:
    return int(request.app.state.settings.console_session_hours) * 3600 + 3600


class Claim:
    """This request's hold on its form's token: `async with` it around the making (a raise lets
    it go), and say what was made with `made(link)`."""

    def __init__(self, request: Request[Any, Any, Any], db: Connection, key: str) -> None:
        self._request = request
        self._db = db
        self._key = key
        self._link: str | None = None

    def made(self, link: str) -> None:
        """What a resubmission of the form links to (written after the commit)."""
        self._link = link

    async def release(self) -> None:
        """Nothing was made after all: the same form may be sent again."""
        try:
            await self._request.app.state.redis.delete(self._key)
        except Exception:  # the refusal stands; the claim lapses with its TTL
            log.warning("could not let a console form's one-time token go", exc_info=True)

    async def __aenter__(self) -> Claim:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            await self.release()
            return
        if self._link is None:
            return
        link, key, seconds = self._link, self._key, _seconds(self._request)
        redis = self._request.app.state.redis

        async def remember() -> None:
            await redis.set(key, link, ex=seconds)

        if not after_commit(self._db, remember):
            await remember()


async def claim(request: Request[Any, Any, Any], form: Any, db: Connection, *, back: str) -> Claim:
    """Claim the form's token for this request; `Resubmitted` (409) if it was claimed before,
    `OnceMissing` (400) if there is none. `back`: the page the form belongs to."""
    token = token_of(form)
    if token is None:
        raise OnceMissing("Reload the form: it has no one-time token, so it could act twice")
    key = _key(request, token)
    redis = request.app.state.redis
    if await redis.set(key, PENDING, nx=True, ex=_seconds(request)):
        return Claim(request, db, key)
    raise Resubmitted(link=await _link(redis, key), back=back)


async def _link(redis: Any, key: str) -> str | None:
    value = await redis.get(key)
    text = value.decode() if isinstance(value, bytes) else value
    return text if isinstance(text, str) and text.startswith("/console/") else None
