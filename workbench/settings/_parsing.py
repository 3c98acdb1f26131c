"""Settings parsing: what turns one environment variable's text into a field's value (a boolean, a
whole number, base64 keys, a version, browser origins, IP networks, the bootstrap admin, a time
zone, an S3 host and bucket, a URL of given schemes, the bank's holidays and make-up working
days), raising ValueError with a readable reason; a field without a parser of its own is read by
the type of its default."""

from __future__ import annotations

import base64
import ipaddress
import re
import zoneinfo
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from workbench.settings._keys import DataKey, JwtKey
from workbench.settings._urls import _url_problem

_VERSION = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9}){0,3}")  # ASCII digits: `\d` takes any script's
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The longest closure one range may name: the longest holiday is 8-9 days; a longer range is a
# typo (2027-02-06..2027-12-14) that would stop every SLA clock for months.
MAX_HOLIDAY_RANGE_DAYS = 31
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None


def _parse_by_default(default: Any) -> Callable[[str], Any]:
    if isinstance(default, bool):
        return _parse_bool
    if isinstance(default, int):
        return _parse_int
    return str


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


KID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""A key id as the key settings take it (`workbench keygen --kid` refuses any other)."""


def _parse_named_keys(raw: str) -> list[tuple[str, bytes]]:
    keys = []
    for entry in _split(raw):
        kid, sep, b64 = entry.partition(":")
        if not sep or not KID.fullmatch(kid):
            raise ValueError("each key must look like `kid:base64key` with a plain kid")
        keys.append((kid, _parse_key_bytes(b64, f"key {kid!r}")))
    return keys


def _parse_key_bytes(b64: str, what: str = "the key") -> bytes:
    try:
        secret = base64.b64decode(b64.strip(), validate=True)
    except ValueError:
        raise ValueError(f"{what} is not valid base64") from None
    if len(secret) != 32:
        raise ValueError(f"{what} must decode to 32 bytes, got {len(secret)}")
    return secret


def _parse_jwt_keys(raw: str) -> tuple[JwtKey, ...]:
    return tuple(JwtKey(kid=kid, seed=secret) for kid, secret in _parse_named_keys(raw))


def _parse_data_keys(raw: str) -> tuple[DataKey, ...]:
    return tuple(DataKey(kid=kid, key=secret) for kid, secret in _parse_named_keys(raw))


def _parse_version(raw: str) -> str:
    if not _VERSION.fullmatch(raw.strip()):
        raise ValueError(f"expected a version like 3.2.0, got {raw!r}")
    return raw.strip()


def _parse_origins(raw: str) -> tuple[str, ...]:
    origins = _split(raw)
    for origin in origins:
        if origin == "*" or not re.fullmatch(r"https?://[^/\s]+", origin):
            raise ValueError(f"{origin!r} is not an origin like https://app.bank.example (no '*')")
    return tuple(origins)


def _parse_cidrs(raw: str) -> tuple[str, ...]:
    cidrs = _split(raw)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP network") from None
    return tuple(cidrs)


def _parse_bootstrap(raw: str) -> tuple[str, str]:
    login, sep, password = raw.partition(":")
    if not sep or not login or len(password) < 8:
        raise ValueError("expected `login:password` with a password of at least 8 characters")
    return (login.strip(), password)


def _parse_timezone(raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a region folder
        raise ValueError(f"{raw!r} is not a known time zone") from None
    return raw


def _parse_host_port(raw: str) -> str:
    host = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?", host):
        raise ValueError(f"expected host[:port] without a scheme or path, got {raw!r}")
    return host


def _parse_bucket(raw: str) -> str:
    bucket = raw.strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise ValueError(f"{raw!r} is not a bucket name (3-63 of a-z, 0-9, '.' and '-')")
    return bucket


def _parse_url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not raw.startswith(tuple(f"{s}://" for s in schemes)):
            raise ValueError(
                f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        if problem := _url_problem(raw):
            raise ValueError(problem)
        return raw

    return parse


def _parse_date(raw: str) -> date:
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"{raw!r} is not a date like 2027-01-01")


def _parse_holidays(raw: str) -> tuple[date, ...]:
    """Dates and `first..last` ranges (both days included) the bank is closed; every entry
    that is none is named at once (a calendar is typed in one go)."""
    days: set[date] = set()
    problems: list[str] = []
    for entry in _split(raw):
        first_raw, sep, last_raw = entry.partition("..")
        try:
            first = _parse_date(first_raw.strip())
            last = _parse_date(last_raw.strip()) if sep else first
        except ValueError:
            problems.append(
                f"{entry!r} is not a date (2027-01-01) or a range of dates (2027-02-06..2027-02-14)"
            )
            continue
        if last < first:
            problems.append(f"{entry!r} ends before it begins")
        elif (last - first).days >= MAX_HOLIDAY_RANGE_DAYS:
            problems.append(
                f"{entry!r} is longer than {MAX_HOLIDAY_RANGE_DAYS} days: check the dates"
            )
        else:
            days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(sorted(days))


def _parse_makeup_workdays(raw: str) -> tuple[date, ...]:
    """Saturdays and Sundays the bank works (调休), one date each; every entry that is none is
    named at once."""
    days: set[date] = set()
    problems: list[str] = []
    for entry in _split(raw):
        if ".." in entry:
            problems.append(f"{entry!r}: list each make-up working day, not a range")
            continue
        try:
            day = _parse_date(entry)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if day.weekday() < 5:
            problems.append(
                f"{entry} is a {_WEEKDAYS[day.weekday()]}: only a Saturday or a Sunday can be a"
                " make-up working day"
            )
        else:
            days.add(day)
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(sorted(days))
