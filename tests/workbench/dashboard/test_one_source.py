"""One source of numbers (issue 17, item 4): on the same data, made through the real services,
the dashboard's numbers equal what the API answers — GET /team/progress, GET /funnels by RM,
GET /surveys/{id}/results, the work-order list and GET /shares?mine=1 — and every export table's
rows equal the numbers they are made of, and its count its rows (the task exports list the
cancelled tasks too, which are not assigned)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import BH_EAST, TZ, arrange, connect, tasks_of
from tests.workbench.dashboard.dash_data import dispatch_tasks as dispatch_to
from tests.workbench.funnels.conftest import add_brochure, add_share, add_visitor, conversion
from tests.workbench.surveys.results_data import add_customer, publish, respond
from workbench.dashboard import numbers
from workbench.dashboard import tables as dashboard_tables
from workbench.exports.tables import ExportRequest, table
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.workorders import alerts

pytestmark = pytest.mark.usefixtures("demo_bank")

API = "/api/v1"
DAY = timedelta(days=1)


async def _get(client: Any, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(f"{API}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _rows(key: str, conn: Any, vault: Vault, **params: str) -> list[tuple[Any, ...]]:
    export = table(key)
    assert export is not None
    request = ExportRequest(caller=BH_EAST, view=VIEW[0], params=params)
    rows = [row async for row in export.rows(conn, vault, request)]
    assert await export.count(conn, vault, request) == len(rows)
    return rows


VIEW: list[numbers.View] = []


async def test_dashboard_api_and_exports_agree(client: Any, db: Any, settings: Any) -> None:
    now = datetime.now(UTC)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        await _tasks(client, db, now)
        await _shares(client, conn, vault, now)
        survey = await _answers(conn, vault, now)

        bh = await headers_of(client, "bh.east")
        view = await numbers.view(conn, caller=BH_EAST, org_unit_id=None, from_=None, to=None,
                                  tz=TZ, now=now)  # fmt: skip
        VIEW[:] = [view]
        days = {"from": view.first_day.isoformat(), "to": (view.end_day - DAY).isoformat()}

        # Tasks: /team/progress.
        progress = await _get(client, "/team/progress", bh, **days)
        api = {r["rm_id"]: (r["assigned"], r["done"], r["overdue"], r["completion_rate"])
               for r in progress["rows"]}  # fmt: skip
        rms = await numbers.rm_progress(conn, view)
        assert {str(r.rm_id): (r.assigned, r.done, r.overdue, r.completion_rate)
                for r in rms} == api  # fmt: skip
        assert sum(r.done for r in rms) > 0
        assert sum(r.overdue for r in rms) > 0

        # Shares: /funnels by RM, of the branch.
        branch = str(view.org_unit_id)
        funnel = await _get(client, "/funnels", bh, group_by="rm", org_unit_id=branch, **days)
        mine = await numbers.share_funnel(conn, BH_EAST, view)
        assert [(str(r.key), r.shared, r.opened, r.engaged, r.clicked, r.converted, r.visitors,
                 r.conversions) for r in mine.rows] == [
            (r["key"], r["shared"], r["opened"], r["engaged"], r["clicked"], r["converted"],
             r["visitors"], r["conversions"]) for r in funnel["rows"]]  # fmt: skip
        assert mine.total.converted == funnel["total"]["converted"] == 1

        # One RM's brochure shares: /shares?mine=1 as that RM (which lists survey links too).
        own = await _get(client, "/shares", await headers_of(client, "rm01"), mine=1)
        shares = await numbers.rm_shares(conn, vault, BH_EAST, view, user("rm01"))
        assert [(str(s.share_id), s.opens, s.visitors, s.dwell_seconds, s.clicks, s.customer)
                for s in shares] == [
            (s["id"], s["opens"], s["unique_visitors"], s["dwell_seconds"], s["clicks"],
             s["customer"]) for s in own["items"]
            if datetime.fromisoformat(s["created_at"]) >= view.start
            and s["brochure_id"] is not None]  # fmt: skip
        assert len(shares) == 1

        # Satisfaction: the survey's results for the branch and period.
        results = await _get(client, f"/surveys/{survey}/results", bh,
                             org_unit_id=str(view.org_unit_id), **days)  # fmt: skip
        happy = await numbers.satisfaction(conn, view)
        assert happy.nps == results["nps"]
        assert happy.nps is not None
        assert happy.csat == round(results["csat"] * 100, 2)
        assert happy.responses == results["responded"] == 4
        assert sum(w.responses for w in happy.weeks) == 4
        low = await numbers.low_scores(conn, vault, BH_EAST, view)
        assert [(s.score, s.scale, s.customer) for s in low][:1] == [(2, "nps", "赵*")]
        assert {s.customer for s in low} == {"赵*", "孙*", "李*"}  # not the west's 周五

        # Work orders: the work-order list's open and overdue.
        listed = (await _get(client, "/work-orders", bh, limit=100))["items"]
        unresolved = [w for w in listed if w["state"] in ("open", "in_progress")]
        counts = await numbers.work_order_counts(conn, view)
        assert counts.open == len(unresolved) == 2
        assert counts.overdue == sum(w["overdue"] for w in unresolved) == 1
        assert counts.overdue == len((await _get(client, "/work-orders", bh, overdue=1))["items"])
        open_list = await numbers.work_orders(conn, vault, BH_EAST, view)
        assert {str(w.work_order_id) for w in open_list} == {w["id"] for w in unresolved}
        assert open_list[0].overdue

        # Export tables: the numbers, row for row.
        t = dashboard_tables
        assert await _rows("rm_progress", conn, vault) == [t.rm_progress_row(r) for r in rms]
        assert await _rows("teams", conn, vault) == [
            t.team_row(r) for r in await numbers.teams(conn, view)]  # fmt: skip
        assert await _rows("weekly_trend", conn, vault) == [
            t.week_row(r) for r in await numbers.weekly_trend(conn, view)]  # fmt: skip
        assert await _rows("share_funnel", conn, vault) == [t.funnel_row(r) for r in mine.rows]
        assert await _rows("low_scores", conn, vault) == [t.low_score_row(r) for r in low]
        assert await _rows("work_orders", conn, vault) == [t.work_order_row(r) for r in open_list]
        assert await _rows("rm_shares", conn, vault, rm=str(user("rm01"))) == [
            t.share_row(s) for s in shares]  # fmt: skip
        rm01 = await numbers.rm_tasks(conn, vault, BH_EAST, view, user("rm01"))
        assert sorted(await _rows("rm_tasks", conn, vault, rm=str(user("rm01")))) == sorted(
            t.task_row(r) for r in rm01)  # fmt: skip
        everything = await _rows("tasks", conn, vault)
        cancelled = [row for row in everything if row[2] == "已取消"]
        assert len(cancelled) == 3
        assert len(everything) == sum(r.assigned for r in rms) + len(cancelled)
    finally:
        await conn.close()


async def _tasks(client: Any, db: Any, now: datetime) -> None:
    """Tasks for every RM, some done through the API, some overdue, some before the period,
    some cancelled (by the RM, by the branch head, as a closed customer's)."""
    admin = await headers_of(client, "admin")
    await dispatch_to(client, admin, "head-office", 4)
    rm01 = await headers_of(client, "rm01")
    first, second, third, fourth = await tasks_of(db, "rm01")
    cancelled = await client.post(f"{API}/tasks/{fourth}/cancel", headers=rm01)
    assert cancelled.status_code == 200, cancelled.text
    *_, rm02_last = await tasks_of(db, "rm02")
    await arrange(db, rm02_last, created_at=now - 15 * DAY)  # a whole week inside the period
    by_head = await client.post(f"{API}/tasks/{rm02_last}/cancel", json={"reason": "客户已转介"},
                                headers=await headers_of(client, "bh.east"))  # fmt: skip
    assert by_head.status_code == 200, by_head.text
    *_, rm04_last = await tasks_of(db, "rm04")
    await db.execute(  # as a customer's closing cancels their tasks
        "update tasks set status = 'cancelled', cancelled_at = now(), cancel_reason = '客户已销户'"
        " where id = $1", rm04_last)  # fmt: skip
    for step in ("start", "submit"):
        body = {"values": {"notes": "已拜访"}} if step == "submit" else None
        response = await client.post(f"{API}/tasks/{first}/{step}", json=body, headers=rm01)
        assert response.status_code == 200, response.text
    await arrange(db, second, created_at=now - 10 * DAY, due_at=now - DAY)  # overdue
    await arrange(db, third, created_at=now - 45 * DAY, status="done")  # before the period
    a, b, *_ = await tasks_of(db, "rm03")
    await arrange(db, a, created_at=now - 20 * DAY, status="done")
    await arrange(db, b, created_at=now - 20 * DAY, due_at=now - 2 * DAY)


async def _shares(client: Any, conn: Any, vault: Vault, now: datetime) -> None:
    """Shares of both branches with visitors, and a conversion fed through the API."""
    await conn.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳健', 'fund', 2)"
    )
    brochure = await add_brochure(conn, "稳健理财")
    customer = await add_customer(conn, vault, "钱多多", owner="rm01")
    external = await conn.fetchval("select external_id from customers where id = $1", customer)
    s1 = await add_share(conn, rm="rm01", brochure=brochure, created_at=now - 5 * DAY,
                         customer=customer)  # fmt: skip
    s2 = await add_share(conn, rm="rm02", brochure=brochure, created_at=now - 3 * DAY)
    west = await add_share(conn, rm="rm05", brochure=brochure, created_at=now - 3 * DAY)
    await add_visitor(conn, s1, "v1", dwell_ms=15_000, clicked=True, at=now - 5 * DAY)
    await add_visitor(conn, s1, "v2", dwell_ms=2_000, at=now - 4 * DAY)
    await add_visitor(conn, s2, "v3", dwell_ms=12_000, at=now - 2 * DAY)
    await add_visitor(conn, west, "v4", dwell_ms=30_000, clicked=True, at=now - 2 * DAY)
    await add_share(conn, rm="rm01", brochure=brochure, created_at=now - 60 * DAY)  # before
    fed = await client.post(
        f"{API}/integration/conversions",
        json={"conversions": [conversion("X-1", external, now - 4 * DAY)]},
        headers=await headers_of(client, "admin"),
    )
    assert fed.status_code == 200, fed.text
    assert fed.json()["attributed"] == 1


