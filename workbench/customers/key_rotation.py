"""`workbench rotate-keys`: re-encrypt personal data still under an older data key.

Put the new key first in WORKBENCH_DATA_KEYS (keep the old ones after it), restart, then run this.
It works in batches, one transaction each, skips values already under the current key, and can
be stopped and run again at any time. When it reports nothing left, the old keys can be removed.
"""

from __future__ import annotations

from typing import Any

from workbench.customers import queries
from workbench.customers.feeds import personal_data_aad
from workbench.db import Pool
from workbench.security.vault import Vault
from workbench.timeline import queries as timeline_queries
from workbench.timeline.service import text_aad

FIELDS = ("name", "id_number", "phone")


async def rotate(pool: Pool, *, vault: Vault, batch_size: int = 1000) -> dict[str, int]:
    """Re-encrypt customers' fields and timeline texts; returns how many rows were rewritten."""
    cipher = vault.cipher
    counts = {"customers": 0, "timeline_entries": 0}
    after = None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await queries.encrypted_batch(conn, after=after, limit=batch_size)
            if not rows:
                break
            after = rows[-1]["id"]
            stale = [r for r in rows if any(cipher.needs_rotation(r[f"{f}_enc"]) for f in FIELDS)]
            columns: dict[str, list[Any]] = {"id": [], **{f"{f}_enc": [] for f in FIELDS}}
            for row in stale:
                columns["id"].append(row["id"])
                for field in FIELDS:
                    aad = personal_data_aad(field, row["external_id"])
                    plain = cipher.decrypt(row[f"{field}_enc"], aad=aad)
                    columns[f"{field}_enc"].append(cipher.encrypt(plain, aad=aad))
            if stale:
                counts["customers"] += await queries.store_reencrypted(conn, columns)
    after = None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            entries = await timeline_queries.timeline_text_batch(
                conn, after=after, limit=batch_size
            )
            if not entries:
                break
            after = entries[-1]["id"]
            stale_entries = [e for e in entries if cipher.needs_rotation(e["text_enc"])]
            ids, texts = [], []
            for entry in stale_entries:
                aad = text_aad(entry["id"])
                ids.append(entry["id"])
                texts.append(cipher.encrypt(cipher.decrypt(entry["text_enc"], aad=aad), aad=aad))
            if ids:
                await timeline_queries.store_reencrypted_timeline(conn, ids, texts)
                counts["timeline_entries"] += len(ids)
    return counts
