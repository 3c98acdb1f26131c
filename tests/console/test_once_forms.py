"""A console form that makes something acts once, however often it is sent (`console.once`).

The rule: every route that makes something is declared `visible_to(..., acts_once=True)`, claims
its form's one-time token, and every form posting to it carries one (a fresh one per page). Sent
again (a reload, a retried or replayed request), the alert-rule and new-survey forms make nothing
and answer 409 with a page linking to what the first sending made, as the new-user form does; a
form without a token makes nothing (400, the typed values kept); a refusal lets the token go."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler

from tests.console.conftest import post_form, signed_in
from tests.console.test_pages import console_page
from tests.customers_data import headers_of
from tests.sync.test_work_order_sync import Desk, open_desk
from tests.tasks_data import create_template, issue
from workbench.console import once
from workbench.console.rendering import TEMPLATES
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")
RULES = "/console/work-orders/rules"
_FORM = re.compile(r"<form\b(?P<tag>[^>]*)>(?P<body>.*?)</form>", re.S)
_ACTION = re.compile(r'\baction="(?P<action>[^"]*)"')
_EXPRESSION = re.compile(r"\{\{.*?\}\}")
_PARAM = re.compile(r"\{[^}]+\}")
_ONCE = re.compile(r'<input type="hidden" name="once" value="([^"]+)">')


def acting_once(app: Any) -> dict[str, HTTPRouteHandler]:
    """The console's POST routes that make something: path -> handler."""
    return {
        route.path: handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if "POST" in handler.http_methods and handler.opt.get(once.ROUTE_OPT)
    }


def template_forms() -> list[tuple[str, str, str]]:
    """Every POST form of the console's templates: (template, action, body)."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for form in _FORM.finditer(path.read_text(encoding="utf-8")):
            action = _ACTION.search(form["tag"])
            if 'method="post"' in form["tag"] and action:
                found.append((str(path.relative_to(TEMPLATES)), action["action"], form["body"]))
    return found


def posts_to(action: str, route_path: str) -> bool:
    """Whether a template's `action` (Jinja expressions in it) can be the route's path."""
    pattern = "[^?#]+".join(re.escape(part) for part in _EXPRESSION.split(action))
    return re.fullmatch(pattern, _PARAM.sub("x1", route_path)) is not None


async def test_every_route_that_acts_once_claims_the_token_its_forms_carry(console):
    routes = acting_once(console.app)
    assert {
        "/console/admin/users/new",
        "/console/admin/users/{user_id:uuid}/password",
        "/console/admin/units/new",
        "/console/work-orders/rules",
        "/console/work-orders/root-causes",
        "/console/work-orders/{work_order_id:uuid}/transition",
        "/console/surveys/new",
        "/console/surveys/{survey_id:uuid}/send",
        "/console/brochures/new",
    } <= set(routes)
    unclaimed = [p for p, h in routes.items() if "once.claim(" not in inspect.getsource(h.fn)]
    assert unclaimed == [], f"routes that act once but claim no token: {unclaimed}"
    without = [
        f"{template} → {action}"
        for template, action, body in template_forms()
        if _EXPRESSION.fullmatch(action) is None  # a whole-expression action: the page test
        and any(posts_to(action, path) for path in routes)
        and "once_input()" not in body
    ]
    assert without == [], f"forms posting to a route that acts once without a token: {without}"


@pytest.fixture
async def desk(console: Any, db: Any, settings: Settings) -> Desk:
    """A published customer survey with a rule, and a work order of rm01's customer."""
    return await open_desk(console, db, settings)


# Routes whose form is on another page than the route's own (the list it acts on), and who
# signs in to see it (admin unless named).
FORM_PAGE = {"/console/tasks/{task_id:uuid}/reassign": "/console/tasks"}
SIGNS_IN = {"/console/tasks/{task_id:uuid}/reassign": "bh.east"}


async def test_each_page_gives_its_form_that_acts_once_a_fresh_token(console, client, db, desk):
    admin = await headers_of(client, "admin")
    template = await create_template(client, admin)
    tasks = await issue(client, db, admin, template["id"], title="季度回访", org_unit="team-east-1")
    values = {
        "user_id": str(await db.fetchval("select id from users where login = 'rm01'")),
        "survey_id": str(desk.survey),
        "work_order_id": str(desk.order),
        "task_id": str(tasks["rm01"]),
    }
    routes = acting_once(console.app)
    assert {RULES, "/console/surveys/new", "/console/admin/users/new"} <= set(routes)
    now_in = None
    for route_path in routes:
        login = SIGNS_IN.get(route_path, "admin")
        if login != now_in:
            console.cookies.clear()  # signed out, then in as who sees that form
            await signed_in(console, login)
            now_in = login
        path = _PARAM.sub(lambda m: values[m[0][1:-1].split(":")[0]], route_path)
        if route_path in FORM_PAGE:
            page = await console.get(FORM_PAGE[route_path])
        else:
            page = await console.get(path)
            if page.status_code == 405:  # the form is on the page above (a work order's step)
                page = await console.get(path.rsplit("/", 1)[0])
        html = console_page(page, 200)
        forms = [f for f in _FORM.finditer(html) if f'action="{path}"' in f["tag"]]
        assert forms, f"{route_path}: no form on its page posts to it"
        tokens = [_ONCE.findall(f["body"]) for f in forms]
        assert all(len(t) == 1 for t in tokens), f"{route_path}: a form without a token"
        again = _ONCE.findall(console_page(await console.get(page.url.path), 200))
        assert not set(again) & {t[0] for t in tokens}, f"{route_path}: a token drawn twice"


