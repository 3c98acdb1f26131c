"""Identity data shaped like the scale model (docs/DESIGN.md), at a chosen fraction.

    python -m bench.generate --database-url URL --fraction 1.0

At fraction 1.0: a head office, 300 branches, 2 sub-branches per branch, 2 teams per sub-branch
(1,200 teams), 5,000 RMs spread unevenly over the teams, one branch head per branch, a few admins,
and history: 1-2 old devices and 3 ended sessions (each with its rotated refresh tokens) per RM,
plus ~200,000 audit events over the last 90 days. Counts scale with the fraction.

Every user shares ONE Argon2id hash (default cost) of BENCH_PASSWORD, computed once per run. Rows
go in with COPY (asyncpg `copy_records_to_table`), never a loop of INSERTs.

Idempotent: org units are matched by (parent, name), users by login, and the audit history is
topped up to its target; history is only made for RMs this run inserted. Running at a larger
fraction later adds what is missing. The database must already be migrated.

This is benchmark tooling, not product code, so its SQL lives here.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from workbench import migrate
from workbench.ids import uuid7
from workbench.security.passwords import Passwords
from workbench.settings import Settings

BENCH_PASSWORD = "bench-password-1"  # every generated user signs in with this

# The scale model at fraction 1.0.
BRANCHES = 300
SUB_BRANCHES_PER_BRANCH = 2
TEAMS_PER_SUB_BRANCH = 2
RMS = 5_000
ADMINS = 3
ENDED_SESSIONS_PER_RM = 3
AUDIT_EVENTS = 200_000
HISTORY_DAYS = 90

HEAD_OFFICE_NAME = "总行 Head Office"
_MARKER = {"bench": True}  # in audit_events.detail of generated rows, to top them up idempotently
_LOCK = 0x5742_4245_4E43  # advisory lock: two generators on one database take turns

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]
_GIVEN += ["明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "辉"]
_PLATFORMS = [("android", 50), ("ios", 35), ("harmony", 15)]
_MODELS = {
    "android": ["Xiaomi 14", "OPPO Find X7", "vivo X100", "Samsung S24"],
    "ios": ["iPhone 13", "iPhone 14", "iPhone 15 Pro"],
    "harmony": ["HUAWEI Mate 60", "HUAWEI P60"],
}
_AUDIT_ACTIONS = [
    ("login", 52),
    ("logout", 20),
    ("login_failed", 12),
    ("login_refused", 1),
    ("refresh_reuse", 1),
    ("device_revoked", 1),
    ("device_restored", 1),
    ("user_updated", 2),
]


@dataclass(frozen=True)
class Shape:
    """How many of each thing the scale model asks for at a fraction."""

    fraction: float
    branches: int
    teams: int
    rms: int
    branch_heads: int
    admins: int
    audit_events: int

    @classmethod
    def at(cls, fraction: float) -> Shape:
        if fraction <= 0:
            raise ValueError("fraction must be positive")
        branches = max(1, round(BRANCHES * fraction))
        return cls(
            fraction=fraction,
            branches=branches,
            teams=branches * SUB_BRANCHES_PER_BRANCH * TEAMS_PER_SUB_BRANCH,
            rms=max(1, round(RMS * fraction)),
            branch_heads=branches,
            admins=ADMINS,
            audit_events=round(AUDIT_EVENTS * fraction),
        )


@dataclass
class Report:
    """What a run added, what the database holds afterwards, and the password cost used."""

    shape: Shape
    argon2_memory_kib: int
    argon2_iterations: int
    seconds: float = 0.0
    added: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_password_cost() -> tuple[int, int]:
    """(memory KiB, iterations) of Settings' defaults: what a server without overrides uses."""
    defaults = {f.name: f.default for f in fields(Settings)}
    return defaults["password_hash_memory_kib"], defaults["password_hash_iterations"]


