"""A monthly report's build holds a short lease that its worker renews while it builds (a
heartbeat): a report whose worker died (kill -9 while `building`) is built again by the next run
within a minute or two, not after 15 minutes of 生成中; a live build is never taken, however
long its layout takes, and is built once with one 已生成 notification; a build whose claim was
taken over stops and records nothing. Overlapping runs of one worker process (each with its own
copy of the worker's ctx, as arq runs them) lay out one report at a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.tasks_data import unit
from tests.workbench.dashboard.dash_data import BH_EAST, BH_WEST, TZ
from workbench.db import Pool, create_pool
from workbench.media.store import LocalBlobStore
from workbench.reports import builder, jobs, service
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

QUICK = {"lease_seconds": 2.0, "heartbeat_seconds": 0.25}  # the lease of a test, in seconds


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


async def _quick_pdf(data: builder.ReportData) -> builder.Pdf:
    """A stand-in for the layout (its numbers are still read)."""
    return builder.Pdf(data=f"%PDF-1.7 {data.unit_name}".encode(), pages=1)


def _builder(settings: Any, pool: Pool, blobs: Path, **overrides: Any) -> service.Builder:
    fields: dict[str, Any] = {"render": _quick_pdf, **overrides}
    return service.Builder(
        pool=pool, blobs=LocalBlobStore(blobs),
        vault=Vault.from_settings(settings.data_keys, settings.blind_index_key), tz=TZ,
        bank_name="演示银行", **fields,
    )  # fmt: skip


async def _requested(pool: Pool, caller: Any = BH_EAST) -> uuid.UUID:
    """A branch head (bh.east) asks for last month's report of their branch."""
    month = builder.previous_month(service.bank_today(TZ, datetime.now(UTC)))
    async with pool.acquire() as conn, conn.transaction():
        row = await service.request_build(
            conn, caller=caller, unit_id=caller.org_unit_id, month=month
        )
    report_id: uuid.UUID = row["id"]
    return report_id


async def _told(db: Any) -> list[uuid.UUID]:
    rows = await db.fetch(
        "select user_id from notifications where category = 'report.ready' order by user_id"
    )
    return [r["user_id"] for r in rows]


async def _heads(db: Any) -> list[uuid.UUID]:
    rows = await db.fetch(
        "select id from users where org_unit_id = $1 and role = 'branch_head' and active"
        " order by id",
        unit("branch-east"),
    )
    return [r["id"] for r in rows]


async def test_a_report_whose_worker_died_is_built_by_the_next_run_within_minutes(
    db: Any, settings: Any, pool: Pool, tmp_path: Path
) -> None:
    report_id = await _requested(pool)
    # Its worker claimed it and was killed (kill -9) two minutes ago: nobody renews the lease.
    await db.execute(
        "update monthly_reports set state = 'building', claim_id = $2, attempts = 1,"
        " claimed_at = now() - interval '2 minutes' where id = $1",
        report_id, uuid.uuid4(),
    )  # fmt: skip
    ctx = {"settings": settings, "pool": pool, "blobs": LocalBlobStore(tmp_path),
           "report_builder": _builder(settings, pool, tmp_path)}  # fmt: skip

    assert await jobs.build_monthly_reports(ctx) == 1  # the build job of the next minute

    row = await db.fetchrow("select * from monthly_reports where id = $1", report_id)
    assert (row["state"], row["attempts"], row["builds"]) == ("ready", 2, 1)
    stored = b"".join([c async for c in LocalBlobStore(tmp_path).read(row["blob_key"])])
    assert stored.startswith(b"%PDF")
    assert await _told(db) == await _heads(db)  # 已生成, once per head


async def test_a_live_build_is_not_taken_however_long_it_lays_out(
    db: Any, settings: Any, pool: Pool, tmp_path: Path
) -> None:
    report_id = await _requested(pool)
    laying_out, go_on = asyncio.Event(), asyncio.Event()

    async def slow_pdf(data: builder.ReportData) -> builder.Pdf:
        laying_out.set()
        await go_on.wait()
        return await _quick_pdf(data)

    first = asyncio.create_task(
        service.build_next(_builder(settings, pool, tmp_path, render=slow_pdf, **QUICK))
    )
    try:
        await asyncio.wait_for(laying_out.wait(), timeout=30)
        await asyncio.sleep(2 * QUICK["lease_seconds"])  # its first claim is long past its lease
        other = _builder(settings, pool, tmp_path, **QUICK)  # another worker, its runs
        assert await service.build_next(other) is None
        assert await service.build_next(other, wanted=report_id) is None
        renewed = await db.fetchval(
            "select extract(epoch from now() - claimed_at) from monthly_reports where id = $1",
            report_id,
        )
        assert renewed < QUICK["lease_seconds"]
    finally:
        go_on.set()
        built = await first

    assert built is not None
    assert built.state == "ready"
    row = await db.fetchrow("select * from monthly_reports where id = $1", report_id)
    assert (row["state"], row["attempts"], row["builds"]) == ("ready", 1, 1)
    assert await _told(db) == await _heads(db)


async def test_a_build_whose_claim_was_taken_over_stops_and_records_nothing(
    db: Any, settings: Any, pool: Pool, tmp_path: Path
) -> None:
    report_id = await _requested(pool)
    laying_out, never = asyncio.Event(), asyncio.Event()

    async def stuck_pdf(data: builder.ReportData) -> builder.Pdf:
        laying_out.set()
        await never.wait()
        raise AssertionError("not reached")

    first = asyncio.create_task(
        service.build_next(_builder(settings, pool, tmp_path, render=stuck_pdf, **QUICK))
    )
    await asyncio.wait_for(laying_out.wait(), timeout=30)
    # Its renewals failed past the lease (a partition) and another worker took the report over.
    taken_over = uuid.uuid4()
    await db.execute(
        "update monthly_reports set claim_id = $2 where id = $1", report_id, taken_over
    )

    built = await asyncio.wait_for(first, timeout=10)  # it stops at its next heartbeat

    assert built is not None
    assert built.state == "superseded"
    row = await db.fetchrow("select * from monthly_reports where id = $1", report_id)
    assert (row["state"], row["claim_id"], row["blob_key"]) == ("building", taken_over, None)
    assert await _told(db) == []
    assert not await asyncio.to_thread(lambda: list(tmp_path.rglob("*.pdf")))


async def test_overlapping_runs_of_one_worker_lay_out_one_report_at_a_time(
    db: Any, settings: Any, pool: Pool, tmp_path: Path
) -> None:
    await _requested(pool, BH_EAST)
    await _requested(pool, BH_WEST)
    laying_out, most = 0, 0

    async def counted_pdf(data: builder.ReportData) -> builder.Pdf:
        nonlocal laying_out, most
        laying_out += 1
        most = max(most, laying_out)
        await asyncio.sleep(0.3)
        laying_out -= 1
        return await _quick_pdf(data)

    worker = {"settings": settings, "pool": pool, "blobs": LocalBlobStore(tmp_path),
              "report_builder": _builder(settings, pool, tmp_path, render=counted_pdf)}  # fmt: skip
    built = await asyncio.gather(  # the minute's run beside a request's, each its ctx copy
        jobs.build_monthly_reports({**worker, "job_id": "cron"}),
        jobs.build_monthly_reports({**worker, "job_id": "wake"}),
    )

    assert sum(built) == 2
    assert most == 1  # one layout at a time in a worker process
    states = await db.fetch("select state from monthly_reports")
    assert [r["state"] for r in states] == ["ready", "ready"]