def rule_form(desk: Desk, **typed: str) -> dict[str, str]:
    """The 添加规则 form as typed (NPS at most 2 to the branch head in 24 hours)."""
    return {"question": f"{desk.survey}:nps", "op": "lte", "value": "2",
            "assign_to": "branch_head", "sla_hours": "24", "sla_kind": "hours",
            **typed}  # fmt: skip


async def rules_made(db: Any, desk: Desk) -> int:
    count: int = await db.fetchval(
        "select count(*) from alert_rules where survey_id = $1 and value = '2'"
        " and assign_to = 'branch_head' and sla_hours = 24",
        desk.survey,
    )
    return count


async def test_the_rule_form_sent_twice_adds_one_rule(console, db, desk):
    token = await signed_in(console, "admin")
    page = console_page(await console.get(RULES), 200)
    [sent_once] = _ONCE.findall(page[page.index('action="/console/work-orders/rules"') :])
    form = {**rule_form(desk), "once": sent_once}
    first = await post_form(console, RULES, form, token=token)
    assert first.status_code == 303, first.text
    rule = await db.fetchval("select id from alert_rules where value = '2'")
    again = console_page(await post_form(console, RULES, form, token=token), 409)
    assert "这个表单已经提交过，本次没有再执行" in again
    assert f'href="{RULES}/{rule}/edit"' in again  # what the first sending made
    assert "data-submit-refused" not in again  # taken the first time: no draft kept
    assert await rules_made(db, desk) == 1


async def test_a_rule_form_without_its_token_adds_nothing(console, db, desk):
    token = await signed_in(console, "admin")
    for _ in range(2):
        refused = await post_form(console, RULES, rule_form(desk), token=token, fresh_once=False)
        html = console_page(refused, 400)
        assert "页面已过期" in html
        assert "data-submit-refused" in html  # what was typed is kept for the form
    forged = await post_form(console, RULES, {**rule_form(desk), "once": "x"}, token=token)
    console_page(forged, 400)
    assert await rules_made(db, desk) == 0


async def test_a_refused_rule_lets_its_token_go(console, db, desk):
    token = await signed_in(console, "admin")
    form = {**rule_form(desk), "once": once.new_token()}
    # An NPS question takes no `contains`: refused by the rules service, nothing made.
    refused = await post_form(console, RULES, {**form, "op": "contains"}, token=token)
    assert "NPS 题的条件只能是" in console_page(refused, 422)
    made = await post_form(console, RULES, form, token=token)
    assert made.status_code == 303, made.text
    console_page(await post_form(console, RULES, form, token=token), 409)
    assert await rules_made(db, desk) == 1


async def test_the_new_survey_form_sent_twice_makes_one_draft(console, db):
    token = await signed_in(console, "marketing")
    page = console_page(await console.get("/console/surveys/new"), 200)
    [sent_once] = _ONCE.findall(page)
    form = {"title": "网点服务回访（一次）", "audience": "customer", "starter": "nps",
            "after_template_id": "", "once": sent_once}  # fmt: skip
    first = await post_form(console, "/console/surveys/new", form, token=token)
    assert first.status_code == 303, first.text
    made = await db.fetchval("select id from surveys where title = $1", form["title"])
    assert first.headers["location"] == f"/console/surveys/{made}/edit"
    again = console_page(await post_form(console, "/console/surveys/new", form, token=token), 409)
    assert "本次没有再执行" in again
    assert f'href="/console/surveys/{made}/edit"' in again
    assert await db.fetchval("select count(*) from surveys where title = $1", form["title"]) == 1
    bare = await post_form(console, "/console/surveys/new", form | {"once": ""}, token=token)
    console_page(bare, 400)
    assert await db.fetchval("select count(*) from surveys where title = $1", form["title"]) == 1


async def test_the_unit_form_sent_twice_adds_one_unit(console, db):
    token = await signed_in(console, "admin")
    parent = str(await db.fetchval("select id from org_units where parent_id is null"))
    form = {"name": "东城五组", "parent_id": parent, "once": once.new_token()}
    first = await post_form(console, "/console/admin/units/new", form, token=token)
    assert first.status_code == 303, first.text
    made = await db.fetchval("select id from org_units where name = '东城五组'")
    again = console_page(
        await post_form(console, "/console/admin/units/new", form, token=token), 409
    )
    assert f'href="/console/admin/units/{made}/edit"' in again
    assert await db.fetchval("select count(*) from org_units where name = '东城五组'") == 1
