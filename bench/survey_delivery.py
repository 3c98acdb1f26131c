"""Survey delivery to 100,000 customers by the worker: time, progress and the worker's memory.

    python -m bench.survey_delivery [--recipients 100000] [--per-rm 400] [--chunk 1000]
                                    [--workers 1] [--listed] [--database-url URL]

It creates a fresh database `wbbench_<random>` on the server of --database-url (default: the
DATABASE_URL environment variable), migrates it, and generates by INSERT ... SELECT: a head
office, one branch holding --recipients / --per-rm RMs in teams of 20, --per-rm customers per RM
(personal data as random bytes: delivery never reads it), and one published customer survey of
five questions. Then, as the API does, an admin's delivery is created in one transaction
(`workbench.surveys.delivery.create`: with --listed, the customer ids listed in the request
body; otherwise the branch as a selection), and --workers worker processes (separate Python
processes, `python -m bench.survey_delivery --worker`) run the worker's job
`workbench.surveys.delivery_jobs.deliver_surveys` until nothing is left: each claims the
delivery with FOR UPDATE SKIP LOCKED and sends one --chunk of recipients per transaction (the
contact cap checked under per-customer advisory locks, an invitation and an outbox message per
customer). The parent samples the delivery's progress (done / total) about every second as GET
/surveys/{id}/deliveries/{id} reads it. Reported: the time from creation to `done`, recipients
per second, each worker's peak resident memory (VmHWM) and its resident memory before the
job ran (imports and pool), the progress samples, and checks that every customer was invited
exactly once and got one message. The database is dropped at the end. Figures are printed and
written to bench/results/survey-delivery-<timestamp>.json. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.identity import RESULTS_DIR, _admin_sql, with_database
from mobile_contracts.v1 import survey_delivery as wire
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.db import create_pool
from workbench.settings import JwtKey
from workbench.surveys import delivery, delivery_jobs
from workbench.surveys.links import SurveyLinks

TEAM_SIZE = 20
QUESTIONS = [
    {"key": "nps", "type": "nps", "text": "您有多大可能向朋友推荐我行？", "required": True},
    {"key": "why", "type": "text", "text": "请告诉我们原因",
     "show_if": {"key": "nps", "in": [0, 1, 2, 3, 4, 5, 6]}},
    {"key": "visit", "type": "single", "text": "本次服务渠道", "options": [
        {"value": "branch", "label": "网点"}, {"value": "phone", "label": "电话"}]},
    {"key": "rating", "type": "rating", "text": "总体满意度", "required": True},
    {"key": "note", "type": "text", "text": "其他建议"},
]  # fmt: skip


def _rss_kib(field: str = "VmRSS") -> int:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), KiB, from /proc.
    (Not ru_maxrss: Linux keeps it across exec, so a worker started from a large parent would
    report the parent's size.)"""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


