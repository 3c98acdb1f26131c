"""The monthly branch report, end to end in the worker, from the demo bank.

One module-scoped setup seeds the whole demo bank once (tasks, shares, surveys, work orders),
with its tasks moved into last month, then does what the worker and a branch head do: the
schedule runs twice at once on two "workers" (one report per branch and month, each built
once), and the East Branch head asks for last month's report again (the new file replaces the
old one). Building a PDF takes a second or two, so the tests below read what that setup kept
instead of building their own.
The first page of the report is saved as PNG under tests/artifacts/console/ for a person.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import re
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from PIL import Image, ImageFile

from tests.conftest import Servers, _empty, make_settings
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import BH_EAST, BH_WEST
from tests.workbench.workorders.wo_setup import restore_root_causes
from workbench.brochures import artwork
from workbench.brochures.demo import seed_demo_brochures_from_settings
from workbench.dashboard import numbers
from workbench.db import create_pool, use_json_codecs
from workbench.media.store import LocalBlobStore
from workbench.reports import builder, jobs, service
from workbench.security.passwords import Passwords
from workbench.security.vault import Vault
from workbench.seed import (
    USERS,
    demo_customer_rows,
    seed_demo_bank,
    seed_demo_customers,
    seed_demo_tasks,
)
from workbench.settings import Settings
from workbench.shares.demo import seed_demo_shares_from_settings
from workbench.surveys.demo import seed_demo_surveys_from_settings
from workbench.workorders.demo import seed_demo_work_orders_from_settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"


@dataclass
class Run:
    settings: Settings
    blob_dir: Path
    month: date  # last bank month: the one the schedule builds
    rows_after_schedule: list[dict[str, Any]]
    queued_by_schedule: list[int]
    build_jobs: list[tuple[str, str]]
    built_by_workers: list[int]
    pdf: bytes
    failed: dict[str, Any]  # a report whose layout raised
    failed_tries: list[int]
    first: dict[str, Any]  # East Branch's report after its first build
    rebuilt: dict[str, Any]  # the same after the rebuild
    rm_rows: list[numbers.RmRow]
    notifications: list[dict[str, Any]]
    build_seconds: list[float]


def _small_pages(sheet: artwork.Sheet, *, count: int = 3) -> list[bytes]:
    """Brochure pages as tiny JPEGs: the demo's artwork takes seconds to draw."""
    out = io.BytesIO()
    Image.new("RGB", (60, 80), (20 * sheet.palette % 255, 90, 160)).save(out, "JPEG")
    return [out.getvalue()]


async def _clean(url: str) -> None:
    """Empty every table as the per-test fixture does (these tests keep one state for all)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "select tablename from pg_tables where schemaname = 'public'"
                " and tablename <> 'schema_migrations'"
            )
        ]
        await _empty(conn, tables)
    finally:
        await conn.close()


async def _seed(settings: Settings, month_start: datetime) -> None:
    conn = await asyncpg.connect(settings.database_url)
    await use_json_codecs(conn)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    passwords = Passwords(memory_kib=1024, iterations=1)
    pages, artwork.pages = artwork.pages, _small_pages  # type: ignore[assignment]
    try:
        await restore_root_causes(conn)
        async with conn.transaction():
            await seed_demo_bank(conn, passwords=passwords)
            await seed_demo_customers(conn, vault=vault)
            await seed_demo_tasks(conn, tz=settings.bank_timezone)
            await seed_demo_brochures_from_settings(conn, settings)
            await seed_demo_shares_from_settings(conn, settings)
            await seed_demo_surveys_from_settings(conn, settings)
            await seed_demo_work_orders_from_settings(conn, settings)
        # The demo's tasks are dispatched today: put them in last month (the report's), some
        # done, some overdue (the rollup's triggers follow).
        await conn.execute(
            """with t as (select id, row_number() over (order by id) as n from tasks)
               update tasks k
                  set created_at = $1::timestamptz + make_interval(hours => (t.n * 7 % 500)::int),
                      status = case when t.n % 3 <> 0 then 'done' else k.status end,
                      done_at = case when t.n % 3 <> 0
                                     then $1 + make_interval(hours => (t.n * 7 % 500)::int + 20)
                                end,
                      due_at = case when t.n % 3 = 0 and t.n % 2 = 0
                                    then $1 + make_interval(hours => (t.n * 7 % 500)::int + 48)
                                    else k.due_at end
                 from t where t.id = k.id""",
            month_start,
        )
    finally:
        artwork.pages = pages  # type: ignore[assignment]
        await conn.close()


class Queue:
    """The arq queue a worker's ctx has, as far as the schedule uses it."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, str]] = []

    async def enqueue_job(self, name: str, *args: Any, _job_id: str) -> None:
        self.jobs.append((name, _job_id))


def _ctx(settings: Settings, pool: Any, blobs: Any) -> dict[str, Any]:
    return {"settings": settings, "pool": pool, "blobs": blobs, "redis": Queue()}


async def _broken_pdf(data: builder.ReportData) -> builder.Pdf:
    raise RuntimeError("the layout broke")


