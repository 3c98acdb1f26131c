"""Push delivery: reminders due in one minute, through real workers, to a fake provider.

    python -m bench.push [--reminders 10000] [--rms 5000] [--spread 60] [--workers 2]
                         [--latency 0.02] [--chaos] [--database-url URL]

Sets up a fresh database `wbbench_<random>` (on --database-url's server, else embedded
PostgreSQL), its own redis-server (so that the chaos run can restart it), the loopback fake of
APNs/FCM/HMS in its own process (`python -m push.fakes`, answering every push after --latency
seconds), and --workers `python -m workbench worker` processes configured against the fake. Data:
--rms RMs with one registered device each (60 % APNs, 30 % FCM, 10 % HMS) and --reminders task
reminders (half before-due, half at-due) whose send times are spread evenly over --spread seconds
starting a little over two minutes after the workers are ready, so that they enter the outbox the
way production reminders do (the queue_reminders job, two minutes ahead).

Measured:
  1. minute   every reminder's delay from its send time to the provider's receipt of the push
              (the fake notes when each push arrived), lost and duplicate pushes
  2. burst    (not with --chaos) --reminders notifications all due at the same instant: how fast
              the workers drain them (sends/s) and the same delays
With --chaos the minute phase runs over 180 s while a random worker is killed with SIGKILL every
30 s (and started again at once, as a supervisor would) and Redis is restarted once, losing
everything it held.

Figures are printed and written to bench/results/push-<timestamp>.json. Nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.identity import RESULTS_DIR, _admin_sql, percentile, with_database
from push.devices import token_aad, token_index
from workbench import migrate
from workbench.embedded import EmbeddedPostgres, free_port, redis_server_binary
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.settings import DataKey

PROVIDER_MIX = (("apns", "ios", 60), ("fcm", "android", 30), ("hms", "harmony", 10))
LEAD_SECONDS = 130  # reminders start this long after the workers are ready


class Redis:
    """A redis-server on a fixed loopback port that can be restarted (losing its data)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        time.sleep(0.3)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)


async def _setup(conn: asyncpg.Connection, args: argparse.Namespace, vault: Vault) -> None:
    """Org, RMs with one registered device each, a template, a dispatch, tasks (no reminders)."""
    root, admin = uuid7(), uuid7()
    await conn.execute(
        "insert into org_units (id, name, path, depth) values ($1, 'Bench bank', $2, 0)",
        root,
        f"/{root}/",
    )
    await conn.execute(
        "insert into users (id, login, name, role, org_unit_id, password_hash)"
        " values ($1, 'bench-admin', 'Admin', 'admin', $2, 'x')",
        admin,
        root,
    )
    rms = [uuid7() for _ in range(args.rms)]
    await conn.copy_records_to_table(
        "users",
        records=[(u, f"bench-rm{i:05d}", f"RM {i}", "rm", root, "x") for i, u in enumerate(rms)],
        columns=["id", "login", "name", "role", "org_unit_id", "password_hash"],
    )
    rng = random.Random(7)
    weights = [w for _, _, w in PROVIDER_MIX]
    devices, registrations = [], []
    for i, user in enumerate(rms):
        provider, platform, _ = rng.choices(PROVIDER_MIX, weights)[0]
        device_id, token = f"bench-device-{i:05d}", secrets.token_hex(32)
        devices.append((device_id, user, platform))
        registrations.append((
            device_id, user, provider,
            vault.cipher.encrypt(token, aad=token_aad(device_id)),
            token_index(vault, provider, token),
        ))  # fmt: skip
    await conn.copy_records_to_table(
        "devices", records=devices, columns=["device_id", "user_id", "platform"]
    )
    # A device is pushed to only while it holds a live session (a refresh token not expired).
    sessions = [(uuid7(), user, device_id) for device_id, user, _ in devices]
    await conn.copy_records_to_table(
        "sessions", records=sessions, columns=["id", "user_id", "device_id"]
    )
    expires = datetime.now(UTC) + timedelta(days=30)
    await conn.copy_records_to_table(
        "refresh_tokens",
        records=[(secrets.token_bytes(32), session_id, expires) for session_id, _, _ in sessions],
        columns=["token_hash", "session_id", "expires_at"],
    )
    await conn.copy_records_to_table(
        "push_registrations",
        records=registrations,
        columns=["device_id", "user_id", "provider", "token_cipher", "token_index"],
    )
    template = uuid7()
    await conn.execute(
        "insert into task_templates (id, owner_unit_id, created_by) values ($1, $2, $3)",
        template,
        root,
        admin,
    )
    await conn.execute(
        "insert into task_template_versions (template_id, version, name, form, reminders,"
        " created_by) values ($1, 1, 'Visit', '{\"fields\": []}', '{30}', $2)",
        template,
        admin,
    )
    await conn.execute(
        "insert into dispatches (id, template_id, template_version, title, created_by,"
        " request_hash, created, skipped) values ($1, $2, 1, '客户回访', $3, '-', 0, 0)",
        template,
        template,
        admin,
    )
    await conn.execute("analyze")


