"""Monthly reports: a team of the caller's subtree (by `?unit=` or a build asked for it) answers
a page saying reports are made per branch, with a link to its branch's reports, not the bare
404 page (a unit outside the subtree still is that page); and the PDF's low-score and work-order
tables print their times with the year."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

import pypdfium2 as pdfium
import pytest

from tests.console.conftest import csrf_of, make_console, post_form, signed_in
from tests.tasks_data import unit
from tests.workbench.reports.test_report_labels import TZ, ZONE, _october
from workbench.dashboard import numbers
from workbench.reports import builder

__all__ = ["make_console"]

LIST = "/console/reports"
PER_BRANCH = "月度报告按分行生成"


@pytest.mark.usefixtures("demo_bank")
async def test_a_team_asked_for_says_reports_are_per_branch_and_links_its_branch(
    make_console: Any,
    db: Any,
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    team = await console.get(f"{LIST}?unit={unit('team-east-1')}")
    assert team.status_code == 404  # that unit has no reports
    assert PER_BRANCH in team.text
    assert "页面不存在" not in team.text
    assert "「东城一组 East Team 1」不单独生成月度报告" in team.text
    assert f'href="{LIST}?unit={unit("branch-east")}"' in team.text
    assert "查看东城支行 East Branch的月度报告" in team.text

    # Building one for a team (a hand-made or old form): the same page, nothing queued.
    built = await post_form(
        console, f"{LIST}/build", {"org_unit_id": str(unit("team-east-2")), "month": "2026-10"},
        token=csrf_of(team.text),
    )  # fmt: skip
    assert built.status_code == 404
    assert PER_BRANCH in built.text
    assert f'href="{LIST}?unit={unit("branch-east")}"' in built.text
    assert await db.fetchval("select count(*) from monthly_reports") == 0

    # Outside the subtree (a team, a branch, a made-up id): the 404 page, naming nothing.
    for other in (unit("team-west-1"), unit("branch-west"), uuid.uuid4()):
        page = await console.get(f"{LIST}?unit={other}")
        assert page.status_code == 404
        assert "页面不存在" in page.text
        assert PER_BRANCH not in page.text
        assert "西城" not in page.text

    # An admin: a West team links the West Branch; head office, above every branch, the list.
    admin = await make_console()
    await signed_in(admin, "admin")
    west = await admin.get(f"{LIST}?unit={unit('team-west-2')}")
    assert PER_BRANCH in west.text
    assert f'href="{LIST}?unit={unit("branch-west")}"' in west.text
    top = await admin.get(f"{LIST}?unit={unit('head-office')}")
    assert PER_BRANCH in top.text
    assert f'href="{LIST}"' in top.text


@pytest.mark.parametrize("build_pdf", [False, True])
def test_the_low_score_and_work_order_times_carry_their_year(build_pdf: bool) -> None:
    data = _october()
    rm = data.rms[0]
    low = numbers.LowScore(
        response_id=uuid.uuid4(), answered_at=datetime(2026, 10, 30, 9, 5, tzinfo=ZONE),
        survey_title="服务回访", question_label="推荐意愿", score=3, scale="nps", customer="*",
        rm_name=rm.name, work_order_id=uuid.uuid4(),
    )  # fmt: skip
    order = numbers.WorkOrderRow(
        work_order_id=uuid.uuid4(), state="open",
        created_at=datetime(2025, 11, 20, 10, 0, tzinfo=ZONE),
        due_at=datetime(2025, 11, 24, 15, 43, tzinfo=ZONE), overdue=True,
        assignee_id=rm.rm_id, assignee_name=rm.name, customer="*", survey_title="服务回访",
    )  # fmt: skip
    data = dataclasses.replace(
        data, low_scores=[low], low_score_total=1, work_orders=[order],
        work_order_counts=numbers.WorkOrderCounts(open=1, overdue=1, by_rm={}),
    )  # fmt: skip
    html = builder.render_html(data, bank_name="演示银行", tz=TZ)
    if build_pdf:  # as printed: each time whole on its line
        document = pdfium.PdfDocument(builder.write_pdf(html, title="t").data)
        text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
        assert "2025-11-24 15:43（逾期）" in text
    else:
        text = html
    assert "2026-10-30 09:05" in text
    assert "2025-11-24 15:43" in text  # a year ago: "11-24 15:43" read as this November
    assert " 11-24 15:43" not in text
    assert ">10-30 09:05" not in text
