"""Logs that never carry passwords, tokens or personal data: JSON lines for machines (production),
or short text lines for a person at a terminal (`WORKBENCH_LOG_FORMAT=text`, `workbench dev`)."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import time
from typing import Any

import msgspec

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# Keys whose values are never written, whatever logs them.
_SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "cookie",
        "secret",
        "id_number",
        "phone",
        "name",
        "customer_name",
        "push_token",
        "otp",
    }
)
# Values that look like secrets or personal data are masked inside free text too.
_SCRUB = [
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "[jwt]"),
    (re.compile(r"wbr_[\w-]+"), "[refresh-token]"),
    (re.compile(r"(?i)bearer\s+\S+"), "Bearer [redacted]"),
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"), "[id-number]"),
    (re.compile(r"(?<!\d)(?:(?:\+|00)?86[- ]?)?1[3-9]\d{9}(?!\d)"), "[phone]"),
]
# Record attributes that are not extra fields (uvicorn adds `color_message`: its message with
# terminal colour codes).
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
}


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any, key: str = "") -> Any:
    if key.lower() in _SECRET_KEYS:
        return "[redacted]"
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _clean(value, key)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["trace"] = scrub(self.formatException(record.exc_info))
        return msgspec.json.encode(entry).decode()


_ACCESS_LOGGER = "workbench.access"  # the request lines of workbench.http.middleware


class TextFormatter(logging.Formatter):
    """One short line for a person: `12:01:02 GET /api/v1/me 200 3.1ms` for a request (the route
    template, as in JSON), `12:01:02 WARNING workbench.push: message key=value` otherwise (a
    warning or error during a request ends with its `request_id=`); local time. Redacted exactly
    as the JSON lines are."""

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = {
            key: _clean(value, key)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        }
        if record.name == _ACCESS_LOGGER and {"method", "route", "status", "ms"} <= fields.keys():
            line = (
                f"{clock} {fields.pop('method')} {fields.pop('route')} {fields.pop('status')}"
                f" {_milliseconds(fields.pop('ms'))}"
            )
        else:
            line = f"{clock} {record.levelname} {record.name}: {scrub(record.getMessage())}"
        line += "".join(f" {key}={_text(value)}" for key, value in fields.items())
        if record.levelno >= logging.WARNING and (rid := request_id_var.get()) is not None:
            line += f" request_id={rid}"  # the id a 500 page or problem tells the user to quote
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + scrub(self.formatException(record.exc_info))
        return line


def _milliseconds(value: Any) -> str:
    try:
        return f"{float(value):.1f}ms"
    except (TypeError, ValueError):
        return f"{value}ms"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() for c in value) else repr(value)
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    return str(value)


def configure(level: str = "INFO", fmt: str | None = None) -> None:
    """Route every logger (ours, uvicorn's, arq's) through one redacting formatter on stderr.
    `fmt` is `json` or `text`; None takes WORKBENCH_LOG_FORMAT from the environment (the
    settings refuse any other value at start), `json` when unset or unknown."""
    chosen = (fmt or os.environ.get("WORKBENCH_LOG_FORMAT") or "json").strip().lower()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if chosen == "text" else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("pgserver").setLevel("WARNING")
    # uvicorn's access log prints raw paths, which can carry link tokens: we log requests ourselves.
    logging.getLogger("uvicorn.access").disabled = True
