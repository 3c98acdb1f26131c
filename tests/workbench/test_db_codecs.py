"""Pooled connections write and read client addresses (inet) as asyncpg's own codec does, and
take the packed form the tracking worker copies as it is."""

from __future__ import annotations

import ipaddress
from typing import Any

import asyncpg
import pytest

from workbench.db import create_pool

ip, interface = ipaddress.ip_address, ipaddress.ip_interface
# (what a caller passes, what PostgreSQL stores as text, what a read gives back)
ADDRESSES = [
    ("203.0.113.9", "203.0.113.9/32", ip("203.0.113.9")),
    (b"\xcb\x00\x71\x09", "203.0.113.9/32", ip("203.0.113.9")),
    (bytes(15) + b"\x01", "::1/128", ip("::1")),
    ("2001:db8::1", "2001:db8::1/128", ip("2001:db8::1")),
    ("::ffff:203.0.113.9", "::ffff:203.0.113.9/128", ip("::ffff:203.0.113.9")),
    ("10.0.0.0/8", "10.0.0.0/8", interface("10.0.0.0/8")),
    ("192.0.2.5/24", "192.0.2.5/24", interface("192.0.2.5/24")),
    (ipaddress.ip_network("198.51.100.0/24"), "198.51.100.0/24", interface("198.51.100.0/24")),
    (interface("2001:db8::7/64"), "2001:db8::7/64", interface("2001:db8::7/64")),
    (ip("198.51.100.1"), "198.51.100.1/32", ip("198.51.100.1")),
]


async def test_addresses_are_written_and_read_as_asyncpg_does(settings: Any) -> None:
    pool = await create_pool(settings.database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            for given, stored, read in ADDRESSES:
                assert await conn.fetchval("select $1::inet::text", given) == stored
                assert await conn.fetchval("select $1::inet", given) == read
                assert await conn.fetchval("select $1::inet", stored) == read
            assert await conn.fetchval("select $1::inet", None) is None
            for bad in ("not an address", b"\x01\x02\x03"):
                with pytest.raises(asyncpg.DataError, match="invalid input for query argument"):
                    await conn.fetchval("select $1::inet", bad)
    finally:
        await pool.close()
