"""OPTIONS on any route: Litestar's own answer (204, `Allow`), for everyone, as its route's kind.

Litestar answers OPTIONS on every route with a handler it makes itself, given the opt of the
layer that registered the route but none of the route's own handlers. On a route registered on
the app (customers' links, the API) the bearer guard took it for an API call and answered 401 in
English; on the console's it lacked the console's page headers. `AutomaticOptions` (run as each
route is registered, so no route added later can miss it) makes that handler:

- `PUBLIC`: it reveals only the route's methods, so it needs no sign-in, on the API either;
- of its route's `PAGE` kind, so its errors (a bad `X-App-Version`) are that kind's pages;
- on a page, answered with that kind's security headers (`page_headers`: CSP, `no-store`,
  `noindex`), as the 405 page of the methods a page does not take is;
- answered with `Allow` naming all the route's methods: Litestar's handler names those of the
  route it was made for, and keeps it when another handler joins the path (the POST and then
  the GET of `/s/{code}/contact` said `OPTIONS, POST`);
- `AUTOMATIC_OPTIONS`: not a customer's link request for the guessing limit, as it looks no
  code up (`workbench.http.guessing`).

A CORS preflight never reaches it: Litestar's CORS middleware answers it first, when CORS is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Response
from litestar.handlers import HTTPRouteHandler
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from workbench.http.auth import PAGE, PUBLIC

AUTOMATIC_OPTIONS = "automatic_options"  # route opt: Litestar's own OPTIONS handler


def is_automatic_options(handler: HTTPRouteHandler) -> bool:
    """Whether Litestar made this handler (`HTTPRoute.create_options_handler`)."""
    fn = handler.fn
    return (
        handler.http_methods == {"OPTIONS"}
        and getattr(fn, "__module__", None) == HTTPRoute.__module__
        and getattr(fn, "__name__", None) == "options_handler"
    )


class AutomaticOptions(ReceiveRoutePlugin):
    """Gives Litestar's OPTIONS handler of each route what the module docstring says."""

    def __init__(self, page_headers: Mapping[object, Mapping[str, str]]) -> None:
        """`page_headers`: the security headers of each `PAGE` kind (True: customer pages)."""
        self._page_headers = page_headers

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if is_automatic_options(handler):
                self._adopt(handler, route)

    def _adopt(self, options: HTTPRouteHandler, route: HTTPRoute) -> None:
        kind = next(
            (h.opt[PAGE] for h in route.route_handlers if h is not options and h.opt.get(PAGE)),
            None,
        )
        options.opt.update({PUBLIC: True, AUTOMATIC_OPTIONS: True})
        # No sign-in, so no role either: the guards of the layers above (a controller's
        # `requires_role`) would refuse everyone.
        options._resolved_guards = []
        headers = dict(self._page_headers[kind]) if kind is not None else {}
        if kind is not None:
            options.opt[PAGE] = kind
        headers["Allow"] = ", ".join(sorted(route.methods))

        async def answer(response: Response[Any]) -> Response[Any]:
            response.headers.update(headers)
            return response

        # Read on the handler's first request, after every route is registered.
        options.after_request = answer
