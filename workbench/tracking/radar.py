"""The customer radar: what a visitor reaching a step of a share tells people, in the transaction
that stores the hits.

Who hears of a share (`queries.radar_shares`): for a share made for a customer, the customer's
RM now (a feed may have moved the customer to another RM since the share), while active, told
who is reading (the name masked); otherwise the sharing RM while active (of a customer who is no
longer theirs, without the name: not theirs to know). A request to be contacted that no active
RM can hear (the RM disabled) goes to the active branch heads of the nearest unit that has one,
at or above the customer's RM's unit (a share to no one: the unit it was shared from): the page
told the customer the RM was told, so it is never lost. An open no active RM can hear is
dropped (the heads are not rung for readers).

- The RM: the first open by a visitor is a `brochure.opened` notification (notification
  centre and push): "您的客户 张*三 正在浏览《…》", or "有人正在浏览…" for a share to no one.
  At most one per share per 30 minutes to each person told: a share forwarded to a group chat
  does not ring the RM's phone for every reader. Two workers storing opens of one share take
  turns on a transaction lock, so the window holds across workers. It is news for 30 minutes
  after the open: a push held back longer (quiet hours) is not sent, the notification centre
  keeps it.
- The RM, again: a visitor's first "我有兴趣，请联系我" (a `cta` beacon, or the page's
  form without a script) is a notification of its own, `brochure.contact_requested` (muted
  apart from opens: a lead is not lost with the opens' noise):
  "您的客户 张*三 想了解《…》，请尽快联系", or "有人对您分享的《…》感兴趣，请留意" for a
  share to no one. An open ping does not hold it back (the page tells the customer the RM was
  told), but at most one per share per 30 minutes is sent to each, as for opens: a share in a
  group chat does not ring the RM for every reader who taps (the share list counts them all). A
  share's open ping in the same batch is left out: the click says more. Its push has a
  collapse key of its own: a later open of the share never replaces the lead on the phone,
  nor drops it from the pushes held back by quiet hours; and it does not go stale.
- The customer of the share (when it names one): their timeline gets `share.opened`,
  `share.engaged` (read for 10 s or more) and `share.clicked` ("我有兴趣"), each once per
  visitor, which feed the intimacy score. Anyone may open a forwarded link, so these say what
  happened to the customer's share, not who read it.

All this only of a share whose brochure was live (the share page's rule) at the batch's latest
hit of it, checked once per batch: a page left open past the brochure's window, or a script
sending beacons for a share that answers 410, rings no one and writes no timeline entry. Its
hits are stored and counted all the same. Save one thing: a visitor asking to be contacted. The
page told them the RM was told, and the request is about the customer, not the brochure: a click
on a page left open after the brochure was unpublished, expired or replaced with nothing live
tells the RM as a live share's does (the same visible open first, once per visitor, at most once
per share in 30 minutes), saying the brochure can no longer be viewed.

A share made for a customer the bank has closed since (`queries.CUSTOMER_LEFT`; reopening them
brings it back no more than their verification links) answers 410 as one of a brochure taken
down, and its beacons still coming (a page left open, a script) are stored and counted too, but
tell no one at all, a request to be contacted included, and write no timeline entry: the
customer left the bank, and their RM can no longer open them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import mask_name
from workbench.db import Connection
from workbench.notifications import categories
from workbench.notifications import service as notifications
from workbench.security.vault import Vault
from workbench.timeline import service as timeline
from workbench.tracking import queries

QUIET = timedelta(minutes=30)  # at most one radar push per share in this long
OPEN_NEWS = timedelta(minutes=30)  # an open's push is not sent later than this after the open
# After a request to be contacted on a share whose brochure is no longer live.
GONE_NOTE = "（该资料已下架或过期，客户已无法查看）"
OPEN_TITLE = "客户正在浏览您分享的资料"
OPEN_TITLE_NOT_SHARER = "客户正在浏览分享的资料"
_STEPS = (  # (milestone flag, timeline kind, the rollup column that dates it)
    ("opened", "share.opened", "first_open_at"),
    ("engaged", "share.engaged", "last_hit_at"),
    ("clicked", "share.clicked", "clicked_at"),
)


async def follow_up(
    conn: Connection, milestones: list[queries.Record], *, vault: Vault, tell: bool = True
) -> int:
    """Record the steps on customers' timelines and tell the RMs (or, of a request to be
    contacted no active RM holds, the branch heads) of shares opened by a new visitor
    (`tell=False`: timelines only, for a history recorded after the fact); the number of
    notifications written."""
    if not milestones:
        return 0
    latest: dict[uuid.UUID, datetime] = {}  # share -> its latest hit among the milestones
    for m in milestones:
        if m["share_id"] not in latest or m["last_hit_at"] > latest[m["share_id"]]:
            latest[m["share_id"]] = m["last_hit_at"]
    share_ids = sorted(latest)
    shares = await queries.radar_shares(conn, share_ids, [latest[s] for s in share_ids])
    # A share made for a customer the bank closed since tells no one anything, not even a
    # request to be contacted: the customer left, and no RM can open them any more.
    milestones = [m for m in milestones if not shares[m["share_id"]]["customer_left"]]
    # A request to be contacted is told whether or not the brochure is still live.
    asking = [m for m in milestones if m["clicked"]]
    milestones = [m for m in milestones if shares[m["share_id"]]["live"]]
    await timeline.record_events(
        conn,
        source="share",
        events=[
            timeline.Event(
                customer_id=shares[m["share_id"]]["customer_id"],
                kind=kind,
                occurred_at=m[column],
                source_id=f"{m['share_id']}:{m['visitor_id']}:{flag}",
                data={
                    "share_id": str(m["share_id"]),
                    "brochure_id": str(shares[m["share_id"]]["brochure_id"]),
                    "title": shares[m["share_id"]]["title"],
                    "dwell_seconds": int(m["dwell_ms"]) // 1000,
                },
            )
            for m in milestones
            if shares[m["share_id"]]["customer_id"] is not None
            for flag, kind, column in _STEPS
            if m[flag]
        ],
    )
    if not tell:
        return 0
    openers: dict[uuid.UUID, queries.Record] = {}  # share -> its first new visitor of the batch
    clickers: dict[uuid.UUID, queries.Record] = {}  # share -> its first new visitor to ask
    for m in sorted(milestones, key=lambda m: (m["share_id"], m["visitor_id"])):
        if m["opened"]:
            openers.setdefault(m["share_id"], m)
    for m in sorted(asking, key=lambda m: (m["share_id"], m["visitor_id"])):
        clickers.setdefault(m["share_id"], m)
    if not openers and not clickers:
        return 0
    told_ids = sorted(set(openers) | set(clickers))
    # Who hears of each: the customer's RM now, else the sharer (`radar_shares`); a request to
    # be contacted that no one active holds goes to the branch heads over them, never lost. An
    # open no one holds is dropped: the heads are not rung for readers.
    hearing: dict[uuid.UUID, list[uuid.UUID]] = {}
    for share_id in told_ids:
        share = shares[share_id]
        if share["recipient_id"] is not None:
            hearing[share_id] = [share["recipient_id"]]
        elif share_id in clickers:
            hearing[share_id] = list(share["head_ids"])
    quiet, asked = await queries.radar_told(
        conn,
        share_ids=told_ids,
        user_ids=sorted({user for users in hearing.values() for user in users}),
        within=QUIET,
    )
    told = 0
    for share_id, clicker in sorted(clickers.items()):
        openers.pop(share_id, None)  # the RM hears the more telling news alone
        share = shares[share_id]
        for user_id in hearing.get(share_id, []):
            if (share_id, user_id) in asked:
                continue
            head = share["recipient_id"] is None
            await notifications.notify(
                conn,
                user_id=user_id,
                category=categories.CONTACT_REQUESTED,
                title="客户请您联系",
                body=_head_body(share, vault) if head else _body(share, vault, clicked=True),
                dedupe_key=f"share-cta:{share_id}:{clicker['visitor_id']}",
                data={
                    "share_id": str(share_id),
                    "brochure_id": str(share["brochure_id"]),
                    "action": "contact",
                    **({} if share["live"] else {"brochure_live": False}),
                    **(
                        {"customer_id": str(share["customer_id"])}
                        if share["rm_customer"] or (head and share["customer_id"] is not None)
                        else {}
                    ),
                },
                # Its own collapse key: a later open of the share never replaces the lead (on
                # the lock screen, or as the older row of a key when held pushes are released).
                collapse_key=f"share-contact:{share_id}",
                subject_id=share_id,
            )
            told += 1
    for share_id in sorted(openers):
        share = shares[share_id]
        opener = openers[share_id]
        for user_id in hearing.get(share_id, []):
            if (share_id, user_id) in quiet:
                continue
            await notifications.notify(
                conn,
                user_id=user_id,
                category=categories.BROCHURE_OPENED,
                # (the customer's RM now may not be who shared it)
                title=OPEN_TITLE if user_id == share["rm_id"] else OPEN_TITLE_NOT_SHARER,
                body=_body(share, vault),
                dedupe_key=f"share-open:{share_id}:{opener['visitor_id']}",
                data={
                    "share_id": str(share_id),
                    "brochure_id": str(share["brochure_id"]),
                    **({"customer_id": str(share["customer_id"])} if share["rm_customer"] else {}),
                },
                collapse_key=f"share:{share_id}",
                # "正在浏览" is news while it lasts: a push held back (quiet hours, retries) or
                # waiting for an offline phone past this is not sent; the centre still lists it.
                expires_at=opener["first_open_at"] + OPEN_NEWS,
                subject_id=share_id,
            )
            told += 1
    return told


def _body(share: queries.Record, vault: Vault, *, clicked: bool = False) -> str:
    """The push text: the customer's name masked (it travels through the push providers); told
    to the sharer of a customer who is not theirs (moved to an RM no longer active), nothing
    (not the sharer's to know).
    `clicked`: the visitor asked to be contacted (of a brochure no longer live: saying so, the
    RM cannot send it again)."""
    gone = "" if share["live"] else GONE_NOTE
    if not share["rm_customer"]:
        if clicked:
            return f"有人对您分享的《{share['title']}》感兴趣，请留意{gone}"
        return f"有人正在浏览您分享的《{share['title']}》"
    who = _masked(share, vault)
    if clicked:
        return f"您的客户 {who} 想了解《{share['title']}》，请尽快联系{gone}"
    return f"您的客户 {who} 正在浏览《{share['title']}》"


def _head_body(share: queries.Record, vault: Vault) -> str:
    """A branch head's text of a request to be contacted that no active RM holds: whose
    customer (masked: the customer is of their subtree) or whose share it was, and that the RM
    is no longer active."""
    gone = "" if share["live"] else GONE_NOTE
    rm, title = share["rm_name"], share["title"]
    if share["customer_id"] is not None:
        who = _masked(share, vault)
        return f"客户 {who} 想了解《{title}》，其客户经理 {rm} 已停用，请安排联系{gone}"
    return f"有人对 {rm} 分享的《{title}》感兴趣，{rm} 已停用，请安排跟进{gone}"


def _masked(share: queries.Record, vault: Vault) -> str:
    """The share's customer's name, masked (张*三); "客户" if it cannot be read."""
    name = vault.cipher.decrypt_or_none(
        share["name_enc"],
        aad=personal_data_aad("name", share["external_id"]),
        column="customers.name_enc",
        row=share["customer_id"],
    )
    return mask_name(name) if name else "客户"