async def _schedule_reminders(
    conn: asyncpg.Connection, args: argparse.Namespace, start: datetime
) -> None:
    """Tasks whose reminders (half 30 minutes before due, half at due) are sent between `start`
    and `start + spread`, two per RM."""
    rms = [r["id"] for r in await conn.fetch("select id from users where role = 'rm' order by id")]
    template = await conn.fetchval("select id from task_templates")
    tasks, reminders = [], []
    for i in range(args.reminders):
        send_at = start + timedelta(seconds=args.spread * i / args.reminders)
        before = i % 2 == 0
        due = send_at + timedelta(minutes=30) if before else send_at
        task, rm = uuid7(), rms[i % len(rms)]
        tasks.append((task, template, 1, template, rm, "客户回访", due))
        reminders.append((task, rm, "before_due" if before else "at_due", 30 if before else 0,
                          send_at))  # fmt: skip
    await conn.copy_records_to_table(
        "tasks", records=tasks,
        columns=["id", "template_id", "template_version", "dispatch_id", "assignee_id", "title",
                 "due_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "task_reminders", records=reminders,
        columns=["task_id", "user_id", "kind", "offset_minutes", "send_at"],
    )  # fmt: skip


def _start_fake(workdir: Path, latency: float) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "push.fakes", "--port", str(free_port()), "--latency",
         str(latency), "--credentials", str(workdir / "credentials")],
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    return process, ready


def _worker_env(
    database_url: str, redis_url: str, prefix: str, keys: dict[str, str], fake: dict[str, Any]
) -> dict[str, str]:
    creds = fake["credentials"]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        WORKBENCH_REDIS_PREFIX=prefix,
        WORKBENCH_LOG_LEVEL="WARNING",
        WORKBENCH_APNS_KEY_FILE=creds["apns_key_file"],
        WORKBENCH_APNS_KEY_ID=creds["apns_key_id"],
        WORKBENCH_APNS_TEAM_ID=creds["apns_team_id"],
        WORKBENCH_APNS_TOPIC=creds["apns_topic"],
        WORKBENCH_APNS_BASE_URL=fake["base_url"],
        WORKBENCH_FCM_SERVICE_ACCOUNT_FILE=creds["fcm_service_account_file"],
        WORKBENCH_FCM_BASE_URL=fake["base_url"],
        WORKBENCH_HMS_APP_ID=creds["hms_app_id"],
        WORKBENCH_HMS_CLIENT_SECRET=creds["hms_client_secret"],
        WORKBENCH_HMS_BASE_URL=fake["base_url"],
        WORKBENCH_HMS_TOKEN_URL=fake["hms_token_url"],
        **keys,
    )
    return env


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workbench", "worker"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


async def _arrivals(base_url: str) -> list[tuple[float, str, str]]:
    async with httpx.AsyncClient(http1=False, http2=True, base_url=base_url) as client:
        response = await client.get("/_fake/arrivals", timeout=60)
    return [tuple(a) for a in response.json()["arrivals"]]  # type: ignore[misc]


def _delays(arrived: dict[str, float], due: dict[str, datetime]) -> dict[str, Any]:
    delays = sorted(arrived[n] - due[n].timestamp() for n in due if n in arrived)
    if not delays:
        return {"count": 0}
    return {
        "count": len(delays),
        "p50_s": round(percentile(delays, 50) or 0, 3),
        "p95_s": round(percentile(delays, 95) or 0, 3),
        "p99_s": round(percentile(delays, 99) or 0, 3),
        "max_s": round(delays[-1], 3),
        "min_s": round(delays[0], 3),
    }


def _tally(arrivals: list[tuple[float, str, str]], expected: set[str]) -> dict[str, Any]:
    per_nid = Counter(nid for _, _, nid in arrivals if nid in expected)
    return {
        "expected": len(expected),
        "delivered": len(per_nid),
        "lost": len(expected - set(per_nid)),
        "duplicates": sum(c - 1 for c in per_nid.values()),
        "duplicate_percent": round(
            100 * sum(c - 1 for c in per_nid.values()) / max(len(expected), 1), 3
        ),
    }


def _first_arrival(arrivals: list[tuple[float, str, str]]) -> dict[str, float]:
    first: dict[str, float] = {}
    for at, _, nid in arrivals:
        if nid not in first or at < first[nid]:
            first[nid] = at
    return first


