"""The demo bank's month of sharing, so `workbench dev` shows funnels, share lists and the radar.

Every demo RM shares the brochures live for them (the catalogue's rule, as `POST /shares`), 3-8 a
week over four weeks, about three in four to one of their own customers, and only products that
suit the customer (product risk level never above the customer's). Each share gets a plausible
funnel: about 60 % are opened by one to three visitors (some also by the link-preview fetcher of
the chat app, labelled a bot by the current rules), dwell comes from 5-second heartbeats, about
40 % of openers stay 10 s or more, about 15 % of shares get a click on the call to action, and
about a third of the clicked shares to a customer convert a few days later.

Everything goes through the paths real traffic takes: the hits are stored (one COPY) with their
per-visitor rollup by the worker's own statement, the customers' timelines are written by the
radar, and the conversions are attributed by the feed's SQL. The last hour belongs to rm01: a
few of their shares opened minutes ago, which the radar tells them about ("您的客户 张*三 正在
浏览《…》"). Deterministic (a seeded `random.Random`, times relative to `now`) except share codes,
which are always drawn from `secrets`. Seeds nothing if any share exists.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from mobile_contracts.v1.identity import Role
from workbench.brochures import queries as brochure_queries
from workbench.db import Connection
from workbench.funnels import queries as funnel_queries
from workbench.security.vault import Vault
from workbench.seed import USERS
from workbench.settings import Settings
from workbench.shares import codes, queries
from workbench.tracking import bots, partitions, radar
from workbench.tracking import queries as tracking_queries

SEED = 14
WEEKS = 4
SHARES_PER_WEEK = (3, 8)
TO_NO_ONE = 0.25  # shares to no customer (a WeChat moment, a poster on the counter)
OPENED = 0.6
ENGAGED = 0.4  # of openers: 10 s or more
CLICKED = 0.25  # of opened shares: about 15 % of all shares
CONVERTED = 1 / 3  # of clicked shares to a customer
PREVIEWED = 0.35  # of shares over a channel whose app fetches link previews
HEARTBEAT_MS = 5_000
RADAR_LOGIN = "rm01"
RADAR_MINUTES = (50, 30, 10)  # rm01's shares opened in the last hour, minutes ago
CHANNELS = ("wechat", "sms", "qr", "link")
CHANNEL_WEIGHTS = (55, 20, 15, 10)

_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2c) NetType/WIFI Language/zh_CN"
)
_WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2217A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 NetType/5G"
)
_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; 23127PN0CC) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
_ALIPAY = (
    "Mozilla/5.0 (Linux; Android 12; V2055A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Version/4.0 Chrome/101.0.4951.74 Mobile Safari/537.36 AlipayClient/10.5.36.8000"
)
# The browsers people open a share in, by channel.
_PEOPLE = {
    "wechat": (_WECHAT, _WECHAT, _WECHAT_ANDROID),
    "sms": (_SAFARI, _CHROME, _SAFARI),
    "qr": (_WECHAT, _WECHAT_ANDROID, _ALIPAY),
    "link": (_SAFARI, _CHROME, _WECHAT),
}
# The link-preview fetchers of the apps a link travels through (a scanned QR code has none).
_PREVIEWS = {
    "wechat": ("Mozilla/5.0 (Linux; Android 13) WeChat-LinkPreview/8.0.47",),
    "sms": ("facebookexternalhit/1.1 Facebot Twitterbot/1.0",),  # iMessage
    "link": ("DingTalkBot-LinkService/1.0", "Slackbot-LinkExpanding 1.0"),
}


@dataclass(frozen=True, slots=True)
class _Sharer:
    """A demo RM, the live versions they may share, and their demo customers."""

    login: str
    rm_id: uuid.UUID
    org_unit_id: uuid.UUID
    offers: list[Any]  # catalogue rows
    customers: list[Any]  # (id, owner_id, risk_level)


@dataclass(frozen=True, slots=True)
class _Share:
    id: uuid.UUID
    code: str
    offer: Any
    customer_id: uuid.UUID | None
    sharer: _Sharer
    channel: str
    created_at: datetime
    recent: bool  # one of rm01's shares of the last hour: opened, and told by the radar

    def row(self) -> tuple[Any, ...]:
        """The share in queries.SHARE_COLUMNS order."""
        return (
            self.id, self.code, self.offer["brochure_id"], self.offer["version"],
            self.offer["product_code"], self.customer_id, self.sharer.rm_id,
            self.sharer.org_unit_id, self.channel, self.created_at,
        )  # fmt: skip


async def seed_demo_shares_from_settings(conn: Connection, settings: Settings) -> dict[str, int]:
    """The demo month of shares, with the settings' keys and attribution window."""
    return await seed_demo_shares(
        conn,
        vault=Vault.from_settings(settings.data_keys, settings.blind_index_key),
        now=datetime.now(UTC),
        window_days=settings.attribution_window_days,
    )