async def _quick_pdf(data: builder.ReportData) -> builder.Pdf:
    """A stand-in for the layout (a second or two per report): the numbers are still read."""
    assert data.rms
    return builder.Pdf(data=f"%PDF-1.7 {data.unit_name}".encode(), pages=1)


async def _row(pool: Any, report_id: Any) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("select * from monthly_reports where id = $1", report_id)
    return dict(row)


@pytest.fixture(scope="module")
async def run(migrated: Servers) -> Run:
    blob_dir = Path(tempfile.mkdtemp(prefix="reports-"))
    settings = make_settings(migrated, blob_dir=str(blob_dir))
    tz = settings.bank_timezone
    now = datetime.now(UTC)
    month = builder.previous_month(service.bank_today(tz, now))
    month_start = builder.month_end(builder.previous_month(month), tz)
    await _clean(settings.database_url)
    await _seed(settings, month_start)
    pools = [await create_pool(settings.database_url, max_size=4) for _ in range(2)]
    stores = [LocalBlobStore(blob_dir) for _ in range(2)]
    ctxs = [_ctx(settings, p, s) for p, s in zip(pools, stores, strict=True)]
    for ctx in ctxs:  # the schedule's builds without the layout; the rebuild lays out for real
        ctx["report_builder"] = replace(service.Builder.from_ctx(ctx), render=_quick_pdf)
    try:
        # The schedule on two workers at once, twice: each branch's last month queued once,
        # build jobs queued for them, and each built once by the two workers' runs.
        started = time.perf_counter()
        queued = list(await asyncio.gather(*(jobs.queue_monthly_reports(c) for c in ctxs)))
        seconds = [time.perf_counter() - started]
        queued += await asyncio.gather(*(jobs.queue_monthly_reports(c) for c in ctxs))
        build_jobs = [job for c in ctxs for job in c["redis"].jobs]
        built = list(await asyncio.gather(*(jobs.build_monthly_reports(c) for c in ctxs)))
        async with pools[0].acquire() as conn:
            scheduled = [dict(r) for r in await conn.fetch("select * from monthly_reports")]
        first = next(r for r in scheduled if r["org_unit_id"] == unit("branch-east"))

        # A build that fails is marked so with its reason, and not taken again by itself.
        async with pools[0].acquire() as conn, conn.transaction():
            broken = await service.request_build(
                conn, caller=BH_WEST, unit_id=unit("branch-west"), month=month.replace(month=1)
            )
        ctxs[0]["report_builder"] = replace(ctxs[0]["report_builder"], render=_broken_pdf)
        tries = [await jobs.build_monthly_reports(ctxs[0]) for _ in range(2)]
        failed = await _row(pools[0], broken["id"])
        # What the East Branch head's dashboard shows for that month.
        async with pools[0].acquire() as conn, conn.transaction(isolation="repeatable_read"):
            v = await numbers.view(
                conn, caller=BH_EAST, org_unit_id=None, from_=month.isoformat(),
                to=(builder.next_month(month) - timedelta(days=1)).isoformat(), tz=tz, now=now,
            )  # fmt: skip
            rm_rows = await numbers.rm_progress(conn, v)

        # The branch head asks for it again: the new file replaces the old, the row stays one.
        async with pools[1].acquire() as conn, conn.transaction():
            await service.request_rebuild(conn, caller=BH_EAST, report_id=first["id"])
        del ctxs[1]["report_builder"]
        started = time.perf_counter()
        assert await jobs.build_monthly_reports(ctxs[1], str(first["id"])) == 1
        seconds.append(time.perf_counter() - started)
        rebuilt = await _row(pools[0], first["id"])
        pdf = (blob_dir / rebuilt["blob_key"]).read_bytes()
        async with pools[0].acquire() as conn:
            told = [
                dict(r)
                for r in await conn.fetch(
                    "select user_id, category, title, body, data from notifications"
                    " where category = 'report.ready' order by created_at"
                )
            ]
    finally:
        for pool in pools:
            await pool.close()
    return Run(
        settings=settings, blob_dir=blob_dir, month=month, rows_after_schedule=scheduled,
        failed=failed, failed_tries=tries, queued_by_schedule=queued, build_jobs=build_jobs,
        built_by_workers=built, pdf=pdf, first=first, rebuilt=rebuilt, rm_rows=rm_rows,
        notifications=told, build_seconds=seconds,
    )  # fmt: skip


def _text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_the_schedule_twice_on_two_workers_makes_one_report_per_branch(run: Run) -> None:
    rows = run.rows_after_schedule
    assert sorted(r["org_unit_id"] for r in rows) == sorted(
        [unit("branch-east"), unit("branch-west")]
    )
    assert {r["month"] for r in rows} == {run.month}
    assert sum(run.queued_by_schedule) == 2
    assert {(r["state"], r["builds"]) for r in rows} == {("ready", 1)}
    assert [name for name, _ in run.build_jobs] == [jobs.BUILD_JOB] * 2
    assert sum(run.built_by_workers) == 2
    west = next(r for r in rows if r["org_unit_id"] == unit("branch-west"))
    assert (
        run.blob_dir / west["blob_key"]
    ).read_bytes() == "%PDF-1.7 西城支行 West Branch".encode()


