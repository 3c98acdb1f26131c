"""The page of a console filter's period that cannot be read (a day after the end, a typo, a
span too long): why, in the console's words, and the period form again with what was typed,
instead of the generic error page that loses the filter (the dashboard, survey results)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from litestar import Request, Response

from workbench.console.rendering import render

FORMAT_REASON = "日期格式应为 年-月-日，例如 2026-11-01。"


def reason(detail: str | None, *, max_days: int) -> str:
    """A service's period refusal (English, for the API) in the console's words."""
    detail = detail or ""
    years = re.search(r"years (\d{4}) to (\d{4})", detail)
    if years:
        return f"日期须在 {years[1]} 年至 {years[2]} 年之间。"
    if "at most" in detail:
        return f"时间范围最长 {max_days} 天，请缩短后再看。"
    if "after" in detail:
        return "结束日期不能早于开始日期。"
    return "请选择有效的开始和结束日期。"


def page(
    request: Request[Any, Any, Any],
    *,
    area: str,
    home: str,
    hidden: dict[str, str],
    from_: str | None,
    to: str | None,
    why: str,
    period_chips: Sequence[Any],
    code: str,
) -> Response[Any]:
    """422: `why`, and the form of `home` with the days typed (and `hidden` fields kept)."""
    return render(
        request,
        "bad_period.html",
        {
            "area": area,
            "reason": why,
            "hidden": hidden,
            "from_value": (from_ or "")[:40],
            "to_value": (to or "")[:40],
            "period_chips": period_chips,
            "home": home,
            "code": code,
        },
        status=422,
    )
