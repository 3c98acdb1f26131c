"""Survey results for a survey with 1,000,000 answers across 200 units over 90 days, in-process.

    python -m bench.survey_results [--responses 1000000] [--units 200] [--days 90]
                                   [--calls 20] [--live 2000] [--database-url URL]

It creates a fresh database `wbbench_<random>` on the server of --database-url (default: the
DATABASE_URL environment variable), migrates it, and generates a head office with 10 branches of
--units/10 teams (one member each, who sends and answers), and one published survey of every
question type (an nps score, a reason asked for scores <= 6, a single, a multi, a rating and a
free text), answered by --responses responses (80 % of the invitations: 1,250,000 invitations
for a million answers) spread evenly over --days days and the units.

Everything is made server-side: invitations by one INSERT ... SELECT from generate_series (the
statement trigger counts them as delivered), responses likewise, and the rollups from them with
the same keys `tallies.on_response` writes (the invitation's bank day and unit; a value row per
answered question and chosen option, '' counting the answers; the words of text answers, from a
pool of 40 realistic Chinese answers segmented by `terms.terms`, with the term -> answer index).
Then --live more responses go through `tallies.on_response` itself, one transaction each, timed.

Then, on one pooled connection in a transaction as the handler runs it, it times what GET
/surveys/{id}/results does (`results.target` + `results.results`, with the per-unit rows) and
the JSON encoding of the answer, --calls times after 3 warm-up calls, for: marketing over the
whole bank (90 days), a branch head over their branch, one unit; and the answers of the top
word for the bank. EXPLAIN (ANALYZE, BUFFERS) of the bank's value counts is printed. The
database is dropped at the end. Figures are printed and written to
bench/results/survey_results-<timestamp>.json. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from bench.identity import RESULTS_DIR, _admin_sql, with_database
from mobile_contracts.v1 import survey_results as wire
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.db import create_pool, use_json_codecs
from workbench.ids import uuid7
from workbench.security.vault import FieldCipher
from workbench.settings import DataKey
from workbench.surveys import results, tallies
from workbench.surveys.terms import terms

BRANCHES = 10
QUESTIONS: list[dict[str, Any]] = [
    {"key": "score", "type": "nps", "text": "您向亲友推荐我行的可能性有多大？", "required": True},
    {"key": "reason", "type": "text", "text": "请告诉我们原因",
     "show_if": {"key": "score", "in": [0, 1, 2, 3, 4, 5, 6]}},
    {"key": "speed", "type": "single", "text": "办理效率如何？",
     "options": [{"value": "fast", "label": "很快"}, {"value": "ok", "label": "还可以"},
                 {"value": "slow", "label": "较慢"}]},
    {"key": "interest", "type": "multi", "text": "还关心哪些服务？",
     "options": [{"value": "wealth", "label": "理财", "tag": "理财意向"},
                 {"value": "insurance", "label": "保险"}, {"value": "loan", "label": "贷款"},
                 {"value": "pension", "label": "个人养老金"}]},
    {"key": "stars", "type": "rating", "text": "请为客户经理打分"},
    {"key": "suggestion", "type": "text", "text": "其他建议"},
]  # fmt: skip
PHRASES = (
    "等待时间太长，排队快一个小时", "客户经理讲解不够清楚，风险没说明白", "网点排队时间太长",
    "手机银行转账老是失败", "推荐的理财产品收益不如预期", "办理业务要填的材料太多，流程太复杂",
    "客户经理换了好几次", "柜台只开了一个窗口", "电话回访太频繁，有点打扰", "停车不方便",
    "叫号系统经常出问题", "自助设备经常故障", "理财经理态度冷淡", "产品到期没有提醒",
    "贷款审批太慢", "信用卡额度太低", "网点营业时间太短", "客服电话打不通", "服务态度一般",
    "利率比其他银行低", "希望增加周末营业的网点", "客户经理服务态度很好，非常耐心",
    "手机银行的界面可以再简单一点", "理财产品的介绍材料很清楚", "希望多举办投资理财讲座",
    "建议增加自助设备", "客户经理很专业，讲解耐心细致", "希望理财产品到期能提前提醒",
    "网点环境很好，服务热情", "建议推出更多适合退休人员的产品", "养老金产品讲得很明白",
    "转账到账很快", "大堂经理主动引导，很贴心", "希望手机银行支持更多功能", "整体满意",
    "保险产品条款太复杂", "希望客户经理多联系", "办理速度很快", "服务专业高效",
    "排队的时候有茶水，体验不错",
)  # fmt: skip


class Bank:
    def __init__(self) -> None:
        self.root = uuid7()
        self.marketing = uuid7()
        self.survey = uuid7()
        self.branch = uuid.UUID(int=0)
        self.branch_head = uuid.UUID(int=0)
        self.team = uuid.UUID(int=0)
        self.counts: dict[str, Any] = {}


async def generate(conn: asyncpg.Connection, args: argparse.Namespace, bank: Bank) -> None:
    units: list[tuple[Any, ...]] = [(bank.root, None, "总行", f"/{bank.root}/", 0)]
    users: list[tuple[Any, ...]] = [(bank.marketing, "marketing", "市场部", "marketing", bank.root,
                                     "x")]  # fmt: skip
    members: list[tuple[int, uuid.UUID, uuid.UUID, list[uuid.UUID]]] = []  # (n, unit, member,
    # the unit and those above it)
    per_branch = math.ceil(args.units / BRANCHES)
    for b in range(BRANCHES):
        branch = uuid7()
        units.append((branch, bank.root, f"支行{b:02d}", f"/{bank.root}/{branch}/", 1))
        head = uuid7()
        users.append((head, f"bh{b:02d}", f"支行长{b}", "branch_head", branch, "x"))
        if b == 0:
            bank.branch, bank.branch_head = branch, head
        for t in range(min(per_branch, args.units - b * per_branch)):
            team = uuid7()
            units.append((team, branch, f"{b:02d}-{t:02d}组", f"/{bank.root}/{branch}/{team}/", 2))
            member = uuid7()
            users.append((member, f"rm{len(members):04d}", f"员工{len(members)}", "rm", team, "x"))
            members.append((len(members), team, member, [bank.root, branch, team]))
    bank.team = members[0][1]
    phrase_terms = [(n, term) for n, text in enumerate(PHRASES) for term in terms(text)]
    invitations = round(args.responses / 0.8)
    started = time.perf_counter()
    async with conn.transaction():
        await conn.copy_records_to_table(
            "org_units", records=units, columns=["id", "parent_id", "name", "path", "depth"]
        )
        await conn.copy_records_to_table(
            "users", records=users,
            columns=["id", "login", "name", "role", "org_unit_id", "password_hash"],
        )  # fmt: skip
        await conn.execute(
            """
            insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                 created_by)
            values ($1, '员工净推荐值', 'staff', 'published', $2::jsonb, 1, $3, $4)
            """,
            bank.survey, json.dumps(QUESTIONS, ensure_ascii=False), bank.root, bank.marketing,
        )  # fmt: skip
        await conn.execute(
            """insert into survey_versions (survey_id, version, title, audience, questions,
                                            published_by)
               select id, 1, title, audience, questions, created_by from surveys""",
        )
        await conn.execute(
            """create unlogged table bench_members (n int primary key, unit_id uuid unique,
                                                   user_id uuid, units uuid[])"""
        )
        await conn.copy_records_to_table("bench_members", records=members)
        await conn.execute("create unlogged table bench_phrase_terms (phrase int, term text)")
        await conn.copy_records_to_table("bench_phrase_terms", records=phrase_terms)
    print(f"  units and survey: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    # Invitations over the days, evenly over the units; 80 % answered within a day. The
    # statement trigger counts them as delivered by day and unit.
    await conn.execute(
        """
        insert into survey_invitations (id, survey_id, version, user_id, org_unit_id, sent_by,
                                        sent_at, expires_at, responded_at)
        select gen_random_uuid(), $1, 1, m.user_id, m.unit_id, m.user_id, g.sent_at,
               g.sent_at + interval '14 days',
               case when random() < 0.8 then g.sent_at + random() * interval '1 day' end
          from (select i, now() - random() * make_interval(days => $3) as sent_at
                  from generate_series(1, $2) i) g
          join bench_members m on m.n = g.i % $4
        """,
        bank.survey, invitations, args.days, len(members),
    )  # fmt: skip
    print(f"  {invitations:,} invitations: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    await conn.execute(
        f"""
        create unlogged table bench_answers as
        select gen_random_uuid() as id, i.id as invitation_id, i.org_unit_id, i.user_id,
               m.units, survey_day(i.sent_at) as day, i.responded_at as submitted_at, a.*
          from survey_invitations i
          join bench_members m on m.unit_id = i.org_unit_id
          cross join lateral (
              select s.score,
                     case when s.score <= 6 and random() < 0.8
                          then floor(random() * {len(PHRASES)})::int end as reason,
                     (array['fast', 'ok', 'slow'])[1 + floor(random() * 3)::int] as speed,
                     array_remove(array[
                         case when random() < 0.45 then 'wealth' end,
                         case when random() < 0.2 then 'insurance' end,
                         case when random() < 0.2 then 'loan' end,
                         case when random() < 0.15 then 'pension' end], null) as interest,
                     case when random() < 0.7
                          then least(5, 1 + floor(5 * sqrt(random())))::int end as stars,
                     case when random() < 0.25
                          then floor(random() * {len(PHRASES)})::int end as suggestion
                from (select least(10, floor(11 * power(random(), 0.6)))::int as score
                       where i.id is not null) s
          ) a
         where i.responded_at is not null
        """
    )
    await conn.execute(
        """
        insert into survey_responses (id, invitation_id, survey_id, version, user_id,
                                      org_unit_id, answers, submitted_at, tallied_at)
        select a.id, null, $1, 1, null, a.org_unit_id,
               jsonb_strip_nulls(jsonb_build_object(
                   'score', a.score, 'speed', a.speed, 'stars', a.stars,
                   'interest', case when cardinality(a.interest) > 0 then to_jsonb(a.interest) end
               )),
               survey_day_start(a.submitted_at), now()
          from bench_answers a
        """,
        bank.survey,
    )
    responses = await conn.fetchval("select count(*) from bench_answers")
    print(f"  {responses:,} responses: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    # The rollups, with the keys on_response writes: the invitation's day, its unit and each
    # unit above it.
    await conn.execute(
        """
        update survey_tallies t set responded = c.n
          from (select a.day, u.unit, count(*) as n
                  from bench_answers a cross join unnest(a.units) u (unit)
                 group by 1, 2) c
         where t.survey_id = $1 and t.day = c.day and t.org_unit_id = c.unit
        """,
        bank.survey,
    )
    await conn.execute(
        """
        insert into survey_value_tallies (survey_id, org_unit_id, day, question_key, value, count)
        select $1, u.unit, a.day, v.key, v.value, count(*)
          from bench_answers a
          cross join unnest(a.units) u (unit)
          cross join lateral (
              select 'score', a.score::text union all select 'score', ''
              union all select 'speed', a.speed union all select 'speed', ''
              union all select 'stars', a.stars::text where a.stars is not null
              union all select 'stars', '' where a.stars is not null
              union all select 'interest', o from unnest(a.interest) o
              union all select 'interest', '' where cardinality(a.interest) > 0
              union all select 'reason', '' where a.reason is not null
              union all select 'suggestion', '' where a.suggestion is not null
          ) v (key, value)
         group by u.unit, a.day, v.key, v.value
        """,
        bank.survey,
    )
    await conn.execute(
        """
        create unlogged table bench_texts as
        select a.id, a.day, a.org_unit_id, a.units, a.submitted_at, x.key, x.phrase
          from bench_answers a
          cross join lateral (values ('reason', a.reason), ('suggestion', a.suggestion))
               x (key, phrase)
         where x.phrase is not null
        """
    )
    await conn.execute(
        """
        insert into survey_term_tallies (survey_id, org_unit_id, day, question_key, term, count)
        select $1, u.unit, x.day, x.key, p.term, count(*)
          from bench_texts x
          join bench_phrase_terms p on p.phrase = x.phrase
         cross join unnest(x.units) u (unit)
         group by u.unit, x.day, x.key, p.term
        """,
        bank.survey,
    )
    await conn.execute(
        """
        insert into survey_term_answers (survey_id, term, question_key, response_id, day,
                                         org_unit_id, submitted_at)
        select $1, p.term, x.key, x.id, x.day, x.org_unit_id, x.submitted_at
          from bench_texts x join bench_phrase_terms p on p.phrase = x.phrase
        """,
        bank.survey,
    )
    print(f"  rollups: {time.perf_counter() - started:.1f} s", flush=True)
    for table in ("bench_answers", "bench_texts", "bench_members", "bench_phrase_terms"):
        await conn.execute(f"drop table {table}")
    await conn.execute("vacuum analyze")
    for table in ("survey_tallies", "survey_value_tallies", "survey_term_tallies",
                  "survey_term_answers"):  # fmt: skip
        bank.counts[f"{table}_rows"] = await conn.fetchval(f"select count(*) from {table}")
    bank.counts.update(units=len(members), invitations=invitations, responses=responses)


async def live(database_url: str, bank: Bank, count: int) -> dict[str, Any]:
    """`count` more responses, each stored and counted by `tallies.on_response` in its own
    transaction, as a submission does: the time per response."""
    cipher = FieldCipher((DataKey(kid="bench", key=b"b" * 32),))
    conn = await asyncpg.connect(database_url)
    await use_json_codecs(conn)
    timings = []
    try:
        for n in range(count):
            # A staff answer as it is stored (migration 0054): a random id, no invitation or
            # user, the day only; counted by its invitation's day and unit.
            invitation_id, response_id = uuid7(), uuid.uuid4()
            score = n % 11
            texts = {"reason": PHRASES[n % len(PHRASES)]} if score <= 6 else {}
            async with conn.transaction():
                await conn.execute(
                    """
                    with invited as (
                        insert into survey_invitations (id, survey_id, version, user_id,
                                                        org_unit_id, sent_by, expires_at,
                                                        responded_at)
                        select $1, $2, 1, u.id, u.org_unit_id, u.id, now() + interval '14 days',
                               now()
                          from users u where u.org_unit_id = $3 limit 1
                        returning id, user_id, org_unit_id
                    )
                    insert into survey_responses (id, invitation_id, survey_id, version, user_id,
                                                  org_unit_id, answers, texts_enc, submitted_at)
                    select $4, null, $2, 1, null, i.org_unit_id, $5, $6, survey_day_start(now())
                      from invited i
                    """,
                    invitation_id, bank.survey, bank.team, response_id,
                    {"score": score, "speed": "ok", "interest": ["wealth", "loan"]},
                    cipher.encrypt(json.dumps(texts), aad=results.texts_aad(response_id))
                    if texts else None,
                )  # fmt: skip
                started = time.perf_counter()
                await tallies.on_response(
                    conn, response_id=response_id, texts=texts, invitation_id=invitation_id
                )
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    return {
        "responses": count,
        "on_response_p50_ms": round(statistics.median(timings), 2),
        "on_response_p95_ms": round(_percentile(timings, 0.95), 2),
    }


async def measure(database_url: str, bank: Bank, args: argparse.Namespace) -> dict[str, Any]:
    pool = await create_pool(database_url, max_size=1)
    cipher = FieldCipher((DataKey(kid="bench", key=b"b" * 32),))
    tz = "Asia/Shanghai"
    now = datetime.now(UTC)
    start_day = (now.astimezone(ZoneInfo(tz)) - timedelta(days=args.days - 1)).date().isoformat()

    def caller(role: Role, unit: uuid.UUID, user: uuid.UUID) -> Caller:
        return Caller(user_id=user, role=role, org_unit_id=unit, session_id=uuid7(),
                      device_id="bench")  # fmt: skip

    marketing = caller(Role.MARKETING, bank.root, bank.marketing)
    head = caller(Role.BRANCH_HEAD, bank.branch, bank.branch_head)
    cases: list[tuple[str, Caller, uuid.UUID | None]] = [
        ("bank (marketing), 90 days, by unit", marketing, None),
        ("branch (branch head), 90 days, by unit", head, None),
        ("one unit (marketing), 90 days, by unit", marketing, bank.team),
    ]
    found: dict[str, Any] = {}
    period = results.period(start_day, None, tz=tz, now=now)
    top_term = ""
    try:
        async with pool.acquire() as conn:
            for name, who, unit in cases:
                timings, encodings = [], []
                answer = None
                for n in range(3 + args.calls):
                    async with conn.transaction():
                        started = time.perf_counter()
                        target = await results.target(conn, caller=who, survey_id=bank.survey,
                                                      org_unit_id=unit, period=period)  # fmt: skip
                        answer = await results.results(
                            conn, target=target, group_by=wire.ResultsGroupBy.ORG_UNIT
                        )
                        took = time.perf_counter() - started
                    started = time.perf_counter()
                    body = msgspec.json.encode(answer)
                    encoded = time.perf_counter() - started
                    if n >= 3:
                        timings.append(took * 1000)
                        encodings.append(encoded * 1000)
                assert answer is not None
                top_term = top_term or answer.top_terms[0].term
                found[name] = {
                    "p50_ms": round(statistics.median(timings), 1),
                    "p95_ms": round(_percentile(timings, 0.95), 1),
                    "max_ms": round(max(timings), 1),
                    "encode_p50_ms": round(statistics.median(encodings), 2),
                    "responded": answer.responded,
                    "delivered": answer.delivered,
                    "nps": answer.nps,
                    "csat": answer.csat,
                    "unit_rows": len(answer.by_unit or []),
                    "bytes": len(body),
                }
                print(f"  {name:<42} p50 {found[name]['p50_ms']:>7} ms  p95 "
                      f"{found[name]['p95_ms']:>7} ms  ({answer.responded:,} responses, "
                      f"NPS {answer.nps}, CSAT {answer.csat})", flush=True)  # fmt: skip
            timings = []
            for n in range(3 + args.calls):
                async with conn.transaction():
                    started = time.perf_counter()
                    target = await results.target(conn, caller=marketing, survey_id=bank.survey,
                                                  org_unit_id=None, period=period)  # fmt: skip
                    items, _ = await results.term_answers(
                        conn, caller=marketing, target=target, cipher=cipher, term=top_term,
                        question_key=None, cursor=None, limit=50, tz="Asia/Shanghai",
                    )  # fmt: skip
                    if n >= 3:
                        timings.append((time.perf_counter() - started) * 1000)
            name = f"answers with the top word '{top_term}' (bank, 50)"
            found[name] = {
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(_percentile(timings, 0.95), 1),
                "items": len(items),
            }
            print(f"  {name:<42} p50 {found[name]['p50_ms']:>7} ms  p95 "
                  f"{found[name]['p95_ms']:>7} ms", flush=True)  # fmt: skip
            plan = await conn.fetch(
                """explain (analyze, buffers)
                   select t.question_key, t.value, sum(t.count)::bigint as count
                     from survey_value_tallies t
                    where t.survey_id = $1 and t.org_unit_id = $2 and t.day >= $3
                      and t.day < $4
                    group by t.question_key, t.value""",
                bank.survey, bank.root, period.first_day, period.end_day,
            )  # fmt: skip
            found["explain_bank_value_counts"] = [r[0] for r in plan]
    finally:
        await pool.close()
    return found


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
        try:
            print("generating ...", flush=True)
            await generate(conn, args, bank)
        finally:
            await conn.close()
        generated = round(time.perf_counter() - started, 1)
        print(f"generated in {generated} s: {bank.counts}", flush=True)
        counted = await live(url, bank, args.live) if args.live else {}
        if counted:
            print(f"  on_response: {counted}", flush=True)
        found = await measure(url, bank, args)
        return {
            "benchmark": "survey_results",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                **vars(args),
                "database_url": None,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "data": {**bank.counts, "seconds": generated},
            "live": counted,
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
    parser = argparse.ArgumentParser(prog="python -m bench.survey_results", description=__doc__)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=200, help="teams answering (10 branches)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--calls", type=int, default=20, help="timed calls per case")
    parser.add_argument("--live", type=int, default=2000, help="responses through on_response")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the database (to explore)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url (or set DATABASE_URL)")
    if min(args.responses, args.units, args.calls) < 1 or not 1 <= args.days <= 366:
        parser.error("--responses, --units and --calls must be positive, --days 1-366")
    if args.units < BRANCHES:
        parser.error(f"--units must be at least {BRANCHES}")
    try:
        document = asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted; database dropped, nothing written", file=sys.stderr)
        return 130
    print("\n".join(document["results"]["explain_bank_value_counts"]))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"survey_results-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