def test_a_failed_build_says_why_and_is_not_retried_by_itself(run: Run) -> None:
    assert run.failed["state"] == "failed"
    assert run.failed["error"] == "生成失败（RuntimeError），请联系管理员后重新生成"
    assert run.failed["blob_key"] is None
    assert run.failed_tries == [1, 0]


def test_the_report_shows_the_branch_month_and_the_dashboards_numbers(run: Run) -> None:
    text = _text(run.pdf)
    assert "东城支行 East Branch" in text
    assert f"《{run.month.year}年{run.month.month}月经营月报》" in text
    assert "西城" not in text  # nothing of the other branch
    busy = [r for r in run.rm_rows if r.assigned]
    assert busy, "the demo bank assigns tasks to East Branch's RMs this month"
    lines = text.splitlines()
    for r in busy:
        row = next(line for line in lines if line.startswith(f"{r.rank} {r.name} "))
        assert f" {r.assigned} {r.done} {r.rate_text} {r.overdue} " in row + " "  # the page's
    assert run.rebuilt["pages"] == len(pdfium.PdfDocument(run.pdf)) >= 2
    assert run.rebuilt["size_bytes"] == len(run.pdf)


def test_the_chinese_font_is_embedded_and_customers_are_masked(run: Run) -> None:
    doc = pdfium.PdfDocument(run.pdf)
    fonts, names = set(), set()
    for obj in doc[0].get_objects(max_depth=4):
        if obj.type == pdfium_raw.FPDF_PAGEOBJ_TEXT:
            font = pdfium_raw.FPDFTextObj_GetFont(obj.raw)
            fonts.add(bool(pdfium_raw.FPDFFont_GetIsEmbedded(font)))
            names.add(_base_font_name(font))
    assert fonts == {True}
    # The package's own font (its @font-face, "Report Sans", and the bold drawn from it), not
    # one the machine happens to have; a subset's name is "ABCDEF+...".
    assert {name.partition("+")[2] for name in names} <= {"Report-Sans", "Report-Sans-Bold"}, names
    text = _text(run.pdf)
    staff = {u.name for u in USERS}
    names = {r.name for r in demo_customer_rows() if not any(r.name in s for s in staff)}
    assert not [n for n in names if n in text]
    # nor masked (谢*娥): a printed report leaves the system, so it names no customer at all
    assert not re.search(r"[\u4e00-\u9fff]\*", text)
    assert "工单" in text
    # Laying out a PDF leaves the process's image checks as they were (WeasyPrint's import turns
    # on Pillow's LOAD_TRUNCATED_IMAGES): half a JPEG is still no image for a photo or brochure.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    # The first page, for a person to look at.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    doc[0].render(scale=1.4).to_pil().save(ARTIFACTS / "monthly-report-page-1.png")


def test_a_rebuild_replaces_the_file_and_tells_the_branch_head(run: Run) -> None:
    first, again = run.first, run.rebuilt
    assert again["id"] == first["id"]
    assert again["state"] == "ready"
    assert again["builds"] == first["builds"] + 1 == 2
    assert again["blob_key"] != first["blob_key"]
    assert not (run.blob_dir / first["blob_key"]).exists()
    assert (run.blob_dir / again["blob_key"]).read_bytes()[:5] == b"%PDF-"
    title = f"《{run.month.year}年{run.month.month}月经营月报》已生成"
    east = [n for n in run.notifications if n["user_id"] == user("bh.east")]
    assert [n["title"] for n in east].count(title) == 2
    assert all(
        n["user_id"] != BH_WEST.user_id or "东城" not in n["body"] for n in run.notifications
    )
    print(
        f"\nmonthly reports: the schedule for 2 branches without layout"
        f" {run.build_seconds[0]:.2f} s, one real build {run.build_seconds[1]:.2f} s"
    )


def _base_font_name(font: Any) -> str:
    size = pdfium_raw.FPDFFont_GetBaseFontName(font, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_raw.FPDFFont_GetBaseFontName(font, buffer, size)
    return buffer.value.decode()


def test_the_low_scores_short_columns_keep_to_one_line(run: Run) -> None:
    """The RM, the work order ("已开") and their headers were one character per line."""
    lines = _text(run.pdf).splitlines()
    header = next(line for line in lines if line.startswith("时间 问卷 题目"))
    assert header.endswith("分数 客户 客户经理 工单"), header
    assert not {"理", "工", "单", "已", "开"} & set(lines)  # no cell broken to single characters
    opened = [line for line in lines if line.endswith(" 已开")]
    assert opened, "the demo bank opens work orders for its low scores"
    answered = [line for line in lines if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d ", line)]
    assert len(answered) >= len(opened)  # each row's time on one line too
    # The funnel's steps, in the per-RM table too, say what the dashboard says.
    assert "客户经理 分享 打开 停留 ≥ 10 秒 点击 转化" in lines