async def generate(conn: asyncpg.Connection, *, fraction: float) -> Report:
    """Insert what is missing of the shape at `fraction` (one transaction), then ANALYZE."""
    shape = Shape.at(fraction)
    memory_kib, iterations = default_password_cost()
    report = Report(shape=shape, argon2_memory_kib=memory_kib, argon2_iterations=iterations)
    started = time.perf_counter()
    password_hash = await Passwords(memory_kib=memory_kib, iterations=iterations).hash(
        BENCH_PASSWORD
    )
    now = datetime.now(UTC)
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", _LOCK)
        root, teams, branches = await _org_tree(conn, shape, report)
        users = _users(shape, root=root, teams=teams, branches=branches)
        new_users = await _insert_users(conn, users, password_hash, now=now)
        report.added["users"] = len(new_users)
        new_rms = [(uid, login) for uid, login, role in new_users if role == "rm"]
        await _history(conn, new_rms, now=now, report=report)
        await _audit_events(conn, shape, now=now, report=report)
    await conn.execute("analyze org_units, users, devices, sessions, refresh_tokens, audit_events")
    report.totals = await _totals(conn)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


# ---- org tree --------------------------------------------------------------------------------


async def _org_tree(
    conn: asyncpg.Connection, shape: Shape, report: Report
) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """Ensure head office → branches → sub-branches → teams; return (root, teams, branches)."""
    rows = await conn.fetch("select id, parent_id, name, path, depth from org_units")
    by_key: dict[tuple[uuid.UUID | None, str], asyncpg.Record | tuple[Any, ...]] = {
        (r["parent_id"], r["name"]): r for r in rows
    }
    root_row = next((r for r in rows if r["parent_id"] is None), None)
    created: list[tuple[uuid.UUID, uuid.UUID | None, str, str, int]] = []

    def unit(parent: tuple[uuid.UUID, str, int] | None, name: str) -> tuple[uuid.UUID, str, int]:
        key = (parent[0] if parent else None, name)
        found = by_key.get(key)
        if found is not None:
            return found[0], found[3], found[4]
        unit_id = uuid7()
        path = (parent[1] if parent else "/") + f"{unit_id}/"
        depth = parent[2] + 1 if parent else 0
        row = (unit_id, parent[0] if parent else None, name, path, depth)
        by_key[key] = row
        created.append(row)
        return unit_id, path, depth

    # A demo bank or a bootstrap admin may own the head office already: hang everything under it.
    root = (
        (root_row["id"], root_row["path"], root_row["depth"])
        if root_row is not None
        else unit(None, HEAD_OFFICE_NAME)
    )
    teams: list[uuid.UUID] = []
    branches: list[uuid.UUID] = []
    for b in range(1, shape.branches + 1):
        branch = unit(root, f"第{b:03d}支行 Branch {b:04d}")
        branches.append(branch[0])
        for s in range(1, SUB_BRANCHES_PER_BRANCH + 1):
            sub = unit(branch, f"Branch {b:04d} Sub-branch {s}")
            for t in range(1, TEAMS_PER_SUB_BRANCH + 1):
                teams.append(unit(sub, f"Branch {b:04d} Sub-branch {s} Team {t}")[0])
    if created:
        # Parents precede children in `created`, so the parent foreign key holds row by row.
        await conn.copy_records_to_table(
            "org_units", records=created, columns=["id", "parent_id", "name", "path", "depth"]
        )
    report.added["org_units"] = len(created)
    return root[0], teams, branches


# ---- users -----------------------------------------------------------------------------------


def team_sizes(rms: int, teams: int) -> list[int]:
    """RMs per team: uneven (log-normal weights, stable per team), at least 1 where possible."""
    weights = [random.Random(f"team:{i}").lognormvariate(0.0, 0.75) for i in range(teams)]
    if rms < teams:
        chosen = sorted(range(teams), key=lambda i: -weights[i])[:rms]
        return [1 if i in set(chosen) else 0 for i in range(teams)]
    spare = rms - teams
    total = sum(weights)
    exact = [spare * w / total for w in weights]
    sizes = [1 + int(x) for x in exact]
    short = rms - sum(sizes)
    by_remainder = sorted(range(teams), key=lambda i: -(exact[i] - int(exact[i])))
    for i in by_remainder[:short]:
        sizes[i] += 1
    return sizes


