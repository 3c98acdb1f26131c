"""Model-based test of offline sync: whatever the bank writes, in whatever order, and however
apps pull and push, every device ends with exactly the rows the API shows its user.

A hypothesis state machine mixes every write path - customer, holding and product feeds (with
owner moves between rm01, rm02 and rm03), holding and customer deletions and task reassignments
in manual SQL, dispatches to a team or to customers, task transitions, notes and notification
reads through the API, notifications written by a worker, and offline mutation batches through
POST /sync/push, some sent again after a lost answer - with three simulated apps (rm01 and rm02
of team-east-1, and their branch head bh.east). The apps pull in pages of random size, lose
answers and re-send their cursor, start over with an initial sync in the middle of the writes,
while the sync feed runs now and then and Redis may lose its state.

After every step each app, pulling until `has_more` is false, must hold exactly what the API
shows its user (customers, their holdings and notes, tasks of every status, templates,
products, notifications): nothing missing, nothing extra, nothing another user owns. Every
offline mutation is applied exactly once: a batch sent again answers `duplicate` for what was
applied (and its first answer for what was not) and changes nothing, and what answered `applied`
is there.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from litestar.testing import AsyncTestClient

from sync.feed import Feed
from sync.signals import Signals
from tests import apps
from tests.conftest import empty_written_tables
from tests.customers_data import (
    customer_row,
    feed,
    headers_of,
    holding_row,
    id_number,
    phone,
    product_row,
)
from tests.tasks_data import create_template, dispatch, field, user
from workbench.db import create_pool
from workbench.notifications import service as notifications
from workbench.security.passwords import Passwords
from workbench.seed import seed_demo_bank
from workbench.settings import Settings

APPS = ("rm01", "rm02", "bh.east")  # the simulated devices
RMS = ("rm01", "rm02")
OWNERS = ("rm01", "rm02", "rm01", "rm02", "rm03")  # rm03 (team-east-2): customers move away
EAST = {user(login) for login in ("rm01", "rm02", "rm03", "rm04")}  # bh.east's subtree's RMs
ASSIGNEES = ("rm01", "rm02", "rm03", "rm05")  # rm05 is in branch-west: out of bh.east's sight
EXTERNAL_IDS = [f"MODEL-{i}" for i in range(4)]
NAMES = ("王芳", "李娜", "张伟", "刘洋", "陈静")
PRODUCTS = ("FUND1", "FUND2", "BOND1", "DEP1")
AS_OF = (date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 31))
STATUSES = ("pending", "in_progress", "submitted", "awaiting_confirmation", "done", "cancelled",
            "expired")  # fmt: skip
OPEN = {"pending", "in_progress", "submitted", "awaiting_confirmation"}
NOTE_KINDS = ("visit", "call", "chat", "other")
MUTATIONS = ("task.start", "task.submit", "task.cancel", "note.add", "notification.read")
PULL = "/api/v1/sync/pull"
PUSH = "/api/v1/sync/push"
FINGERPRINTED = (
    "customers",
    "holdings",
    "customer_timeline",
    "tasks",
    "task_templates",
    "task_template_versions",
    "products",
    "notifications",
    "users",
    "org_units",
)
FAR = timedelta(days=365)  # due dates far ahead: nothing turns overdue during the run


def pick(items: list[Any], index: int) -> Any:
    return items[index % len(items)] if items else None


class Device:
    """An app install: its local rows, built only from pull answers, and its cursor."""

    def __init__(self, login: str, headers: dict[str, str], generation: int) -> None:
        self.login = login
        self.headers = headers
        self.store: dict[tuple[str, str], Any] = {}
        self.cursor: str | None = None
        self.client_id = f"app-{login}-{generation}"
        self.next_mutation = 1
        self.online = True  # online apps pull whenever told to; offline ones fall behind


def apply_changes(store: dict[tuple[str, str], Any], changes: list[dict[str, Any]]) -> None:
    """What the app does with a pull answer; a customer's delete takes its holdings and notes."""
    for change in changes:
        key = (change["entity"], change["id"])
        if change["op"] == "upsert":
            store[key] = change["data"]
            continue
        assert change["op"] == "delete", change
        store.pop(key, None)
        if change["entity"] == "customer":
            gone = [k for k, v in store.items() if k[0] in ("holding", "note")
                    and v["customer_id"] == change["id"]]  # fmt: skip
            for k in gone:
                del store[k]


def normalized(key: tuple[str, str], data: Any) -> Any:
    """A row as the comparison sees it: holdings and notes reduced to what both the API and sync
    carry; `overdue` of tasks is left out (it depends on the clock)."""
    entity = key[0]
    if entity == "holding":
        return (data["customer_id"], data["product_code"], Decimal(str(data["amount"])),
                data["as_of"])  # fmt: skip
    if entity == "note":
        return tuple(data.get(k) for k in ("id", "customer_id", "occurred_at", "kind",
                                           "actor_id", "text"))  # fmt: skip
    if entity == "task":
        return {k: v for k, v in data.items() if k != "overdue"}
    return data


