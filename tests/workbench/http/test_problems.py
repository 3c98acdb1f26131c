"""Error shapes: RFC 9457 problem+json with stable codes, request ids, app version, CORS."""

from __future__ import annotations

from dataclasses import replace

import pytest
from litestar import get, post
from litestar.testing import AsyncTestClient

from tests.helpers import bearer, device, login
from workbench.app import create_app
from workbench.http.auth import PUBLIC
from workbench.http.deps import Db

PROBLEM = "application/problem+json"
LOGIN = "/api/v1/auth/login"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def nothing_written(db) -> None:
    assert await db.fetchval("select count(*) from sessions") == 0
    assert await db.fetchval("select count(*) from audit_events") == 0
    assert await db.fetchval("select count(*) from devices") == 0


# ---- 422: bad bodies -------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bank")
async def test_wrong_type_is_422_with_the_field_path(client, db):
    response = await client.post(
        LOGIN, json={"login": "rm01", "password": 12345678, "device": device()}
    )
    body = assert_problem(response, 422, "request.validation_failed")
    assert [e["path"] for e in body["errors"]] == ["$.password"]
    assert body["errors"][0]["message"]
    await nothing_written(db)


@pytest.mark.usefixtures("demo_bank")
async def test_nested_bad_enum_is_422_at_its_json_path(client, db):
    # The right password: only the platform is wrong, and nothing may happen.
    response = await client.post(
        LOGIN,
        json={
            "login": "rm01",
            "password": "workbench-demo",
            "device": {"device_id": "device-00000001", "platform": "symbian"},
        },
    )
    body = assert_problem(response, 422, "request.validation_failed")
    assert [e["path"] for e in body["errors"]] == ["$.device.platform"]
    assert "symbian" not in body["errors"][0]["path"]
    await nothing_written(db)


@pytest.mark.usefixtures("demo_bank")
async def test_missing_required_field_is_422(client, db):
    response = await client.post(LOGIN, json={"login": "rm01", "device": device()})
    body = assert_problem(response, 422, "request.validation_failed")
    assert isinstance(body["errors"], list)
    assert len(body["errors"]) == 1
    assert body["errors"][0] == {"path": "$.password", "message": "is required"}
    await nothing_written(db)


@pytest.mark.usefixtures("demo_bank")
@pytest.mark.parametrize(
    "content", [b"not json at all", b'{"login": "rm01", "password": ', b"", b"[1, 2]"]
)
async def test_body_that_is_not_a_login_object_is_422(client, db, content):
    response = await client.post(
        LOGIN, content=content, headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 422, "request.validation_failed")
    assert isinstance(body["errors"], list)
    assert body["errors"]
    await nothing_written(db)


@pytest.mark.usefixtures("demo_bank")
async def test_validation_problem_does_not_echo_the_password(client):
    response = await client.post(
        LOGIN,
        json={"login": "rm01", "password": "hunter2-very-secret", "device": {"platform": "ios"}},
    )
    assert_problem(response, 422, "request.validation_failed")
    assert "hunter2-very-secret" not in response.text


# ---- 413 -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bank")
async def test_body_over_the_limit_is_413(make_client, db):
    client = await make_client(max_body_bytes=1000)
    small = await client.post(
        LOGIN, json={"login": "rm01", "password": "workbench-demo", "device": device()}
    )
    assert small.status_code == 200
    big = await client.post(
        LOGIN,
        json={
            "login": "rm02",
            "password": "workbench-demo",
            "device": device(2) | {"model": "x" * 2000},
        },
    )
    assert_problem(big, 413, "request.too_large")
    assert await db.fetchval("select count(*) from sessions") == 1


# ---- 404 / 405 -------------------------------------------------------------------------------


async def test_unknown_path_is_404_problem(client):
    for path in ("/api/v1/no-such-thing", "/nope"):
        assert_problem(await client.get(path), 404, "http.not_found")


async def test_wrong_method_is_405_problem(client):
    response = await client.get(LOGIN)
    assert_problem(response, 405, "http.method_not_allowed")
    assert "POST" in response.headers.get("allow", "")


async def test_missing_token_is_401_problem(client):
    assert_problem(await client.get("/api/v1/me"), 401, "auth.unauthorized")
    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert_problem(response, 401, "auth.invalid_token")


# ---- 500 -------------------------------------------------------------------------------------


@get("/test/explode", opt={PUBLIC: True}, sync_to_thread=False)
def explode() -> None:
    raise RuntimeError("secret detail: password=hunter2")


@post("/test/explode-in-tx", opt={PUBLIC: True})
async def explode_in_transaction(db: Db) -> None:
    await db.execute("insert into audit_events (action) values ('should_not_stay')")
    raise RuntimeError("secret detail after a write")


async def test_unhandled_error_is_500_without_details(settings, db):
    app = create_app(settings)
    app.register(explode)
    app.register(explode_in_transaction)
    async with AsyncTestClient(app) as client:
        response = await client.get("/test/explode")
        body = assert_problem(response, 500, "server.error")
        assert body["request_id"]
        for leak in ("secret detail", "hunter2", "Traceback", "RuntimeError", "File "):
            assert leak not in response.text
        # A failing request rolls its transaction back.
        in_tx = await client.post("/test/explode-in-tx")
        assert_problem(in_tx, 500, "server.error")
        assert "secret detail" not in in_tx.text
        # The service keeps answering.
        assert (await client.get("/healthz")).status_code == 200
    assert await db.fetchval("select count(*) from audit_events") == 0


