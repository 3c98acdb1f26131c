"""Exports of console tables: small ones download at once (CSV with a BOM, XLSX), large ones are
built by the worker with progress, split into sheets at the row limit, for their requester only,
within a branch head's subtree; a worker killed halfway is replaced and the file is the same."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from tests.console.conftest import ORIGIN, make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.workbench.dashboard.dash_data import BH_EAST, arrange, dispatch_tasks, tasks_of
from workbench.dashboard import console as dashboard_console
from workbench.dashboard import numbers
from workbench.dashboard.tables import rm_progress_row
from workbench.db import Pool, create_pool
from workbench.exports import jobs, service, tables, writers
from workbench.exports.tables import Column, ExportRequest, Table
from workbench.ids import uuid5_for
from workbench.media.store import LocalBlobStore
from workbench.reports import builder

pytestmark = pytest.mark.usefixtures("demo_bank")

NEW = "/console/exports/new"
HEADER = ["序号", "客户", "备注", "日期", "时间", "金额", "空"]
MAIN = "https://sheets/main"


_START_FORM = re.compile(
    r'<form method="post" action="/console/exports/new"[^>]*>(.*?)</form>', re.S
)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"\s*/?>')


async def start(console: Any, query: str) -> Any:
    """Ask for a large export as the dashboard's link does (a confirmation page, nothing queued),
    then press its 开始导出 (a POST with the page's CSRF and one-time tokens): the answer."""
    asked = await console.get(f"{NEW}?{query}")
    assert asked.status_code == 200, asked.text
    assert "开始导出" in asked.text
    form = _START_FORM.search(asked.text)
    assert form is not None, asked.text
    fields = dict(_HIDDEN.findall(form.group(1)))
    return await console.post(NEW, data=fields, headers={"Origin": ORIGIN})


def unit(key: str) -> uuid.UUID:
    return uuid5_for(f"org:{key}")


def cells(i: int) -> tuple[Any, ...]:
    """Row `i` of the test tables: numbers, Chinese, formula-like text, a day, a UTC time."""
    note = ("=SUM(A1:A2)", "+86 138", "-5", "@cmd", "普通")[i % 5]
    when = datetime(2026, 11, 1, 16, 30, tzinfo=UTC) + timedelta(minutes=i)
    day = date(2026, 11, 1) + timedelta(days=i % 30)
    return (i, f"客户{i:05d}", note, day, when, i * 12.5, None)


def expected_text(i: int) -> list[str]:
    """Row `i` as the CSV shows it: times in Asia/Shanghai, formula-like text quoted."""
    number, name, note, day, when, amount, _ = cells(i)
    shown = f"'{note}" if note[:1] in "=+-@" else note
    local = (when + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    return [str(number), name, shown, day.isoformat(), local, str(amount), ""]


class Killed(BaseException):
    """A worker process dying mid-export (nothing in it runs on)."""


class Rows:
    """The test tables' rows: `size` of them; `kill_at` kills the first run there; `watch` sees
    the export's progress while rows are read."""

    def __init__(self) -> None:
        self.size = 10
        self.kill_at: int | None = None
        self.views: list[uuid.UUID] = []
        self.watch: Any = None
        self.seen_progress: list[int] = []

    async def count(self, conn: Any, vault: Any, request: ExportRequest) -> int:
        return self.size

    async def rows(
        self, conn: Any, vault: Any, request: ExportRequest
    ) -> AsyncIterator[tuple[Any, ...]]:
        self.views.append(request.view.org_unit_id)
        for i in range(self.size):
            if self.kill_at is not None and i == self.kill_at:
                self.kill_at = None
                raise Killed
            if self.watch is not None and i and i % 25 == 0:
                self.seen_progress.append(await self.watch())
            yield cells(i)


@pytest.fixture
def rows() -> Iterator[Rows]:
    made = Rows()
    columns = tuple(Column(f"c{n}", label) for n, label in enumerate(HEADER))
    tables.table("rm_progress")  # the real tables registered first
    tables.register(Table("test_rows", "测试表/明细", columns, made.count, made.rows))
    yield made
    tables.TABLES.pop("test_rows", None)


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[Pool]:
    made = await create_pool(settings.database_url, max_size=4)
    yield made
    await made.close()


def worker(pool: Pool, settings: Any, blob_dir: Path, **extra: Any) -> dict[str, Any]:
    return {"pool": pool, "settings": settings, "blobs": LocalBlobStore(blob_dir), **extra}


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Chinese
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_xlsx(body: bytes) -> dict[str, list[list[Any]]]:
    """Each sheet's rows (by sheet name), read from the workbook's XML: inline strings as text,
    numbers as floats, booleans as bools."""
    book = zipfile.ZipFile(io.BytesIO(body))
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))  # noqa: S314 - our own file
    names = [s.get("name") for s in workbook.iter(f"{{{_NS['m']}}}sheet")]
    sheets: dict[str, list[list[Any]]] = {}
    for n, name in enumerate(names, 1):
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{n}.xml"))  # noqa: S314
        found: list[list[Any]] = []
        for row in root.iter(f"{{{_NS['m']}}}row"):
            values: list[Any] = []
            for c in row.findall("m:c", _NS):
                column = ord(re.match(r"[A-Z]+", c.get("r", "A")).group()[0]) - ord("A")  # type: ignore[union-attr]
                values.extend([None] * (column - len(values)))
                kind = c.get("t")
                if kind == "inlineStr":
                    values.append("".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t")))
                elif kind == "b":
                    values.append(c.findtext("m:v", namespaces=_NS) == "1")
                else:
                    values.append(float(c.findtext("m:v", namespaces=_NS) or "nan"))
            found.append(values)
        sheets[str(name)] = found
    return sheets


def excel_day(value: date) -> float:
    return float((value - date(1899, 12, 30)).days)


def expected_xlsx(i: int) -> list[Any]:
    """Row `i` as the workbook holds it: formula-like text as it is (a string cell is never run,
    so an apostrophe would show in Excel), times in Asia/Shanghai."""
    number, name, note, day, when, amount, _ = cells(i)
    local = when.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8)
    serial = (local - datetime(1899, 12, 30)).total_seconds() / 86400
    return [float(number), name, note, excel_day(day), pytest.approx(serial), amount]


