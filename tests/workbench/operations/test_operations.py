"""Operations endpoints: liveness, readiness, Prometheus metrics, OpenAPI; none needs a token."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers import device, from_peer
from workbench.http.client_ip import parse_networks
from workbench.operations.routes import metrics_allowed


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_and_redis(client):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "redis": "ok"}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample whose labels include `labels`, or None."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(?P<labels>[^}}]*)\}} (?P<value>\S+)", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group("value"))
    return None


@pytest.mark.usefixtures("demo_bank")
async def test_metrics_count_requests_by_route_template(client):
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    bad_login = {"login": "rm01", "password": "wrong-password", "device": device()}
    assert (await client.post("/api/v1/auth/login", json=bad_login)).status_code == 401

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE workbench_http_requests_total counter" in text
    assert (
        sample(text, "workbench_http_requests_total", method="GET", route="/healthz", status="200")
        == 3
    )
    assert (
        sample(
            text,
            "workbench_http_requests_total",
            method="POST",
            route="/api/v1/auth/login",
            status="401",
        )
        == 1
    )
    assert sample(text, "workbench_logins_total", outcome="refused") == 1
    assert "workbench_http_request_seconds_bucket" in text

    # The next scrape has counted the one before.
    again = (await client.get("/metrics")).text
    assert sample(again, "workbench_http_requests_total", method="GET", route="/metrics") == 1


async def test_openapi_document_is_served_without_a_token(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in document["paths"]
    assert "post" in document["paths"]["/api/v1/auth/login"]
    assert "/api/v1/me" in document["paths"]
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas
    assert {"code", "status", "title"} <= set(schemas["Problem"]["properties"])


async def test_openapi_ui_is_served_without_a_token(client):
    response = await client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_operations_endpoints_need_no_token_and_ignore_a_bad_one(client):
    for path in ("/healthz", "/readyz", "/metrics", "/schema/openapi.json"):
        assert (await client.get(path)).status_code == 200, path
        junk = await client.get(path, headers={"Authorization": "Bearer junk"})
        assert junk.status_code == 200, path


# ---- who may read the metrics ------------------------------------------------------------------

PRIVATE = parse_networks(("127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16"))
PROXY = parse_networks(("10.0.0.2/32",))


def _scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 40000), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "forwarded", "allowed"),
    [
        ("10.1.2.3", None, True),  # Prometheus in the bank's network
        ("127.0.0.1", None, True),
        ("203.0.113.7", None, False),  # anyone on the internet: the customers' pages' port
        ("10.0.0.2", "203.0.113.7", False),  # through the trusted proxy, from the internet
        ("10.0.0.2", "192.168.1.9", True),  # through the trusted proxy, from inside
        ("10.0.0.9", "192.168.1.9", False),  # relayed by a proxy not trusted: client unknown
        ("", None, True),  # a Unix socket: local
        ("", "203.0.113.7", False),
    ],
)
def test_metrics_are_for_the_banks_networks_only(peer, forwarded, allowed):
    assert metrics_allowed(_scope(peer, forwarded), PROXY, PRIVATE) is allowed


def test_metrics_believe_the_line_the_trusted_proxy_added():
    # The client's own X-Forwarded-For, then the line the proxy added (HAProxy adds one).
    scope = {
        "client": ("10.0.0.2", 40000),
        "headers": [(b"x-forwarded-for", b"192.168.1.9"), (b"x-forwarded-for", b"203.0.113.7")],
    }
    assert metrics_allowed(scope, PROXY, PRIVATE) is False


# How each kind of proxy names a client from the internet, and one from the bank's network.
RELAYS = [
    ("X-Forwarded-For", "203.0.113.7", "192.168.1.9"),
    ("Forwarded", "for=203.0.113.7;proto=https", 'for="192.168.1.9:4711";proto=https'),
    ("Forwarded", 'for="[2001:db8::7]:443"', "for=192.168.1.9"),
    ("X-Real-IP", "203.0.113.7", "192.168.1.9"),
    ("True-Client-IP", "203.0.113.7", "192.168.1.9"),
    ("CF-Connecting-IP", "203.0.113.7", "192.168.1.9"),
    ("X-Client-IP", "203.0.113.7", "192.168.1.9"),
]


async def _get_metrics(
    client: AsyncTestClient[Litestar], peer: str, headers: list[tuple[str, str]]
):
    async with from_peer(client, peer) as http:
        return await http.get("/metrics", headers=headers)


@pytest.mark.parametrize(("header", "outside", "inside"), RELAYS)
async def test_metrics_relayed_by_any_header_are_judged_by_the_client_it_names(
    make_client, header, outside, inside
):
    client = await make_client(trusted_proxies=("10.0.0.2/32",))
    # A proxy the bank did not list (a private address all the same): whoever it names.
    for value in (outside, inside):
        response = await _get_metrics(client, "10.0.0.9", [(header, value)])
        assert response.status_code == 404, (header, value)
        assert "workbench_http_requests_total" not in response.text
    # The trusted proxy: the client it names decides.
    outsider = await _get_metrics(client, "10.0.0.2", [(header, outside)])
    assert outsider.status_code == 404, header
    assert "workbench_http_requests_total" not in outsider.text
    insider = await _get_metrics(client, "10.0.0.2", [(header, inside)])
    assert insider.status_code == 200, header
    assert "workbench_http_requests_total" in insider.text


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        # A proxy that sets X-Real-IP passes on an X-Forwarded-For its client made up.
        ([("X-Forwarded-For", "192.168.1.9"), ("X-Real-IP", "203.0.113.7")], False),
        ([("Forwarded", "for=192.168.1.9, for=203.0.113.7")], False),
        ([("Forwarded", "for=unknown")], False),
        ([("Forwarded", "proto=https")], False),  # names no client
        ([("X-Real-IP", "")], False),
        ([("Via", "1.1 lb"), ("X-Forwarded-Proto", "https")], False),  # relayed, client unknown
        ([("X-Forwarded-For", "192.168.1.9"), ("X-Real-IP", "192.168.1.9")], True),
        ([("X-Forwarded-For", "192.168.1.9, 10.0.0.2"), ("X-Forwarded-Proto", "https")], True),
    ],
)
async def test_metrics_through_the_trusted_proxy_need_every_named_client_inside(
    make_client, headers, allowed
):
    client = await make_client(trusted_proxies=("10.0.0.2/32",))
    response = await _get_metrics(client, "10.0.0.2", headers)
    assert response.status_code == (200 if allowed else 404), headers


async def test_a_relayed_request_for_the_metrics_is_not_found(client):
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP", "True-Client-IP", "Via"):
        value = "for=203.0.113.7" if header == "Forwarded" else "203.0.113.7"
        response = await client.get("/metrics", headers={header: value})
        assert response.status_code == 404, header
        assert "workbench_http_requests_total" not in response.text


@pytest.mark.usefixtures("demo_bank")
async def test_api_answers_are_never_cached_or_sniffed(client):
    # A customer's masked data or a token in a private cache outlives the session that read it.
    tokens = (
        await client.post(
            "/api/v1/auth/login",
            json={"login": "rm01", "password": "workbench-demo", "device": device()},
        )
    ).json()
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    assert me.headers["x-content-type-options"] == "nosniff"
    missing = await client.get("/api/v1/customers/00000000-0000-0000-0000-000000000000")
    assert missing.headers["cache-control"] == "no-store"
    assert (await client.get("/healthz")).headers["x-content-type-options"] == "nosniff"
