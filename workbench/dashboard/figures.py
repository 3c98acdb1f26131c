"""How the dashboard's figures are written for people: one way for the console dashboard, its
charts and the monthly PDF, so that a rate reads the same everywhere.

A percentage is computed from its two counts (done and assigned, converted and shared), exactly,
and rounded half up to one decimal: 18 of 32 is 56.3 %, 14 of 27 is 51.9 %. (Rounding a float
rate, or one already rounded to four places, gave 56.2 % and 51.8 %.) The exports carry the
exact fraction (`fraction`) with a `0.0%` number format, and a spreadsheet rounds it half up
too, so the file shows the same digits as the page and the PDF.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NONE = "—"  # no figure: nothing to divide by (0 of 0 is no rate, not 0 %)
_TENTH = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """`100 * part / whole` rounded half up to one decimal (None when `whole` is 0), in exact
    integer arithmetic: no float ever stands in for the fraction."""
    if not whole:
        return None
    # round(x) = floor(x + 1/2) with x = 1000 * part / whole (tenths of a percent); the sign
    # kept apart so that -0.05 rounds away from zero as 0.05 does.
    sign = -1 if (part < 0) != (whole < 0) else 1
    part, whole = abs(part), abs(whole)
    tenths = (2000 * part + whole) // (2 * whole)
    return Decimal(sign * tenths).scaleb(-1)


def percent_text(part: int, whole: int) -> str:
    """`56.3%`, or "—" when `whole` is 0."""
    value = percent(part, whole)
    return NONE if value is None else f"{value}%"


def percent_value(part: int, whole: int) -> float | None:
    """The same percentage as a number for a chart's point or label (None: no point)."""
    value = percent(part, whole)
    return None if value is None else float(value)


def fraction(part: int, whole: int) -> float | None:
    """`part / whole` as exactly as a float holds it, for a spreadsheet's percent cell (None
    when `whole` is 0: an empty cell, not a 0 % nobody earned)."""
    return part / whole if whole else None


def _score(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def score_value(value: float | None) -> float | None:
    """A score to one decimal, half up, as a chart's point (None: no point)."""
    return None if value is None else float(_score(value))


def score_text(value: float | None, *, signed: bool = False) -> str:
    """A score (NPS, CSAT in percent) to one decimal, half up; `signed`: `+37.5` as NPS is shown
    (a score of 0 is `0.0`, neither side); "—" for none."""
    if value is None:
        return NONE
    shown = _score(value)
    if shown == 0:
        return "0.0"
    return f"{shown:+}" if signed else f"{shown}"
