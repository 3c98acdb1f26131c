"""Brochures in offline sync (schema 3), as an RM's and a branch head's devices see them: only a
published version that is live now, as the catalogue shows it, with page images as API paths; a
new version, an unpublication and a product change reach the device; a branch's brochure stays
in that branch; a brochure goes live and expires on the device at its window's edges although
nothing is written then, also while Redis says nothing changed; schema 2 and 1 apps never see
brochures. Brochures are written with SQL, as the compliance workflow leaves them."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.customers_data import feed, headers_of, product_row
from tests.sync.sync_data import (
    App,
    feed_worker,
    fresh_state,
    of,
    ops,
    pages,
    pull,
    pull_all,
    replay,
    settled,
)
from tests.tasks_data import unit, user
from workbench.db import create_pool
from workbench.seed import DEMO_PRODUCTS
from workbench.settings import Settings

pytestmark = pytest.mark.usefixtures("demo_bank")

V3 = 3
CODE, NAME, CATEGORY, RISK, _ = next(p for p in DEMO_PRODUCTS if p[0] == "WM90")
SIZES = ("phone", "tablet", "thumb")


class Clock:
    """The pull's "now": the system's time moved on by `ahead`."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
async def clock(client: Any) -> Clock:
    moved = Clock()
    client.app.state.sync_puller.clock = moved
    return moved


@pytest.fixture
async def product(client: Any) -> str:
    """A product of the demo bank (稳享90天理财, wealth, R2), fed as the bank feeds it."""
    admin = await headers_of(client, "admin")
    row = product_row(CODE, name=NAME, category=CATEGORY, risk_level=f"R{RISK}")
    await feed(client, admin, "products", [row])
    return CODE


@pytest.fixture
async def rm01(client: Any) -> dict[str, str]:
    return await headers_of(client, "rm01")


# ---- brochures as the workflow leaves them ---------------------------------------------------


def page_images(title: str, count: int) -> list[bytes]:
    return [hashlib.sha256(f"{title}:{n}".encode()).digest() for n in range(1, count + 1)]


async def add_version(
    db: Any,
    brochure_id: uuid.UUID,
    version: int,
    title: str,
    *,
    status: str,
    pages: int = 2,
    talk_track: str = "",
    tags: tuple[str, ...] = (),
) -> None:
    """A version in `status` (draft, pending_review, approved, rejected), with its page
    images (page n of a title is n pixels wider than 1000 and taller than 1500)."""
    images = page_images(title, pages)
    for n, sha in enumerate(images, start=1):
        await db.execute(
            """
            insert into brochure_images (sha256, blob_key, format, width, height, byte_size)
            values ($1, $2, 'jpeg', $3, $4, 1000) on conflict do nothing
            """,
            sha, f"test/{sha.hex()}", 1000 + n, 1500 + n,
        )  # fmt: skip
    content = hashlib.sha256(title.encode() + b"".join(images)).digest()
    await db.execute(
        """
        insert into brochure_versions (brochure_id, version, title, product_code, talk_track,
                                       tags, pages, content_hash, status, approved_hash,
                                       created_by)
        values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)
        """,
        brochure_id, version, title, CODE, talk_track, json.dumps(list(tags)), images, content,
        status, content if status == "approved" else None, user("marketing"),
    )  # fmt: skip


