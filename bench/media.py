"""Brochure renditions: the worker job on a brochure of 12-megapixel photos.

    python -m bench.media [--pages 10] [--megapixels 12] [--workers 1] [--rounds 1]
                          [--database-url URL]

Sets up a fresh database `wbbench_<random>` (on --database-url's server, else embedded
PostgreSQL) and a local blob store in a temporary folder. Makes --pages distinct photo-like JPEGs
of --megapixels each (4:3, quality 90, ~3.8 MB at 12 MP), uploads them through the
product's `store_source_image` (ingestion, the source blob, the rows), then runs the product's
worker job `build_renditions` in --workers separate processes started together (each with its
own pool and store, as `workbench worker` processes would), and waits until every rendition is
ready. --rounds repeats the job part on fresh renditions of the same sources.

Measured:
  upload  per page: ingestion (decode, orientation, sRGB, re-encode) + storing + recording, s
  job     wall time from the start of the worker processes' jobs to the last one's end; per
          process its wall time, CPU seconds (user + system, all threads), renditions built,
          and peak memory: the process's peak resident set (VmHWM) before the job (imports,
          pool: the baseline) and after it; the difference is what the job added
  output  bytes per spec, summed over the pages

Figures are printed and written to bench/results/media-<timestamp>.json. Nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from PIL import Image, ImageDraw, ImageFilter

from bench.identity import RESULTS_DIR, _admin_sql, with_database
from workbench import migrate
from workbench.embedded import EmbeddedPostgres


def make_photo(width: int, height: int, seed: int) -> bytes:
    """A photo-like JPEG: colour gradients, soft shapes and colour grain, about as large as a
    phone camera's (~3.8 MB at 12 MP): flat colour would compress far better than a photo,
    pure noise far worse."""
    rng = random.Random(seed)
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize((width, height))
            for _ in range(3)
        ],
    )
    draw = ImageDraw.Draw(base)
    for _ in range(200):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 80, width // 8)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    base = base.filter(ImageFilter.GaussianBlur(1.5))
    grain = Image.merge("RGB", [Image.effect_noise((width, height), 50) for _ in range(3)])
    out = io.BytesIO()
    Image.blend(base, grain, 0.2).save(out, "JPEG", quality=90)
    return out.getvalue()


async def _upload(database_url: str, blob_dir: Path, pages: list[bytes]) -> list[dict[str, Any]]:
    from workbench.media.images import ImageLimits
    from workbench.media.service import store_source_image
    from workbench.media.store import LocalBlobStore

    store = LocalBlobStore(blob_dir)
    conn = await asyncpg.connect(database_url)
    timings = []
    try:
        for raw in pages:
            started = time.perf_counter()
            async with conn.transaction():
                image = await store_source_image(
                    conn, store, raw, limits=ImageLimits(), uploaded_by=None
                )
            timings.append(
                {
                    "seconds": time.perf_counter() - started,
                    "upload_bytes": len(raw),
                    "source_bytes": len(image.data),
                    "size": [image.width, image.height],
                }
            )
    finally:
        await conn.close()
    return timings


def _peak_rss_mib() -> float:
    """This process's peak resident memory so far. VmHWM, not ru_maxrss: Linux carries the
    parent's maximum over fork and exec into ru_maxrss, and the parent holds the photos."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere (KiB on Linux)


async def _child(database_url: str, blob_dir: str, go_at: float) -> dict[str, Any]:
    """One worker process: the product's job with its own pool and store."""
    from workbench.db import create_pool
    from workbench.media.jobs import build_renditions
    from workbench.media.store import LocalBlobStore

    pool = await create_pool(database_url, max_size=3)
    ctx: dict[str, Any] = {"pool": pool, "blobs": LocalBlobStore(blob_dir)}
    baseline = _peak_rss_mib()
    await asyncio.sleep(max(go_at - time.time(), 0))
    cpu0, wall0, started_at = time.process_time(), time.perf_counter(), time.time()
    built = await build_renditions({**ctx, "media_run_seconds": 3600})
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await pool.close()
    return {
        "built": built,
        "wall_s": wall,
        "cpu_s": cpu,
        "started_at": started_at,
        "ended_at": started_at + wall,
        "maxrss_before_mib": baseline,
        "maxrss_after_mib": _peak_rss_mib(),
    }


async def _reset_renditions(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update brochure_renditions set status = 'pending', blob_key = null, width = null,"
            " height = null, byte_size = null, error = null, attempts = 0, claimed_until = null"
        )
    finally:
        await conn.close()


