"""An export of a million rows through the worker: time and peak memory, as CSV and as XLSX.

    python -m bench.exports --database-url postgresql://postgres@127.0.0.1:5432/postgres
                            [--rows 1000000] [--fraction 0.1] [--formats csv,xlsx] [--keep]

Creates its own database (`wbbench_exports_<random>`) on that server, migrates it, generates the
scale model's org tree and users at --fraction (bench.generate: 500 RMs at 0.1) and --rows tasks
(bench.generate_tasks: spread over the RMs, ~280 days of history at 0.1, so one 366-day view
holds them all), then for each format records the export an admin asks for in the console:
table `tasks` (every task of the whole bank created in the last 366 days), the view resolved by
`dashboard.numbers.view` as the page does.

Each export is built by `workbench.exports.service.build`, the worker job's body, in a child
process of its own (`--build`), so its figures are the export's alone: wall time, rows per
second, the file's size and sheets, and the process's resident memory before the build and at
its peak (VmRSS, VmHWM). The file goes to a local blob store in a temporary folder. The database
is dropped at the end (unless --keep). Figures are printed and written to
bench/results/exports-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench import generate_tasks
from bench.identity import RESULTS_DIR, _admin_sql, with_database
from mobile_contracts.v1.identity import Role
from workbench import migrate
from workbench.access import Caller
from workbench.db import create_pool
from workbench.exports import service
from workbench.media.store import LocalBlobStore
from workbench.security.vault import Vault
from workbench.settings import DataKey

TZ = "Asia/Shanghai"


def _memory() -> dict[str, int]:
    """This process's resident memory now and at its peak, in KiB (Linux /proc)."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    return found


def _vault(hex_key: str) -> Vault:
    key = bytes.fromhex(hex_key)
    return Vault.from_settings((DataKey(kid="bench", key=key),), key)


async def _prepare(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate, generate the data, and queue one export per format (without waking anyone)."""
    await migrate.migrate(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        report = await generate_tasks.generate_tasks(
            conn, fraction=args.fraction, tasks=args.rows,
            big_rm_open=min(2000, max(1, args.rows // 20)), progress=False,
        )  # fmt: skip
        generated = round(time.perf_counter() - started, 1)
        admin = await conn.fetchrow("select id, org_unit_id from users where login = 'admin001'")
    finally:
        await conn.close()
    caller = Caller(user_id=admin["id"], role=Role.ADMIN, org_unit_id=admin["org_unit_id"],
                    session_id=uuid.uuid4(), device_id="bench")  # fmt: skip
    vault = _vault(args.key)
    pool = await create_pool(database_url, max_size=2)
    queued: dict[str, str] = {}
    try:
        today = datetime.now(ZoneInfo(TZ)).date()
        for fmt in args.formats:
            async with pool.acquire() as conn, conn.transaction():
                prepared = await service.prepare(
                    conn, caller=caller, table_key="tasks", fmt=fmt, unit=None,
                    from_=(today - timedelta(days=365)).isoformat(), to=today.isoformat(),
                    filters={}, tz=TZ, now=datetime.now(UTC),
                )  # fmt: skip
                total = await service.count(conn, vault, prepared)
                row, _ = await service.queue(
                    conn, prepared, rows_total=total, now=datetime.now(UTC), wake=None
                )
                queued[fmt] = str(row["id"])
    finally:
        await pool.close()
    return {"generate_seconds": generated, "generated": report.totals, "rows_total": total,
            "exports": queued}  # fmt: skip


async def _build(database_url: str, export_id: str, blob_dir: str, key: str) -> dict[str, Any]:
    """The child: build one export as the worker does; its figures."""
    pool = await create_pool(database_url, max_size=3)
    try:
        builder = service.Builder(
            pool=pool, blobs=LocalBlobStore(blob_dir), vault=_vault(key), tz=TZ
        )
        before = _memory()
        started = time.perf_counter()
        built = await service.build(builder, uuid.UUID(export_id))
        seconds = time.perf_counter() - started
        after = _memory()
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "select format, state, reason, rows_done, size, sheets from exports where id = $1",
                uuid.UUID(export_id),
            )
    finally:
        await pool.close()
    return {
        "format": row["format"],
        "state": row["state"],
        "reason": row["reason"],
        "built": built is not None,
        "rows": row["rows_done"],
        "seconds": round(seconds, 2),
        "rows_per_second": round(row["rows_done"] / seconds) if seconds else None,
        "file_mib": round((row["size"] or 0) / 2**20, 1),
        "sheets": row["sheets"],
        "rss_before_mib": round(before["VmRSS"] / 1024, 1),
        "rss_peak_mib": round(after["VmHWM"] / 1024, 1),
    }


def _child(database_url: str, export_id: str, blob_dir: str, key: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.exports", "--build", export_id,
               "--database-url", database_url, "--blob-dir", blob_dir, "--key", key]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench.exports: the build failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    name = f"wbbench_exports_{secrets.token_hex(5)}"
    await _admin_sql(args.database_url, f'create database "{name}"')
    database_url = with_database(args.database_url, name)
    try:
        print(f"database {name}: migrating and generating {args.rows:,} tasks ...", flush=True)
        prepared = await _prepare(database_url, args)
        print(f"generated in {prepared['generate_seconds']} s; the export has "
              f"{prepared['rows_total']:,} rows", flush=True)  # fmt: skip
        results = []
        with tempfile.TemporaryDirectory(prefix="wbbench-exports-") as blob_dir:
            for fmt, export_id in prepared["exports"].items():
                print(f"building the {fmt} export in a child process ...", flush=True)
                figures = await asyncio.to_thread(
                    _child, database_url, export_id, blob_dir, args.key
                )
                print(json.dumps(figures, ensure_ascii=False), flush=True)
                results.append(figures)
        return {"rows": args.rows, "fraction": args.fraction, **prepared, "results": results}
    finally:
        if not args.keep:
            await _admin_sql(args.database_url, f'drop database if exists "{name}" with (force)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__)
    parser.add_argument("--database-url", required=True, help="a database on the server to use")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--build", help=argparse.SUPPRESS)  # the child: build this export
    parser.add_argument("--blob-dir", help=argparse.SUPPRESS)
    parser.add_argument("--key", default=secrets.token_hex(32), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        figures = asyncio.run(_build(args.database_url, args.build, args.blob_dir, args.key))
        print(json.dumps(figures))
        return 0
    args.formats = [f for f in args.formats.split(",") if f]
    report = asyncio.run(_main(args))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(RESULTS_DIR) / f"exports-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