def _name(n: int) -> str:
    given = _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)]
    if n >= len(_SURNAMES) * len(_GIVEN):
        given += _GIVEN[(n // (len(_SURNAMES) * len(_GIVEN))) % len(_GIVEN)]
    return _SURNAMES[n % len(_SURNAMES)] + given


def _users(
    shape: Shape,
    *,
    root: uuid.UUID,
    teams: list[uuid.UUID],
    branches: list[uuid.UUID],
) -> list[tuple[str, str, str, uuid.UUID]]:
    """(login, name, role, org unit) of every user the shape asks for."""
    users = []
    n = 0
    for team, size in zip(teams, team_sizes(shape.rms, len(teams)), strict=True):
        for _ in range(size):
            n += 1
            users.append((f"rm{n:06d}", _name(n), "rm", team))
    for b, branch in enumerate(branches, start=1):
        users.append((f"bh{b:04d}", _name(10_000 + b) + " 行长", "branch_head", branch))
    for a in range(1, shape.admins + 1):
        users.append((f"admin{a:03d}", f"系统管理员 {a}", "admin", root))
    return users


async def _insert_users(
    conn: asyncpg.Connection,
    users: list[tuple[str, str, str, uuid.UUID]],
    password_hash: str,
    *,
    now: datetime,
) -> list[tuple[uuid.UUID, str, str]]:
    """COPY into a staging table, then insert the logins not taken yet; return those inserted."""
    rng = random.Random("users")
    records = []
    for login, name, role, unit in users:
        created = now - timedelta(days=rng.uniform(HISTORY_DAYS, 3 * 365))
        records.append((uuid7(), login, name, role, unit, password_hash, True, created, created))
    await conn.execute(
        "create temp table bench_users (like users including defaults) on commit drop"
    )
    await conn.copy_records_to_table(
        "bench_users",
        records=records,
        columns=[
            "id",
            "login",
            "name",
            "role",
            "org_unit_id",
            "password_hash",
            "active",
            "created_at",
            "updated_at",
        ],
    )
    rows = await conn.fetch(
        """
        insert into users (id, login, name, role, org_unit_id, password_hash, active,
                           created_at, updated_at)
        select id, login, name, role, org_unit_id, password_hash, active, created_at, updated_at
          from bench_users
        on conflict do nothing
        returning id, login, role
        """
    )
    return [(r["id"], r["login"], r["role"]) for r in rows]


# ---- history: devices, ended sessions, rotated refresh tokens ---------------------------------


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


async def _history(
    conn: asyncpg.Connection,
    rms: list[tuple[uuid.UUID, str]],
    *,
    now: datetime,
    report: Report,
) -> None:
    """Old devices and ENDED_SESSIONS_PER_RM ended sessions with their token chains per RM."""
    rng = random.Random("history")
    devices, sessions, tokens = [], [], []
    for user_id, login in rms:
        count = 1 if rng.random() < 0.7 else 2
        own = []
        for k in range(1, count + 1):
            platform = _pick(rng, _PLATFORMS)
            device_id = f"hist-{login}-{k}"
            own.append(device_id)
            first = now - timedelta(days=rng.uniform(HISTORY_DAYS, 2 * HISTORY_DAYS))
            devices.append(
                (
                    device_id,
                    user_id,
                    platform,
                    rng.choice(_MODELS[platform]),
                    f"1.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
                    first,
                    first,
                )
            )
        start = now - timedelta(days=HISTORY_DAYS)
        step = timedelta(days=HISTORY_DAYS / ENDED_SESSIONS_PER_RM)
        for s in range(ENDED_SESSIONS_PER_RM):
            created = start + s * step + timedelta(hours=rng.uniform(0, 48))
            rotations = rng.randint(1, 5)
            issued = [
                created + timedelta(hours=6 * r + rng.uniform(0, 5)) for r in range(rotations)
            ]
            ended = issued[-1] + timedelta(hours=rng.uniform(0.5, 12))
            reason = "logout" if rng.random() < 0.6 else "replaced"
            session_id = uuid7()
            sessions.append(
                (
                    session_id,
                    user_id,
                    own[s % len(own)],
                    created,
                    issued[-1] if rotations > 1 else None,
                    ended,
                    reason,
                )
            )
            for r, at in enumerate(issued):
                used = issued[r + 1] if r + 1 < rotations else None
                token_hash = hashlib.sha256(os.urandom(32)).digest()
                tokens.append((token_hash, session_id, at, at + timedelta(days=30), used))
    if devices:
        await conn.copy_records_to_table(
            "devices",
            records=devices,
            columns=[
                "device_id",
                "user_id",
                "platform",
                "model",
                "app_version",
                "first_seen_at",
                "last_seen_at",
            ],
        )
    if sessions:
        await conn.copy_records_to_table(
            "sessions",
            records=sessions,
            columns=[
                "id",
                "user_id",
                "device_id",
                "created_at",
                "refreshed_at",
                "ended_at",
                "end_reason",
            ],
        )
        await conn.copy_records_to_table(
            "refresh_tokens",
            records=tokens,
            columns=["token_hash", "session_id", "issued_at", "expires_at", "used_at"],
        )
        # A device was last seen when its latest session ended.
        await conn.execute(
            """
            update devices d set last_seen_at = s.last_end
              from (select device_id, max(ended_at) as last_end
                      from sessions where device_id like 'hist-%' group by device_id) s
             where d.device_id = s.device_id and d.last_seen_at < s.last_end
            """
        )
    report.added["devices"] = len(devices)
    report.added["sessions"] = len(sessions)
    report.added["refresh_tokens"] = len(tokens)


# ---- audit trail -----------------------------------------------------------------------------


async def _audit_events(
    conn: asyncpg.Connection, shape: Shape, *, now: datetime, report: Report
) -> None:
    """Top the generated audit history up to the shape's target, oldest first."""
    have = await conn.fetchval(
        "select count(*) from audit_events where detail @> $1::jsonb", json.dumps(_MARKER)
    )
    missing = shape.audit_events - have
    report.added["audit_events"] = max(missing, 0)
    if missing <= 0:
        return
    actors = await conn.fetch(
        "select id, login from users where login ~ '^(rm[0-9]{6}|bh[0-9]{4}|admin[0-9]{3})$'"
    )
    rng = random.Random(f"audit:{have}")
    actions = [a for a, _ in _AUDIT_ACTIONS]
    weights = [w for _, w in _AUDIT_ACTIONS]
    base = now - timedelta(days=HISTORY_DAYS)
    span = HISTORY_DAYS * 86400.0
    rows = []
    for action in rng.choices(actions, weights=weights, k=missing):
        actor = rng.choice(actors)
        at = base + timedelta(seconds=rng.uniform(0, span))
        ip = ipaddress.IPv4Address(
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        )
        detail = dict(_MARKER)
        subject = f"device:hist-{actor['login']}-1"
        actor_id: uuid.UUID | None = actor["id"]
        if action == "login_failed":
            detail["reason"] = "bad_credentials"
            if rng.random() < 0.1:  # unknown login
                actor_id, subject = None, None
        elif action == "login_refused":
            detail["reason"] = "device_revoked"
        elif action == "refresh_reuse":
            subject = f"session:{uuid7()}"
        elif action == "user_updated":
            subject = f"user:{actor['id']}"
            detail["role"] = "rm"
        rows.append((at, actor_id, action, subject, ip, json.dumps(detail)))
    rows.sort(key=lambda r: r[0])
    await conn.copy_records_to_table(
        "audit_events",
        records=rows,
        columns=["occurred_at", "actor_id", "action", "subject", "client_ip", "detail"],
    )


async def _totals(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        """
        select (select count(*) from org_units) as org_units,
               (select count(*) from users) as users,
               (select count(*) from users where role = 'rm') as rms,
               (select count(*) from users where role = 'branch_head') as branch_heads,
               (select count(*) from users where role = 'admin') as admins,
               (select count(*) from devices) as devices,
               (select count(*) from sessions) as sessions,
               (select count(*) from refresh_tokens) as refresh_tokens,
               (select count(*) from audit_events) as audit_events
        """
    )
    return dict(row)


# ---- command line ----------------------------------------------------------------------------


async def _main(database_url: str, fraction: float, apply_migrations: bool) -> Report:
    if apply_migrations:
        await migrate.migrate(database_url)
    elif pending := await migrate.pending(database_url):
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise SystemExit(f"bench.generate: migrations pending ({names}); pass --migrate")
    conn = await asyncpg.connect(database_url)
    try:
        return await generate(conn, fraction=fraction)
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL URL of a migrated database (default: $DATABASE_URL)",
    )
    parser.add_argument("--fraction", type=float, default=1.0, help="of the scale model")
    parser.add_argument("--migrate", action="store_true", help="apply pending migrations first")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.fraction <= 0:
        parser.error("--fraction must be positive")
    report = asyncio.run(_main(args.database_url, args.fraction, args.migrate))
    print(json.dumps(report.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