async def _answers(conn: Any, vault: Vault, now: datetime) -> Any:
    """A customer survey answered in both branches, its detractors opening work orders."""
    survey = await publish(conn)
    await conn.execute(
        """insert into alert_rules (id, survey_id, question_key, op, value, assign_to,
                                    sla_hours, sla_kind, created_by, created_at)
           values ($1, $2, 'score', 'lte', '6'::jsonb, 'owner_rm', 24, 'hours', $3,
                   clock_timestamp())""",
        uuid7(), survey, user("admin"),
    )  # fmt: skip
    east = [("赵一", "rm01", "team-east-1", 2, 2), ("钱二", "rm02", "team-east-1", 10, 5),
            ("孙三", "rm03", "team-east-2", 6, 4), ("李四", "rm04", "team-east-2", 5, 3),
            ("周五", "rm05", "team-west-1", 0, 1)]  # fmt: skip
    for n, (name, owner, team, score, stars) in enumerate(east):
        customer = await add_customer(conn, vault, name, owner=owner)
        sent = now - (n + 2) * DAY
        response = await respond(conn, vault, survey, {"score": score, "stars": stars},
                                 team=team, sent_at=sent, customer_id=customer)  # fmt: skip
        await conn.execute("update survey_responses set rm_id = $2 where id = $1", response,
                           user(owner))  # fmt: skip
        await alerts.on_response(
            conn, response_id=response, texts={}, now=sent + timedelta(hours=1)
        )
    # The oldest east work order is past its due time; one is resolved already.
    await conn.execute(
        "update work_orders set due_at = now() + interval '1 day' where state = 'open'"
        " and org_unit_id <> $1", unit("team-east-1"))  # fmt: skip
    await conn.execute(
        "update work_orders set due_at = now() - interval '1 hour'"
        " where assignee_id = $1", user("rm01"))  # fmt: skip
    await conn.execute(
        "update work_orders set state = 'resolved', resolved_at = now() where assignee_id = $1",
        user("rm04"))  # fmt: skip
    return survey