# ---- request ids -----------------------------------------------------------------------------


async def test_every_answer_carries_a_request_id(client):
    ok = await client.get("/healthz")
    assert ok.status_code == 200
    missing = await client.get("/api/v1/none")
    unauthorized = await client.get("/api/v1/me")
    ids = [r.headers.get("x-request-id") for r in (ok, missing, unauthorized)]
    assert all(ids), ids
    assert len(set(ids)) == 3
    assert missing.json()["request_id"] == ids[1]
    assert unauthorized.json()["request_id"] == ids[2]


async def test_sane_incoming_request_id_is_echoed(client):
    rid = "req-7f3a9c01.retry_2"
    ok = await client.get("/healthz", headers={"X-Request-Id": rid})
    assert ok.headers["x-request-id"] == rid
    for path in ("/api/v1/me", "/api/v1/no-such-thing"):  # 401 from a route, 404 from routing
        error = await client.get(path, headers={"X-Request-Id": rid})
        assert error.headers["x-request-id"] == rid, path
        assert error.json()["request_id"] == rid, path


@pytest.mark.parametrize(
    "insane", ["has spaces in it", "a" * 200, "short", "inject\\r\\nx: y", "<script>1234</script>"]
)
async def test_insane_incoming_request_id_is_replaced(client, insane):
    response = await client.get("/api/v1/me", headers={"X-Request-Id": insane})
    rid = response.headers["x-request-id"]
    assert rid
    assert rid != insane
    assert " " not in rid
    assert len(rid) <= 64
    assert response.json()["request_id"] == rid


# ---- X-App-Version ---------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_bank")
async def test_app_version_below_minimum_is_426(make_client):
    client = await make_client(min_app_version="3.2.0")
    good = {"login": "rm01", "password": "workbench-demo", "device": device()}
    old = await client.post(LOGIN, json=good, headers={"X-App-Version": "3.1.9"})
    body = assert_problem(old, 426, "app.upgrade_required")
    assert body["min_app_version"] == "3.2.0"
    # Also before authentication: an old app is told to update, not to sign in again.
    old_me = await client.get("/api/v1/me", headers={"X-App-Version": "2.9"})
    assert_problem(old_me, 426, "app.upgrade_required")

    # Trailing zeros do not count, a `v` and build metadata are read past; a pre-release of the
    # minimum comes before it.
    for version in ("3.2.0", "3.10.0", "4", "3.2.0.1", "3.2", "v3.2.0", "3.2.0+45", "3.3.0-rc.1"):
        response = await client.post(LOGIN, json=good, headers={"X-App-Version": version})
        assert response.status_code == 200, (version, response.text)
    for version in ("3.2.0-beta.1", "3.1.99", "3"):
        response = await client.post(LOGIN, json=good, headers={"X-App-Version": version})
        assert_problem(response, 426, "app.upgrade_required")
    tokens = await login(client, "rm01")  # no header at all passes
    me = await client.get("/api/v1/me", headers=bearer(tokens) | {"X-App-Version": "3.2.1"})
    assert me.status_code == 200

    # Python's int() would take these (underscores, signs, spaces, other scripts' digits).
    for nonsense in ("banana", "3.x", "", "1_000.0", "-1", "2 .9", "+4", "٣.٢".encode(), "3.2.0-"):
        response = await client.post(LOGIN, json=good, headers={"X-App-Version": nonsense})
        body = assert_problem(response, 400, "app.bad_version")

    # The operations probes answer whatever app headers a monitor copies; the pages read in a
    # browser (the console, customers' links, the schema) are no calls of the app's either.
    for page in ("/healthz", "/readyz", "/console/sign-in", "/schema/openapi.json"):
        response = await client.get(page, headers={"X-App-Version": "0.0.1"})
        assert response.status_code == 200, (page, response.text)
    # The refusal does not echo the header (its bytes would read as Latin-1).
    refused = await client.get("/api/v1/me", headers={"X-App-Version": "２.0.0".encode()})
    assert assert_problem(refused, 400, "app.bad_version")["detail"] == (
        "X-App-Version is not a version like 3.2.0"
    )


async def test_without_a_minimum_any_app_version_passes(client):
    response = await client.get("/healthz", headers={"X-App-Version": "0.0.1"})
    assert response.status_code == 200


# ---- CORS ------------------------------------------------------------------------------------


async def test_cors_preflight_only_for_allowed_origins(make_client):
    client = await make_client(cors_origins=("https://app.bank.example",))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-app-version",
    }
    allowed = await client.options(
        LOGIN, headers=preflight | {"Origin": "https://app.bank.example"}
    )
    assert allowed.status_code < 300
    assert allowed.headers["access-control-allow-origin"] == "https://app.bank.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]

    evil = await client.options(LOGIN, headers=preflight | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers

    simple = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers
    simple = await client.get("/healthz", headers={"Origin": "https://app.bank.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.bank.example"
    assert "x-request-id" in simple.headers.get("access-control-expose-headers", "").lower()


async def test_no_cors_headers_without_configured_origins(settings, make_client):
    assert replace(settings).cors_origins == ()
    client = await make_client()
    response = await client.get("/healthz", headers={"Origin": "https://app.bank.example"})
    assert "access-control-allow-origin" not in response.headers
