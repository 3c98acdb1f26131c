"""Shapes shared by every feature."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin, get_type_hints

import msgspec

from mobile_contracts.v1.patterns import whole

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """A keyset-paginated list: pass `next_cursor` back as `?cursor=` for the next page."""

    items: list[T]
    next_cursor: str | None = None


# ---- amounts -----------------------------------------------------------------------------------

MONEY_INTEGER_DIGITS = 18  # numeric(20, 2) columns
MONEY_SCALE = 2
Money = Annotated[
    Decimal,
    msgspec.Meta(
        description="An amount in yuan: a decimal string (or number) below 10^"
        f"{MONEY_INTEGER_DIGITS} in size, kept to {MONEY_SCALE} decimal places",
        extra={"money": True},
    ),
]
"""Every amount the API takes. msgspec cannot bound decimals, so structs holding one derive
from `CheckedAmounts`, which refuses what no column can hold (a test keeps it so). Whether an
amount may be negative or zero is the feature's rule (a feed rejects such a row on its own)."""

MONEY_PATTERN = whole(
    rf"[0-9]{{1,{MONEY_INTEGER_DIGITS}}}(\.[0-9]{{1,{MONEY_SCALE}}})?",
    says=f"an amount like 50000 or 50000.25 (digits, at most {MONEY_SCALE} decimals)",
)
"""An amount in a query parameter, e.g. `?min_aum=50000` or `?min_aum=1234.56`."""

# ---- periods -----------------------------------------------------------------------------------

DAY_OR_TIME = whole(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?",
    says="a date like 2026-12-01 or a time like 2026-12-01T08:00:00+08:00",
)
"""A period bound in a query parameter (`?from=&to=`, read by `workbench.periods`):
`2026-12-01` or `2026-12-01T08:00:00+08:00`."""

_LIMIT = Decimal(10) ** MONEY_INTEGER_DIGITS


_CENT = Decimal(1).scaleb(-MONEY_SCALE)


def money_problem(value: Decimal) -> str | None:
    """Why no amount column can hold this value, or None (checked as the column would store
    it, rounded to MONEY_SCALE places: 999999999999999999.995 is 10^18 there)."""
    if not value.is_finite():
        return "must be a number"
    if abs(value) >= _LIMIT or abs(as_stored(value)) >= _LIMIT:
        return f"must be below 10^{MONEY_INTEGER_DIGITS} in size"
    return None


def as_stored(value: Decimal) -> Decimal:
    """A finite amount below the limit as an amount column stores it: rounded to MONEY_SCALE
    places, halves away from zero (as PostgreSQL's numeric does)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _money_fields(cls: type) -> tuple[str, ...]:
    names = _MONEY_FIELDS.get(cls)
    if names is None:
        hints = get_type_hints(cls, include_extras=True)
        names = tuple(name for name, hint in hints.items() if _is_money(hint))
        _MONEY_FIELDS[cls] = names
    return names


def _is_money(hint: Any) -> bool:
    if get_origin(hint) is Annotated:
        return any(
            isinstance(m, msgspec.Meta) and (m.extra or {}).get("money") for m in get_args(hint)[1:]
        )
    return any(_is_money(arg) for arg in get_args(hint))


_MONEY_FIELDS: dict[type, tuple[str, ...]] = {}


class CheckedAmounts(msgspec.Struct):
    """Base of request structs with `Money` fields: decoding refuses an amount the database
    could not hold, naming the field (`aum: must be below 10^18 - at $.customers[3]`)."""

    def __post_init__(self) -> None:
        for name in _money_fields(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            if problem := money_problem(value):
                raise ValueError(f"{name}: {problem}")
            # What every rule then sees is the stored amount (0.001 is 0.00: not positive).
            setattr(self, name, as_stored(value))
