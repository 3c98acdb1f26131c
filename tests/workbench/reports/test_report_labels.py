"""The monthly PDF says what its figures are, as the dashboard does: a funnel step's rate from the
step before is "较上一步" (it read "打开 49 转化 60.5%": 60.5 % conversion, while 7 of 81 shares
converted, 8.6 %), and 转化率 is the conversion only; weeks the month covers only in part are
marked `*` with a footnote; NPS is signed (+37.5) as on the dashboard."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest

from mobile_contracts.v1 import funnels as funnel_wire
from workbench.dashboard import numbers
from workbench.reports import builder, charts

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
# 81 shares, 49 opened (60.5 % of them), 7 converted (8.6 % of the shares).
COUNTS = {"shared": 81, "opened": 49, "engaged": 30, "clicked": 20, "converted": 7}


def _october() -> builder.ReportData:
    """East Branch's October 2026 (Thursday 1st to Saturday 31st): its first and last weeks are
    partly September's and November's."""
    first, end = date(2026, 10, 1), date(2026, 11, 1)
    unit_id = uuid.uuid4()
    view = numbers.View(
        org_unit_id=unit_id, unit_name="东城支行 East Branch", first_day=first, end_day=end,
        start=datetime.combine(first, datetime.min.time(), ZONE),
        end=datetime.combine(end, datetime.min.time(), ZONE),
    )  # fmt: skip
    rm = numbers.RmRow(
        rm_id=uuid.uuid4(), name="张伟", org_unit_id=unit_id, unit_name="东城一组",
        assigned=32, done=18, overdue=1, completion_rate=0.5625, rank=1,
    )  # fmt: skip
    mondays = numbers.week_starts(first, end)
    weeks = [numbers.WeekPoint(week_start=m, assigned=8, done=4, completion_rate=0.5)
             for m in mondays]  # fmt: skip
    total = funnel_wire.FunnelCounts(**COUNTS, visitors=60, conversions=8)
    funnel = funnel_wire.Funnel(
        group_by=funnel_wire.FunnelGroupBy.RM, org_unit_id=unit_id, from_=view.start,
        to=view.end, total_groups=1,
        rows=[funnel_wire.FunnelRow(key=rm.rm_id, label=rm.name, **COUNTS, visitors=60,
                                    conversions=8)],
        total=total,
    )  # fmt: skip
    satisfaction = numbers.Satisfaction(
        responses=16, nps=37.5, csat=81.25,
        weeks=[numbers.SatisfactionPoint(week_start=m, responses=4, nps=37.5, csat=81.25)
               for m in mondays],
    )  # fmt: skip
    return builder.ReportData(
        unit_name=view.unit_name, month=first, generated_at=datetime(2026, 11, 1, 2, tzinfo=UTC),
        view=view, rms=[rm], teams=[], weeks=weeks, funnel=funnel, satisfaction=satisfaction,
        low_scores=[], work_order_counts=numbers.WorkOrderCounts(open=0, overdue=0, by_rm={}),
        work_orders=[],
    )  # fmt: skip


def test_the_funnel_chart_calls_a_step_rate_a_step_rate_and_only_conversion_conversion():
    svg = str(charts.funnel([(label, COUNTS[key]) for key, label in builder.FUNNEL_STEPS],
                            title="分享转化漏斗"))  # fmt: skip
    assert "49  较上一步 60.5%" in svg
    assert "7  较上一步 35.0%" in svg  # 7 of 20 clicked
    assert "转化率 8.6%" in svg  # the conversion: 7 of the 81 shares
    assert "转化 60.5%" not in svg
    assert svg.count("转化率") == 1


@pytest.mark.parametrize("build_pdf", [False, True])
def test_partial_weeks_are_marked_and_nps_is_signed(build_pdf: bool) -> None:
    data = _october()
    html = builder.render_html(data, bank_name="演示银行", tz=TZ)
    if build_pdf:  # what is printed, not only the page it is laid out from
        pdf = builder.write_pdf(html, title="t")
        document = pdfium.PdfDocument(pdf.data)
        text = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    else:
        text = html
    assert "09-28*" in text  # 28 September - 4 October: October's first four days only
    assert "10-26*" in text  # 26 October - 1 November: without its Sunday
    assert "10-05*" not in text
    assert "10-05" in text
    assert "* 该周只有一部分在本月内" in text
    assert "+37.5" in text  # the KPI and the lead, as the dashboard shows NPS
    assert "NPS 37.5" not in text
    assert "较上一步 60.5%" in text
    assert "转化率 8.6%" in text
    assert "56.3%" in text  # 18 of 32
    assert "CSAT 81.3%" in text  # 81.25, half up as everywhere
    week = timedelta(days=7)
    assert not numbers.partial_week(date(2026, 10, 5), data.view)
    assert numbers.partial_week(date(2026, 10, 26), data.view)
    assert numbers.partial_week(date(2026, 10, 26) - 4 * week, data.view)
