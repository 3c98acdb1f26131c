"""The demo bank's month of sharing: `workbench dev` shows funnels, share lists and the radar at
once, from data made the way real traffic makes it."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from tests.customers_data import headers_of
from workbench.brochures import artwork
from workbench.brochures.demo import seed_demo_brochures_from_settings
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers
from workbench.shares.demo import seed_demo_shares

pytestmark = pytest.mark.usefixtures("demo_bank")

# The per-visitor rollup as the re-classification rebuilds it from the human hits.
REBUILT = """
    select share_id, visitor_id,
           min(received_at) filter (where type = 'open') as first_open_at,
           max(received_at) as last_hit_at,
           coalesce(sum(ms) filter (where type = 'heartbeat'), 0) as dwell_ms,
           count(*) filter (where type = 'page_view') as page_views,
           min(received_at) filter (where type = 'cta') as clicked_at
      from share_hits where verdict = 'human'
     group by share_id, visitor_id
"""
ROLLUP = """
    select share_id, visitor_id, first_open_at, last_hit_at, dwell_ms, page_views, clicked_at
      from share_visitors
"""


def _small_pages(sheet: artwork.Sheet, *, count: int = 3) -> list[bytes]:
    """Brochure pages as tiny JPEGs: the demo's artwork takes seconds to draw and check, and
    nothing of the month of shares depends on it (tests/workbench/brochures/test_demo.py looks
    at the real pages)."""
    pages = []
    for n in range(count):
        out = io.BytesIO()
        Image.new("RGB", (60, 80), (20 * sheet.palette % 255, 90 + 40 * n, 160)).save(out, "JPEG")
        pages.append(out.getvalue())
    return pages


@pytest.fixture
async def month(
    settings: Any, db: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The demo customers and brochures, then the month of shares; what seeding said and took."""
    monkeypatch.setattr(artwork, "pages", _small_pages)
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    blob_dir = str(tmp_path / "blobs")
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_brochures_from_settings(db, replace(settings, blob_dir=blob_dir))
    now = datetime.now(UTC)  # after the brochures' publication, as in `workbench dev`
    started = time.perf_counter()
    async with db.transaction():
        added = await seed_demo_shares(db, vault=vault, now=now)
    seconds = time.perf_counter() - started
    async with db.transaction():  # a second run adds nothing
        again = await seed_demo_shares(db, vault=vault, now=now)
    return {"added": added, "again": again, "seconds": seconds, "now": now, "blob_dir": blob_dir}


