"""The branch-head dashboard's numbers for a branch of 200 RMs with a year of data, in-process.

    python -m bench.dashboard [--rms 200] [--teams 10] [--tasks-per-week 50] [--weeks 52]
                              [--other-rms 200] [--calls 30] [--database-url URL]
                              [--redis-url URL] [--keep]

It creates a fresh database `wbbench_<random>` on the server of --database-url (default: the
DATABASE_URL environment variable), migrates it, and generates, following the scale model's
shape: a head office with the measured branch (--rms RMs in --teams teams, and a branch head)
and another branch of --other-rms RMs (data the branch's queries must leave out); for every RM
50 customers (names encrypted), --tasks-per-week tasks a week over --weeks weeks (1,040,000 tasks
by default, 520,000 of them the branch's: done, cancelled, expired, open and overdue as a year's
history leaves them), 5 shares a week with their visitors (the share funnel rollup), 3 customer
survey invitations a week, half of them answered (an NPS score and a 1-5 rating, counted into
the survey rollups with the keys `tallies.on_response` writes) and a work order per detractor
(the recent ones still open, some overdue). Users, units and customers go in by COPY; the big
tables are made server-side (INSERT ... SELECT over generate_series), so their statement triggers
(the task rollup, sync log, share funnel, survey deliveries) run as they would for the same
rows.

Then, on one pooled connection in a transaction as a console request runs it, it times the full
set of numbers calls of one dashboard page (view, rm_progress, teams, weekly_trend,
share_funnel, satisfaction, low_scores, work_order_counts, work_orders), --calls times after 3
warm-up calls, for the branch head over the branch and over one team, for the last 30 days and
for a year (366 days); and an RM's drill-down page (rm_in_view, rm_tasks, rm_shares, the RM's
work orders); and GET /team/progress's service for the branch over a year. It prints p50/p95
of each page and each call's p50, and EXPLAIN (ANALYZE, BUFFERS) of the year's per-RM counts.
With --redis-url (default: REDIS_URL) it also times the console pages themselves through the
whole app in process: the branch head signs in with the console's form and GETs
/console/dashboard (branch 30 days and a year, a team over a year) and an RM's page.
The database is dropped at the end. Figures are written to bench/results/dashboard-<timestamp>
.json. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import platform
import re
import secrets
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from litestar.testing import AsyncTestClient

from bench.identity import RESULTS_DIR, _admin_sql, with_database
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.app import create_app
from workbench.cli import _freeze_startup_objects
from workbench.customers.feeds import personal_data_aad
from workbench.dashboard import numbers, queries
from workbench.db import create_pool, use_json_codecs
from workbench.ids import uuid7
from workbench.security.passwords import Passwords
from workbench.security.vault import Vault
from workbench.settings import DataKey, JwtKey, Settings
from workbench.tasks import progress

TZ = "Asia/Shanghai"
CUSTOMERS_PER_RM = 50
SHARES_PER_WEEK = 5
INVITES_PER_WEEK = 3
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
QUESTIONS: list[dict[str, Any]] = [
    {"key": "score", "type": "nps", "text": "您向亲友推荐我行的可能性有多大？", "required": True},
    {"key": "stars", "type": "rating", "text": "请为客户经理打分"},
    {"key": "reason", "type": "text", "text": "请告诉我们原因"},
]


class Bank:
    def __init__(self) -> None:
        self.root = uuid7()
        self.admin = uuid7()
        self.branch = uuid7()
        self.branch_head = uuid7()
        self.other = uuid7()
        self.teams: list[uuid.UUID] = []
        self.rms: list[uuid.UUID] = []
        self.template, self.brochure, self.survey, self.rule = uuid7(), uuid7(), uuid7(), uuid7()
        self.counts: dict[str, Any] = {}


def vault() -> Vault:
    return Vault.from_settings((DataKey(kid="bench", key=b"b" * 32),), b"i" * 32)


async def generate(conn: asyncpg.Connection, args: argparse.Namespace, bank: Bank) -> None:
    started = time.perf_counter()
    root = bank.root
    units: list[tuple[Any, ...]] = [
        (root, None, "总行", f"/{root}/", 0),
        (bank.branch, root, "东城支行", f"/{root}/{bank.branch}/", 1),
        (bank.other, root, "西城支行", f"/{root}/{bank.other}/", 1),
    ]
    users: list[tuple[Any, ...]] = [
        (bank.admin, "admin", "管理员", "admin", root, "x"),
        (bank.branch_head, "bh0001", "王支行长", "branch_head", bank.branch, "x"),
    ]
    members: list[tuple[int, uuid.UUID, uuid.UUID]] = []  # (n, RM, team)
    for branch, rms, teams, tag in (
        (bank.branch, args.rms, args.teams, "e"),
        (bank.other, args.other_rms, max(1, args.teams * args.other_rms // max(args.rms, 1)), "w"),
    ):
        if rms == 0:
            continue
        team_ids = []
        for t in range(teams):
            team = uuid7()
            team_ids.append(team)
            units.append((team, branch, f"{tag}{t + 1:02d}组", f"/{root}/{branch}/{team}/", 2))
        for n in range(rms):
            rm, team = uuid7(), team_ids[n % teams]
            name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]
            users.append((rm, f"rm{tag}{n:04d}", f"{name}{n}", "rm", team, "x"))
            members.append((len(members), rm, team))
            if branch == bank.branch:
                bank.rms.append(rm)
        if branch == bank.branch:
            bank.teams = team_ids
    cipher = vault().cipher
    customers: list[tuple[Any, ...]] = []
    by_rm: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for n, rm, _ in members:
        for k in range(CUSTOMERS_PER_RM):
            customer, external = uuid7(), f"B{n:05d}{k:03d}"
            name = SURNAMES[(n + k) % len(SURNAMES)] + GIVEN[k % len(GIVEN)] + GIVEN[n % len(GIVEN)]
            blind = external.encode()
            customers.append((
                customer, external, rm,
                cipher.encrypt(name, aad=personal_data_aad("name", external)),
                b"x", b"x", blind, blind, blind, blind, 3,
            ))  # fmt: skip
            by_rm[rm].append(customer)
    async with conn.transaction():
        await conn.copy_records_to_table(
            "org_units", records=units, columns=["id", "parent_id", "name", "path", "depth"]
        )
        await conn.copy_records_to_table(
            "users", records=users,
            columns=["id", "login", "name", "role", "org_unit_id", "password_hash"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "customers", records=customers,
            columns=["id", "external_id", "owner_id", "name_enc", "id_number_enc", "phone_enc",
                     "name_bidx", "surname_bidx", "id_number_bidx", "phone_bidx", "risk_level"],
        )  # fmt: skip
        await conn.execute(
            """create unlogged table bench_rms (n int primary key, id uuid, team uuid,
                                                customers uuid[])"""
        )
        await conn.copy_records_to_table(
            "bench_rms", records=[(n, rm, team, by_rm[rm]) for n, rm, team in members]
        )
        await _fixtures(conn, bank)
    print(f"  units, {len(members)} RMs, {len(customers):,} customers: "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

    started = time.perf_counter()
    per_rm = args.tasks_per_week * args.weeks
    # A year's history: older tasks mostly done (each RM their own diligence, 80-92 %), some
    # cancelled or expired, 0.5 % left open; of the last 30 days' a tenth still open past their
    # due time (overdue); tasks not yet due open.
    await conn.execute(
        """
        insert into tasks (id, template_id, template_version, assignee_id, customer_id, title,
                           status, due_at, started_at, submitted_at, done_at, cancelled_at,
                           expired_at, created_at, updated_at)
        select gen_random_uuid(), $1, 1, g.id, g.customer, '电话回访', g.status,
               g.created + interval '48 hours',
               case when g.status <> 'pending' then g.created + interval '1 hour' end,
               case when g.status = 'done' then g.finished end,
               case when g.status = 'done' then g.finished end,
               case when g.status = 'cancelled' then g.finished end,
               case when g.status = 'expired' then g.created + interval '16 days' end,
               g.created, g.created
          from (select r.id, c.created,
                       r.customers[1 + floor(random() * array_length(r.customers, 1))::int]
                           as customer,
                       c.created + random() * interval '60 hours' as finished,
                       case when c.created + interval '48 hours' > now()
                                 then case when c.p < 0.5 then 'pending' else 'in_progress' end
                            when c.created > now() - interval '30 days'
                                 then case when c.p < c.diligence - 0.08 then 'done'
                                           when c.p < 0.90 then 'cancelled'
                                           else 'pending' end
                            when c.stale < 0.005 then 'pending'
                            else case when c.p < c.diligence then 'done'
                                      when c.p < 0.96 then 'cancelled'
                                      else 'expired' end
                       end as status
                  from bench_rms r
                 cross join lateral (
                     select now() - random() * make_interval(days => $3 * 7) as created,
                            random() as p, random() as stale,
                            0.80 + 0.12 * (r.n % 7) / 6.0 as diligence
                       from generate_series(1, $2) where r.id is not null) c) g
        """,
        bank.template, per_rm, args.weeks,
    )  # fmt: skip
    tasks = per_rm * len(members)
    print(f"  {tasks:,} tasks (with the rollup, sync log): {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip

    started = time.perf_counter()
    await conn.execute(
        """
        insert into shares (id, code, brochure_id, brochure_version, product_code, customer_id,
                            rm_id, org_unit_id, channel, created_at)
        select gen_random_uuid(), 'S' || lpad(to_hex(r.n), 4, '0') || lpad(c.i::text, 6, '0'),
               $1, 1, 'WM90', r.customers[1 + (c.i % array_length(r.customers, 1))], r.id, r.team,
               (array['wechat', 'sms', 'qr', 'link'])[1 + c.i % 4],
               now() - random() * make_interval(days => $3 * 7)
          from bench_rms r cross join lateral generate_series(1, $2) c(i)
        """,
        bank.brochure, SHARES_PER_WEEK * args.weeks, args.weeks,
    )  # fmt: skip
    await conn.execute(
        """
        insert into share_visitors (share_id, visitor_id, first_open_at, last_hit_at, dwell_ms,
                                    clicked_at)
        select s.id, 'v' || v.i, s.created_at + interval '1 hour', s.created_at + interval '1 hour',
               (random() * 40000)::bigint,
               case when random() < 0.2 then s.created_at + interval '2 hours' end
          from shares s
         cross join lateral generate_series(1, floor(random() * 4)::int
                                               + (s.created_at is null)::int) v(i)
        """
    )
    shares = SHARES_PER_WEEK * args.weeks * len(members)
    print(f"  {shares:,} shares with visitors: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    await _surveys(conn, bank, args, len(members))
    print(f"  survey answers, rollups, work orders: {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    await conn.execute("drop table bench_rms")
    await conn.execute("vacuum analyze")
    for table in ("tasks", "dashboard_task_days", "shares", "share_funnel", "survey_responses",
                  "survey_value_tallies", "work_orders"):  # fmt: skip
        bank.counts[table] = await conn.fetchval(f"select count(*) from {table}")
    bank.counts["branch_tasks"] = await conn.fetchval(
        "select count(*) from tasks where assignee_id = any($1::uuid[])", bank.rms
    )


async def _fixtures(conn: asyncpg.Connection, bank: Bank) -> None:
    """A task template, a product and its brochure, a customer survey and its alert rule."""
    await conn.execute(
        "insert into task_templates (id, owner_unit_id, created_by) values ($1, $2, $3)",
        bank.template, bank.root, bank.admin,
    )  # fmt: skip
    await conn.execute(
        """insert into task_template_versions (template_id, version, name, form, created_by)
           values ($1, 1, '电话回访', '{"fields": []}', $2)""",
        bank.template, bank.admin,
    )  # fmt: skip
    await conn.execute(
        "insert into products (code, name, category, risk_level) values ('WM90', '稳健', 'fund', 2)"
    )
    await conn.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        bank.brochure, bank.root, bank.admin,
    )  # fmt: skip
    await conn.execute(
        """insert into brochure_versions (brochure_id, version, title, product_code, pages,
                                          content_hash, status, approved_hash, created_by)
           values ($1, 1, '稳健理财', 'WM90', array['\\x01'::bytea], $3, 'published', $3, $2)""",
        bank.brochure, bank.admin, hashlib.sha256(b"bench brochure").digest(),
    )  # fmt: skip
    questions = QUESTIONS  # the connection encodes JSON
    await conn.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, '客户满意度', 'customer', 'published', $2::jsonb, 1, $3, $4)""",
        bank.survey, questions, bank.root, bank.admin,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, '客户满意度', 'customer', $2::jsonb, $3)""",
        bank.survey, questions, bank.admin,
    )  # fmt: skip
    await conn.execute(
        """insert into alert_rules (id, survey_id, question_key, op, value, assign_to, sla_hours,
                                    created_by)
           values ($1, $2, 'score', 'lte', '6', 'owner_rm', 24, $3)""",
        bank.rule, bank.survey, bank.admin,
    )  # fmt: skip


async def _surveys(
    conn: asyncpg.Connection, bank: Bank, args: argparse.Namespace, rms: int
) -> None:
    """Invitations (counted as delivered by their trigger), half answered; the answers counted
    into the rollups with `tallies.on_response`'s keys; a work order per detractor."""
    await conn.execute(
        """
        insert into survey_invitations (id, survey_id, version, customer_id, rm_id, org_unit_id,
                                        sent_by, sent_at, expires_at, responded_at)
        select gen_random_uuid(), $1, 1, r.customers[1 + (c.i % array_length(r.customers, 1))],
               r.id, r.team, r.id, c.sent, c.sent + interval '14 days',
               case when random() < 0.5 then c.sent + random() * interval '1 day' end
          from bench_rms r
         cross join lateral (select i, now() - random() * make_interval(days => $3 * 7) as sent
                               from generate_series(1, $2) i where r.id is not null) c
        """,
        bank.survey, INVITES_PER_WEEK * args.weeks, args.weeks,
    )  # fmt: skip
    await conn.execute(
        """
        insert into survey_responses (id, invitation_id, survey_id, version, customer_id, rm_id,
                                      org_unit_id, answers, submitted_at, tallied_at)
        select gen_random_uuid(), i.id, i.survey_id, 1, i.customer_id, i.rm_id, i.org_unit_id,
               jsonb_build_object('score', least(10, floor(11 * power(random(), 0.5)))::int,
                                  'stars', least(5, 1 + floor(5 * sqrt(random())))::int),
               least(i.responded_at, now()), now()
          from survey_invitations i
         where i.responded_at is not null
        """
    )
    await conn.execute(
        """
        with answers as (
            select r.survey_id, survey_day(i.sent_at) as day, r.answers,
                   survey_unit_and_above(i.org_unit_id) as units
              from survey_responses r join survey_invitations i on i.id = r.invitation_id
        ),
        responded as (
            insert into survey_tallies as t (survey_id, org_unit_id, day, responded)
            select a.survey_id, u.unit, a.day, count(*)
              from answers a, unnest(a.units) u(unit)
             group by 1, 2, 3
            on conflict (survey_id, org_unit_id, day)
            do update set responded = t.responded + excluded.responded
        )
        insert into survey_value_tallies (survey_id, org_unit_id, day, question_key, value,
                                          count)
        select a.survey_id, u.unit, a.day, k.key, v.value, count(*)
          from answers a, unnest(a.units) u(unit), unnest(array['score', 'stars']) k(key),
               unnest(array['', a.answers ->> k.key]) v(value)
         group by 1, 2, 3, 4, 5
        """
    )
    # A detractor's work order: the last week's still open (a quarter past due), older ones
    # resolved.
    await conn.execute(
        """
        insert into work_orders (id, response_id, rule_id, survey_id, customer_id, assignee_id,
                                 org_unit_id, state, sla_hours, sla_kind, due_at, created_at,
                                 updated_at, resolved_at)
        select gen_random_uuid(), r.id, $1, r.survey_id, r.customer_id, r.rm_id, r.org_unit_id,
               case when r.submitted_at > now() - interval '7 days'
                    then (array['open', 'in_progress'])[1 + floor(random() * 2)::int]
                    else 'resolved' end,
               24, 'hours',
               case when r.submitted_at > now() - interval '7 days' and random() < 0.25
                    then now() - interval '2 hours'
                    else greatest(r.submitted_at + interval '24 hours', now() + interval '1 hour')
               end,
               r.submitted_at, r.submitted_at,
               case when r.submitted_at <= now() - interval '7 days'
                    then r.submitted_at + interval '20 hours' end
          from survey_responses r
         where (r.answers ->> 'score')::int <= 6
        """,
        bank.rule,
    )
    bank.counts["invitations"] = INVITES_PER_WEEK * args.weeks * rms