async def _outcome(database_url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "select spec, status, count(*) as n, sum(byte_size) as bytes,"
            " min(width) as w, min(height) as h"
            " from brochure_renditions group by spec, status order by spec"
        )
    finally:
        await conn.close()
    return {
        f"{r['spec']} {r['status']}": {
            "count": r["n"],
            "bytes": int(r["bytes"] or 0),
            "size": [r["w"], r["h"]],
        }
        for r in rows
    }


def _run_job(database_url: str, blob_dir: Path, workers: int) -> dict[str, Any]:
    go_at = time.time() + 3  # each process connects first; the jobs start together
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.media",
                "--child",
                database_url,
                str(blob_dir),
                str(go_at),
            ],
            stdout=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise RuntimeError(f"a worker process failed with {process.returncode}")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    wall = max(r["ended_at"] for r in results) - min(r["started_at"] for r in results)
    return {"wall_s": wall, "processes": results}


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_name = f"wbbench_{secrets.token_hex(4)}"
    load_before = os.getloadavg()
    embedded = None
    if args.database_url:
        admin_url = args.database_url
    else:
        embedded = EmbeddedPostgres(workdir / "pg")
        admin_url = await asyncio.to_thread(embedded.start)
    await _admin_sql(admin_url, f'create database "{db_name}"')
    database_url = with_database(admin_url, db_name)
    try:
        await migrate.migrate(database_url)
        width = round((args.megapixels * 1e6 * 4 / 3) ** 0.5)
        height = round(width * 3 / 4)
        print(f"making {args.pages} photos of {width}x{height} ...", flush=True)
        pages = [make_photo(width, height, seed) for seed in range(args.pages)]
        print("uploading ...", flush=True)
        uploads = await _upload(database_url, workdir / "blobs", pages)
        rounds = []
        for n in range(args.rounds):
            if n:
                await _reset_renditions(database_url)
            print(f"round {n + 1}: the job in {args.workers} process(es) ...", flush=True)
            job = await asyncio.to_thread(_run_job, database_url, workdir / "blobs", args.workers)
            job["renditions"] = await _outcome(database_url)
            rounds.append(job)
        return {
            "benchmark": "media",
            "config": vars(args),
            "photo": {"width": width, "height": height, "cpus": os.cpu_count()},
            "load_before": load_before,
            "uploads": uploads,
            "rounds": rounds,
        }
    finally:
        await _admin_sql(admin_url, f'drop database if exists "{db_name}" with (force)')
        if embedded is not None:
            embedded.stop()


def _print(result: dict[str, Any]) -> None:
    photo = result["photo"]
    uploads = result["uploads"]
    mb = sum(u["upload_bytes"] for u in uploads) / len(uploads) / 1e6
    per_page = sorted(u["seconds"] for u in uploads)
    print(
        f"\n{len(uploads)} pages of {photo['width']}x{photo['height']} (~{mb:.1f} MB JPEG each)"
        f", load average before: {result['load_before'][0]:.2f} on {photo['cpus']} CPUs"
    )
    print(
        f"upload (ingest + store + record) per page: median {per_page[len(per_page) // 2]:.2f} s"
        f", max {per_page[-1]:.2f} s"
    )
    for n, job in enumerate(result["rounds"], 1):
        built = sum(p["built"] for p in job["processes"])
        print(f"round {n}: {built} renditions in {job['wall_s']:.2f} s wall")
        print("  process   built   wall s   cpu s   maxrss before   after   added (MiB)")
        for i, p in enumerate(job["processes"], 1):
            added = p["maxrss_after_mib"] - p["maxrss_before_mib"]
            print(
                f"  {i:>7} {p['built']:>7} {p['wall_s']:>8.2f} {p['cpu_s']:>7.2f}"
                f" {p['maxrss_before_mib']:>15.0f} {p['maxrss_after_mib']:>7.0f}"
                f" {added:>13.0f}"
            )
        for spec, o in job["renditions"].items():
            print(
                f"  {spec:<28} {o['count']:>3} x {o['size'][0]}x{o['size'][1]}"
                f"  {o['bytes'] / o['count'] / 1e3:>7.0f} kB avg"
            )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        database_url, blob_dir, go_at = argv[1], argv[2], float(argv[3])
        print(json.dumps(asyncio.run(_child(database_url, blob_dir, go_at))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=1, help="worker processes running the job")
    parser.add_argument("--rounds", type=int, default=1, help="job runs on the same sources")
    parser.add_argument("--database-url", help="PostgreSQL server for a fresh database")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wbbench-media-") as tmp:
        result = asyncio.run(_run(args, Path(tmp)))
    _print(result)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"media-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
