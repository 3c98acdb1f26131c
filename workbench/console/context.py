"""`console: Console`, the dependency a signed-in console page asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.response import Redirect

from workbench.access import Caller
from workbench.console import nav
from workbench.console.cookies import FlashKind
from workbench.console.rendering import ConsoleTemplate, current_session, redirect, render
from workbench.console.sessions import ConsoleSession, StaffUser
from workbench.http.deps import Db


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    """The signed-in console page being answered."""

    request: Request[Any, Any, Any]
    session: ConsoleSession
    badges: Mapping[str, nav.Count] = field(default_factory=dict)  # by section key

    @property
    def caller(self) -> Caller:
        """The same Caller as `caller: CurrentCaller`: pass it to the services."""
        return self.session.caller

    @property
    def user(self) -> StaffUser:
        return self.session.user

    def render(
        self,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> ConsoleTemplate:
        """The page `template` (under workbench/console/templates) with `context` on top of
        what every page gets (`rendering.base_context`)."""
        return render(
            self.request,
            template,
            {"badges": self.badges, **(context or {})},
            status=status,
            headers=headers,
        )

    def redirect(
        self, path: str, *, flash: str | None = None, kind: FlashKind = "success"
    ) -> Redirect:
        """303 to `path` after a change (post/redirect/get), with a message for that page."""
        return redirect(self.request, path, flash=flash, kind=kind)


Console = NamedDependency[ConsoleContext]
"""`console: Console` in a console page's signature."""


async def provide_console(request: Request[Any, Any, Any], db: Db) -> ConsoleContext:
    session = current_session(request)
    if session is None:
        raise RuntimeError("`console` is only for signed-in console pages (after console_guard)")
    badges = await nav.badges_for(db, session.caller)  # in the request's transaction
    return ConsoleContext(request=request, session=session, badges=badges)