# ---- measuring -------------------------------------------------------------------------------

Call = Callable[[], Awaitable[Any]]


async def measure(database_url: str, bank: Bank, args: argparse.Namespace) -> dict[str, Any]:
    pool = await create_pool(database_url, max_size=1)
    now = datetime.now(UTC)
    head = Caller(user_id=bank.branch_head, role=Role.BRANCH_HEAD, org_unit_id=bank.branch,
                  session_id=uuid7(), device_id="bench")  # fmt: skip
    secrets_ = vault()
    today = now.astimezone(ZoneInfo(TZ)).date()
    year_from = (today - timedelta(days=numbers.MAX_PERIOD_DAYS - 1)).isoformat()
    found: dict[str, Any] = {}
    try:
        async with pool.acquire() as conn:
            cases = [
                ("branch, 30 days", bank.branch, None),
                ("branch, 366 days", bank.branch, year_from),
                ("team, 30 days", bank.teams[0], None),
                ("team, 366 days", bank.teams[0], year_from),
            ]
            for name, unit, from_ in cases:

                async def page(unit: uuid.UUID = unit, from_: str | None = from_) -> dict[str, Any]:
                    v = await numbers.view(conn, caller=head, org_unit_id=unit, from_=from_,
                                           to=None, tz=TZ, now=now)  # fmt: skip
                    steps: dict[str, Call] = {
                        "rm_progress": lambda: numbers.rm_progress(conn, v),
                        "teams": lambda: numbers.teams(conn, v),
                        "weekly_trend": lambda: numbers.weekly_trend(conn, v),
                        "share_funnel": lambda: numbers.share_funnel(conn, head, v),
                        "satisfaction": lambda: numbers.satisfaction(conn, v),
                        "low_scores": lambda: numbers.low_scores(conn, secrets_, head, v),
                        "work_order_counts": lambda: numbers.work_order_counts(conn, v),
                        "work_orders": lambda: numbers.work_orders(conn, secrets_, head, v),
                    }
                    return await _timed_steps(steps)

                found[name] = await _repeat(conn, page, args.calls)
                _print(name, found[name])

            rm = bank.rms[0]

            async def drill_down() -> dict[str, Any]:
                v = await numbers.view(conn, caller=head, org_unit_id=None, from_=year_from,
                                       to=None, tz=TZ, now=now)  # fmt: skip
                steps: dict[str, Call] = {
                    "rm_in_view": lambda: numbers.rm_in_view(conn, v, rm),
                    "rm_tasks": lambda: numbers.rm_tasks(conn, secrets_, head, v, rm),
                    "rm_shares": lambda: numbers.rm_shares(conn, secrets_, head, v, rm),
                    "work_orders": lambda: numbers.work_orders(conn, secrets_, head, v, rm_id=rm),
                }
                return await _timed_steps(steps)

            found["one RM's page, 366 days"] = await _repeat(conn, drill_down, args.calls)
            _print("one RM's page, 366 days", found["one RM's page, 366 days"])

            start = datetime.combine(today - timedelta(days=365), datetime.min.time(),
                                     tzinfo=ZoneInfo(TZ))  # fmt: skip

            async def team_progress() -> dict[str, Any]:
                return await _timed_steps({"team_progress": lambda: progress.team_progress(
                    conn, caller=head, org_unit_id=None, start=start, end=now)})  # fmt: skip

            found["GET /team/progress, branch, 365 days + today"] = await _repeat(
                conn, team_progress, args.calls
            )
            _print("GET /team/progress, branch, a year", found[
                "GET /team/progress, branch, 365 days + today"])  # fmt: skip

            v = await numbers.view(conn, caller=head, org_unit_id=None, from_=year_from, to=None,
                                   tz=TZ, now=now)  # fmt: skip
            found["explain_rm_counts_branch_year"] = await queries.explain_rm_counts(
                conn, root=v.org_unit_id, start=v.start, end=v.end
            )
    finally:
        await pool.close()
    return found


