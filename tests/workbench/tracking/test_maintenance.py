"""Keeping the raw hits: monthly partitions made ahead and dropped past retention, the
re-classification of stored hits with rebuilt counts, and the CLI command that runs it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from tests.workbench.tracking.conftest import PHONE_SAFARI, visitors
from workbench import cli
from workbench.db import create_pool
from workbench.tracking import bots, partitions, reclassify
from workbench.tracking.jobs import maintain_hit_partitions


async def partition_names(db) -> set[str]:
    rows = await db.fetch(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
        " join pg_class p on p.oid = i.inhparent where p.relname = 'share_hits'"
    )
    return {r["relname"] for r in rows}


def months_from(first: date, count: int) -> set[str]:
    return {partitions.partition_name(partitions.add_months(first, i)) for i in range(count)}


async def test_partitions_are_made_three_months_ahead_and_dropped_past_retention(db, settings):
    old = date(2001, 1, 1)  # far past any real month: only this test's partition
    await partitions.ensure_month(db, old)
    await partitions.ensure_month(db, partitions.add_months(old, 1))
    this_month = partitions.month_of(datetime.now(UTC))
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        created, dropped = await maintain_hit_partitions({"pool": pool, "settings": settings})
    finally:
        await pool.close()
    names = await partition_names(db)
    assert months_from(this_month, 4) <= names
    assert "share_hits_200101" not in names
    assert "share_hits_200102" not in names
    assert dropped >= 2
    # The month kept longest: retention counts whole months back from this one.
    kept = partitions.add_months(this_month, -settings.tracking_retention_months)
    assert settings.tracking_retention_months == 13
    await partitions.ensure_month(db, kept)
    created, dropped = await partitions.maintain(db, retention_months=13, now=datetime.now(UTC))
    assert (created, dropped) == (0, 0)
    assert partitions.partition_name(kept) in await partition_names(db)
    await db.execute(f"drop table {partitions.partition_name(kept)}")


async def test_a_hit_of_a_month_without_partition_gets_one(shared, db):
    await shared.beacon("open")
    consumer_months = partitions.month_of(datetime.now(UTC))
    name = partitions.partition_name(consumer_months)
    # The month's partition was dropped behind the worker's back: the consumer makes it again.
    await db.execute(f"drop table {name}")
    outcome = await shared.consume()
    assert outcome.stored == 1
    assert name in await partition_names(db)


async def insert_hits(db, share_id, rows) -> None:
    """Raw hits as an older rule list labelled them: (visitor, type, ms, user agent, verdict,
    reason), received 5 s apart (a heartbeat's pace)."""
    now = datetime.now(UTC)
    for i, (visitor, kind, ms, ua, verdict, reason) in enumerate(rows):
        await db.execute(
            "insert into share_hits (received_at, event_id, share_id, visitor_id, type, ms,"
            " user_agent, verdict, reason) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            now - timedelta(minutes=10) + timedelta(seconds=5 * i),
            uuid.uuid4(),
            share_id,
            visitor,
            kind,
            ms,
            ua,
            verdict,
            reason,
        )


NEW_PREVIEW = "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"


async def test_reclassify_relabels_stored_hits_and_rebuilds_the_counts(shared, db, settings):
    # Stored while the old rules missed Discord's preview fetcher and flagged a person wrongly.
    await insert_hits(db, shared.share_id, [
        ("person", "open", None, PHONE_SAFARI, "bot", "crawler list: old pattern"),
        ("person", "heartbeat", 5000, PHONE_SAFARI, "bot", "crawler list: old pattern"),
        ("discord", "open", None, NEW_PREVIEW, "human", ""),
        ("flood", "open", None, PHONE_SAFARI, "bot", bots.RATE),
    ])  # fmt: skip
    await db.execute(
        "insert into share_visitors (share_id, visitor_id, first_open_at, last_hit_at)"
        " values ($1, 'discord', now(), now())",
        shared.share_id,
    )
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        done = await reclassify.reclassify(pool, since=datetime.now(UTC) - timedelta(days=1))
    finally:
        await pool.close()
    assert (done.shares, done.changed_hits) == (1, 3)
    labels = {
        r["visitor_id"]: (r["verdict"], r["reason"])
        for r in await db.fetch("select distinct visitor_id, verdict, reason from share_hits")
    }
    assert labels == {
        "person": ("human", ""),
        "discord": ("bot", "link preview: Discordbot"),
        "flood": ("bot", "rate"),  # the door's rate flag stays
    }
    [person] = await visitors(db, shared.share_id)
    assert person["visitor_id"] == "person"
    assert person["dwell_ms"] == 5000
    assert person["first_open_at"] is not None


async def test_the_cli_reclassifies_since_a_date(shared, db, settings, monkeypatch, capsys):
    await insert_hits(db, shared.share_id, [
        ("p", "open", None, PHONE_SAFARI, "bot", "crawler list: old pattern"),
    ])  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    since = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    code = await asyncio.to_thread(cli.main, ["tracking", "reclassify", "--since", since])
    assert code == 0
    assert "1 share(s); 1 changed verdict" in capsys.readouterr().out
    [visitor] = await visitors(db, shared.share_id)
    assert visitor["first_open_at"] is not None
