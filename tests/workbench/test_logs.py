"""JSON logs: one object a line, request ids, route templates, never secrets or personal data."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import bearer, device, login
from workbench.logs import JsonFormatter, TextFormatter, configure, request_id_var, scrub
from workbench.seed import DEMO_PASSWORD

JWT = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6InRlc3QtMSIsInR5cCI6ImF0K2p3dCJ9"
    ".eyJzdWIiOiIxMjMiLCJleHAiOjF9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)
ID_NUMBER = "11010519491231002X"
MOBILE = "13812345678"


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict[str, Any]]:
        lines = [line for line in self.text.splitlines() if line.strip()]
        return [json.loads(line) for line in lines]  # every line is one JSON object

    def requests(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e["logger"] == "workbench.access"]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Everything logged through the root logger, formatted as in production."""
    capture = Captured()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def unit_log() -> Iterator[tuple[logging.Logger, Captured]]:
    """A private logger with the JSON formatter, for formatter unit tests."""
    capture = Captured()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.workbench.logs.unit")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, capture
    finally:
        logger.removeHandler(handler)


# ---- over a whole flow -----------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bank")
async def test_a_full_flow_logs_no_secrets_and_names_every_request(client, captured):
    wrong_password = "Wr0ng-but-Secret-guess!"
    tokens = await login(client, "rm01")
    refreshed = await client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"], "device_id": device()["device_id"]},
    )
    assert refreshed.status_code == 200
    new_tokens = refreshed.json()
    me = await client.get("/api/v1/me", headers=bearer(new_tokens))
    assert me.status_code == 200
    failed = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm02", "password": wrong_password, "device": device(2)},
    )
    assert failed.status_code == 401
    invalid = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm03", "password": wrong_password, "device": {"platform": "ios"}},
    )
    assert invalid.status_code == 422
    bearer_of_old = await client.get("/api/v1/me", headers=bearer(tokens))
    assert bearer_of_old.status_code in (200, 401)
    health = await client.get("/healthz")
    assert health.status_code == 200
    responses = [refreshed, me, failed, invalid, bearer_of_old, health]

    text = captured.text
    for secret in (
        DEMO_PASSWORD,
        wrong_password,
        tokens["access_token"],
        tokens["refresh_token"],
        new_tokens["access_token"],
        new_tokens["refresh_token"],
        me.json()["name"],  # personal data
    ):
        assert secret not in text, secret
    # Not even a fragment of a token: signatures and payload segments are secrets too.
    for token in (tokens["access_token"], new_tokens["access_token"]):
        for segment in token.split(".")[1:]:
            assert segment not in text

    entries = captured.entries()  # every line is JSON
    assert entries
    for entry in entries:
        assert {"ts", "level", "logger", "msg"} <= set(entry)
    requests = captured.requests()
    assert len(requests) >= len(responses) + 1  # plus the first login
    for entry in requests:
        assert entry["request_id"], entry
        assert {"method", "route", "status", "ms"} <= set(entry)
    logged_ids = {e["request_id"] for e in requests}
    for response in responses:
        assert response.headers["x-request-id"] in logged_ids
    by_id = {e["request_id"]: e for e in requests}
    assert by_id[failed.headers["x-request-id"]]["status"] == 401
    assert by_id[failed.headers["x-request-id"]]["route"] == "/api/v1/auth/login"
    assert by_id[invalid.headers["x-request-id"]]["status"] == 422
    assert by_id[me.headers["x-request-id"]]["route"] == "/api/v1/me"