async def _wait_settled(
    conn: asyncpg.Connection,
    *,
    category: str,
    expected: int,
    deadline: float,
    tick: Any = None,
) -> dict[str, int]:
    """Poll until `expected` notifications of the category are no longer pending."""
    counts: dict[str, int] = {}
    while time.time() < deadline:
        rows = await conn.fetch(
            "select push_status, count(*) from notifications where category = $1 group by 1",
            category,
        )
        counts = {r["push_status"]: r["count"] for r in rows}
        done = sum(v for k, v in counts.items() if k != "pending")
        if done >= expected:
            break
        if tick is not None:
            tick()
        await asyncio.sleep(1)
    return counts


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rand = secrets.token_hex(4)
    db_name, prefix = f"wbbench_{rand}", f"wbbench-{rand}:"
    embedded = None
    if args.database_url:
        admin_url = args.database_url
    else:
        embedded = EmbeddedPostgres(workdir / "pg")
        admin_url = await asyncio.to_thread(embedded.start)
    redis = Redis(workdir / "redis")
    redis.start()
    fake_process, fake = _start_fake(workdir, args.latency)
    workers: list[subprocess.Popen[bytes]] = []
    await _admin_sql(admin_url, f'create database "{db_name}"')
    database_url = with_database(admin_url, db_name)
    try:
        await migrate.migrate(database_url)
        data_key = os.urandom(32)
        keys = {
            "WORKBENCH_JWT_KEYS": f"bench:{base64.b64encode(os.urandom(32)).decode()}",
            "WORKBENCH_DATA_KEYS": f"bench:{base64.b64encode(data_key).decode()}",
            "WORKBENCH_BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        }
        vault = Vault.from_settings(
            (DataKey("bench", data_key),), base64.b64decode(keys["WORKBENCH_BLIND_INDEX_KEY"])
        )
        conn = await asyncpg.connect(database_url)
        await _setup(conn, args, vault)
        env = _worker_env(database_url, redis.url, prefix, keys, fake)
        workers = [_start_worker(env, workdir / f"worker-{i}.log") for i in range(args.workers)]
        await asyncio.sleep(3)
        if args.burst_only:
            burst = await _burst(conn, args, fake["base_url"], 0, [*workers, fake_process])
            await conn.close()
            return {"benchmark": "push", "config": vars(args), "burst": burst}
        spread = 180 if args.chaos else args.spread
        args.spread = spread
        start = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
        await _schedule_reminders(conn, args, start)
        chaos = " with chaos" if args.chaos else ""
        print(f"{args.reminders} reminders from {start:%H:%M:%S} over {spread} s;"
              f" {args.workers} workers{chaos} ...", flush=True)  # fmt: skip

        chaos_log: list[str] = []
        next_kill = start.timestamp() + 15
        redis_restart_at = start.timestamp() + 45 if args.chaos else None

        def tick() -> None:
            nonlocal next_kill, redis_restart_at
            now = time.time()
            for i, w in enumerate(workers):  # a supervisor restarts whatever exited
                if w.poll() is not None:
                    workers[i] = _start_worker(env, workdir / f"worker-{i}.log")
                    chaos_log.append(f"{now - start.timestamp():+.0f}s worker {i} restarted")
            if not args.chaos:
                return
            if now >= next_kill and now < start.timestamp() + spread:
                victim = random.randrange(len(workers))
                os.kill(workers[victim].pid, signal.SIGKILL)
                workers[victim].wait()
                chaos_log.append(f"{now - start.timestamp():+.0f}s SIGKILL worker {victim}")
                workers[victim] = _start_worker(env, workdir / f"worker-{victim}.log")
                next_kill = now + 30
            if redis_restart_at is not None and now >= redis_restart_at:
                redis.stop()
                time.sleep(2)
                redis.start()
                chaos_log.append(f"{now - start.timestamp():+.0f}s Redis restarted (empty)")
                redis_restart_at = None

        counts = await _wait_settled(
            conn, category="task.reminder", expected=args.reminders,
            deadline=start.timestamp() + spread + 300, tick=tick,
        )  # fmt: skip
        await asyncio.sleep(2)
        rows = await conn.fetch(
            "select id::text, send_at from notifications where category = 'task.reminder'"
        )
        due = {r["id"]: r["send_at"] for r in rows}
        unqueued = await conn.fetchval(
            "select count(*) from task_reminders where status = 'pending' and kind <> 'overdue'"
        )
        arrivals = await _arrivals(fake["base_url"])
        minute = {
            "statuses": counts,
            "reminders_never_queued": unqueued,
            **_tally(arrivals, set(due)),
            "delay_due_to_provider": _delays(_first_arrival(arrivals), due),
            "chaos": chaos_log,
        }
        result: dict[str, Any] = {"minute": minute}
        if not args.chaos:
            result["burst"] = await _burst(
                conn, args, fake["base_url"], len(arrivals), [*workers, fake_process]
            )
        await conn.close()
        return {
            "benchmark": "push",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {"reminders": args.reminders, "rms": args.rms, "spread_s": spread,
                       "workers": args.workers, "latency_s": args.latency, "chaos": args.chaos,
                       "cpus": os.cpu_count()},
            **result,
        }  # fmt: skip
    finally:
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                w.send_signal(signal.SIGTERM)
        for w in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.wait(20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(w.pid, signal.SIGKILL)
        fake_process.terminate()
        fake_process.wait(10)
        redis.stop()
        with contextlib.suppress(Exception):
            await _admin_sql(admin_url, f'drop database if exists "{db_name}" with (force)')
        if embedded is not None:
            embedded.stop()


def _cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU seconds so far of the workers, the fake provider and every PostgreSQL backend."""
    seconds = {"workers": 0.0, "fake provider": 0.0, "postgres": 0.0}
    for i, process in enumerate(processes):
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(process.pid).cpu_times()
            seconds["fake provider" if i == len(processes) - 1 else "workers"] += t.user + t.system
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith("postgres"):
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                seconds["postgres"] += t.user + t.system
    return seconds


async def _burst(
    conn: asyncpg.Connection,
    args: argparse.Namespace,
    base_url: str,
    skip: int,
    processes: list[subprocess.Popen[bytes]],
) -> dict[str, Any]:
    """N notifications due at one instant, straight into the outbox: the drain rate, and the
    CPU each part spent per notification."""
    rms = [r["id"] for r in await conn.fetch("select id from users where role = 'rm' order by id")]
    due_at = datetime.now(UTC) + timedelta(seconds=5)
    records = [
        (uuid.UUID(str(uuid7())), rms[i % len(rms)], "brochure.opened", "客户打开了资料", "-",
         f"burst:{i}", due_at, due_at)
        for i in range(args.reminders)
    ]  # fmt: skip
    await conn.copy_records_to_table(
        "notifications", records=records,
        columns=["id", "user_id", "category", "title", "body", "dedupe_key", "send_at",
                 "created_at"],
    )  # fmt: skip
    print(f"burst: {args.reminders} notifications due at {due_at:%H:%M:%S} ...", flush=True)
    cpu_before = _cpu_seconds(processes)
    counts = await _wait_settled(
        conn, category="brochure.opened", expected=args.reminders, deadline=time.time() + 300
    )
    cpu_after = _cpu_seconds(processes)
    await asyncio.sleep(1)
    arrivals = (await _arrivals(base_url))[skip:]
    due = {str(r[0]): due_at for r in records}
    first = _first_arrival(arrivals)
    times = sorted(first[n] for n in due if n in first)
    drain = (times[-1] - due_at.timestamp()) if times else None
    return {
        "statuses": counts,
        **_tally(arrivals, set(due)),
        "drain_seconds": round(drain, 2) if drain else None,
        "sends_per_second": round(len(times) / drain, 1) if drain else None,
        "delay_due_to_provider": _delays(first, due),
        "cpu_ms_per_notification": {
            part: round(1000 * (cpu_after[part] - cpu_before[part]) / args.reminders, 3)
            for part in cpu_after
        },
    }


def _print(result: dict[str, Any]) -> None:
    for phase in ("minute", "burst"):
        if phase not in result:
            continue
        r = result[phase]
        d = r["delay_due_to_provider"]
        print(f"{phase}: delivered {r['delivered']}/{r['expected']}, lost {r['lost']},"
              f" duplicates {r['duplicates']} ({r['duplicate_percent']} %),"
              f" statuses {r['statuses']}")  # fmt: skip
        print(f"  due → provider: p50 {d.get('p50_s')} s, p95 {d.get('p95_s')} s,"
              f" p99 {d.get('p99_s')} s, max {d.get('max_s')} s")  # fmt: skip
        if "sends_per_second" in r:
            print(f"  drained in {r['drain_seconds']} s: {r['sends_per_second']} sends/s;"
                  f" CPU ms per notification: {r['cpu_ms_per_notification']}")  # fmt: skip
        for line in r.get("chaos", []):
            print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push", description=__doc__)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--rms", type=int, default=5_000)
    parser.add_argument("--spread", type=int, default=60, help="seconds the reminders span")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--latency", type=float, default=0.02, help="fake provider latency, s")
    parser.add_argument("--chaos", action="store_true", help="SIGKILL workers, restart Redis")
    parser.add_argument("--database-url", help="PostgreSQL server for a fresh database")
    parser.add_argument("--burst-only", action="store_true", help="skip the minute phase")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wbbench-push-") as tmp:
        result = asyncio.run(_run(args, Path(tmp)))
    _print(result)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"push-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
