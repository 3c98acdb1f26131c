"""The demo bank's brochures: every state, so `workbench dev` shows a full catalogue to RMs and a
review queue to compliance."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from PIL import Image

from tests.customers_data import headers_of
from tests.workbench.brochures.conftest import BROCHURES, STUDIO
from workbench.brochures.demo import BROCHURES as DEMO
from workbench.brochures.demo import seed_demo_brochures_from_settings
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers

pytestmark = pytest.mark.usefixtures("demo_bank")


async def test_the_demo_brochures_cover_every_state(settings, db, make_client, tmp_path):
    blob_dir = str(tmp_path / "blobs")
    demo = replace(settings, blob_dir=blob_dir)
    await use_json_codecs(db)
    async with db.transaction():
        await seed_demo_customers(
            db, vault=Vault.from_settings(settings.data_keys, settings.blind_index_key)
        )
        made = await seed_demo_brochures_from_settings(db, demo)
    assert made == {"brochures": len(DEMO)} == {"brochures": 20}
    async with db.transaction():  # a second run adds nothing
        assert await seed_demo_brochures_from_settings(db, demo) == {"brochures": 0}

    statuses = Counter(
        r["status"]
        for r in await db.fetch(
            "select distinct on (brochure_id) status from brochure_versions"
            " order by brochure_id, version desc"
        )
    )
    for status in ("draft", "pending_review", "approved", "rejected", "published", "unpublished"):
        assert statuses[status] > 0, statuses

    client = await make_client(blob_dir=blob_dir)
    rm = await headers_of(client, "rm01")
    catalogue = (await client.get(BROCHURES, headers=rm)).json()["items"]
    live = [d for d in DEMO if d.state in ("live", "ending", "revised")]
    assert len(catalogue) == len(live)
    assert all(
        item["live_until"] is None or datetime.fromisoformat(item["live_until"]) > datetime.now(UTC)
        for item in catalogue
    )
    compliance = await headers_of(client, "compliance")
    queue = (await client.get(f"{STUDIO}/review-queue", headers=compliance)).json()
    assert len(queue) == sum(d.state in ("pending", "revised") for d in DEMO)
    revised = next(r for r in queue if r["published_version"] is not None)
    detail = (await client.get(f"{STUDIO}/{revised['id']}", headers=compliance)).json()
    assert {c["field"] for c in detail["changes"]} == {"title", "talk_track"}

    # The pages are real images with Chinese text, not placeholders.
    page = await db.fetchrow("select blob_key, width, height from brochure_images limit 1")
    image = Image.open(io.BytesIO((tmp_path / "blobs" / page["blob_key"]).read_bytes()))
    assert (image.width, image.height) == (page["width"], page["height"]) == (1240, 1754)
