"""Delivering the outbox: claim due notifications with a short lease, decide each one's fate,
send to the user's devices concurrently, and record every answer in one transaction.

A round is:
1. claim: one statement, FOR UPDATE SKIP LOCKED, a lease on each row;
2. decide and reserve: one short transaction holding a lock per user, that reads devices,
   preferences and hourly counts, decides each row, and writes its sends as 'sending' attempts
   (so concurrent rounds count them against the device cap) and its folds;
3. send, concurrently, outside any transaction;
4. record: one transaction with every provider answer, dead tokens deactivated, rows settled,
   retried with backoff or deferred (see `settlement`), and summaries for folded alerts
   scheduled, for the rows whose lease the round still held.
A worker killed in the middle leaves leased rows that another worker claims when the lease
runs out; devices an earlier attempt already settled are not sent to again, and the notification
ends by what they got (folded by the dead worker: folded, with its summary). Those it had sent
to without recording the answer get the push again, with the same collapse id (see
`Push.collapse_id`), so the phone still shows it once; the dead worker's 'sending' attempts are
closed as 'retry' (`lease_expired`) by the claim that takes over, and the device cap counts
notifications, not attempts, so the repeat is one alert.

A registration whose token cannot be decrypted (its data key was dropped too early, a corrupt
row) is answered like a dead token without calling the provider: logged and counted, the
registration deactivated, the notification settled with the user's other devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from push import policies, queries, settlement
from push.devices import token_aad
from push.metrics import PushMetrics
from push.providers import Outcome, Provider, Push
from workbench.notifications import categories
from workbench.security.vault import Vault

log = logging.getLogger("push.delivery")
NO_PREFERENCES = policies.Preferences()


@dataclass(frozen=True, slots=True)
class Options:
    lease_seconds: int = 30
    batch_size: int = 200
    max_attempts: int = 8
    device_cap: int = 10
    bank_timezone: str = "Asia/Shanghai"
    in_flight: int = 256  # concurrent provider calls per round


UNDECRYPTABLE_TOKEN = "undecryptable_token"  # noqa: S105 - a reason code, not a secret


@dataclass(slots=True)
class _Target:
    device_id: str
    provider: str
    token_index: bytes
    token: str | None  # None: the stored token cannot be decrypted


@dataclass(slots=True)
class _Row:
    """One claimed notification and what this round does with it."""

    record: asyncpg.Record
    targets: list[_Target] = field(default_factory=list)
    decision: policies.Decision | None = None
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    attempt_ids: dict[str, int] = field(default_factory=dict)  # device -> its 'sending' row
    # device -> how an earlier attempt settled it (sent, folded, failed, dead_token)
    earlier: dict[str, str] = field(default_factory=dict)
    summary_body: str | None = None
    decided_with: datetime | None = None  # the version of the user's preferences it was decided by

    @property
    def id(self) -> uuid.UUID:
        nid: uuid.UUID = self.record["id"]
        return nid


class Deliverer:
    """Sends due notifications through the providers. Stateless between rounds: any number of
    instances, in any number of processes, share the outbox safely."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        providers: dict[str, Provider],
        vault: Vault,
        metrics: PushMetrics,
        options: Options,
    ) -> None:
        self._pool = pool
        self._providers = providers
        self._vault = vault
        self._metrics = metrics
        self._options = options
        self._in_flight = asyncio.Semaphore(options.in_flight)

    async def run_round(self) -> int:
        """Claim and deliver one batch of due notifications; returns how many were claimed."""
        owner = uuid.uuid4()
        async with self._pool.acquire() as conn:
            claimed = await queries.claim_due(
                conn,
                limit=self._options.batch_size,
                lease_seconds=self._options.lease_seconds,
                owner=owner,
            )
        if claimed:
            await self._deliver(claimed, owner)
        return len(claimed)

    async def deliver_now(self, notification_id: uuid.UUID) -> bool:
        """Deliver one pending notification at once (the `push test` command); False if it
        was not pending or another worker holds it."""
        owner = uuid.uuid4()
        async with self._pool.acquire() as conn:
            row = await queries.claim_one(
                conn, notification_id, lease_seconds=self._options.lease_seconds, owner=owner
            )
        if row is None:
            return False
        await self._deliver([row], owner)
        return True

    async def run_forever(self, stop: asyncio.Event, *, idle_seconds: float = 0.25) -> None:
        """Deliver until `stop` is set: at once while there is work, else poll every
        `idle_seconds`. A failing round (database restarting, say) is logged and retried."""
        while not stop.is_set():
            try:
                claimed = await self.run_round()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("push round failed; retrying", extra={"error": type(exc).__name__})
                await _sleep_or_stop(stop, 2.0)
                continue
            except Exception as exc:  # a bug must not end the loop: the leases run out, retry
                log.exception("push round raised; retrying", extra={"error": type(exc).__name__})
                await _sleep_or_stop(stop, 2.0)
                continue
            if claimed < self._options.batch_size:
                await _sleep_or_stop(stop, idle_seconds)

    # ---- one round ---------------------------------------------------------------------------

    async def _deliver(self, claimed: Sequence[asyncpg.Record], owner: uuid.UUID) -> None:
        now = datetime.now(UTC)
        rows = [_Row(r) for r in claimed]
        async with self._pool.acquire() as conn, conn.transaction():
            await self._decide(conn, rows, now)
        await asyncio.gather(*(self._send(row) for row in rows))
        async with self._pool.acquire() as conn, conn.transaction():
            await self._record(conn, rows, owner)

    async def _decide(self, conn: Any, rows: list[_Row], now: datetime) -> None:
        """Decide every row and reserve its sends, in one short transaction that holds the
        users' registrations: concurrent rounds for the same device see each other's
        reservations, so the hourly cap holds however many loops and workers there are."""
        user_ids = list({r.record["user_id"] for r in rows})
        registrations = await queries.lock_live_registrations(conn, user_ids)
        stored = await queries.preferences(conn, user_ids)
        prefs = {p["user_id"]: self._preferences(p) for p in stored}
        versions = {p["user_id"]: p["updated_at"] for p in stored}
        retried = [r.id for r in rows if r.record["attempts"] > 1]
        # A re-claimed row's attempts still 'sending' belong to a worker that died (or lost its
        # lease): closed now, they neither count twice towards the cap nor look in flight.
        await queries.close_unanswered_attempts(conn, retried)
        # Per user and device: a phone that changed hands starts afresh for its new user.
        sent = await queries.alerts_sent_last_hour(
            conn, [(g["user_id"], g["device_id"]) for g in registrations]
        )
        settled = await queries.settled_devices(conn, retried) if retried else {}
        superseded = await queries.superseded(
            conn, [(r.record["user_id"], r.record["collapse_key"], r.id) for r in rows
                   if r.record["collapse_key"]]
        )  # fmt: skip
        devices_of: dict[uuid.UUID, list[_Target]] = {}
        for g in registrations:
            token = self._vault.cipher.decrypt_or_none(
                g["token_cipher"],
                aad=token_aad(g["device_id"]),
                column="push_registrations.token_cipher",
                row=g["device_id"],
            )
            devices_of.setdefault(g["user_id"], []).append(
                _Target(g["device_id"], g["provider"], g["token_index"], token)
            )
        for row in rows:
            record = row.record
            row.decided_with = versions.get(record["user_id"])
            if row.id in superseded:
                row.decision = policies.Drop("collapsed", "newer_with_same_key")
                continue
            targets = devices_of.get(record["user_id"], [])
            row.earlier = {
                t.device_id: settled[row.id, t.device_id]
                for t in targets
                if (row.id, t.device_id) in settled
            }
            devices = [
                policies.Device(
                    t.device_id,
                    sent_last_hour=sent.get((record["user_id"], t.device_id), 0),
                    finished=t.device_id in row.earlier,
                )
                for t in targets
            ]
            due = policies.Due(
                category=record["category"],
                critical=record["priority"] == "critical",
                silent=record["silent"],
                expires_at=record["expires_at"],
                subject_open=record["subject_open"],
                device_id=record["device_id"],
                read=record["read_at"] is not None,
            )
            decision = policies.decide(
                due,
                preferences=prefs.get(record["user_id"], NO_PREFERENCES),
                devices=devices,
                now=now,
                device_cap=self._options.device_cap,
            )
            if (
                isinstance(decision, policies.Deliver)
                and record["category"] == categories.PUSH_SUMMARY
            ):
                folded = await queries.folded_since_last_summary(
                    conn, record["user_id"], record["device_id"]
                )
                if folded == 0:
                    decision = policies.Drop("skipped", "nothing_folded")
                row.summary_body = f"另有 {folded} 条通知，打开工作台查看"
            row.decision = decision
            row.targets = [
                t
                for t in targets
                if isinstance(decision, policies.Deliver) and t.device_id in decision.send
            ]
            if isinstance(decision, policies.Deliver) and not due.silent:
                for device_id in decision.send:  # later rows of this round see the new count
                    key = (record["user_id"], device_id)
                    sent[key] = sent.get(key, 0) + 1
        await self._reserve(conn, rows)

    async def _reserve(self, conn: Any, rows: list[_Row]) -> None:
        """Record the round's sends as 'sending' (they count towards the cap at once) and its
        folds as final."""
        planned: list[tuple[Any, ...]] = []
        for row in rows:
            if not isinstance(row.decision, policies.Deliver):
                continue
            alert, attempt = not row.record["silent"], row.record["attempts"]
            for target in row.targets:
                planned.append(
                    (row.id, target.device_id, target.provider, attempt, "sending", None, None,
                     alert)
                )  # fmt: skip
            for device_id in row.decision.fold:
                planned.append(
                    (row.id, device_id, "-", attempt, "folded", "device_cap", None, alert)
                )
        ids = await queries.record_attempts(conn, planned)
        by_row = {r.id: r for r in rows}
        for plan, attempt_id in zip(planned, ids, strict=True):
            if plan[4] == "sending":
                by_row[plan[0]].attempt_ids[plan[1]] = attempt_id

    async def _send(self, row: _Row) -> None:
        record = row.record
        calls = []
        for target in row.targets:
            if target.token is None:
                calls.append(_answer(Outcome("dead_token", reason=UNDECRYPTABLE_TOKEN)))
                continue
            push = Push(
                notification_id=record["id"],
                token=target.token,
                category=record["category"],
                title=record["title"],
                body=row.summary_body or record["body"],
                data={k: str(v) for k, v in (record["data"] or {}).items()},
                critical=record["priority"] == "critical",
                silent=record["silent"],
                collapse_key=record["collapse_key"],
                expires_at=record["expires_at"],
            )
            calls.append(self._bounded(self._providers[target.provider], push))
        results = await asyncio.gather(*calls)
        row.outcomes = {t.device_id: o for t, o in zip(row.targets, results, strict=True)}

    async def _bounded(self, provider: Provider, push: Push) -> Outcome:
        async with self._in_flight:
            try:
                return await provider.send(push)
            except Exception as exc:  # a provider bug must not lose the round's record
                log.exception("push provider raised", extra={"error": type(exc).__name__})
                return Outcome("retry", reason=f"error:{type(exc).__name__}")

    async def _record(self, conn: Any, rows: list[_Row], owner: uuid.UUID) -> None:
        answers: list[tuple[Any, ...]] = []
        dead: list[tuple[str, bytes, str]] = []
        provider_of: dict[str, str] = {}
        settled: list[tuple[Any, ...]] = []
        folded: dict[uuid.UUID, list[tuple[str, uuid.UUID]]] = {}
        stale = await self._decided_on_stale_preferences(conn, rows)
        for row in rows:
            record, decision = row.record, row.decision
            attempt = record["attempts"]
            if isinstance(decision, policies.Drop):
                settled.append((row.id, decision.status, decision.reason, None, None, 0))
                self._metrics.dropped(decision.status, decision.reason)
                continue
            if isinstance(decision, policies.Defer):
                # Held by preferences changed since: due now, for the next round to decide again.
                until = datetime.now(UTC) if row.id in stale else decision.until
                settled.append((row.id, "pending", "quiet_hours", None, until, 1))
                self._metrics.deferred()
                continue
            assert isinstance(decision, policies.Deliver)
            by_device = {t.device_id: t for t in row.targets}
            # Folded by this round or by an earlier one that died before settling the row.
            folds = [*decision.fold, *(d for d, o in row.earlier.items() if o == "folded")]
            folded[row.id] = [(device_id, record["user_id"]) for device_id in folds]
            retry_after: list[float] = []
            for device_id, outcome in row.outcomes.items():
                target = by_device[device_id]
                answers.append(
                    (row.attempt_ids[device_id], outcome.kind, outcome.reason,
                     outcome.status_code)
                )  # fmt: skip
                self._metrics.answered(target.provider, outcome)
                if outcome.kind == "dead_token":
                    dead.append((device_id, target.token_index, outcome.reason or "dead"))
                    provider_of[device_id] = target.provider
                elif outcome.kind == "retry":
                    retry_after.append(outcome.retry_after or 0.0)
            outcomes = {
                *(o.kind for o in row.outcomes.values()),
                *row.earlier.values(),
                *(["folded"] if decision.fold else []),
            }
            end = settlement.ending(
                outcomes,
                retry_after=retry_after,
                attempt=attempt,
                max_attempts=self._options.max_attempts,
            )
            settled.append((row.id, end.status, end.reason, end.retry_in, None, 0))
        await queries.record_answers(conn, answers)
        deactivated = await queries.deactivate_dead_tokens(conn, dead)
        ended = await queries.settle(conn, owner, settled)
        # Only the round that settles a row schedules its summary: a worker that lost the lease
        # (paused, then resumed after another took the row over) leaves it to that one.
        summaries = {f for nid in ended for f in folded.get(nid, ())}
        await queries.schedule_summaries(conn, sorted(summaries))
        for device_id, _, reason in dead:
            if device_id in deactivated:
                self._metrics.token_deactivated(provider_of[device_id], reason)

    async def _decided_on_stale_preferences(self, conn: Any, rows: list[_Row]) -> set[uuid.UUID]:
        """The rows held for quiet hours whose user changed their preferences after the round
        read them. A change under way is waited for (its transaction re-times only the rows
        already held), and one that comes later finds these rows held: none is missed."""
        deferred = [r for r in rows if isinstance(r.decision, policies.Defer)]
        if not deferred:
            return set()
        current = await queries.lock_preferences(conn, [r.record["user_id"] for r in deferred])
        return {r.id for r in deferred if current.get(r.record["user_id"]) != r.decided_with}

    def _preferences(self, record: asyncpg.Record) -> policies.Preferences:
        quiet = None
        if record["quiet_start"] is not None:
            tz = zoneinfo.ZoneInfo(record["time_zone"] or self._options.bank_timezone)
            quiet = policies.QuietHours(record["quiet_start"], record["quiet_end"], tz)
        return policies.Preferences(quiet=quiet, muted=frozenset(record["muted_categories"]))


async def _answer(outcome: Outcome) -> Outcome:
    return outcome


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