def number_formats(body: bytes, sheet: int = 1) -> dict[str, str]:
    """Each number cell's format code by its reference (B2: "0.0%"), from the workbook's XML."""
    book = zipfile.ZipFile(io.BytesIO(body))
    styles = ElementTree.fromstring(book.read("xl/styles.xml"))  # noqa: S314 - our own file
    codes = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{{{_NS['m']}}}numFmt")}
    xfs = styles.find("m:cellXfs", _NS)
    ids = [xf.get("numFmtId") for xf in (xfs if xfs is not None else [])]
    root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{sheet}.xml"))  # noqa: S314
    return {
        str(c.get("r")): codes.get(ids[int(c.get("s", "0"))], "General")
        for c in root.iter(f"{{{_NS['m']}}}c")
        if c.get("t") is None
    }


async def test_a_small_table_downloads_at_once_as_csv_and_xlsx_within_scope(
    make_console: Any,  # noqa: F811 (the fixture imported above)
    rows: Rows,
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    query = "table=test_rows&from=2026-11-01&to=2026-11-30"

    got = await console.get(f"{NEW}?{query}&format=csv")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "text/csv; charset=utf-8"  # one charset
    name = quote("测试表_明细-东城支行 East Branch-20261101-20261130.csv", safe="")
    assert got.headers["content-disposition"] == (
        f"attachment; filename=\"export-test_rows-20261101-20261130.csv\"; filename*=UTF-8''{name}"
    )
    lines = read_csv(got.content)
    assert lines == [HEADER, *(expected_text(i) for i in range(rows.size))]
    assert rows.views == [unit("branch-east")]  # the branch head's own unit by default

    got = await console.get(f"{NEW}?{query}&format=xlsx&unit={unit('team-east-2')}")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == writers.XLSX_TYPE
    sheets = read_xlsx(got.content)
    assert list(sheets) == ["测试表_明细"]  # "/" cannot be in a sheet name
    assert sheets["测试表_明细"][0] == HEADER
    assert sheets["测试表_明细"][1:] == [expected_xlsx(i) for i in range(rows.size)]
    assert rows.views[-1] == unit("team-east-2")

    west = await console.get(f"{NEW}?{query}&format=csv&unit={unit('branch-west')}")
    assert west.status_code == 404
    assert "页面不存在" in west.text
    not_theirs = await console.get(f"{NEW}?{query}&format=csv&rm={uuid5_for('user:rm05')}")
    assert not_theirs.status_code == 404
    unknown = await console.get(f"{NEW}?table=nope&format=csv")
    assert unknown.status_code == 404
    assert "没有这张表" in unknown.text
    bad = await console.get(f"{NEW}?table=test_rows&format=pdf")
    assert bad.status_code == 422
    assert "format=xlsx" in bad.text
    assert len(rows.views) == 2  # nothing was read for the refused requests

    console.cookies.clear()
    await signed_in(console, "marketing")
    assert (await console.get(f"{NEW}?{query}&format=csv")).status_code == 404  # not theirs


async def test_a_big_export_is_built_by_the_worker_with_progress_and_sheets(
    make_console: Any,  # noqa: F811
    rows: Rows,
    db: Any,
    settings: Any,
    pool: Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "DIRECT_LIMIT", 50)
    monkeypatch.setattr(service, "PROGRESS_ROWS", 40)
    monkeypatch.setattr(service, "BATCH_ROWS", 20)
    monkeypatch.setattr(writers, "MAX_SHEET_ROWS", 101)  # a header and 100 rows per sheet
    rows.size = 250
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    await signed_in(console, "bh.east")
    query = f"table=test_rows&format=xlsx&from=2026-11-01&to=2026-11-30&unit={unit('team-east-1')}"

    asked = await start(console, query)
    assert asked.status_code == 303
    page = asked.headers["location"]
    assert re.fullmatch(r"/console/exports/[0-9a-f-]{36}", page)
    again = await start(console, query)  # the same request joins the waiting export
    assert again.headers["location"] == page
    waiting = await console.get(page)
    assert waiting.status_code == 200
    assert "排队中" in waiting.text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in waiting.text
    assert 'data-field="rows_total">250<' in waiting.text
    status = (await console.get(f"{page}/status")).json()
    assert status == {
        "state": "queued", "state_label": "排队中", "rows_done": 0, "rows_total": 250,
        "percent": 0, "reason": None, "file_url": None,
    }  # fmt: skip
    assert (await console.get(f"{page}/file")).status_code == 404  # not built yet

    rows.watch = lambda: db.fetchval("select rows_done from exports")
    assert await jobs.build_exports(worker(pool, settings, blob_dir)) == 1
    assert rows.seen_progress == [0, 0, 40, 80, 80, 120, 120, 160, 200]  # every 40 rows
    done = await console.get(page)
    assert "已完成" in done.text
    assert "http-equiv" not in done.text
    assert f'href="{page}/file"' in done.text
    status = (await console.get(f"{page}/status")).json()
    assert (status["state"], status["rows_done"], status["percent"]) == ("done", 250, 100)

    got = await console.get(f"{page}/file")
    assert got.status_code == 200
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    sheets = read_xlsx(got.content)
    assert list(sheets) == ["测试表_明细", "测试表_明细 (2)", "测试表_明细 (3)"]
    assert [len(s) for s in sheets.values()] == [101, 101, 51]
    assert all(s[0] == HEADER for s in sheets.values())  # the header on every sheet
    assert [r for s in sheets.values() for r in s[1:]] == [expected_xlsx(i) for i in range(250)]

    listed = await console.get("/console/exports")
    assert page in listed.text
    assert "测试表_明细-东城一组 East Team 1-20261101-20261130.xlsx" in listed.text
    other = await make_console(blob_store="local", blob_dir=str(blob_dir))
    for login in ("bh.west", "admin"):  # only the requester sees it, an admin neither
        other.cookies.clear()
        await signed_in(other, login)
        assert (await other.get(f"{page}/file")).status_code == 404
        assert (await other.get(page)).status_code == 404
        assert (await other.get(f"{page}/status")).status_code == 404
        assert page not in (await other.get("/console/exports")).text

    # bh.east moves to the West Branch: the file of the East team is no longer theirs.
    await db.execute("update users set org_unit_id = $1 where login = 'bh.east'",
                     unit("branch-west"))  # fmt: skip
    other.cookies.clear()
    await signed_in(other, "bh.east")
    assert (await other.get(f"{page}/file")).status_code == 404
    moved = await other.get(page)  # nor its page: no name, rows or download link leading to 404
    assert moved.status_code == 404
    assert "页面不存在" in moved.text
    assert "测试表_明细" not in moved.text
    assert f"{page}/file" not in moved.text
    assert (await other.get(f"{page}/status")).status_code == 404

    # Seven days on, the file and its export are gone.
    await db.execute("update exports set expires_at = now() - interval '1 second'")
    assert any(p for p in blob_dir.rglob("part-*") if ".meta" not in p.parts)
    assert await jobs.expire_exports(worker(pool, settings, blob_dir)) == 1
    assert not any(p for p in blob_dir.rglob("part-*") if ".meta" not in p.parts)
    assert await db.fetchval("select count(*) from exports") == 0


async def test_a_killed_export_is_built_again_once_and_never_by_two_workers(
    make_console: Any,  # noqa: F811
    rows: Rows,
    db: Any,
    settings: Any,
    pool: Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "DIRECT_LIMIT", 50)
    monkeypatch.setattr(service, "PROGRESS_ROWS", 40)
    monkeypatch.setattr(service, "BATCH_ROWS", 20)
    monkeypatch.setattr("workbench.exports.files.PART_BYTES", 4096)  # a file of several parts
    rows.size = 400
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    await signed_in(console, "bh.east")
    asked = await start(console, "table=test_rows&format=csv&from=2026-11-01&to=2026-11-30")
    page = asked.headers["location"]

    rows.kill_at = 230  # the worker dies after its progress said 200 rows
    ctx = worker(pool, settings, blob_dir)
    with pytest.raises(Killed):
        await jobs.build_exports(ctx)
    row = await db.fetchrow("select state, rows_done, attempts from exports")
    assert tuple(row) == ("running", 200, 1)
    assert "导出中" in (await console.get(page)).text
    assert await jobs.build_exports(ctx) == 0  # its lease still runs: nobody takes it yet

    # Its lease ran out: two workers look at once; one builds it, from the start.
    await db.execute("update exports set lease_until = now() - interval '1 second'")
    built = await asyncio.gather(*(jobs.build_exports(ctx) for _ in range(2)))
    assert sorted(built) == [0, 1]
    row = await db.fetchrow("select state, rows_done, attempts, file_parts, size from exports")
    assert tuple(row)[:3] == ("done", 400, 2)
    got = await console.get(f"{page}/file")
    assert read_csv(got.content) == [HEADER, *(expected_text(i) for i in range(400))]
    parts = [p for p in blob_dir.rglob("part-*") if ".meta" not in p.parts]
    assert len(parts) == row["file_parts"] > 1  # the same parts once, nothing left over
    assert len(got.content) == row["size"]

    monkeypatch.setattr(service, "DIRECT_LIMIT", 1000)  # the same rows at once: the same bytes
    direct = await console.get(f"{NEW}?table=test_rows&format=csv&from=2026-11-01&to=2026-11-30")
    assert direct.content == got.content
    assert await jobs.build_exports(ctx) == 0  # nothing left to build


async def test_the_dashboard_tables_export_their_numbers_at_once_and_through_the_worker(
    make_console: Any,  # noqa: F811
    db: Any,
    settings: Any,
    pool: Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    admin = await headers_of(console, "admin")
    await dispatch_tasks(console, admin, "branch-east", 2)  # 2 tasks to each East RM
    await dispatch_tasks(console, admin, "branch-west", 1)
    await signed_in(console, "bh.east")

    progress = read_csv((await console.get(f"{NEW}?table=rm_progress&format=csv")).content)
    async with pool.acquire() as conn:
        view = await numbers.view(conn, caller=BH_EAST, org_unit_id=None, from_=None, to=None,
                                  tz=settings.bank_timezone, now=datetime.now(UTC))  # fmt: skip
        expected = [rm_progress_row(r) for r in await numbers.rm_progress(conn, view)]
    assert progress[0] == ["排名", "客户经理编号", "客户经理", "所属团队", "分配任务", "已完成",
                           "逾期", "完成率"]  # fmt: skip
    assert progress[1:] == [[str(v) for v in row] for row in expected]
    assert len(expected) == 4
    assert {row[2] for row in progress[1:]} == {"张伟", "王芳", "李娜", "刘洋"}  # East only

    direct = read_csv((await console.get(f"{NEW}?table=tasks&format=csv")).content)
    east_tasks = await db.fetch(
        "select id from tasks where assignee_id = any($1::uuid[])",
        [uuid5_for(f"user:rm0{n}") for n in range(1, 5)],
    )
    assert len(direct) == 1 + 8
    assert {r[0] for r in direct[1:]} == {str(r["id"]) for r in east_tasks}

    monkeypatch.setattr(service, "DIRECT_LIMIT", 1)  # the same table through the worker
    asked = await start(console, "table=tasks&format=csv")
    assert asked.status_code == 303
    assert await jobs.build_exports(worker(pool, settings, blob_dir)) == 1
    built = await console.get(f"{asked.headers['location']}/file")
    assert read_csv(built.content) == direct


@pytest.mark.parametrize(
    ("period", "why"),
    [
        ("from=2026-12-05&to=2026-12-01", "结束日期不能早于开始日期。"),
        ("from=2025-01-01&to=2026-01-02", "时间范围最长 366 天，请缩短后再看。"),  # 367 days
        ("from=9999-01-01&to=9999-01-31", "日期须在 2000 年至 2999 年之间。"),
        ("from=2026-12-01&to=2026-12-99", "日期格式应为 年-月-日"),
    ],
)
async def test_an_export_over_a_bad_period_says_why_with_the_period_form(
    make_console: Any,  # noqa: F811
    period: str,
    why: str,
) -> None:
    """The dashboard's bad-period page (not the generic "提交的内容无效"), its form asking for
    the same export again with the days typed."""
    console = await make_console()
    await signed_in(console, "bh.east")
    rm = uuid5_for("user:rm01")
    got = await console.get(f"{NEW}?table=rm_tasks&format=xlsx&unit={unit('team-east-1')}"
                            f"&rm={rm}&{period}")  # fmt: skip
    assert got.status_code == 422, got.text
    assert "时间范围无效" in got.text
    assert f"<p data-reason>{why}" in got.text
    assert 'action="/console/exports/new"' in got.text
    for name, value in (("table", "rm_tasks"), ("format", "xlsx"),
                        ("unit", unit("team-east-1")), ("rm", rm)):  # fmt: skip
        assert f'<input type="hidden" name="{name}" value="{value}">' in got.text
    typed = dict(p.split("=") for p in period.split("&"))
    assert f'name="from" value="{typed["from"]}"' in got.text
    assert "dashboard.bad_period" in got.text
    assert "最近 30 天" in got.text  # the period chips, each the same export over its days


async def test_excel_keeps_text_as_written_and_shows_rates_as_percents(
    make_console: Any,  # noqa: F811
    db: Any,
) -> None:
    """XLSX cells are typed: text like `=HYPERLINK(...)` is a string cell (never run), so it has
    no apostrophe; rate columns are numbers shown as 61.1%. CSV keeps its formula guard."""
    console = await make_console()
    admin = await headers_of(console, "admin")
    await dispatch_tasks(console, admin, "branch-east", 3)
    await db.execute("update users set name = $1 where login = 'rm01'",
                     '=HYPERLINK("http://x","点我")')  # fmt: skip
    await db.execute("update users set name = '+1-2 测试' where login = 'rm02'")
    await arrange(db, (await tasks_of(db, "rm01"))[0], status="done")  # 1 of 3: 33.3%
    await signed_in(console, "bh.east")

    got = await console.get(f"{NEW}?table=rm_progress&format=xlsx")
    assert got.status_code == 200, got.text
    sheet = read_xlsx(got.content)["客户经理任务完成"]
    names = {row[2] for row in sheet[1:]}
    assert {'=HYPERLINK("http://x","点我")', "+1-2 测试"} <= names
    assert not [v for row in sheet for v in row if isinstance(v, str) and v.startswith("'")]
    rates = {row[2]: row[7] for row in sheet[1:]}
    assert rates['=HYPERLINK("http://x","点我")'] == pytest.approx(1 / 3, abs=1e-4)
    formats = number_formats(got.content)
    rate_cells = [ref for ref in formats if ref[0] == "H"]
    assert len(rate_cells) == len(sheet) - 1 == 4
    assert {formats[ref] for ref in rate_cells} == {"0.0%"}
    assert {formats[ref] for ref in formats if ref[0] in "EFG"} == {"General"}  # counts

    csv_rows = read_csv((await console.get(f"{NEW}?table=rm_progress&format=csv")).content)
    assert {'\'=HYPERLINK("http://x","点我")', "'+1-2 测试"} <= {r[2] for r in csv_rows[1:]}


async def test_the_funnel_export_names_its_steps_as_the_dashboard_does(
    make_console: Any,  # noqa: F811
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    header = read_csv((await console.get(f"{NEW}?table=share_funnel&format=csv")).content)[0]
    steps = [label for _, label in dashboard_console.FUNNEL_STEPS]
    assert header == ["客户经理编号", "客户经理", *steps, "访客", "转化次数", "转化率"]
    assert "停留 ≥ 10 秒" in header
    assert builder.FUNNEL_STEPS is dashboard_console.FUNNEL_STEPS  # the monthly report's too
    sheet = read_xlsx((await console.get(f"{NEW}?table=share_funnel&format=xlsx")).content)
    assert next(iter(sheet.values()))[0] == header


async def test_an_rm_with_nothing_assigned_has_no_rate_in_the_files_and_ranks_last(
    make_console: Any,  # noqa: F811
) -> None:
    """The page and the PDF show "—" for nothing assigned; the files said 0.0 % (and ranked the
    RM tied with one who had left every task undone)."""
    console = await make_console()
    admin = await headers_of(console, "admin")
    await dispatch_tasks(console, admin, "team-east-1", 1)  # rm01, rm02: one task, not done
    await signed_in(console, "bh.east")

    rows = read_csv((await console.get(f"{NEW}?table=rm_progress&format=csv")).content)[1:]
    by_name = {row[2]: row for row in rows}
    assert [by_name[n][7] for n in ("张伟", "王芳")] == ["0.0", "0.0"]  # 0 of 1
    assert [by_name[n][7] for n in ("李娜", "刘洋")] == ["", ""]  # nothing assigned
    assert {by_name[n][0] for n in ("张伟", "王芳")} == {"1"}
    assert {by_name[n][0] for n in ("李娜", "刘洋")} == {"3"}  # after both, not tied with them
    sheet = read_xlsx((await console.get(f"{NEW}?table=rm_progress&format=xlsx")).content)
    rates = {row[2]: (row[7:] or [None])[0] for row in next(iter(sheet.values()))[1:]}
    assert rates["张伟"] == 0
    assert rates["李娜"] is None  # an empty cell (the row ends before it)
    teams = read_csv((await console.get(f"{NEW}?table=teams&format=csv")).content)[1:]
    assert {row[2]: row[7] for row in teams} == {"东城一组 East Team 1": "0.0",
                                                 "东城二组 East Team 2": ""}  # fmt: skip