async def seed_demo_shares(
    conn: Connection, *, vault: Vault, now: datetime, window_days: int = 30
) -> dict[str, int]:
    """A month of shares, hits and conversions ending at `now`, unless any share exists. Call
    inside a transaction, after the demo customers and brochures."""
    added = {"shares": 0, "share_hits": 0, "conversions": 0}
    if await queries.any_share(conn):
        return added
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    shares = _plan(rng, await _sharers(conn, now), now)
    if not shares:
        return added
    await queries.copy_shares(conn, [share.row() for share in shares])
    stored = await _record_visits(conn, rng, shares, vault=vault, now=now)
    conversions = _conversions(rng, {share.id: share for share in shares}, stored.milestones, now)
    converted = await funnel_queries.insert_conversions(conn, conversions, window_days=window_days)
    return {"shares": len(shares), "share_hits": stored.count, "conversions": len(converted)}


async def _record_visits(
    conn: Connection, rng: random.Random, shares: list[_Share], *, vault: Vault, now: datetime
) -> tracking_queries.Stored:
    """Store the shares' hits with their per-visitor rollup as the worker does (in the months'
    partitions, made first), and write what the visitors did on the customers' timelines; only
    the opens of the last hour are told to the RM (the rest is history, not news)."""
    hits = [hit for share in shares for hit in _hits(rng, share, now)]
    for month in sorted({partitions.month_of(hit[0]) for hit in hits}):
        await partitions.ensure_month(conn, month)
    stored = await tracking_queries.store_hits(conn, hits)
    recent = {share.id for share in shares if share.recent}
    past = [m for m in stored.milestones if m["share_id"] not in recent]
    await radar.follow_up(conn, past, vault=vault, tell=False)
    news = [m for m in stored.milestones if m["share_id"] in recent]
    await radar.follow_up(conn, news, vault=vault)
    return stored


async def _sharers(conn: Connection, now: datetime) -> list[_Sharer]:
    """The demo RMs with what each may share now and their demo customers."""
    logins = [u.login for u in USERS if u.role is Role.RM]
    found = [
        (login, user)
        for login in logins
        if (user := await brochure_queries.user_for_login(conn, login)) and user["role"] == "rm"
    ]
    customers: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in await queries.demo_customers(conn, [u["id"] for _, u in found]):
        customers[row["owner_id"]].append(row)
    sharers = []
    for login, user in found:
        offers = await brochure_queries.catalogue(
            conn, viewer_unit_id=user["org_unit_id"], now=now, category=None, tag=None,
            max_risk=None, q=None, after=None, limit=200,
        )  # fmt: skip
        if offers:
            offers.sort(key=lambda o: (o["product_code"], o["title"]))  # the same draws each run
            sharers.append(
                _Sharer(login, user["id"], user["org_unit_id"], offers, customers[user["id"]])
            )
    return sharers


def _plan(rng: random.Random, sharers: list[_Sharer], now: datetime) -> list[_Share]:
    """Every RM's shares of the last WEEKS weeks (none in the last hour but rm01's few that
    the radar reports), oldest first."""
    shares: list[_Share] = []
    taken: set[str] = set()  # codes drawn (a collision of two is astronomically rare)
    start, week = now - timedelta(weeks=WEEKS), timedelta(weeks=1).total_seconds()
    history = (now - timedelta(hours=1) - start).total_seconds()
    for sharer in sharers:
        for n in range(WEEKS):
            for _ in range(rng.randint(*SHARES_PER_WEEK)):
                offset = rng.uniform(n * week, min((n + 1) * week, history))
                at = start + timedelta(seconds=offset)
                made = _share(rng, sharer, at, to_customer=rng.random() >= TO_NO_ONE, taken=taken)
                shares.extend([made] if made else [])
        if sharer.login == RADAR_LOGIN and sharer.customers:
            for minutes in RADAR_MINUTES:
                at = now - timedelta(minutes=minutes)
                made = _share(rng, sharer, at, to_customer=True, taken=taken, recent=True)
                shares.extend([made] if made else [])
    shares.sort(key=lambda s: (s.created_at, s.id))
    return shares