ORIGIN = "https://console.test"  # the console's cookies are Secure: an https origin
PASSWORD = "bench-password"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')


async def measure_pages(database_url: str, bank: Bank, args: argparse.Namespace) -> dict[str, Any]:
    """The console pages themselves: the branch head signs in (the console's own form) and
    GETs /console/dashboard and an RM's page through the whole app in process (ASGI, session
    and CSRF checks, the numbers, Jinja2), --calls times after 3 warm-up requests each."""
    passwords = Passwords(memory_kib=1024, iterations=1)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update users set password_hash = $2 where id = $1",
            bank.branch_head, await passwords.hash(PASSWORD),
        )  # fmt: skip
    finally:
        await conn.close()
    settings = Settings(
        database_url=database_url, redis_url=args.redis_url,
        jwt_keys=(JwtKey(kid="bench", seed=b"k" * 32),),
        data_keys=(DataKey(kid="bench", key=b"b" * 32),),
        blind_index_key=b"i" * 32, redis_prefix=f"wbbench-{secrets.token_hex(5)}:",
        password_hash_memory_kib=1024, password_hash_iterations=1, bank_timezone=TZ,
    )  # fmt: skip
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    year_from = (today - timedelta(days=numbers.MAX_PERIOD_DAYS - 1)).isoformat()
    cases = [
        ("GET /console/dashboard, branch, 30 days", f"/console/dashboard?unit={bank.branch}"),
        ("GET /console/dashboard, branch, 366 days",
         f"/console/dashboard?unit={bank.branch}&from={year_from}"),
        ("GET /console/dashboard, team, 366 days",
         f"/console/dashboard?unit={bank.teams[0]}&from={year_from}"),
        ("GET /console/dashboard/rms/{id}, 366 days",
         f"/console/dashboard/rms/{bank.rms[0]}?from={year_from}"),
    ]  # fmt: skip
    found: dict[str, Any] = {}
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)  # as `workbench serve` does (cli.app_from_env)
    async with AsyncTestClient(app, base_url=ORIGIN) as client:
        form = await client.get("/console/sign-in")
        token = _CSRF.search(form.text)
        assert token, "the sign-in page has no CSRF token"
        signed = await client.post(
            "/console/sign-in",
            data={"login": "bh0001", "password": PASSWORD, "_csrf_token": token.group(1)},
            headers={"Origin": ORIGIN}, follow_redirects=False,
        )  # fmt: skip
        assert signed.status_code == 303, signed.text[:300]
        for name, path in cases:
            took: list[float] = []
            for n in range(3 + args.calls):
                started = time.perf_counter()
                response = await client.get(path)
                ms = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if n >= 3:
                    took.append(ms)
            found[name] = {
                "p50_ms": round(statistics.median(took), 1),
                "p95_ms": round(_percentile(took, 0.95), 1),
                "max_ms": round(max(took), 1),
                "bytes": len(response.content),
            }
            print(f"  {name:<44} p50 {found[name]['p50_ms']:>7} ms  p95 "
                  f"{found[name]['p95_ms']:>7} ms", flush=True)  # fmt: skip
    return found


