"""A completion rate reads the same on the dashboard (its tables, its KPI and its charts' data),
in the monthly PDF and in the Excel export: 18 of 32 is 56.3 % and 14 of 27 is 51.9 % everywhere.
The dashboard and the PDF once rounded a float (or a rate already rounded to four places) and
showed 56.2 % and 51.8 %, while Excel showed 56.3 % for the first: one formatting function now
computes from the two counts, half up, and Excel gets the exact fraction with a 0.0% format."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest

from tests.console.conftest import make_console, signed_in  # noqa: F401
from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.dashboard.dash_data import TZ, connect, dispatch_tasks
from tests.workbench.exports.test_exports import number_formats, read_csv, read_xlsx
from workbench.dashboard import figures
from workbench.reports import builder
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
# (assigned, done) of the two RMs of East Team 1 in October.
PLAN = {"rm01": (32, 18), "rm02": (27, 14)}
SHOWN = {"rm01": "56.3%", "rm02": "51.9%"}  # once 56.2% and 51.8% on the page and in the PDF
NAMES = {"rm01": "张伟", "rm02": "王芳"}


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (18, 32, "56.3%"),  # 56.25: half up
        (14, 27, "51.9%"),  # 51.851…
        (2, 3, "66.7%"),
        (1, 2000, "0.1%"),  # 0.05
        (3, 2000, "0.2%"),  # 0.15 (a float's 0.15 is below it)
        (7, 7, "100.0%"),
        (0, 5, "0.0%"),
        (0, 0, "—"),  # nothing to divide: no rate
    ],
)
def test_a_percentage_is_rounded_half_up_from_its_two_counts(part: int, whole: int, text: str):
    assert figures.percent_text(part, whole) == text
    if whole:
        assert excel_shows(figures.fraction(part, whole)) == text  # the export's cell, shown


def excel_shows(value: float | None) -> str:
    """What a spreadsheet shows of a number in a `0.0%` cell: the number to 15 significant
    digits (as Excel keeps it), rounded half up (away from zero) to a tenth of a percent."""
    assert value is not None
    exact = Decimal(format(value, ".15g")) * 100
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


async def _october(console: Any, db: Any) -> None:
    """East Team 1's October: rm01 18 of 32 tasks done, rm02 14 of 27 (the others expired:
    assigned, not done; a cancelled one would not be assigned)."""
    admin = await headers_of(console, "admin")
    await dispatch_tasks(console, admin, "team-east-1", 32)  # 32 tasks to rm01 and to rm02
    surplus = await db.fetch(
        "select id from tasks where assignee_id = $1 order by id limit 5", user("rm02")
    )
    await db.execute("delete from tasks where id = any($1::uuid[])", [r["id"] for r in surplus])
    october = datetime(2026, 10, 14, 10, tzinfo=ZoneInfo(TZ))
    for login, (assigned, done) in PLAN.items():
        await db.execute(
            """with t as (select id, row_number() over (order by id) as n
                            from tasks where assignee_id = $1)
               update tasks k
                  set created_at = $2,
                      status = case when t.n <= $3 then 'done' else 'expired' end,
                      done_at = case when t.n <= $3 then $2::timestamptz + interval '1 hour' end
                 from t where t.id = k.id""",
            user(login), october, done,
        )  # fmt: skip
        count = await db.fetchval("select count(*) from tasks where assignee_id = $1", user(login))
        assert count == assigned


async def test_the_dashboard_the_pdf_and_excel_show_the_same_digits(
    make_console: Any,  # noqa: F811
    db: Any,
    settings: Any,
) -> None:
    console = await make_console()
    await _october(console, db)
    await signed_in(console, "bh.east")
    team = {"unit": str(unit("team-east-1")), **OCTOBER}

    # The dashboard: each RM's row, the team's KPI, the charts' data.
    page = await console.get("/console/dashboard", params=team)
    assert page.status_code == 200, page.text
    html = page.text
    for login, shown in SHOWN.items():
        row = re.search(rf'<tr data-rm="{user(login)}">(.*?)</tr>', html, re.S)
        assert row, login
        assert f"<span>{shown}</span>" in row.group(1), (login, row.group(1))
    assert 'data-kpi="completion">54.2%<' in html  # 32 of 59
    data = json.loads(
        re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    )
    assert dict(zip(data["rms"]["labels"], data["rms"]["rate"], strict=True)) == {
        "张伟": 56.3, "王芳": 51.9,
    }  # fmt: skip
    assert [r for r in data["weeks"]["rate"] if r is not None] == [54.2]

    # Excel: the exact fraction, shown as a percent with one decimal: the same digits.
    xlsx = await console.get(
        "/console/exports/new", params={"table": "rm_progress", "format": "xlsx", **team}
    )
    assert xlsx.status_code == 200, xlsx.text
    sheet = next(iter(read_xlsx(xlsx.content).values()))
    formats = number_formats(xlsx.content)
    for n, row in enumerate(sheet[1:], start=2):
        login = next(k for k, name in NAMES.items() if name == row[2])
        assigned, done = PLAN[login]
        assert row[7] == done / assigned  # not 0.5185 (four places)
        assert formats[f"H{n}"] == "0.0%"
        assert excel_shows(row[7]) == SHOWN[login]
    # The CSV keeps the rate as the API answers it (four places).
    rows = read_csv((await console.get(
        "/console/exports/new", params={"table": "rm_progress", "format": "csv", **team}
    )).content)  # fmt: skip
    assert {r[2]: r[7] for r in rows[1:]} == {"张伟": "0.5625", "王芳": "0.5185"}

    # The monthly PDF of the branch for October: the same digits in its per-RM table.
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    conn = await connect(settings.database_url)
    try:
        async with conn.transaction(isolation="repeatable_read"):
            october = await builder.gather(
                conn, vault, unit_id=unit("branch-east"), month=date(2026, 10, 1), tz=TZ,
                now=datetime.now(UTC),
            )  # fmt: skip
    finally:
        await conn.close()
    pdf = await builder.build_pdf(october, bank_name="演示银行", tz=TZ)
    document = pdfium.PdfDocument(pdf.data)
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    lines = text.splitlines()
    for login, shown in SHOWN.items():
        assigned, done = PLAN[login]
        row = next(line for line in lines if f" {NAMES[login]} " in f" {line} " and "%" in line)
        assert f" {assigned} {done} {shown} " in f"{row} ", row
    assert "56.2%" not in text
    assert "51.8%" not in text
