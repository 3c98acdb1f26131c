"""The client's address behind the bank's proxies: for sign-in rate limits, audit and metrics."""

from __future__ import annotations

import pytest

from tests.helpers import device, from_peer
from workbench.http.client_ip import client_ip, parse_networks, relayed_clients

PROXIES = parse_networks(("10.0.0.2/32", "10.0.0.3/32"))


def _scope(peer: str, *headers: tuple[str, str]) -> dict[str, object]:
    return {
        "client": (peer, 40000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # Each header a proxy of the bank may name the client in.
        ("10.0.0.2", [("X-Forwarded-For", "203.0.113.7")], "203.0.113.7"),
        ("10.0.0.2", [("Forwarded", "for=203.0.113.7;proto=https;by=10.0.0.2")], "203.0.113.7"),
        ("10.0.0.2", [("Forwarded", 'for="[2001:DB8::7]:4711"')], "2001:db8::7"),
        ("10.0.0.2", [("Forwarded", 'For="203.0.113.7:443"')], "203.0.113.7"),
        ("10.0.0.2", [("X-Real-IP", "203.0.113.7")], "203.0.113.7"),
        # Walked from the right past the bank's proxies: what the client itself put first is not
        # believed, in any header.
        ("10.0.0.2", [("X-Forwarded-For", "1.2.3.4, 203.0.113.7, 10.0.0.3")], "203.0.113.7"),
        ("10.0.0.2", [("Forwarded", "for=1.2.3.4, for=203.0.113.7, for=10.0.0.3")], "203.0.113.7"),
        # A quote the client left open does not hide what the proxy appended.
        ("10.0.0.2", [("Forwarded", 'for="1.2.3.4, for=203.0.113.7')], "203.0.113.7"),
        # A proxy that adds its own line after the one its client sent.
        (
            "10.0.0.2",
            [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "203.0.113.7")],
            "203.0.113.7",
        ),
        # A proxy that appends X-Forwarded-For is not overruled by headers its client made up.
        (
            "10.0.0.2",
            [
                ("X-Real-IP", "1.2.3.4"),
                ("Forwarded", "for=1.2.3.4"),
                ("X-Forwarded-For", "203.0.113.7"),
            ],
            "203.0.113.7",
        ),
        # A CDN's header is no proxy setup of the bank's: the proxy itself is the client.
        ("10.0.0.2", [("True-Client-IP", "203.0.113.7")], "10.0.0.2"),
        # Undisclosed: all such clients counted together.
        ("10.0.0.2", [("Forwarded", "for=unknown")], "0.0.0.0"),  # noqa: S104
        ("10.0.0.2", [("X-Forwarded-For", "10.0.0.3")], "10.0.0.3"),  # only proxies: the first
        ("10.0.0.2", [], "10.0.0.2"),
        # Not from a trusted proxy: whatever it says, the peer is the client.
        ("203.0.113.9", [("X-Forwarded-For", "1.2.3.4")], "203.0.113.9"),
        ("203.0.113.9", [("Forwarded", "for=1.2.3.4")], "203.0.113.9"),
        ("203.0.113.9", [("X-Real-IP", "1.2.3.4")], "203.0.113.9"),
    ],
)
def test_client_ip_reads_the_header_the_trusted_proxy_sets(peer, headers, client):
    assert client_ip(_scope(peer, *headers), PROXIES) == client


def test_every_relay_header_names_its_client():
    scope = _scope(
        "10.0.0.2",
        ("X-Forwarded-For", "192.168.1.9, 10.0.0.3"),
        ("Forwarded", "proto=https"),
        ("CF-Connecting-IP", "203.0.113.7"),
        ("X-Forwarded-Proto", "https"),
    )
    assert sorted(relayed_clients(scope, PROXIES)) == ["", "192.168.1.9", "203.0.113.7"]
    assert relayed_clients(_scope("10.0.0.2", ("Via", "1.1 lb")), PROXIES) == [""]
    assert relayed_clients(_scope("10.0.0.2", ("Accept", "*/*")), PROXIES) == []


# ---- what a user notices: sign-in limits and the audit trail ------------------------------------


@pytest.mark.usefixtures("demo_bank")
@pytest.mark.parametrize(
    ("header", "template"),
    [
        ("X-Forwarded-For", "{}"),
        ("Forwarded", "for={};proto=https"),
        ("X-Real-IP", "{}"),
    ],
)
async def test_sign_in_failures_behind_the_proxy_count_per_client(
    make_client, db, header, template
):
    # Everyone comes through the bank's proxy: one guesser must not lock the others out, and the
    # audit trail names the guesser, not the proxy.
    client = await make_client(
        trusted_proxies=("10.0.0.2/32",), login_limit_per_ip=3, login_limit_per_login=100
    )
    async with from_peer(client, "10.0.0.2") as http:

        async def sign_in(client: str, who: str, password: str) -> int:
            response = await http.post(
                "/api/v1/auth/login",
                headers={header: template.format(client)},
                json={"login": who, "password": password, "device": device(who[-1])},
            )
            return response.status_code

        for n in range(3):
            assert await sign_in("203.0.113.7", f"rm0{n + 1}", "nope-nope") == 401
        assert await sign_in("203.0.113.7", "rm04", "workbench-demo") == 429
        assert await sign_in("198.51.100.4", "rm05", "workbench-demo") == 200
    failed = await db.fetch(
        "select host(client_ip) as ip from audit_events where action = 'login_failed'"
    )
    assert [row["ip"] for row in failed] == ["203.0.113.7"] * 3