def _share(
    rng: random.Random,
    sharer: _Sharer,
    at: datetime,
    *,
    to_customer: bool,
    taken: set[str],
    recent: bool = False,
) -> _Share | None:
    """One share of a brochure that suits its customer (any live one without a customer), with
    a code not in `taken`."""
    customer = rng.choice(sharer.customers) if to_customer and sharer.customers else None
    suitable = [
        o for o in sharer.offers if customer is None or o["risk_level"] <= customer["risk_level"]
    ]
    if not suitable:
        return None
    code = codes.new_code()
    while code in taken:
        code = codes.new_code()
    taken.add(code)
    return _Share(
        id=_uuid7_at(at, rng), code=code, offer=rng.choice(suitable),
        customer_id=customer["id"] if customer else None, sharer=sharer,
        channel=rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0], created_at=at, recent=recent,
    )  # fmt: skip


def _hits(rng: random.Random, share: _Share, now: datetime) -> list[tuple[Any, ...]]:
    """The share's raw hits (tracking_queries.HIT_COLUMNS order): a link preview perhaps, then
    the visits of its openers, each over before `now`."""
    hits = []
    previews = _PREVIEWS.get(share.channel)
    if previews and rng.random() < PREVIEWED:
        at = share.created_at + timedelta(seconds=rng.uniform(1, 20))
        hits += _visit(rng, share, at, agent=rng.choice(previews), beats=0, clicks=False)
    if not (share.recent or rng.random() < OPENED):
        return hits
    visitors = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
    clicker = rng.randrange(visitors) if rng.random() < CLICKED else None
    at = share.created_at
    for n in range(visitors):
        minutes = (
            rng.uniform(1, 5) if share.recent else rng.expovariate(1 / (180 if n == 0 else 720))
        )
        at += timedelta(minutes=minutes)
        clicks = n == clicker
        engaged = clicks or rng.random() < ENGAGED
        beats = rng.randint(2, 36) if engaged else rng.randint(0, 1)
        if at + timedelta(seconds=5 * beats + 10) > now:
            break
        hits += _visit(rng, share, at, agent=rng.choice(_PEOPLE[share.channel]), beats=beats,
                       clicks=clicks)  # fmt: skip
    return hits


def _visit(
    rng: random.Random, share: _Share, at: datetime, *, agent: str, beats: int, clicks: bool
) -> list[tuple[Any, ...]]:
    """One visitor's beacons: open, the pages scrolled into view, a heartbeat every 5 s while
    the page is visible, and the call to action when `clicks`."""
    visitor = f"{rng.getrandbits(64):016x}"
    ip = f"{rng.choice(('198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"
    label = bots.verdict(agent)
    pages = len(share.offer["pages"])
    events: list[tuple[datetime, str, int | None, int | None]] = [
        (at, "open", None, None),
        (at + timedelta(seconds=1), "page_view", 1, None),
    ]
    for beat in range(1, beats + 1):
        events.append((at + timedelta(seconds=5 * beat), "heartbeat", None, HEARTBEAT_MS))
        if beat % 3 == 0 and beat // 3 < pages:
            events.append((at + timedelta(seconds=5 * beat + 1), "page_view", beat // 3 + 1, None))
    if clicks:
        events.append((at + timedelta(seconds=5 * beats + 3), "cta", None, None))
    return [
        (moment, uuid.UUID(int=rng.getrandbits(128), version=4), share.id, visitor, kind, page,
         ms, ip, agent, label.verdict, label.reason)
        for moment, kind, page, ms in events
    ]  # fmt: skip


def _conversions(
    rng: random.Random, shares: dict[uuid.UUID, _Share], milestones: list[Any], now: datetime
) -> funnel_queries.ConversionColumns:
    """About a third of the clicked shares to a customer convert (a purchase or a consultation)
    a few days after the click, never after `now`; external ids DEMO-CONV-0001, …"""
    clicks = sorted((m["clicked_at"], m["share_id"]) for m in milestones if m["clicked"])
    rows = funnel_queries.ConversionColumns([], [], [], [], [], [], [])
    for clicked_at, share_id in clicks:
        share = shares[share_id]
        if share.customer_id is None or rng.random() >= CONVERTED:
            continue
        occurred = clicked_at + timedelta(days=rng.uniform(0.5, 5))
        if occurred > now:
            occurred = clicked_at + (now - clicked_at) / 2
        purchase = rng.random() < 0.6
        cap = 12_000 if share.offer["category"] == "pension" else 500_000  # a pension's yearly cap
        rows.ids.append(_uuid7_at(occurred, rng))
        rows.external_ids.append(f"DEMO-CONV-{len(rows.ids):04d}")
        rows.customer_ids.append(share.customer_id)
        rows.product_codes.append(share.offer["product_code"])
        rows.kinds.append("purchase" if purchase else "consult")
        rows.amounts.append(Decimal(rng.randrange(1_000, cap + 1, 1_000)) if purchase else None)
        rows.occurred_ats.append(occurred)
    return rows


def _uuid7_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 of `moment` with seeded random bits (the demo's history sorts by time)."""
    millis = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = millis << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return uuid.UUID(int=value)
