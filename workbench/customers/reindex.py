"""Re-indexing customers' names: their blind indexes rewritten in today's form (`name_key`,
`surname_key`: without the spaces and dots between a name's parts), for names indexed before.

A customer feed rewrites the indexes of every customer it carries, so a full feed of the book
does this too. For customers no feed carries, run

    workbench reindex-customers      (or: python -m workbench.customers.reindex)

once after upgrading (with the settings `workbench serve` runs with). It walks the customers in
id order, a batch per transaction, rewrites only the indexes that differ (names with spaces,
dots or dashes between their parts), and can be stopped and run again at any time. A name that
cannot be decrypted is logged without its value, counted and left as it is.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from workbench.customers import queries
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import name_key, surname_key
from workbench.db import Pool
from workbench.security.vault import Vault


@dataclass(slots=True)
class Reindexed:
    rewritten: int = 0  # customers whose name indexes were rewritten
    unreadable: int = 0  # names that could not be decrypted (left as they are)


async def reindex_names(pool: Pool, *, vault: Vault, batch_size: int = 1000) -> Reindexed:
    """Rewrite every customer's name indexes that are not in today's form."""
    done = Reindexed()
    after = None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = await queries.customer_ids_after(conn, after, limit=batch_size)
            if not ids:
                return done
            after = ids[-1]
            fresh: dict[str, list[Any]] = {"ids": [], "name_bidx": [], "surname_bidx": []}
            for row in await queries.names_for_reindex(conn, ids):
                name = vault.cipher.decrypt_or_none(
                    row["name_enc"],
                    aad=personal_data_aad("name", row["external_id"]),
                    column="customers.name_enc",
                    row=row["id"],
                )
                if name is None:
                    done.unreadable += 1
                    continue
                keys = (vault.blind_index("name", name_key(name)),
                        vault.blind_index("surname", surname_key(name)))  # fmt: skip
                if keys != (bytes(row["name_bidx"]), bytes(row["surname_bidx"])):
                    fresh["ids"].append(row["id"])
                    fresh["name_bidx"].append(keys[0])
                    fresh["surname_bidx"].append(keys[1])
            if fresh["ids"]:
                done.rewritten += await queries.store_name_indexes(conn, **fresh)


def main() -> int:
    """`python -m workbench.customers.reindex`: re-index every customer's name; prints counts."""
    from workbench import logs
    from workbench.db import create_pool
    from workbench.settings import Settings

    settings = Settings.from_env()
    logs.configure(settings.log_level)  # names it cannot decrypt are named on stderr

    async def run() -> Reindexed:
        pool = await create_pool(settings.database_url, max_size=2)
        try:
            vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
            return await reindex_names(pool, vault=vault)
        finally:
            await pool.close()

    done = asyncio.run(run())
    print(f"re-indexed the names of {done.rewritten} customer(s)")
    if done.unreadable:
        print(f"cannot decrypt {done.unreadable} name(s): left as they are (the log names each)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