async def publish(
    db: Any,
    brochure_id: uuid.UUID,
    version: int,
    *,
    live_from: datetime | None = None,
    live_until: datetime | None = None,
    published_at: datetime | None = None,
) -> None:
    """Publish an approved version within its window; the one published before is superseded,
    the one live now staying live until the new one starts (one transaction, as POST
    /brochures/{id}/publish does)."""
    async with db.transaction():
        await db.execute(
            """
            update brochure_versions
               set status = 'superseded', updated_at = now(),
                   replaced_at = case when coalesce(live_from, published_at) <= now()
                                           and (live_until is null or live_until > now())
                                      then greatest(coalesce($2, $3, now()), now()) end
             where brochure_id = $1 and (status = 'published' or replaced_at > now())
            """,
            brochure_id, live_from, published_at,
        )  # fmt: skip
        await db.execute(
            """
            update brochure_versions
               set status = 'published', live_from = $3, live_until = $4,
                   published_at = coalesce($5, now()), published_by = $6, updated_at = now()
             where brochure_id = $1 and version = $2
            """,
            brochure_id, version, live_from, live_until, published_at, user("marketing"),
        )  # fmt: skip


async def unpublish(db: Any, brochure_id: uuid.UUID) -> None:
    """The published version, and the one it was to replace with it."""
    async with db.transaction():
        await db.execute(
            """
            update brochure_versions set status = 'unpublished', updated_at = now()
             where brochure_id = $1 and status = 'published'
            """,
            brochure_id,
        )
        await db.execute(
            "update brochure_versions set replaced_at = now() where brochure_id = $1"
            " and replaced_at > now()",
            brochure_id,
        )


async def add_brochure(
    db: Any,
    title: str,
    *,
    owner: str = "head-office",
    status: str = "published",
    live_from: datetime | None = None,
    live_until: datetime | None = None,
    published_at: datetime | None = None,
    **content: Any,
) -> str:
    """A brochure of `owner`'s unit whose first version is in `status` (published and
    unpublished ones were approved first); its id."""
    brochure_id = uuid.uuid4()
    await db.execute(
        "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
        brochure_id, unit(owner), user("marketing"),
    )  # fmt: skip
    published = status in ("published", "unpublished")
    await add_version(
        db, brochure_id, 1, title, status="approved" if published else status, **content
    )
    if published:
        await publish(
            db, brochure_id, 1, live_from=live_from, live_until=live_until,
            published_at=published_at,
        )  # fmt: skip
    if status == "unpublished":
        await unpublish(db, brochure_id)
    return str(brochure_id)


async def new_version(
    db: Any, brochure_id: str, version: int, title: str, *, live_from: datetime | None = None,
    **content: Any,
) -> None:  # fmt: skip
    """Approve a new version and publish it in place of the old (from `live_from`)."""
    await add_version(db, uuid.UUID(brochure_id), version, title, status="approved", **content)
    await publish(db, uuid.UUID(brochure_id), version, live_from=live_from)


@contextlib.asynccontextmanager
async def database_unreachable(client: Any, settings: Settings) -> AsyncIterator[None]:
    """The API's pool cannot reach PostgreSQL: only what Redis answers still works."""
    state = client.app.state
    working = state.pool
    unreachable = await create_pool(settings.database_url, max_size=1)
    await unreachable.close()  # any acquire fails
    state.pool = unreachable
    try:
        yield
    finally:
        state.pool = working


async def answered_by_redis(client: Any, settings: Settings, app: App) -> list[dict[str, Any]]:
    """The app's next pull, with PostgreSQL out of reach (it is answered from Redis or fails)."""
    async with database_unreachable(client, settings):
        answer = await pull(client, app.headers, app.cursor, schema=app.schema)
    app.cursor = answer["cursor"]
    changes: list[dict[str, Any]] = answer["changes"]
    return changes


def brochures(app: App) -> set[str]:
    return set(app.rows("brochure"))


# ---- what reaches a device ---------------------------------------------------------------------


