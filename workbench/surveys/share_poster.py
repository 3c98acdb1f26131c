"""The poster of a shared survey: a phone-screen PNG with the survey's title, the name of the RM
the link's page names (none: no such line) and the link's QR code, in the brochure posters'
layout (workbench.shares.poster), kept in the blob store once drawn (the key holds a hash of
everything it shows)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from datetime import UTC, datetime

import msgspec
from PIL import Image, ImageDraw

from mobile_contracts.v1.identity import Role
from workbench.access import Caller
from workbench.brochures.artwork import font
from workbench.db import Connection
from workbench.errors import NotFound
from workbench.media.store import BlobStore
from workbench.shares import poster
from workbench.surveys.delivery import Rules
from workbench.surveys.invitations import queries

LAYOUT = "survey-poster-v3"  # v3: characters the font lacks are left out (no empty boxes)
CALL = "长按识别二维码填写问卷"
INVITE = "诚邀您参与问卷调查"
NOTE = "约需 1-3 分钟，您的意见将帮助我们改进服务"


def draw(facts: poster.PosterFacts) -> bytes:
    """The poster as PNG bytes (pure, CPU-bound: run it in a thread)."""
    width, height = poster.WIDTH, poster.HEIGHT
    image = Image.new("RGB", (width, height), (244, 246, 250))
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, width, 110), fill=poster.BRAND)
    pen.text((40, 30), poster._fit(pen, facts.bank, 40, width - 80), font=font(40), fill="white")
    pen.rounded_rectangle((40, 150, width - 40, 700), radius=24, fill="white",
                          outline=(225, 228, 235), width=2)  # fmt: skip
    pen.text((80, 200), INVITE, font=font(34), fill=poster.BRAND)
    y = 280
    for line in poster._lines(pen, facts.title, 52, width - 160, max_lines=4):
        pen.text((80, y), line, font=font(52), fill=poster._INK)
        y += 72
    pen.text((80, 620), poster._fit(pen, NOTE, 26, width - 160), font=font(26), fill=poster._GREY)
    qr = poster._qr(facts.url)
    left = (width - qr.width) // 2
    image.paste(qr, (left, 740))
    call = font(32)
    pen.text(((width - pen.textlength(CALL, font=call)) / 2, 740 + qr.height + 24), CALL,
             font=call, fill=poster.BRAND)  # fmt: skip
    if facts.rm_name:  # the RM the customer's page names; with no one active, no contact line
        pen.line((40, 1150, width - 40, 1150), fill=(220, 222, 228), width=2)
        pen.text((40, 1176), "您的客户经理", font=font(26), fill=poster._GREY)
        pen.text((40, 1214), poster._fit(pen, facts.rm_name, 44, width - 80), font=font(44),
                 fill=poster._INK)  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


async def poster_key(
    conn: Connection, *, caller: Caller, invitation_id: uuid.UUID, blobs: BlobStore,
    rules: Rules, bank_name: str, now: datetime | None = None,
) -> str:  # fmt: skip
    """The blob key of a survey share's poster, drawn now if not stored yet. Its QR code is the
    customer's link, so only while the link is open and the customer still the caller's to see:
    for the RM who shared it (or whose delivery or task sent the open link a share answered them
    with) while the customer is theirs, and branch heads of the unit it was shared in while an
    RM of theirs holds the customer; anyone else (and an answered or expired link) 404."""
    own = caller.role is Role.RM
    row = await queries.share_invitation(
        conn, invitation_id, sent_by=caller.user_id if own else None,
        scope_root=None if own else caller.scope_root, now=now or datetime.now(UTC),
    )  # fmt: skip
    if row is None:
        raise NotFound("share")
    facts = poster.PosterFacts(
        bank=bank_name, title=row["title"], rm_name=row["rm_name"] or "", url=rules.url(row["id"])
    )
    shown = msgspec.json.encode([LAYOUT, facts.bank, facts.title, facts.rm_name, facts.url])
    key = f"surveys/posters/{invitation_id}-{hashlib.sha256(shown).hexdigest()[:20]}.png"
    if await blobs.stat(key) is None:
        png = await asyncio.to_thread(draw, facts)
        await blobs.put(key, png, content_type="image/png")
    return key
