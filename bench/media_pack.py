"""Brochure media packs: building one RM's pack of 200 live brochures.

    python -m bench.media_pack [--live 200] [--other 200] [--fraction 0.01] [--rounds 2]
                               [--database-url URL]

Sets up a fresh database `wbbench_<random>` (on --database-url's server, else embedded
PostgreSQL) and a local blob store in a temporary folder. Generates the org tree and users
(bench.generate at --fraction) and the brochures of bench.brochures (--live live ones, ~4.9 pages
each, with A4, phone and landscape page images; --other in every other state), then moves every
brochure to the head office, so all --live of them are live for `rm000001`. Every page's phone
and tablet WebP rendition is written to the blob store at the size bench.brochures gives it
(~0.08 bytes a pixel: ~130 kB for a phone A4 page, ~470 kB for a tablet one), as random bytes
(as incompressible as WebP).

Measured, per size (phone, tablet), --rounds times (each a new version of the pack):
  build   wall time of the product's `media.build_pack` for rm000001 in one transaction (the
          fingerprint, the pages, reading every rendition from the store, the zip written to a
          temporary file, hashing, storing the pack, the row), CPU seconds of the process, and
          the peak resident set it added (VmHWM reset before, read after: Linux)
  pack    brochures, files and bytes
  job     the worker's job `build_media_packs` for every RM (both sizes): packs recorded, files
          built (RMs with the same catalogue share one), wall time
  stale   then the worker's check of every RM's fingerprint against their last pack
          (`stale_owners`): what each 30-second run costs when nothing changed

Figures are printed and written to bench/results/media_pack-<timestamp>.json. Nothing passes
or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import generate
from bench.brochures import BIG_RM, generate_brochures
from bench.identity import RESULTS_DIR, _admin_sql, with_database
from sync.packages import jobs, media
from sync.packages.manifest import PackageSigner
from workbench import migrate
from workbench.db import create_pool
from workbench.embedded import EmbeddedPostgres
from workbench.media.store import LocalBlobStore
from workbench.settings import JwtKey


class _Settings:
    """What the job reads of the settings."""

    def __init__(self, jwt_keys: tuple[JwtKey, ...]) -> None:
        self.jwt_keys = jwt_keys


def _peak_rss_mib() -> float:
    """The process's peak resident set since the last reset (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _fill_store(conn: asyncpg.Connection, store: LocalBlobStore) -> dict[str, Any]:
    """Write every live page's phone and tablet WebP rendition at its recorded size."""
    specs = [media.spec_name(size) for size in media.SIZES]
    rows = await conn.fetch(
        """
        select distinct r.spec, r.blob_key, r.byte_size
          from brochure_versions v
         cross join lateral unnest(v.pages) p(sha)
          join brochure_renditions r on r.image_sha256 = p.sha and r.spec = any($1::text[])
         where v.status = 'published'
        """,
        specs,
    )
    written: dict[str, list[int]] = {spec: [0, 0] for spec in specs}
    for row in rows:
        await store.put(row["blob_key"], os.urandom(row["byte_size"]), content_type="image/webp")
        written[row["spec"]][0] += 1
        written[row["spec"]][1] += row["byte_size"]
    return {spec: {"files": n, "bytes": b} for spec, (n, b) in written.items()}