def differences(held: dict[tuple[str, str], Any], shown: dict[tuple[str, str], Any]) -> str:
    missing = sorted(k for k in shown if k not in held)
    extra = sorted(k for k in held if k not in shown)
    stale = sorted(k for k in shown if k in held and held[k] != shown[k])
    lines = [f"missing on the device: {missing}", f"extra on the device: {extra}"]
    lines += [f"differs {k}:\n  device {held[k]}\n  api    {shown[k]}" for k in stale]
    return "\n".join(lines)


class World:
    """One app, one database connection and one event loop for all the examples of the run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.run(self._open())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _open(self) -> None:
        settings = self.settings
        self.client = AsyncTestClient(apps.take_app(settings))
        await self.client.__aenter__()
        self.pool = await create_pool(settings.database_url, max_size=3)
        self.db = await self.pool.acquire()
        self.feed_conn = await self.pool.acquire()
        self.slow = await self.pool.acquire()  # for a transaction that stays open a while
        self.redis = aioredis.Redis.from_url(settings.redis_url)
        self.prefix = settings.redis_prefix
        signals = Signals(self.redis, prefix=self.prefix)
        self.feed = Feed(self.pool, signals, self.redis, prefix=self.prefix)
        self.passwords = Passwords(
            memory_kib=settings.password_hash_memory_kib,
            iterations=settings.password_hash_iterations,
        )

    def close(self) -> None:
        async def _close() -> None:
            await self.pool.release(self.db)
            await self.pool.release(self.feed_conn)
            await self.pool.release(self.slow)
            await self.pool.close()
            await self.redis.aclose()
            await self.client.__aexit__(None, None, None)
            apps.give_back(self.client.app)

        try:
            self.run(_close())
        finally:
            self.loop.close()

    async def reset(self) -> None:
        """Empty tables and no Redis keys of the run (as `clean_state`: only the tables with
        rows, a TRUNCATE of all of them took most of an example's start), then the demo bank."""
        await empty_written_tables(self.db)
        # The feed's one row (written by the migration) goes with the rest.
        await self.db.execute("insert into sync_feed (txid, seq) values ('0'::xid8, 0)")
        await self.drop_redis_keys(f"{self.prefix}*")
        async with self.db.transaction():
            await seed_demo_bank(self.db, passwords=self.passwords)

    async def drop_redis_keys(self, pattern: str) -> None:
        keys = [k async for k in self.redis.scan_iter(match=pattern, count=1000)]
        if keys:
            await self.redis.delete(*keys)


class SyncModel(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.w = self.world
        self.client = self.w.client
        self.db = self.w.db
        self.w.run(self._start())

    def run(self, coro: Any) -> Any:
        return self.w.run(coro)

    async def _start(self) -> None:
        await self.w.reset()
        client = self.client
        self.headers = {who: await headers_of(client, who)
                        for who in ("admin", "bh.east", "bh.west", *RMS)}  # fmt: skip
        self.devices = {who: Device(who, self.headers[who], 0) for who in APPS}
        self.generation = 0
        self.notes_written = 0
        self.shown_cache: dict[str, tuple[str, dict[tuple[str, str], Any]]] = {}
        await feed(client, self.headers["admin"], "products",
                   [product_row(code) for code in PRODUCTS[:3]])  # fmt: skip
        plain = await create_template(client, self.headers["admin"], field("notes", "text"),
                                      name="Client visit")  # fmt: skip
        confirmed = await create_template(
            client, self.headers["bh.east"], field("notes", "text"), name="Confirmed visit",
            requires_customer_confirmation=True,
        )  # fmt: skip
        west = await create_template(client, self.headers["bh.west"], field("notes", "text"),
                                     name="West only")  # fmt: skip
        self.templates = [plain["id"], confirmed["id"], west["id"]]
        self.confirms = {plain["id"]: False, confirmed["id"]: True, west["id"]: False}

    # ---- what the server holds (read back for choosing targets and for the oracle) ----------

    async def customer_ids(self) -> list[uuid.UUID]:
        return [r["id"] for r in await self.db.fetch("select id from customers order by id")]

    async def task_rows(self) -> dict[uuid.UUID, dict[str, Any]]:
        rows = await self.db.fetch(
            "select id, status, assignee_id, template_id, started_at, submitted_at, done_at,"
            " cancelled_at, updated_at, form_values_enc from tasks order by id"
        )
        return {r["id"]: dict(r) for r in rows}

    async def notification_rows(self) -> dict[uuid.UUID, dict[str, Any]]:
        rows = await self.db.fetch(
            "select id, user_id, read_at, push_status from notifications where in_app order by id"
        )
        return {r["id"]: dict(r) for r in rows}

    async def note_ids(self) -> set[uuid.UUID]:
        rows = await self.db.fetch("select id from customer_timeline where source = 'note'")
        return {r["id"] for r in rows}

    @staticmethod
    def sees_task(who: str, assignee: uuid.UUID) -> bool:
        return assignee in EAST if who == "bh.east" else assignee == user(who)

    # ---- writes ----------------------------------------------------------------------------------
    # Few rules with a weighted `kind` each, so that writes, pushes and pulls come often enough to
    # meet each other within one run.

    customer_rows = st.lists(
        st.tuples(st.integers(0, len(EXTERNAL_IDS) - 1), st.sampled_from(OWNERS),
                  st.integers(0, 1), st.sampled_from(("C1", "C3", "C5")),
                  st.sampled_from((0, 50_000, 2_000_000)), st.sampled_from((None, "vip"))),
        min_size=1, max_size=len(EXTERNAL_IDS), unique_by=lambda r: r[0],
    )  # fmt: skip
    holding_rows = st.lists(
        st.tuples(st.integers(0, len(EXTERNAL_IDS) - 1), st.sampled_from(PRODUCTS[:3]),
                  st.sampled_from((1000, 2500, 90_000)), st.sampled_from(AS_OF)),
        min_size=1, max_size=4, unique_by=lambda r: (r[0], r[1]),
    )  # fmt: skip

    @initialize(
        owners=st.lists(st.sampled_from(OWNERS), min_size=len(EXTERNAL_IDS),
                        max_size=len(EXTERNAL_IDS)),
        holdings=holding_rows, template=st.integers(0, 1),
        offline=st.sets(st.sampled_from(APPS)), begun=st.sets(st.sampled_from(APPS)),
    )  # fmt: skip
    def the_bank_is_busy_already(
        self, owners: list[str], holdings: list[Any], template: int, offline: set[str],
        begun: set[str],
    ) -> None:  # fmt: skip
        """Every rule has something to work on: customers with holdings and notes, tasks of a
        team and of customers, notifications. Some apps start offline, some of those in the
        middle of their initial sync."""
        customers = [(i, owner, 0, "C3", 50_000 * i, None) for i, owner in enumerate(owners)]
        self.run(self._feed_customers(customers))
        self.run(self._feed_holdings(holdings))
        self.run(self._busy(template))
        for who in APPS:
            device = self.devices[who]
            device.online = who not in offline
            if who in begun:
                device.cursor, _ = self.run(self._pull(device, device.store, None, 2))

    async def _busy(self, template: int) -> None:
        due = datetime.now(UTC) + FAR
        await dispatch(self.client, self.headers["bh.east"], self.templates[template],
                       org_unit="team-east-1", due_at=due)  # fmt: skip
        await dispatch(self.client, self.headers["admin"], self.templates[1 - template],
                       customer_ids=await self.customer_ids(), due_at=due)  # fmt: skip
        owners = await self.db.fetch("select u.login from customers c join users u"
                                     " on u.id = c.owner_id order by c.id")  # fmt: skip
        for index, owner in enumerate(owners):
            if owner["login"] in RMS:
                await self._note_online(owner["login"], index)
        for who in APPS:
            async with self.db.transaction():
                await notifications.notify(
                    self.db, user_id=user(who), category="task.confirmed", title="Confirmed",
                    body="A customer confirmed a visit", dedupe_key=f"busy-{who}",
                )  # fmt: skip

    async def _feed_customers(self, rows: list[tuple[Any, ...]]) -> None:
        feed_rows = [
            customer_row(EXTERNAL_IDS[i], name=NAMES[(i + variant) % len(NAMES)], owner=owner,
                         id_no=id_number(i), mobile=phone(i), risk_level=risk, aum=aum,
                         tags=[tag] if tag else [], segment=tag)
            for i, owner, variant, risk, aum, tag in rows
        ]  # fmt: skip
        result = await feed(self.client, self.headers["admin"], "customers", feed_rows)
        assert result["rejected"] == []

    async def _feed_holdings(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows of customers not fed (or deleted) are refused by the feed; the rest land."""
        feed_rows = [holding_row(EXTERNAL_IDS[i], code, amount, as_of)
                     for i, code, amount, as_of in rows]  # fmt: skip
        await feed(self.client, self.headers["admin"], "holdings", feed_rows)

    @rule(kind=st.sampled_from(("customers", "customers", "holdings", "holdings", "product")),
          customers=customer_rows, holdings=holding_rows, product=st.sampled_from(PRODUCTS),
          renamed=st.booleans(), active=st.booleans())  # fmt: skip
    def the_bank_feeds(
        self, kind: str, customers: list[Any], holdings: list[Any], product: str,
        renamed: bool, active: bool,
    ) -> None:  # fmt: skip
        """New customers, changed fields and owner moves; new and changed positions; the
        product master."""
        if kind == "customers":
            self.run(self._feed_customers(customers))
        elif kind == "holdings":
            self.run(self._feed_holdings(holdings))
        else:
            row = product_row(product, name=f"{'Beta' if renamed else 'Alpha'} {product}",
                              active=active)  # fmt: skip
            result = self.run(feed(self.client, self.headers["admin"], "products", [row]))
            assert result["rejected"] == []

    @rule(kind=st.sampled_from(("holding", "customer", "task", "task", "notification")),
          index=st.integers(0, 60), to=st.sampled_from(ASSIGNEES))  # fmt: skip
    def someone_writes_sql_by_hand(self, kind: str, index: int, to: str) -> None:
        """Deletes a holding; deletes a customer (its tasks first: they do not cascade; its
        holdings and notes cascade); reassigns a task; withdraws a notification."""
        self.run(self._sql(kind, index, to))

    async def _sql(self, kind: str, index: int, to: str) -> None:
        db = self.db
        if kind == "holding":
            rows = await db.fetch("select customer_id, product_code from holdings order by 1, 2")
            if row := pick(rows, index):
                await db.execute(
                    "delete from holdings where customer_id = $1 and product_code = $2",
                    row["customer_id"], row["product_code"],
                )  # fmt: skip
        elif kind == "customer":
            if (customer := pick(await self.customer_ids(), index)) is not None:
                async with db.transaction():
                    await db.execute("delete from tasks where customer_id = $1", customer)
                    await db.execute("delete from customers where id = $1", customer)
        elif kind == "task":
            if (task := pick(list(await self.task_rows()), index)) is not None:
                await db.execute(
                    "update tasks set assignee_id = $2, updated_at = now() where id = $1",
                    task, user(to),
                )  # fmt: skip
        elif (nid := pick(list(await self.notification_rows()), index)) is not None:
            await db.execute(
                "update notifications set push_status = 'withdrawn' where id = $1", nid
            )

    @rule(to=st.sampled_from(("team-east-1", "team-east-2", "customers", "customers")),
          by=st.sampled_from(("admin", "bh.east")), template=st.integers(0, 1),
          indexes=st.lists(st.integers(0, 30), min_size=1, max_size=3))  # fmt: skip
    def a_manager_dispatches(self, to: str, by: str, template: int, indexes: list[int]) -> None:
        """To every RM of a team, or one task per customer for its owner."""

        async def go() -> None:
            due = datetime.now(UTC) + FAR
            if to != "customers":
                await dispatch(self.client, self.headers[by], self.templates[template],
                               org_unit=to, due_at=due)  # fmt: skip
            elif customers := await self.customer_ids():
                chosen = list(dict.fromkeys(pick(customers, i) for i in indexes))
                await dispatch(self.client, self.headers[by], self.templates[template],
                               customer_ids=chosen, due_at=due)  # fmt: skip

        self.run(go())

    @rule(kind=st.sampled_from(("start", "submit", "cancel", "note", "note", "read")),
          who=st.sampled_from(APPS), index=st.integers(0, 60))  # fmt: skip
    def staff_work_online(self, kind: str, who: str, index: int) -> None:
        """A task started, submitted or cancelled, a note written, a notification read, through
        the API; the answer is what the user may do."""
        if kind == "note":
            self.run(self._note_online(who, index))
        elif kind == "read":
            self.run(self._read_online(who, index))
        else:
            self.run(self._task_online(who, kind, index))

    async def _task_online(self, who: str, action: str, index: int) -> None:
        tasks = await self.task_rows()
        if (task_id := pick(list(tasks), index)) is None:
            return
        task = tasks[task_id]
        body = {"values": {"notes": "done online"}} if action == "submit" else None
        response = await self.client.post(
            f"/api/v1/tasks/{task_id}/{action}", json=body, headers=self.headers[who]
        )
        if who == "bh.east" and action != "cancel":
            expected = 403  # an RM's action
        elif not self.sees_task(who, task["assignee_id"]):
            expected = 404
        else:
            allowed = {"start": {"pending"}, "submit": {"in_progress"}, "cancel": OPEN}
            expected = 200 if task["status"] in allowed[action] else 409
        assert response.status_code == expected, (action, task["status"], response.text)

    async def _note_online(self, who: str, index: int) -> None:
        customers = await self.db.fetch("select id, owner_id from customers order by id")
        if (customer := pick(customers, index)) is None:
            return
        self.notes_written += 1
        response = await self.client.post(
            f"/api/v1/customers/{customer['id']}/notes",
            json={"text": f"online note {self.notes_written}",
                  "kind": NOTE_KINDS[index % len(NOTE_KINDS)]},
            headers=self.headers[who],
        )  # fmt: skip
        mine = customer["owner_id"] == user(who)
        expected = 403 if who not in RMS else 201 if mine else 404  # notes are an RM's
        assert response.status_code == expected, response.text

    async def _read_online(self, who: str, index: int) -> None:
        rows = await self.notification_rows()
        if (nid := pick(list(rows), index)) is None:
            return
        response = await self.client.post(
            f"/api/v1/notifications/{nid}/read", headers=self.headers[who]
        )
        row = rows[nid]
        listed = row["user_id"] == user(who) and row["push_status"] != "withdrawn"
        assert response.status_code == (200 if listed else 404), response.text

    @rule(to=st.sampled_from(APPS),
          category=st.sampled_from(("task.confirmed", "customer.verified")))  # fmt: skip
    def a_worker_notifies_a_user(self, to: str, category: str) -> None:
        async def go() -> None:
            async with self.db.transaction():
                await notifications.notify(
                    self.db, user_id=user(to), category=category, title="Heads up",
                    body="Something happened", dedupe_key=str(uuid.uuid4()),
                )  # fmt: skip

        self.run(go())

    # ---- offline mutations -----------------------------------------------------------------------

    batches = st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 60)), min_size=1,
                       max_size=4)  # fmt: skip

    @rule(who=st.sampled_from(APPS), batch=batches, extra=batches,
          answer=st.sampled_from(("received", "lost", "lost_then_more")))  # fmt: skip
    def app_pushes_offline_mutations(
        self, who: str, batch: list[tuple[str, int]], extra: list[tuple[str, int]], answer: str
    ) -> None:
        """A batch of offline actions; a lost answer makes the app send the batch again (with
        what it queued since, for `lost_then_more`)."""
        self.run(self._push(self.devices[who], batch, extra, answer))

    async def _mutation(self, device: Device, name: str, index: int) -> dict[str, Any]:
        mutation_id = device.next_mutation
        device.next_mutation += 1
        nowhere = uuid.uuid5(uuid.NAMESPACE_URL, f"nowhere/{index}")
        if name.startswith("task."):
            task_id = pick([*await self.task_rows(), nowhere], index)
            args: dict[str, Any] = {"task_id": str(task_id)}
            if name == "task.submit":
                args["values"] = {"notes": f"offline {mutation_id}"}
            elif name == "task.cancel":
                args["reason"] = "customer moved away"
        elif name == "note.add":
            note_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{device.client_id}/{mutation_id}")
            args = {"customer_id": str(pick([*await self.customer_ids(), nowhere], index)),
                    "id": str(note_id), "text": f"offline note {device.client_id} {mutation_id}",
                    "kind": NOTE_KINDS[index % len(NOTE_KINDS)]}  # fmt: skip
        else:
            notification_id = pick([*await self.notification_rows(), nowhere], index)
            args = {"notification_id": str(notification_id)}
        return {"id": mutation_id, "name": name, "args": args}

    async def _expected(
        self, who: str, mutations: list[dict[str, Any]], tasks: dict[uuid.UUID, dict[str, Any]]
    ) -> list[tuple[str, str | None]]:
        """The outcome of each mutation, in order, from the server's state before the batch
        (with a conflict: the task's status then); `tasks` is moved along as the server must
        move it."""
        owners = {r["id"]: r["owner_id"]
                  for r in await self.db.fetch("select id, owner_id from customers")}  # fmt: skip
        listing = await self.notification_rows()
        outcome: list[tuple[str, str | None]] = []
        for m in mutations:
            name, args = m["name"], m["args"]
            if name in ("task.start", "task.submit", "note.add") and who == "bh.east":
                outcome.append(("rejected auth.forbidden", None))  # an RM's action
            elif name.startswith("task."):
                task = tasks.get(uuid.UUID(args["task_id"]))
                if task is None or not self.sees_task(who, task["assignee_id"]):
                    outcome.append(("rejected task.not_found", None))
                    continue
                before = {"task.start": {"pending"}, "task.submit": {"in_progress"},
                          "task.cancel": OPEN}[name]  # fmt: skip
                if task["status"] not in before:
                    outcome.append(("conflict task.illegal_transition", task["status"]))
                    continue
                outcome.append(("applied", None))
                if name == "task.start":
                    task["status"] = "in_progress"
                elif name == "task.cancel":
                    task["status"] = "cancelled"
                else:
                    confirm = self.confirms[str(task["template_id"])]
                    task["status"] = "awaiting_confirmation" if confirm else "done"
            elif name == "note.add":
                owner = owners.get(uuid.UUID(args["customer_id"]))
                mine = owner == user(who)
                outcome.append(("applied" if mine else "rejected customer.not_found", None))
            else:
                row = listing.get(uuid.UUID(args["notification_id"])) or {}
                listed = row.get("user_id") == user(who) and row["push_status"] != "withdrawn"
                outcome.append(("applied" if listed else "rejected notification.not_found", None))
        return outcome

    async def _send(self, device: Device, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        response = await self.client.post(
            PUSH, json={"client_id": device.client_id, "mutations": mutations},
            headers=device.headers,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert [r["id"] for r in body["results"]] == [m["id"] for m in mutations]
        return body

    async def _check_applied(
        self, who: str, mutations: list[dict[str, Any]], results: list[dict[str, Any]],
        expected: list[tuple[str, str | None]], tasks: dict[uuid.UUID, dict[str, Any]],
    ) -> None:  # fmt: skip
        """Each outcome as predicted (a conflict shows the task as it was then), and what was
        applied is there (nothing lost)."""
        outcomes = [(" ".join(filter(None, (r["status"], r.get("code")))),
                     r["server"]["status"] if r["status"] == "conflict" else None)
                    for r in results]  # fmt: skip
        assert outcomes == expected, (who, [m["name"] for m in mutations], results)
        now = await self.task_rows()
        assert {k: v["status"] for k, v in now.items()} == {
            k: v["status"] for k, v in tasks.items()
        }
        stored_notes = await self.note_ids()
        read = await self.notification_rows()
        for m, result in zip(mutations, results, strict=True):
            if result["status"] != "applied":
                continue
            if m["name"] == "note.add":
                assert uuid.UUID(m["args"]["id"]) in stored_notes
            elif m["name"] == "notification.read":
                assert read[uuid.UUID(m["args"]["notification_id"])]["read_at"] is not None

    async def _snapshot(self) -> tuple[Any, ...]:
        return await self.task_rows(), await self.note_ids(), await self.notification_rows()

    async def _push(
        self, device: Device, batch: list[tuple[str, int]], extra: list[tuple[str, int]],
        answer: str,
    ) -> None:  # fmt: skip
        who = device.login
        mutations = [await self._mutation(device, name, i) for name, i in batch]
        tasks = await self.task_rows()
        expected = await self._expected(who, mutations, tasks)
        first = await self._send(device, mutations)
        assert first["last_mutation_id"] == mutations[-1]["id"]
        await self._check_applied(who, mutations, first["results"], expected, tasks)
        if answer == "received":
            return
        # The answer was lost: the app sends the batch again (and what it queued since).
        before = await self._snapshot()
        more = [await self._mutation(device, name, i) for name, i in extra]
        if answer == "lost":
            more = []
        tasks = await self.task_rows()
        expected_more = await self._expected(who, more, tasks)
        again = await self._send(device, mutations + more)
        old, new = again["results"][: len(mutations)], again["results"][len(mutations) :]
        # What was applied is `duplicate`; a rejection or a conflict is answered again (the app
        # dropped what it took for done).
        answered = [
            ("duplicate", None) if r["status"] == "applied" else (r["status"], r.get("code"))
            for r in first["results"]
        ]
        assert [(r["status"], r.get("code")) for r in old] == answered, again
        assert again["last_mutation_id"] == (more or mutations)[-1]["id"]
        await self._check_applied(who, more, new, expected_more, tasks)
        # Nothing of the first batch happened twice: only what the new mutations applied moved.
        after = await self._snapshot()
        touched = {uuid.UUID(m["args"].get("task_id") or m["args"].get("notification_id")
                             or m["args"]["id"])
                   for m, r in zip(more, new, strict=True) if r["status"] == "applied"}  # fmt: skip
        for old_rows, new_rows in ((before[0], after[0]), (before[2], after[2])):
            moved = {k for k in old_rows.keys() | new_rows.keys()
                     if old_rows.get(k) != new_rows.get(k)}  # fmt: skip
            assert moved <= touched, moved - touched
        assert before[1] <= after[1]
        assert after[1] - before[1] <= touched

    # ---- the apps --------------------------------------------------------------------------------

    async def _pull(
        self, device: Device, store: dict[tuple[str, str], Any], cursor: str | None, limit: int
    ) -> tuple[str | None, bool]:
        body: dict[str, Any] = {"schema_version": 2, "limit": limit}
        if cursor is not None:
            body["cursor"] = cursor
        response = await self.client.post(PULL, json=body, headers=device.headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["wipe"] is False
        apply_changes(store, answer["changes"])
        return answer["cursor"], answer["has_more"]

    @rule(who=st.sampled_from(APPS), limit=st.sampled_from((1, 2, 3, 1000)),
          pages=st.integers(1, 4), lost=st.lists(st.booleans(), min_size=4,
                                                 max_size=4))  # fmt: skip
    def app_pulls(self, who: str, limit: int, pages: int, lost: list[bool]) -> None:
        """A few pages (an initial sync if the app has none yet); a lost answer is not applied
        and the app sends its previous cursor again."""

        async def go() -> None:
            device = self.devices[who]
            for page in range(pages):
                scratch = dict(device.store)
                cursor, more = await self._pull(device, scratch, device.cursor, limit)
                if not lost[page]:
                    device.store, device.cursor = scratch, cursor
                if not more:
                    break

        self.run(go())

    @rule(kind=st.sampled_from(("reinstalled", "offline", "offline", "online")),
          who=st.sampled_from(APPS))  # fmt: skip
    def an_app_changes(self, kind: str, who: str) -> None:
        """Reinstalled: local rows gone, the next pull is a fresh initial sync and pushes come
        from a new client id. Offline: it falls behind (each check pulls on a copy of it, so a
        half-done initial sync stays half done across writes). Online: it keeps up."""
        if kind == "reinstalled":
            self.generation += 1
            self.devices[who] = Device(who, self.headers[who], self.generation)
        else:
            self.devices[who].online = kind == "online"

    @rule(who=st.sampled_from(APPS), index=st.integers(0, 30), what=st.sampled_from(("customer",
          "holding")), feed_runs=st.booleans(), commit=st.booleans())  # fmt: skip
    def a_slow_transaction_overlaps_a_pull(
        self, who: str, index: int, what: str, feed_runs: bool, commit: bool
    ) -> None:
        """A write whose transaction began first commits last (or rolls back): an app that
        pulled in between, seeing only the later one committed, must still get both."""
        self.run(self._overlap(self.devices[who], index, what, feed_runs, commit))

    async def _overlap(
        self, device: Device, index: int, what: str, feed_runs: bool, commit: bool
    ) -> None:
        slow = self.w.slow
        transaction = slow.transaction()
        await transaction.start()
        try:
            if what == "customer":
                if (customer := pick(await self.customer_ids(), index)) is not None:
                    await slow.execute(
                        "update customers set aum = aum + 1, updated_at = now() where id = $1",
                        customer,
                    )  # fmt: skip
            elif row := pick(await self.db.fetch("select customer_id, product_code from holdings"
                                                 " order by 1, 2"), index):  # fmt: skip
                await slow.execute(
                    "update holdings set amount = amount + 1 where customer_id = $1"
                    " and product_code = $2", row["customer_id"], row["product_code"],
                )  # fmt: skip
            await slow.execute("select pg_current_xact_id()")  # it has its xid, like any write
            await self.db.execute(
                "update products set name = name || '+' where code = $1", PRODUCTS[index % 3]
            )
            if feed_runs:
                await self.w.feed.step(self.w.feed_conn)
            store, cursor, more = dict(device.store), device.cursor, True
            while more:
                cursor, more = await self._pull(device, store, cursor, 1000)
            device.store, device.cursor = store, cursor
        finally:
            await (transaction.commit() if commit else transaction.rollback())

    @rule(kind=st.sampled_from(("feed", "feed", "redis_lost")))
    def the_sync_machinery_moves(self, kind: str) -> None:
        """The sync feed runs one batch, or Redis loses what the feed told it."""
        if kind == "feed":
            self.run(self.w.feed.step(self.w.feed_conn))
        else:
            self.run(self.w.drop_redis_keys(f"{self.w.prefix}sync:*"))

    # ---- the invariant ---------------------------------------------------------------------------

    async def _settle(self) -> None:
        """Pulls read only finished transactions: wait until every transaction on the server
        that began before now has ended (other test runs share the server); then the feed
        catches up, as its loop would within a fraction of a second."""
        mark = await self.db.fetchval("select pg_current_xact_id()::text::bigint")
        deadline = asyncio.get_running_loop().time() + 60
        while await self.db.fetchval(
            "select pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        ) <= mark:  # fmt: skip
            assert asyncio.get_running_loop().time() < deadline, "the server's xmin is stuck"
            await asyncio.sleep(0.01)
        if await self.w.redis.exists(f"{self.w.prefix}sync:tail"):
            while await self.w.feed.step(self.w.feed_conn):
                pass

    async def _get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        response = await self.client.get(path, params=params, headers=headers)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    async def _pages(self, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
        items: list[Any] = []
        cursor = None
        while True:
            page = await self._get(path, headers, limit=200, **params,
                                   **({"cursor": cursor} if cursor else {}))  # fmt: skip
            items += page["items"]
            if not (cursor := page["next_cursor"]):
                return items

    async def _fingerprint(self) -> str:
        """A digest of every table the API's views read: equal digests, equal views."""
        digest = "(select coalesce(md5(string_agg(t::text, ',' order by t::text)), '') from {} t)"
        everything = " || ':' || ".join(digest.format(table) for table in FINGERPRINTED)
        fingerprint: str = await self.db.fetchval(f"select {everything}")  # our own table names
        return fingerprint

    async def _shown(self, who: str, fingerprint: str) -> dict[tuple[str, str], Any]:
        """Every row the API shows this user, keyed as sync keys them (read again only when
        the tables behind the views changed since the last time)."""
        cached = self.shown_cache.get(who)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        shown = await self._read_shown(who)
        self.shown_cache[who] = (fingerprint, shown)
        return shown

    async def _read_shown(self, who: str) -> dict[tuple[str, str], Any]:
        headers = self.headers[who]
        shown: dict[tuple[str, str], Any] = {}
        for r in await self.db.fetch("select code, name, category, risk_level, active "
                                     "from products"):  # fmt: skip
            shown[("product", r["code"])] = {
                "code": r["code"], "name": r["name"], "category": r["category"],
                "risk_level": f"R{r['risk_level']}", "active": r["active"],
            }  # fmt: skip
        for t in await self._pages("/api/v1/task-templates", headers):
            shown[("task_template", t["id"])] = t
        for n in await self._pages("/api/v1/notifications", headers):
            shown[("notification", n["id"])] = n
        if who in RMS:
            for c in await self._pages("/api/v1/customers", headers):
                shown[("customer", c["id"])] = c
                detail = await self._get(f"/api/v1/customers/{c['id']}", headers)
                for h in detail["holdings"]:
                    key = f"{c['id']}:{h['product_code']}"
                    shown[("holding", key)] = {**h, "id": key, "customer_id": c["id"]}
                entries = detail["timeline"]["items"]
                if detail["timeline"]["next_cursor"]:
                    entries = await self._pages(f"/api/v1/customers/{c['id']}/timeline", headers)
                for e in entries:
                    if e["kind"].startswith("note."):
                        shown[("note", e["id"])] = {**e, "customer_id": c["id"]}
        # Listing a status no task has cannot show anything; the others are all listed.
        present = {r["status"] for r in await self.db.fetch("select distinct status from tasks")}
        for status in [s for s in STATUSES if s in present]:
            for t in await self._pages("/api/v1/tasks", headers, status=status):
                # The detail does not depend on who asks (the list says who may): one read per
                # task and check is enough.
                if t["id"] not in self.details:
                    self.details[t["id"]] = await self._get(f"/api/v1/tasks/{t['id']}", headers)
                shown[("task", t["id"])] = self.details[t["id"]]
        return {k: normalized(k, v) for k, v in shown.items()}

    async def _check(self) -> None:
        await self._settle()
        fingerprint = await self._fingerprint()
        self.details: dict[str, Any] = {}
        for who, device in self.devices.items():
            store, cursor, more = dict(device.store), device.cursor, True
            for _ in range(10_000):
                cursor, more = await self._pull(device, store, cursor, 1000)
                if not more:
                    break
            assert not more, "pulls never ended"
            if device.online:  # it pulled; an offline app keeps where it was (mid-sync, maybe)
                device.store, device.cursor = store, cursor
            for key, data in store.items():  # each row carries its own key
                if key[0] in ("customer", "task", "task_template", "notification", "note"):
                    assert data["id"] == key[1]
                elif key[0] == "holding":
                    assert data["id"] == key[1] == f"{data['customer_id']}:{data['product_code']}"
            self._check_nothing_of_others(who, store)
            notified = {str(r["id"]) for r in await self.db.fetch(
                "select id from notifications where user_id = $1", user(who))}  # fmt: skip
            assert {k[1] for k in store if k[0] == "notification"} <= notified
            held = {k: normalized(k, v) for k, v in store.items()}
            shown = await self._shown(who, fingerprint)
            assert held == shown, f"{who}'s device is not what the API shows:\n" + differences(
                held, shown
            )

    def _check_nothing_of_others(self, who: str, store: dict[tuple[str, str], Any]) -> None:
        mine = str(user(who))
        customers = {k[1] for k in store if k[0] == "customer"}
        for (entity, key), data in store.items():
            if entity == "customer":
                assert data["owner_id"] == mine, (who, key)
            elif entity in ("holding", "note"):
                assert data["customer_id"] in customers, (who, entity, key)
            elif entity == "task":
                assert self.sees_task(who, uuid.UUID(data["assignee_id"])), (who, key)
        if who == "bh.east":  # a branch head owns no customers: the partition has none
            assert not [k for k in store if k[0] in ("customer", "holding", "note")]

    @invariant()
    def every_app_holds_exactly_what_the_api_shows_its_user(self) -> None:
        self.run(self._check())


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    w = World(settings)
    try:
        yield w
    finally:
        w.close()


# Examples per run: a new random set each time (WORKBENCH_SYNC_MODEL_EXAMPLES=200 for a long hunt).
EXAMPLES = int(os.environ.get("WORKBENCH_SYNC_MODEL_EXAMPLES", "6"))


def test_every_app_ends_with_exactly_what_the_api_shows_its_user_whatever_happens(
    world: World,
) -> None:
    SyncModel.world = world
    run_state_machine_as_test(
        SyncModel,
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