async def generate(conn: asyncpg.Connection, args: argparse.Namespace) -> dict[str, Any]:
    """The bank, its customers and one published survey; their ids."""
    head, branch, admin = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rms = max(1, args.recipients // args.per_rm)
    await conn.execute(
        """insert into org_units (id, name, parent_id, path, depth)
           values ($1::uuid, '总行', null, '/' || $1::text || '/', 0),
                  ($2::uuid, '东城支行', $1::uuid, '/' || $1::text || '/' || $2::text || '/', 1)""",
        head, branch,
    )  # fmt: skip
    await conn.execute(
        """insert into org_units (id, name, parent_id, path, depth)
           select t.id, '团队' || t.n, $1::uuid, $3::text || t.id || '/', 2
             from (select gen_random_uuid() as id, n from generate_series(1, $2) n) t""",
        branch, (rms + TEAM_SIZE - 1) // TEAM_SIZE, f"/{head}/{branch}/",
    )  # fmt: skip
    await conn.execute(
        """insert into users (id, login, name, role, org_unit_id, password_hash)
           values ($1, 'admin', '管理员', 'admin', $2, 'x')""",
        admin, head,
    )  # fmt: skip
    await conn.execute(
        """insert into users (id, login, name, role, org_unit_id, password_hash)
           select gen_random_uuid(), 'rm' || r, '客户经理' || r, 'rm', t.id, 'x'
             from generate_series(1, $1) r
             join (select id, row_number() over (order by id) as k
                     from org_units where depth = 2) t on t.k = (r - 1) / $2 + 1""",
        rms, TEAM_SIZE,
    )  # fmt: skip
    await conn.execute(
        """insert into customers (id, external_id, owner_id, name_enc, id_number_enc, phone_enc,
                                  name_bidx, surname_bidx, id_number_bidx, phone_bidx, risk_level)
           select gen_random_uuid(), 'C' || lpad(n::text, 8, '0'), u.id, b, b, b, b, b, b, b, 3
             from (select u.id, row_number() over (order by u.login) as k
                     from users u where u.role = 'rm') u,
                  generate_series(1, $1) c,
                  lateral (select ((u.k - 1) * $1 + c) as n,
                                  decode(md5(u.id::text || c), 'hex') as b) x""",
        args.per_rm,
    )  # fmt: skip
    survey = uuid.uuid4()
    body = json.dumps(QUESTIONS, ensure_ascii=False)
    await conn.execute(
        """insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                                created_by)
           values ($1, '网点服务满意度调查', 'customer', 'published', $2::jsonb, 1, $3, $4)""",
        survey, body, head, admin,
    )  # fmt: skip
    await conn.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, '网点服务满意度调查', 'customer', $2::jsonb, $3)""",
        survey, body, admin,
    )  # fmt: skip
    await conn.execute("analyze")
    customers = await conn.fetchval("select count(*) from customers")
    return {"head": head, "branch": branch, "admin": admin, "survey": survey, "rms": rms,
            "customers": customers}  # fmt: skip


def rules() -> delivery.Rules:
    key = JwtKey(kid="bench", seed=os.urandom(32))
    return delivery.Rules(base_url="https://bank.example", links=SurveyLinks([key]))


async def worker_main(url: str, chunk: int) -> None:
    """One worker process: the job until nothing is left; prints its figures as JSON."""
    pool = await create_pool(url, max_size=2)
    before = _rss_kib()
    started = time.perf_counter()
    handled = 0
    try:
        ctx = {"pool": pool, "settings": None, "survey_rules": rules(), "survey_chunk": chunk}
        while True:
            done = await delivery_jobs.deliver_surveys(ctx)
            handled += done
            if done == 0:
                break
    finally:
        await pool.close()
    print(json.dumps({
        "handled": handled,
        "seconds": round(time.perf_counter() - started, 2),
        "rss_before_job_mib": round(before / 1024, 1),
        "peak_rss_mib": round(_rss_kib("VmHWM") / 1024, 1),
    }))  # fmt: skip


async def measure(url: str, bank: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    pool = await create_pool(url, max_size=2)
    try:
        admin = Caller(user_id=bank["admin"], role=Role.ADMIN, org_unit_id=bank["head"],
                       session_id=uuid.uuid4(), device_id="bench")  # fmt: skip
        if args.listed:
            async with pool.acquire() as conn:
                ids = [
                    r["id"] for r in await conn.fetch("select id from customers order by random()")
                ]
            request = wire.DeliveryCreate(customer_ids=ids)
        else:
            request = wire.DeliveryCreate(org_unit_id=bank["branch"])
        started = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            made, in_request = await delivery.create(
                conn, caller=admin, survey_id=bank["survey"], request=request, rules=rules()
            )
        created = time.perf_counter() - started
        assert not in_request
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        command = ["-m", "bench.survey_delivery", "--worker", "--worker-url", url,
                   "--chunk", str(args.chunk)]  # fmt: skip
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, *command, stdout=asyncio.subprocess.PIPE, env=env
            )
            for _ in range(args.workers)
        ]
        samples = []
        while any(w.returncode is None for w in workers):
            async with pool.acquire() as conn:
                row = await conn.fetchrow(
                    "select status, done, skipped, total from survey_deliveries where id = $1",
                    made.id,
                )
            samples.append({"t": round(time.perf_counter() - started, 1), **dict(row)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 1.0)
        elapsed = time.perf_counter() - started
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "select status, done, skipped, total from survey_deliveries where id = $1",
                made.id,
            )
        samples.append({"t": round(elapsed, 1), **dict(row or {})})
        figures = []
        for w in workers:
            out, _ = await w.communicate()
            lines = out.decode().strip().splitlines()
            figures.append(json.loads(lines[-1]) if lines else {"exit": w.returncode})
        async with pool.acquire() as conn:
            final = dict(await conn.fetchrow(
                "select status, total, done, skipped, started_at, finished_at"
                " from survey_deliveries where id = $1", made.id))  # fmt: skip
            checks = dict(await conn.fetchrow(
                """select (select count(*) from survey_invitations) as invitations,
                          (select count(distinct customer_id) from survey_invitations)
                              as customers_invited,
                          (select count(*) from survey_messages) as messages,
                          (select count(*) from customers) as customers"""))  # fmt: skip
        worker_seconds = (final["finished_at"] - final["started_at"]).total_seconds()
        return {
            "mode": "listed ids" if args.listed else "selection (org unit)",
            "create_seconds": round(created, 3),
            "created_to_done_seconds": round(elapsed, 1),
            "worker_seconds": round(worker_seconds, 1),
            "recipients_per_second": round(final["done"] / worker_seconds)
            if worker_seconds
            else None,
            "final": {
                k: v for k, v in final.items() if k in ("status", "total", "done", "skipped")
            },
            "checks": checks,
            "workers": figures,
            "progress_samples": samples[:: max(1, len(samples) // 12)] + samples[-1:],
        }
    finally:
        await pool.close()


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"wbbench_{secrets.token_hex(5)}"
    await _admin_sql(args.database_url, f'create database "{name}"')
    try:
        url = with_database(args.database_url, name)
        await migrate.migrate(url)
        started = time.perf_counter()
        conn = await asyncpg.connect(url, server_settings={"synchronous_commit": "off"})
        try:
            print("generating ...", flush=True)
            bank = await generate(conn, args)
        finally:
            await conn.close()
        print(f"generated in {time.perf_counter() - started:.1f} s: {bank['rms']} RMs,"
              f" {bank['customers']} customers", flush=True)  # fmt: skip
        load = os.getloadavg()
        print(
            f"delivering (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}) ...", flush=True
        )
        results = await measure(url, bank, args)
        results["load_average"] = {"before": load, "after": os.getloadavg()}
        return {
            "benchmark": "survey_delivery",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                **vars(args),
                "database_url": None,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "data": {"rms": bank["rms"], "customers": bank["customers"]},
            "results": results,
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
    parser = argparse.ArgumentParser(prog="python -m bench.survey_delivery", description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--per-rm", type=int, default=400, help="customers per RM")
    parser.add_argument(
        "--chunk", type=int, default=delivery.CHUNK, help="recipients per transaction"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--listed", action="store_true", help="list the customer ids in the body")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the database (to explore)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(worker_main(args.worker_url, args.chunk))
        return 0
    if not args.database_url:
        parser.error("give --database-url (or set DATABASE_URL)")
    if min(args.recipients, args.per_rm, args.chunk, args.workers) < 1:
        parser.error("--recipients, --per-rm, --chunk and --workers must be positive")
    try:
        document = asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("interrupted; database dropped, nothing written", file=sys.stderr)
        return 130
    print(json.dumps(document["results"], indent=2, ensure_ascii=False, default=str))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"survey-delivery-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