async def _measure(
    database_url: str, store: LocalBlobStore, rounds: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    signer_keys = (JwtKey(kid="bench-1", seed=secrets.token_bytes(32)),)
    signer = PackageSigner(signer_keys)
    pool = await create_pool(database_url, max_size=2)
    results = []
    try:
        async with pool.acquire() as conn:
            owner = await conn.fetchval("select id from users where login = $1", BIG_RM)
        for n in range(rounds):
            for size in media.SIZES:
                await asyncio.sleep(0)
                _reset_peak()
                rss_before, cpu_before = _current_rss_mib(), _cpu()
                started = time.perf_counter()
                async with pool.acquire() as conn, conn.transaction():
                    pack = await media.build_pack(
                        conn, store=store, signer=signer, owner_id=owner, size=size,
                        now=datetime.now(UTC), force=True,
                    )  # fmt: skip
                wall = time.perf_counter() - started
                assert pack is not None
                results.append(
                    {
                        "round": n + 1,
                        "size": size,
                        "wall_s": wall,
                        "cpu_s": _cpu() - cpu_before,
                        "rss_before_mib": rss_before,
                        "peak_added_mib": _peak_rss_mib() - rss_before,
                        "brochures": pack.brochures,
                        "left_out": pack.left_out,
                        "bytes": pack.size,
                        "version": pack.version,
                    }
                )
                print(
                    f"  round {n + 1} {size:<6}: {wall:6.2f} s, {pack.brochures} brochures,"
                    f" {pack.size / 1e6:7.1f} MB",
                    flush=True,
                )
        # The worker's job for every RM: one build per distinct catalogue, the rest shared.
        ctx = {
            "settings": _Settings(signer_keys),
            "pool": pool,
            "blobs": store,
            "media_pack_run_seconds": 3600,
        }
        started = time.perf_counter()
        made = await jobs.build_media_packs(ctx)
        job = {"packs": made, "wall_s": time.perf_counter() - started}
        async with pool.acquire() as conn:
            job["files"] = await conn.fetchval(
                "select count(distinct blob_key) from offline_packages where kind = 'media'"
            )
        print(f"  job for every RM: {made} packs, {job['files']} files, {job['wall_s']:.1f} s")
        # Nothing changed since: what each 30-second run of the worker costs.
        stale: dict[str, Any] = {"job": job}
        async with pool.acquire() as conn:
            rms = await conn.fetchval("select count(*) from users where role = 'rm' and active")
            for size in media.SIZES:
                started = time.perf_counter()
                owners = await media.stale_owners(
                    conn, size=size, now=datetime.now(UTC), limit=1_000_000
                )
                stale[size] = {
                    "rms": rms,
                    "stale": len(owners),
                    "seconds": time.perf_counter() - started,
                }
    finally:
        await pool.close()
    return results, stale


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_name = f"wbbench_{secrets.token_hex(4)}"
    embedded = None
    if args.database_url:
        admin_url = args.database_url
    else:
        embedded = EmbeddedPostgres(workdir / "pg")
        admin_url = await asyncio.to_thread(embedded.start)
    await _admin_sql(admin_url, f'create database "{db_name}"')
    database_url = with_database(admin_url, db_name)
    store = LocalBlobStore(workdir / "blobs")
    try:
        await migrate.migrate(database_url)
        print(f"generating users (fraction {args.fraction}) and brochures ...", flush=True)
        conn = await asyncpg.connect(database_url, server_settings={"synchronous_commit": "off"})
        try:
            await generate.generate(conn, fraction=args.fraction)
            await generate_brochures(conn, live=args.live, other=args.other)
            await conn.execute(
                "update brochures set owner_unit_id = (select id from org_units where depth = 0)"
            )
            print("writing renditions to the blob store ...", flush=True)
            renditions = await _fill_store(conn, store)
            await conn.execute("analyze")
        finally:
            await conn.close()
        print("building rm000001's packs ...", flush=True)
        builds, stale = await _measure(database_url, store, args.rounds)
        return {
            "benchmark": "media_pack",
            "config": vars(args),
            "cpus": os.cpu_count(),
            "renditions": renditions,
            "builds": builds,
            "stale_check": stale,
        }
    finally:
        await _admin_sql(admin_url, f'drop database if exists "{db_name}" with (force)')
        if embedded is not None:
            embedded.stop()


def _print(result: dict[str, Any]) -> None:
    print(f"\nrenditions in the store: {result['renditions']}")
    print("round size    brochures  files MB   wall s   cpu s   rss before  peak added (MiB)")
    for b in result["builds"]:
        print(
            f"{b['round']:>5} {b['size']:<7} {b['brochures']:>9} {b['bytes'] / 1e6:>8.1f}"
            f" {b['wall_s']:>8.2f} {b['cpu_s']:>7.2f} {b['rss_before_mib']:>12.0f}"
            f" {b['peak_added_mib']:>17.0f}"
        )
    job = result["stale_check"].pop("job")
    print(
        f"worker job for every RM (both sizes): {job['packs']} packs recorded,"
        f" {job['files']} files built, {job['wall_s']:.1f} s"
    )
    for size, s in result["stale_check"].items():
        print(
            f"stale check ({size}): {s['rms']} RMs, {s['stale']} without an up-to-date pack,"
            f" {s['seconds'] * 1000:.0f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.media_pack", description=__doc__)
    parser.add_argument("--live", type=int, default=200, help="live brochures")
    parser.add_argument("--other", type=int, default=200, help="brochures in other states")
    parser.add_argument("--fraction", type=float, default=0.01, help="of the scale model's users")
    parser.add_argument("--rounds", type=int, default=2, help="builds of each size")
    parser.add_argument("--database-url", help="PostgreSQL server for a fresh database")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="wbbench-media-pack-") as tmp:
        result = asyncio.run(_run(args, Path(tmp)))
    _print(result)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"media_pack-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
