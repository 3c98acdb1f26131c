"""Small SVG charts drawn on the server for the monthly report (WeasyPrint renders inline SVG):
grouped horizontal bars, lines over weeks, and the share funnel. Pure functions from numbers to
markup; every label is escaped. Sizes are in user units of a `viewBox` that scales to the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from workbench.dashboard import figures

FONT = "Report Sans"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
BLUE = "#2563eb"
RED = "#dc2626"
GREEN = "#059669"
AMBER = "#d97706"


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    color: str


@dataclass(frozen=True, slots=True)
class BarGroup:
    label: str
    values: tuple[int, ...]  # one per series


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    color: str
    values: tuple[float | None, ...]  # one per x label; None: no point that week


def _text(
    x: float, y: float, text: str, *, size: float = 11, anchor: str = "start",
    fill: str = INK, weight: str = "normal",
) -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="{fill}" font-weight="{weight}">{escape(text)}</text>'
    )


def _svg(width: float, height: float, body: list[str], title: str) -> Markup:
    return Markup(  # noqa: S704 (every text part above went through escape)
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}">' + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[Series | Line], x: float, y: float) -> list[str]:
    out = []
    for s in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" '
                   f'fill="{s.color}"/>')  # fmt: skip
        out.append(_text(x + 14, y, s.label, size=10, fill=MUTED))
        x += 24 + 11 * len(s.label)
    return out


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def bars(
    groups: Sequence[BarGroup], series: Sequence[Series], *, title: str, width: float = 700
) -> Markup:
    """One row per group (an RM), a bar per series (done, overdue) on one count scale."""
    label_w, right, top = 130.0, 40.0, 28.0
    bar_h, gap = (9.0, 8.0) if len(groups) <= 10 else (6.0, 4.0)  # many RMs: thinner rows
    row_h = bar_h * len(series) + gap
    height = top + row_h * max(len(groups), 1) + 22
    top_value = nice_max(max((v for g in groups for v in g.values), default=0))
    plot_w = width - label_w - right
    body = _legend(series, label_w, 12)
    for tick in range(5):
        x = label_w + plot_w * tick / 4
        body.append(f'<line x1="{x:.1f}" y1="{top - 4:.1f}" x2="{x:.1f}" '
                    f'y2="{height - 20:.1f}" stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
        body.append(_text(x, height - 6, f"{top_value * tick / 4:g}", size=9, anchor="middle",
                          fill=MUTED))  # fmt: skip
    for i, group in enumerate(groups):
        y = top + i * row_h
        body.append(_text(label_w - 8, y + row_h / 2 + 1, _short(group.label, 9),
                          size=10 if bar_h > 6 else 8, anchor="end"))  # fmt: skip
        for j, (value, s) in enumerate(zip(group.values, series, strict=True)):
            w = plot_w * value / top_value
            by = y + j * bar_h
            body.append(f'<rect x="{label_w:.1f}" y="{by:.1f}" width="{max(w, 0.5):.1f}" '
                        f'height="{bar_h - 1.5:.1f}" rx="1.5" fill="{s.color}"/>')  # fmt: skip
            body.append(_text(label_w + w + 4, by + bar_h - 1, str(value),
                              size=8 if bar_h > 6 else 6, fill=MUTED))  # fmt: skip
    if not groups:
        body.append(_text(width / 2, top + 10, "本月没有数据", anchor="middle", fill=MUTED))
    return _svg(width, height, body, title)


def lines(
    x_labels: Sequence[str],
    series: Sequence[Line],
    *,
    title: str,
    y_min: float,
    y_max: float,
    y_suffix: str = "",
    width: float = 700,
    height: float = 200,
) -> Markup:
    """Lines over the x labels (weeks) on a fixed y range; None values leave a gap."""
    left, right, top, bottom = 44.0, 16.0, 24.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(x_labels), 1)

    def px(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def py(v: float) -> float:
        return top + plot_h * (1 - (v - y_min) / (y_max - y_min))

    body = _legend(series, left, 12)
    for tick in range(5):
        v = y_min + (y_max - y_min) * tick / 4
        y = py(v)
        body.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="1"/>')  # fmt: skip
        body.append(_text(left - 6, y + 3, f"{v:g}{y_suffix}", size=9, anchor="end", fill=MUTED))
    for i, label in enumerate(x_labels):
        body.append(_text(px(i), height - 8, label, size=9, anchor="middle", fill=MUTED))
    for s in series:
        run: list[str] = []
        for i, value in enumerate(s.values):
            if value is None:
                body.extend(_polyline(run, s.color))
                run = []
                continue
            x, y = px(i), py(min(max(value, y_min), y_max))
            run.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{s.color}"/>')
            body.append(_text(x, y - 6, f"{value:g}", size=8, anchor="middle", fill=s.color))
        body.extend(_polyline(run, s.color))
    return _svg(width, height, body, title)


def _polyline(points: list[str], color: str) -> list[str]:
    if len(points) < 2:
        return []
    return [f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
            f'stroke-width="2" stroke-linejoin="round"/>']  # fmt: skip


def funnel(steps: Sequence[tuple[str, int]], *, title: str, width: float = 700) -> Markup:
    """The share funnel: a bar per step, its width the step's share of the first, with its
    count and its rate from the step before ("较上一步 60.5%": how many of the step before went
    on; not a conversion), and under the bars the conversion rate, the last step of the first
    ("转化率 8.6%", as the dashboard's 转化率)."""
    label_w, right, row_h = 110.0, 150.0, 26.0
    height = row_h * len(steps) + 6 + (row_h if len(steps) > 1 else 0)
    first = steps[0][1] if steps else 0
    plot_w = width - label_w - right
    body: list[str] = []
    for i, (label, count) in enumerate(steps):
        y = 3 + i * row_h
        w = plot_w * (count / first) if first else 0.0
        body.append(_text(label_w - 8, y + 15, label, size=11, anchor="end"))
        body.append(f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{plot_w:.1f}" '
                    f'height="{row_h - 6:.1f}" rx="3" fill="#eff6ff"/>')  # fmt: skip
        body.append(f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" '
                    f'height="{row_h - 6:.1f}" rx="3" fill="{BLUE}"/>')  # fmt: skip
        rate = f"  {STEP_RATE} {percent(count, steps[i - 1][1])}" if i else ""
        body.append(_text(label_w + plot_w + 8, y + 15, f"{count}{rate}", size=11))
    if len(steps) > 1:
        y = 3 + len(steps) * row_h
        last_label, last = steps[-1]
        conversion = f"{CONVERSION_RATE} {percent(last, first)}"
        body.append(_text(label_w + plot_w + 8, y + 15, conversion, size=11, weight="bold"))
        body.append(_text(label_w + plot_w, y + 15, f"{last_label} ÷ {steps[0][0]}", size=9,
                          anchor="end", fill=MUTED))  # fmt: skip
    return _svg(width, height, body, title)


STEP_RATE = "较上一步"  # a step's count of the step before's
CONVERSION_RATE = "转化率"  # the last step's count of the first's, and only that


def percent(part: int, whole: int) -> str:
    """`part / whole` as a percentage with one decimal, rounded half up ("—" when `whole` is 0):
    the dashboard's own (`workbench.dashboard.figures`)."""
    return figures.percent_text(part, whole)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