async def test_a_live_brochure_is_in_an_rms_first_sync_as_the_catalogue_shows_it_and_not_in_v2(
    client, db, product, rm01
):
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    brochure = await add_brochure(
        db, "稳享90天 客户手册", live_until=until, talk_track="先了解客户的流动性需求",
        tags=("稳健", "短期"), pages=2,
    )  # fmt: skip
    local = await fresh_state(client, rm01, db=db, schema=V3)

    assert list(of(local, "brochure")) == [brochure]
    row = dict(of(local, "brochure")[brochure])
    published_at = await db.fetchval(
        "select published_at from brochure_versions where brochure_id = $1", uuid.UUID(brochure)
    )
    assert datetime.fromisoformat(row.pop("published_at")) == published_at
    assert datetime.fromisoformat(row.pop("live_until")) == until
    base = f"/api/v1/brochures/{brochure}/pages"
    assert row == {
        "id": brochure, "version": 1, "title": "稳享90天 客户手册", "product_code": CODE,
        "product_name": NAME, "category": CATEGORY, "risk_level": f"R{RISK}",
        "talk_track": "先了解客户的流动性需求", "tags": ["稳健", "短期"], "live_from": None,
        "pages": [
            {"number": n, "image": image.hex(), "width": 1000 + n, "height": 1500 + n,
             **{size: {"webp": f"{base}/{n}/{size}.webp", "jpeg": f"{base}/{n}/{size}.jpeg"}
                for size in SIZES}}
            for n, image in enumerate(page_images("稳享90天 客户手册", 2), start=1)
        ],
    }  # fmt: skip
    # The product it presents is on the device too.
    assert of(local, "product")[CODE]["name"] == NAME

    # Apps of schema 2 and 1 hold everything else and no brochure.
    for older in (2, 1):
        held = await fresh_state(client, rm01, schema=older)
        assert not of(held, "brochure")
        assert of(held, "product") == of(local, "product")


async def test_only_a_published_version_that_is_live_now_ever_reaches_a_device(
    client, db, product, rm01
):
    now = datetime.now(UTC)
    live = await add_brochure(db, "在架")
    for status in ("draft", "pending_review", "approved", "rejected"):
        await add_brochure(db, f"状态 {status}", status=status)
    await add_brochure(
        db, "已过期", live_from=now - timedelta(days=2), live_until=now - timedelta(days=1),
        published_at=now - timedelta(days=3),
    )  # fmt: skip
    await add_brochure(db, "未开始", live_from=now + timedelta(days=1))
    await add_brochure(db, "已下架", status="unpublished")
    replaced = await add_brochure(db, "旧版")
    await new_version(db, replaced, 2, "新版")

    app = App(client, rm01, db, schema=V3)
    await app.sync()
    assert brochures(app) == {live, replaced}
    assert app.rows("brochure")[replaced]["version"] == 2
    assert app.rows("brochure")[replaced]["title"] == "新版"

    # Work on brochures that are not published reaches no device: a new brochure through
    # review to rejection, and a draft of the next version of the live one.
    fresh = await add_brochure(db, "审核中", status="draft")
    for status in ("pending_review", "approved", "rejected"):
        await db.execute(
            """
            update brochure_versions
               set status = $2, approved_hash = case when $2 = 'approved' then content_hash end
             where brochure_id = $1
            """,
            uuid.UUID(fresh), status,
        )  # fmt: skip
    await add_version(db, uuid.UUID(live), 2, "在架 第二版草稿", status="draft")
    assert ops(await app.sync(), "brochure") == []
    assert app.rows("brochure")[live]["title"] == "在架"