async def test_the_month_is_made_like_real_traffic(month, db):
    added = month["added"]
    assert added["shares"] > 8 * 4 * 3
    assert added["share_hits"] > added["shares"]
    assert added["conversions"] > 0, added
    assert month["again"] == {"shares": 0, "share_hits": 0, "conversions": 0}
    assert month["seconds"] < 5, month["seconds"]
    assert await db.fetchval("select count(*) from shares") == added["shares"]
    assert await db.fetchval("select count(*) from share_hits") == added["share_hits"]

    # Every share: a brochure live (when it was shared) and visible for its RM (as POST /shares
    # checks), to one of the RM's own customers whom the product suits, or to no one, over a
    # month up to now.
    shares = await db.fetch(
        """
        select s.*, p.risk_level as product_risk, c.risk_level as customer_risk, c.owner_id,
               exists (select from brochure_versions v
                         join brochures b on b.id = v.brochure_id
                         join org_units me on me.id = s.org_unit_id
                         join org_units owner on owner.id = b.owner_unit_id
                        where v.brochure_id = s.brochure_id and v.version = s.brochure_version
                          and v.status = 'published' and me.path like owner.path || '%'
                          and coalesce(v.live_from, v.published_at) <= s.created_at
                          and (v.live_until is null or v.live_until > s.created_at)) as live
          from shares s
          join users u on u.id = s.rm_id and u.role = 'rm' and u.org_unit_id = s.org_unit_id
          join products p on p.code = s.product_code
          left join customers c on c.id = s.customer_id
        """
    )
    assert len(shares) == added["shares"]
    assert all(s["live"] for s in shares)
    to_customers = [s for s in shares if s["customer_id"] is not None]
    assert 0.6 < len(to_customers) / len(shares) < 0.9
    assert all(s["owner_id"] == s["rm_id"] for s in to_customers)
    assert all(s["product_risk"] <= s["customer_risk"] for s in to_customers)
    assert {s["channel"] for s in shares} == {"wechat", "sms", "qr", "link"}
    assert len({s["rm_id"] for s in shares}) == 8
    oldest = min(s["created_at"] for s in shares)
    assert month["now"] - timedelta(days=31) < oldest < month["now"] - timedelta(days=21)

    # The rollup is what a rebuild from the human hits makes; bots are labelled and not counted.
    rollup = sorted(tuple(r) for r in await db.fetch(ROLLUP))
    assert rollup == sorted(tuple(r) for r in await db.fetch(REBUILT))
    reasons = {r[0] for r in await db.fetch("select reason from share_hits where verdict = 'bot'")}
    assert "link preview: WeChat" in reasons
    dwell = await db.fetchval("select max(dwell_ms) from share_visitors")
    assert dwell >= 10_000
    assert dwell % 5_000 == 0  # 5-second heartbeats

    # Conversions: each attributed to a share of its product to its customer, made before it.
    conversions = await db.fetch(
        """
        select c.external_id, c.kind, c.amount, c.occurred_at, s.customer_id = c.customer_id
                   and s.product_code = c.product_code and s.created_at <= c.occurred_at as fits
          from conversions c left join shares s on s.id = c.share_id
        """
    )
    assert len(conversions) == added["conversions"]
    assert all(c["fits"] for c in conversions)
    assert all(c["external_id"].startswith("DEMO-CONV-") for c in conversions)
    assert all((c["amount"] is not None) == (c["kind"] == "purchase") for c in conversions)
    assert all(c["occurred_at"] <= month["now"] for c in conversions)
    timeline = await db.fetchval("select count(*) from customer_timeline where source = 'share'")
    assert timeline > 0


async def test_funnels_share_lists_and_the_radar_show_the_month(month, make_client):
    client = await make_client(blob_dir=month["blob_dir"])
    marketing = await headers_of(client, "marketing")
    response = await client.get("/api/v1/funnels?group_by=brochure", headers=marketing)
    assert response.status_code == 200, response.text
    funnel = response.json()
    total = funnel["total"]
    assert total["shared"] == month["added"]["shares"]
    steps = [total[k] for k in ("shared", "opened", "engaged", "clicked", "converted")]
    assert all(step > 0 for step in steps), steps
    assert steps == sorted(steps, reverse=True), steps
    assert len(funnel["rows"]) > 5
    for row in funnel["rows"]:
        row_steps = [row[k] for k in ("shared", "opened", "engaged", "clicked", "converted")]
        assert row_steps == sorted(row_steps, reverse=True), row

    rm01 = await headers_of(client, "rm01")
    mine = (await client.get("/api/v1/shares?mine=1", headers=rm01)).json()["items"]
    assert sum(item["opens"] for item in mine) > 0
    assert any(item["dwell_seconds"] >= 10 for item in mine)
    assert any(item["customer"] and "*" in item["customer"] for item in mine)

    told = (await client.get("/api/v1/notifications", headers=rm01)).json()["items"]
    radar = [n for n in told if n["category"] == "brochure.opened"]
    assert radar, told
    for note in radar:
        assert note["body"].startswith("您的客户 "), note["body"]
        assert "*" in note["body"].split(" ")[1], note["body"]  # the customer's name, masked
        assert "正在浏览《" in note["body"]
        created = datetime.fromisoformat(note["created_at"])
        assert created > month["now"] - timedelta(hours=1)
    rm02 = await headers_of(client, "rm02")
    others = (await client.get("/api/v1/notifications", headers=rm02)).json()["items"]
    assert not [n for n in others if n["category"] == "brochure.opened"]