async def _timed_steps(steps: dict[str, Call]) -> dict[str, Any]:
    took: dict[str, float] = {}
    for name, call in steps.items():
        started = time.perf_counter()
        await call()
        took[name] = (time.perf_counter() - started) * 1000
    return took


async def _repeat(
    conn: asyncpg.Connection, page: Callable[[], Awaitable[dict[str, float]]], calls: int
) -> dict[str, Any]:
    totals: list[float] = []
    steps: dict[str, list[float]] = defaultdict(list)
    for n in range(3 + calls):
        async with conn.transaction():
            started = time.perf_counter()
            took = await page()
            total = (time.perf_counter() - started) * 1000
        if n >= 3:
            totals.append(total)
            for name, ms in took.items():
                steps[name].append(ms)
    return {
        "p50_ms": round(statistics.median(totals), 1),
        "p95_ms": round(_percentile(totals, 0.95), 1),
        "max_ms": round(max(totals), 1),
        "calls_p50_ms": {name: round(statistics.median(ms), 2) for name, ms in steps.items()},
    }


def _print(name: str, figures: dict[str, Any]) -> None:
    calls = ", ".join(f"{k} {v}" for k, v in figures["calls_p50_ms"].items())
    print(f"  {name:<40} p50 {figures['p50_ms']:>7} ms  p95 {figures['p95_ms']:>7} ms\n"
          f"      (p50 per call, ms: {calls})", flush=True)  # fmt: skip


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"wbbench_{secrets.token_hex(5)}"
    await _admin_sql(args.database_url, f'create database "{name}"')
    try:
        url = with_database(args.database_url, name)
        await migrate.migrate(url)
        bank = Bank()
        started = time.perf_counter()
        conn = await asyncpg.connect(url, server_settings={"synchronous_commit": "off"})
        await use_json_codecs(conn)
        try:
            print("generating ...", flush=True)
            await generate(conn, args, bank)
        finally:
            await conn.close()
        generated = round(time.perf_counter() - started, 1)
        print(f"generated in {generated} s: {bank.counts}", flush=True)
        found = await measure(url, bank, args)
        if args.redis_url:
            found["pages"] = await measure_pages(url, bank, args)
        return {
            "benchmark": "dashboard",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                **vars(args),
                "database_url": None,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "data": {**bank.counts, "seconds": generated},
            "results": found,
        }
    finally:
        if args.keep:
            print(f"kept: database {name}", flush=True)
        else:
            with contextlib.suppress(Exception):
                await _admin_sql(
                    args.database_url, f'drop database if exists "{name}" with (force)'
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--rms", type=int, default=200, help="RMs of the measured branch")
    parser.add_argument("--teams", type=int, default=10, help="teams of the measured branch")
    parser.add_argument("--tasks-per-week", type=int, default=50, help="per RM")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--other-rms", type=int, default=200, help="RMs of another branch")
    parser.add_argument("--calls", type=int, default=30, help="timed calls per case")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL"),
        help="with it, also the console pages through the app (needs Redis)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (to explore)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url (or set DATABASE_URL)")
    if min(args.rms, args.teams, args.tasks_per_week, args.weeks, args.calls) < 1:
        parser.error("--rms, --teams, --tasks-per-week, --weeks and --calls must be positive")
    if args.other_rms < 0 or args.teams > args.rms or args.weeks > 60:
        parser.error("--other-rms >= 0, --teams <= --rms, --weeks <= 60")
    try:
        document = asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted; database dropped, nothing written", file=sys.stderr)
        return 130
    print("\n".join(document["results"]["explain_rm_counts_branch_year"]))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"dashboard-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
