"""From raw beacons to the funnel: on random histories of beacons (people and bots, several
visitors, heartbeats, clicks), stored by the worker's own statements in random batches, some
stored twice (a redelivery, or one taken for a new batch), the funnel API answers what a plain
count over the raw events gives, and never rises from one step to the next."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from tests.workbench.funnels.conftest import add_brochure, add_share, bank  # noqa: F401
from tests.workbench.tracking.conftest import PHONE_SAFARI, WECHAT, dwell_by_hand
from workbench.tracking import bots, queries

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36"
AGENTS = (PHONE_SAFARI, WECHAT, SLACK, HEADLESS)
RMS = ("rm01", "rm02", "rm05")
STEPS = ("shared", "opened", "engaged", "clicked")


@dataclass(frozen=True)
class Beacon:
    share: int
    visitor: int
    type: str
    ms: int
    agent: int  # index into AGENTS: the visitor's browser (bots included)


beacons_st = st.lists(
    st.builds(
        Beacon,
        share=st.integers(0, 5),
        visitor=st.integers(0, 2),
        type=st.sampled_from(["open", "open", "page_view", "heartbeat", "heartbeat", "cta"]),
        ms=st.sampled_from([1000, 5000, 5000, 9999]),
        agent=st.integers(0, len(AGENTS) - 1),
    ),
    max_size=60,
)


def human(beacon: Beacon) -> bool:
    return bots.verdict(AGENTS[beacon.agent], False).verdict == "human"


def by_hand(beacons: list[Beacon], shares: list[tuple[int, uuid.UUID]]) -> dict[str, Any]:
    """The funnel of each brochure counted from the raw events: human beacons only; a share is
    opened if a visitor opened it, engaged if an opener read 10 s (heartbeats, as far as the
    time seen allows: `dwell_by_hand`; the beacons are received a second apart) or clicked,
    clicked if an opener clicked."""
    rows: dict[str, dict[str, int]] = {}
    for index, (brochure, _) in enumerate(shares):
        mine = [(n * 1000, b) for n, b in enumerate(beacons) if b.share == index and human(b)]
        openers = {b.visitor for _, b in mine if b.type == "open"}
        dwell = {
            v: dwell_by_hand([(at, b.type, b.ms) for at, b in mine if b.visitor == v])
            for v in openers
        }
        clickers = {b.visitor for _, b in mine if b.type == "cta"} & openers
        counts = rows.setdefault(str(brochure), dict.fromkeys(STEPS, 0))
        counts["shared"] += 1
        counts["opened"] += bool(openers)
        counts["engaged"] += any(dwell[v] >= 10_000 or v in clickers for v in openers)
        counts["clicked"] += bool(clickers)
    return rows


@hypothesis.settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    beacons=beacons_st,
    cuts=st.lists(st.integers(0, 60), max_size=4),
    again=st.sampled_from([None, "reclaimed", "as if new"]),
)
async def test_the_funnel_is_the_raw_beacons_counted_by_hand(bank, beacons, cuts, again):  # noqa: F811
    db = bank.db
    await db.execute(
        "delete from share_hits; delete from share_visitors; delete from shares;"
        " delete from share_funnel"
    )
    brochures = [r["id"] for r in await db.fetch("select id from brochures order by id")]
    if not brochures:
        brochures = [await add_brochure(db, "稳享90天"), await add_brochure(db, "科技先锋")]
    shares = []
    for index in range(6):
        brochure = brochures[index % 2]
        made = await add_share(
            db, rm=RMS[index % 3], brochure=brochure, created_at=BASE + timedelta(minutes=index)
        )
        shares.append((brochure, made))

    hits = []
    for n, b in enumerate(beacons):  # received one second apart, in the order sent
        agent = AGENTS[b.agent]
        label = bots.verdict(agent, False)
        hits.append((
            BASE + timedelta(hours=1, seconds=n), uuid.uuid4(), shares[b.share][1],
            f"visitor-{b.visitor}", b.type, 1 if b.type == "page_view" else None,
            b.ms if b.type == "heartbeat" else None, None, agent, label.verdict, label.reason,
        ))  # fmt: skip
    bounds = sorted({0, len(hits), *(c for c in cuts if c < len(hits))})
    for start, end in itertools.pairwise(bounds):
        async with db.transaction():  # entries read for the first time: copied
            await queries.store_hits(db, hits[start:end], first_delivery=True)
        if again:  # the batch redelivered after a worker died (and once taken for a new one)
            async with db.transaction():
                again_stored = await queries.store_hits(
                    db, hits[start:end], first_delivery=again == "as if new"
                )
            assert (again_stored.count, again_stored.milestones) == (0, [])

    answer = await bank.funnel(
        "marketing",
        group_by="brochure",
        **{"from": (BASE - timedelta(days=1)).date().isoformat()},
        to=(BASE + timedelta(days=2)).date().isoformat(),
    )
    expected = by_hand(beacons, shares)
    got = {r["key"]: {s: r[s] for s in STEPS} for r in answer["rows"]}
    assert got == expected
    for row in answer["rows"]:
        counts = [row[s] for s in (*STEPS, "converted")]
        assert counts == sorted(counts, reverse=True), row
    # The worker's rollup, batch by batch, is what the re-classification rebuilds at once.
    rollup = "select * from share_visitors order by share_id, visitor_id"
    counted = await db.fetch(rollup)
    await queries.rebuild_visitors(db, [made for _, made in shares])
    assert await db.fetch(rollup) == counted