@pytest.mark.usefixtures("demo_bank")
async def test_access_log_records_the_route_template_not_the_path(client, captured):
    await login(client, "rm01", device_no="revokeme")
    admin = await login(client, "admin", device_no="admin-01")
    response = await client.post(
        "/api/v1/admin/devices/device-revokeme/revoke", headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    entry = next(
        e for e in captured.requests() if e["request_id"] == response.headers["x-request-id"]
    )
    assert entry["route"] == "/api/v1/admin/devices/{device_id}/revoke"
    assert entry["method"] == "POST"
    assert entry["status"] == 200
    for request in captured.requests():
        assert "revokeme" not in json.dumps(request)


async def test_unhandled_error_logs_the_trace_scrubbed(captured, settings):
    from litestar import get
    from litestar.testing import AsyncTestClient

    from workbench.app import create_app
    from workbench.http.auth import PUBLIC

    @get("/test/boom", opt={PUBLIC: True}, sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError(f"customer phone {MOBILE} token {JWT}")

    app = create_app(settings)
    app.register(boom)
    async with AsyncTestClient(app) as client:
        response = await client.get("/test/boom")
    assert response.status_code == 500
    errors = [e for e in captured.entries() if e["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == response.headers["x-request-id"]
    assert errors[0]["error"] == "RuntimeError"
    assert "Traceback" in errors[0]["trace"]
    assert MOBILE not in captured.text
    assert JWT not in captured.text


# ---- the formatter and scrub() ---------------------------------------------------------------


def test_secret_extra_fields_are_redacted(unit_log):
    logger, capture = unit_log
    logger.info(
        "user changed",
        extra={
            "password": "hunter2-secret",
            "token": "opaque-token-value",
            "phone": MOBILE,
            "id_number": ID_NUMBER,
            "Authorization": "Bearer abc",
            "detail": {"new_password": "another-secret", "customer_name": "王小明", "count": 2},
            "count": 3,
            "ok": True,
        },
    )
    (entry,) = capture.entries()
    for key in ("password", "token", "phone", "id_number", "Authorization"):
        assert entry[key] == "[redacted]", key
    assert entry["detail"] == {
        "new_password": "[redacted]",
        "customer_name": "[redacted]",
        "count": 2,
    }
    assert entry["count"] == 3
    assert entry["ok"] is True
    for secret in ("hunter2-secret", "opaque-token-value", MOBILE, ID_NUMBER, "another", "王小明"):
        assert secret not in capture.text


def test_personal_data_and_tokens_in_messages_are_masked(unit_log):
    logger, capture = unit_log
    logger.warning(
        "customer %s called from %s with %s, order 1234567890 amount 50000",
        ID_NUMBER,
        MOBILE,
        JWT,
    )
    logger.info("lowercase x id 11010519491231002x, refresh wbr_AbC-123_xyz, Bearer sometoken")
    logger.info("values in a list", extra={"items": [f"tel:{MOBILE}", {"phone": "x"}]})
    first, second, third = capture.entries()
    assert first["level"] == "warning"
    assert ID_NUMBER not in first["msg"]
    assert MOBILE not in first["msg"]
    assert JWT not in first["msg"]
    assert "[id-number]" in first["msg"]
    assert "[phone]" in first["msg"]
    assert "[jwt]" in first["msg"]
    # Ordinary numbers are left alone.
    assert "order 1234567890 amount 50000" in first["msg"]
    assert "11010519491231002x" not in second["msg"]
    assert "wbr_AbC-123_xyz" not in second["msg"]
    assert "sometoken" not in second["msg"]
    assert third["items"] == ["tel:[phone]", {"phone": "[redacted]"}]


def test_request_id_is_on_every_line_logged_within_a_request(unit_log):
    logger, capture = unit_log
    reset = request_id_var.set("req-0123456789")
    try:
        logger.info("inside")
    finally:
        request_id_var.reset(reset)
    (entry,) = capture.entries()
    assert entry["request_id"] == "req-0123456789"
    assert entry["logger"] == "tests.workbench.logs.unit"
    assert entry["ts"].endswith("Z")


def test_exception_traces_are_scrubbed(unit_log):
    logger, capture = unit_log
    try:
        raise ValueError(f"bad id {ID_NUMBER} for {MOBILE}")
    except ValueError:
        logger.exception("import failed")
    (entry,) = capture.entries()
    assert entry["error"] == "ValueError"
    assert "ValueError" in entry["trace"]
    assert ID_NUMBER not in capture.text
    assert MOBILE not in capture.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"id {ID_NUMBER}.", "id [id-number]."),
        (f"phone {MOBILE}", "phone [phone]"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [redacted]"),
        (f"token={JWT}", "token=[jwt]"),
        ("wbr_abcDEF-_123", "[refresh-token]"),
        ("12345678901", "12345678901"),  # 11 digits, not a mobile number (starts with 1, then 2)
        ("1234567890123456789", "1234567890123456789"),  # 19 digits: not an ID number
        ("nothing to hide", "nothing to hide"),
    ],
)
def test_scrub(raw, expected):
    assert scrub(raw) == expected


@pytest.mark.parametrize("written", [f"+86{MOBILE}", f"0086{MOBILE}", f"86{MOBILE}"])
def test_mobile_numbers_with_the_country_code_are_masked(written):
    assert MOBILE not in scrub(f"SMS to {written} failed")


# ---- the text format (`workbench dev`) -------------------------------------------------------

REQUEST_LINE = re.compile(r"^\d\d:\d\d:\d\d (GET|POST|PUT|PATCH|DELETE) (/\S*) (\d{3}) \d+\.\dms$")


@pytest.fixture
def captured_text() -> Iterator[Captured]:
    """Everything logged through the root logger, as `WORKBENCH_LOG_FORMAT=text` writes it."""
    capture = Captured()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.usefixtures("demo_bank")
async def test_text_request_lines_are_short_and_keep_secrets_out(client, captured_text):
    wrong_password = "Wr0ng-but-Secret-guess!"
    tokens = await login(client, "rm01", device_no="textlog1")
    me = await client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200
    failed = await client.post(
        "/api/v1/auth/login",
        json={"login": "rm02", "password": wrong_password, "device": device(2)},
    )
    assert failed.status_code == 401
    admin = await login(client, "admin", device_no="admin-01")
    revoked = await client.post(
        "/api/v1/admin/devices/device-textlog1/revoke", headers=bearer(admin)
    )
    assert revoked.status_code == 200, revoked.text

    lines = [line for line in captured_text.text.splitlines() if REQUEST_LINE.match(line)]
    requests = [m.groups() for m in map(REQUEST_LINE.match, lines) if m]
    assert ("GET", "/api/v1/me", "200") in requests
    assert ("POST", "/api/v1/auth/login", "401") in requests
    # The route template, never the raw path.
    assert ("POST", "/api/v1/admin/devices/{device_id}/revoke", "200") in requests
    assert not [line for line in lines if "textlog" in line]
    for secret in (
        DEMO_PASSWORD,
        wrong_password,
        tokens["access_token"],
        tokens["refresh_token"],
        me.json()["name"],
    ):
        assert secret not in captured_text.text, secret


def test_text_lines_redact_fields_messages_and_traces():
    capture = Captured()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("tests.workbench.logs.text")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.warning(
            "customer %s called from %s with %s",
            ID_NUMBER,
            MOBILE,
            JWT,
            extra={
                "password": "hunter2-secret",
                "detail": {"customer_name": "王小明", "count": 2},
                "count": 3,
            },
        )
        token = request_id_var.set("req-text-0001")
        try:
            raise ValueError(f"bad id {ID_NUMBER} for {MOBILE}")
        except ValueError:
            logger.exception("import failed")  # during a request: the id to quote is on it
        finally:
            request_id_var.reset(token)
        # uvicorn's copy of its message with terminal colours is left out.
        logger.info("Started server process", extra={"color_message": "Started \x1b[36m1\x1b[0m"})
    finally:
        logger.removeHandler(handler)
    *_, last = capture.text.splitlines()
    assert last.endswith("INFO tests.workbench.logs.text: Started server process")
    assert "\x1b" not in capture.text
    first, *trace = capture.text.splitlines()[:-1]
    assert re.match(r"^\d\d:\d\d:\d\d WARNING tests\.workbench\.logs\.text: customer ", first)
    assert "[id-number]" in first
    assert "[phone]" in first
    assert "[jwt]" in first
    assert "password=[redacted]" in first
    assert "count=3" in first
    assert '"customer_name":"[redacted]"' in first
    assert any(
        "ERROR tests.workbench.logs.text: import failed request_id=req-text-0001" in line
        for line in trace
    )
    assert "request_id" not in first  # logged outside any request
    assert any("ValueError" in line for line in trace)
    for secret in ("hunter2-secret", "王小明", ID_NUMBER, MOBILE, JWT):
        assert secret not in capture.text, secret


@pytest.mark.parametrize(
    ("fmt", "environ", "expected"),
    [
        (None, None, JsonFormatter),
        (None, "text", TextFormatter),
        (None, "json", JsonFormatter),
        ("text", None, TextFormatter),
        ("json", "text", JsonFormatter),  # an explicit choice wins over the environment
    ],
)
def test_configure_picks_the_format(monkeypatch, fmt, environ, expected):
    if environ is None:
        monkeypatch.delenv("WORKBENCH_LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("WORKBENCH_LOG_FORMAT", environ)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("INFO", fmt)
        (handler,) = root.handlers
        assert type(handler.formatter) is expected
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