async def test_a_new_version_a_product_change_and_an_unpublication_reach_the_device(
    client, db, product, rm01
):
    brochure = await add_brochure(db, "第一版", pages=2)
    app = App(client, rm01, db, schema=V3)
    await app.sync()
    assert app.rows("brochure")[brochure]["version"] == 1

    await new_version(db, brochure, 2, "第二版", pages=3, tags=("新品",))
    assert ops(await app.sync()) == [("brochure", "upsert", brochure)]
    row = app.rows("brochure")[brochure]
    assert (row["version"], row["title"], row["tags"]) == (2, "第二版", ["新品"])
    assert [p["image"] for p in row["pages"]] == [i.hex() for i in page_images("第二版", 3)]

    admin = await headers_of(client, "admin")
    renamed = product_row(
        CODE, name="稳享90天理财（升级版）", category=CATEGORY, risk_level=f"R{RISK}"
    )
    await feed(client, admin, "products", [renamed])
    assert set(ops(await app.sync())) == {("product", "upsert", CODE),
                                          ("brochure", "upsert", brochure)}  # fmt: skip
    row = app.rows("brochure")[brochure]
    assert (row["product_name"], row["risk_level"]) == ("稳享90天理财（升级版）", f"R{RISK}")

    # Another risk level than the one compliance approved: off the device until approved again.
    riskier = product_row(CODE, name="稳享90天理财（升级版）", category=CATEGORY, risk_level="R3")
    await feed(client, admin, "products", [riskier])
    assert set(ops(await app.sync())) == {("product", "upsert", CODE),
                                          ("brochure", "delete", brochure)}  # fmt: skip
    await new_version(db, brochure, 3, "第三版", pages=3)  # approved at R3, published
    assert ops(await app.sync()) == [("brochure", "upsert", brochure)]
    assert app.rows("brochure")[brochure]["risk_level"] == "R3"

    await unpublish(db, uuid.UUID(brochure))
    assert ops(await app.sync()) == [("brochure", "delete", brochure)]
    assert app.local == await fresh_state(client, rm01, schema=V3)


async def test_a_branchs_brochure_reaches_only_that_branchs_rms_and_branch_head(
    client, db, product
):
    bank = await add_brochure(db, "全行通用")
    east = await add_brochure(db, "东城支行专享", owner="branch-east")
    team = await add_brochure(db, "东城一组专享", owner="team-east-1")
    apps = {
        login: App(client, await headers_of(client, login), db, schema=V3)
        for login in ("rm01", "rm03", "bh.east", "rm05", "bh.west", "marketing")
    }
    for app in apps.values():
        await app.sync()
    held = {login: brochures(app) for login, app in apps.items()}
    assert held == {
        "rm01": {bank, east, team}, "rm03": {bank, east}, "bh.east": {bank, east},
        "rm05": {bank}, "bh.west": {bank}, "marketing": set(),
    }  # fmt: skip

    # A change of the branch's brochure reaches its branch; other devices hear nothing of it.
    await new_version(db, east, 2, "东城支行专享 第二版")
    await unpublish(db, uuid.UUID(team))
    got = {login: ops(await app.sync(), "brochure") for login, app in apps.items()}
    assert got == {
        "rm01": [("brochure", "upsert", east), ("brochure", "delete", team)],
        "rm03": [("brochure", "upsert", east)], "bh.east": [("brochure", "upsert", east)],
        "rm05": [], "bh.west": [], "marketing": [],
    }  # fmt: skip
    for app in apps.values():
        assert app.local == await fresh_state(client, app.headers, schema=V3)


