"""The staff web console at /console: zh-CN pages for branch heads, marketing, compliance and
admins, on a desktop or a 10-inch tablet, server-rendered with Jinja2 (Litestar templates).

Adding a page (e.g. the brochure list):

```python
from litestar import Response, get, post
from workbench.console import Console, nav, visible_to
from workbench.http.deps import CurrentCaller, Db

@get("/brochures", opt=visible_to(*nav.BROCHURES.roles))
async def brochure_list(db: Db, caller: CurrentCaller, console: Console) -> Response[Any]:
    items = await brochures.service.list(db, caller=caller)   # the API's service and checks
    return console.render("brochures/list.html", {"items": items})

@post("/brochures/{brochure_id:uuid}/submit", opt=visible_to(Role.MARKETING, Role.ADMIN))
async def submit(db: Db, caller: CurrentCaller, console: Console, brochure_id: UUID) -> ...:
    await brochures.service.submit(db, caller=caller, brochure_id=brochure_id)
    return console.redirect(f"/console/brochures/{brochure_id}", flash="已提交审核")
```

Add the handlers (or a Controller) to `routes.PAGES` (paths are relative to /console; or
register `routes.console_router(*handlers)` on the app) and set the section's `ready=True` in
`nav`. What comes with every console page:

- `console_guard` signs the browser in from its cookie (otherwise 303 to the sign-in page, and
  back after signing in), checks CSRF on every POST/PUT/PATCH/DELETE, and lets only the roles of
  `visible_to(...)` in (others: the 404 page). It puts the API's `Caller` in the scope, so
  `caller: CurrentCaller` is the caller the API's services expect, with the same role and
  org-subtree checks. `console: Console` has the session, `render` and `redirect`.
- Errors a page raises (a service's NotFound, Forbidden, Conflict; invalid input; an outage; a
  bug) become console pages by status (`errors`), never problem+json or a trace. A page that
  wants its own wording (a form error) catches the DomainError and renders its form again with
  the message and a 4xx status.
- Templates live under `workbench/console/templates/` (a folder per section). A page extends
  `layout.html` and fills `title`, optionally `heading` and `actions` (buttons beside the
  heading), and `content`; `rendering.base_context` lists what every template gets (user,
  session, sections, flashes, ...). Every form that changes something writes `{{ csrf_input }}`;
  scripts send the `X-CSRF-Token` header (`WorkbenchConsole.send(url, init)` in console.js does).
  A form that makes something (a user, a unit, a rule, a survey, a sending...) also writes
  `{{ once_input() }}`, its route is `visible_to(..., acts_once=True)` and its handler claims the
  token around the making (`once.claim`): sent again, it makes nothing and answers 409 with a
  link to what the first sending made (tests/console/test_once_forms.py keeps the rule).
  Times: `{{ when | local }}` (the bank's time zone). Icons: `{{ icon("brochure") }}`. No inline
  script or style (the Content-Security-Policy refuses them): CSS in `static/console.css`, script
  in `static/console.js`, linked with `{{ static("console.css") }}` (versioned, cached for a year).
- Work waiting for a role (compliance: versions to review) can show as a count beside the
  section's link and on its home card: `nav.add_badge(SECTION, nav.Badge(label, roles, count))`
  with the feature's own counting service (see `workbench/brochures/console/`).
- Browser tests: `tests/console/browser.py` (fixtures `page`, `sign_in`, `shot`).
"""

from workbench.console.context import Console, ConsoleContext
from workbench.console.guard import SIGNED_OUT, visible_to

__all__ = ["SIGNED_OUT", "Console", "ConsoleContext", "visible_to"]