async def test_a_team_moved_to_another_branch_swaps_the_branch_brochures_on_its_devices(
    client, db, product, rm01
):
    bank = await add_brochure(db, "全行通用")
    east = await add_brochure(db, "东城支行专享", owner="branch-east")
    west = await add_brochure(db, "西城支行专享", owner="branch-west")
    team = await add_brochure(db, "东城一组专享", owner="team-east-1")
    rm = App(client, rm01, db, schema=V3)
    head = App(client, await headers_of(client, "bh.east"), db, schema=V3)
    await rm.sync()
    await head.sync()
    assert brochures(rm) == {bank, east, team}

    admin = await headers_of(client, "admin")
    moved = await client.post(
        "/api/v1/admin/org-units",
        json={"id": str(unit("team-east-1")), "name": "Team East 1",
              "parent_id": str(unit("branch-west"))},
        headers=admin,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert sorted(ops(await rm.sync(), "brochure")) == sorted(
        [("brochure", "delete", east), ("brochure", "upsert", west)]
    )
    assert brochures(rm) == {bank, west, team}
    assert ops(await head.sync(), "brochure") == []
    assert rm.local == await fresh_state(client, rm01, schema=V3)


async def next_message(pubsub: Any) -> Any:
    """The next message on the subscription (None after 10 s without one)."""
    ends = time.monotonic() + 10
    while time.monotonic() < ends:
        message = await pubsub.get_message(timeout=1.0)
        if message is not None:
            return message
    return None


async def test_publication_and_a_window_edge_poke_every_device(
    client, db, settings, clock, product, rm01
):
    async with feed_worker(settings, db, clock) as worker:
        app = App(client, rm01, db, schema=V3)
        await app.sync()
        await worker.step(db)
        listener = Redis.from_url(settings.redis_url)
        pubsub = listener.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(worker.signals.channel(None))  # every GET /sync/events
            brochure = await add_brochure(db, "新上架")
            await worker.step(db)
            assert (await next_message(pubsub) or {}).get("data") == b"pull"
            assert ops(await app.sync()) == [("brochure", "upsert", brochure)]

            later = await add_brochure(
                db, "一小时后上架", live_from=datetime.now(UTC) + timedelta(hours=1)
            )
            await worker.step(db)
            assert (await next_message(pubsub) or {}).get("data") == b"pull"
            await app.sync()
            assert later not in brochures(app)
            # Nothing is written when it goes live; the feed notices the edge and pokes.
            clock.ahead = timedelta(hours=2)
            await worker.step(db)
            assert (await next_message(pubsub) or {}).get("data") == b"pull"
            assert ops(await app.sync()) == [("brochure", "upsert", later)]
            await worker.step(db)  # no edge left: no poke
            assert await pubsub.get_message(timeout=0.2) is None
        finally:
            await pubsub.aclose()
            await listener.aclose()


# ---- window edges: nothing is written when a brochure goes live or expires ---------------------


async def test_a_brochure_appears_and_expires_on_the_device_at_its_window_edges(
    client, db, settings, clock, product, rm01
):
    """The feed's Redis summary still says nothing changed; the edges arrive all the same, and
    once they are on the device Redis answers alone again. A schema 2 app hears nothing."""
    async with feed_worker(settings, db, clock) as worker:
        now = datetime.now(UTC)
        soon = await add_brochure(db, "一小时后上架", live_from=now + timedelta(hours=1))
        ending = await add_brochure(db, "三小时后下架", live_until=now + timedelta(hours=3))
        app = App(client, rm01, db, schema=V3)
        old = App(client, rm01, db, schema=2)
        await app.sync()
        await old.sync()
        assert brochures(app) == {ending}
        await worker.step(db)
        assert await answered_by_redis(client, settings, app) == []
        assert await answered_by_redis(client, settings, old) == []

        clock.ahead = timedelta(hours=2)  # no feed step: Redis still says nothing changed
        assert ops(await app.sync()) == [("brochure", "upsert", soon)]
        assert await app.sync() == []
        assert await answered_by_redis(client, settings, old) == []  # schema 2: no edges

        clock.ahead = timedelta(hours=4)
        assert ops(await app.sync()) == [("brochure", "delete", ending)]
        assert await app.sync() == []
        assert app.local == await fresh_state(client, rm01, schema=V3)

        # The feed has looked at the edges again: Redis alone answers "nothing changed".
        await worker.step(db)
        assert await answered_by_redis(client, settings, app) == []
        assert await old.sync() == []


async def test_a_new_version_going_live_later_replaces_the_old_one_on_the_device_at_its_start(
    client, db, clock, product, rm01
):
    """Until the new version's start the device keeps the old one (ending then); from it, the
    new one, although nothing is written at that time."""
    brochure = await add_brochure(db, "第一版")
    app = App(client, rm01, db, schema=V3)
    await app.sync()
    starts = datetime.now(UTC) + timedelta(hours=1)
    await new_version(db, brochure, 2, "第二版", live_from=starts)
    assert ops(await app.sync()) == [("brochure", "upsert", brochure)]
    row = app.rows("brochure")[brochure]
    assert (row["version"], row["title"]) == (1, "第一版")
    assert datetime.fromisoformat(row["live_until"]) == starts
    assert app.local == await fresh_state(client, rm01, schema=V3)

    clock.ahead = timedelta(hours=2)
    assert ops(await app.sync()) == [("brochure", "upsert", brochure)]
    row = app.rows("brochure")[brochure]
    assert (row["version"], row["title"], row["live_until"]) == (2, "第二版", None)
    assert await app.sync() == []
    assert app.local == await fresh_state(client, rm01, schema=V3)


async def test_an_old_version_ending_before_the_new_one_starts_leaves_the_device_at_its_end(
    client, db, clock, product, rm01
):
    now = datetime.now(UTC)
    brochure = await add_brochure(db, "第一版", live_until=now + timedelta(hours=1))
    await new_version(db, brochure, 2, "第二版", live_from=now + timedelta(hours=3))
    app = App(client, rm01, db, schema=V3)
    await app.sync()
    assert app.rows("brochure")[brochure]["version"] == 1

    clock.ahead = timedelta(hours=2)  # its own end: the gap its window leaves
    assert ops(await app.sync()) == [("brochure", "delete", brochure)]
    clock.ahead = timedelta(hours=4)
    assert ops(await app.sync()) == [("brochure", "upsert", brochure)]
    assert app.rows("brochure")[brochure]["version"] == 2
    assert app.local == await fresh_state(client, rm01, schema=V3)


async def test_window_edges_come_in_pages_and_count_from_the_first_page_of_an_initial_sync(
    client, db, clock, product, rm01
):
    now = datetime.now(UTC)
    at = now + timedelta(hours=1)
    together = [await add_brochure(db, f"同时上架 {i}", live_from=at) for i in range(3)]
    later = await add_brochure(db, "稍后上架", live_from=now + timedelta(minutes=90))
    ending = [
        await add_brochure(db, f"两小时后下架 {i}", live_until=now + timedelta(hours=2))
        for i in range(2)
    ]
    # The initial sync walks every entity in its first answer; its catch-up comes later.
    await settled(db)
    first = await pull(client, rm01, schema=V3, limit=100)
    assert first["has_more"] is True
    assert set(of(replay(first["changes"]), "brochure")) == set(ending)

    clock.ahead = timedelta(hours=3)
    answers = await pages(client, rm01, first["cursor"], limit=2, schema=V3)
    assert all(len(a["changes"]) <= 2 for a in answers)
    assert all(a["has_more"] for a in answers[:-1])
    changes = [c for a in answers for c in a["changes"]]
    assert sorted(ops(changes)) == sorted(
        [("brochure", "upsert", b) for b in (*together, later)]
        + [("brochure", "delete", b) for b in ending]
    )
    local = replay(changes, replay(first["changes"]))
    assert local == await fresh_state(client, rm01, schema=V3)
    assert set(of(local, "brochure")) == {*together, later}
    # Nothing is sent twice once the edges are on the device.
    changes, _ = await pull_all(client, rm01, answers[-1]["cursor"], schema=V3)
    assert changes == []


async def test_a_schema_2_app_never_hears_of_brochures(client, db, clock, product, rm01):
    old = App(client, rm01, db, schema=2)
    await old.sync()
    brochure = await add_brochure(db, "新上架", live_until=datetime.now(UTC) + timedelta(hours=1))
    await new_version(db, brochure, 2, "第二版")
    assert await old.sync() == []
    clock.ahead = timedelta(hours=2)
    await unpublish(db, uuid.UUID(brochure))
    assert await old.sync() == []
    assert old.local == await fresh_state(client, rm01, schema=2)
