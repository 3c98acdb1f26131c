"""Real-name verification: the RM invites, the customer proves name, ID number and phone.

The invitation's link names its row: its token is the row's id and a keyed MAC of it (HMAC with
the server's blind-index key, for this purpose only), 28 bytes, 38 characters, so a link fits an
SMS (a signed token made links of 441 characters) and nobody can make one without the key. The
row holds what the link stands for: its customer, its expiry, its attempts and its use. Links
issued before (a signed link token of its own kind, audience `verification`, whose id is the
row) are still read until they expire. Answers are
checked against the encrypted record: ID number and phone through their blind indexes, the name
by decrypting and comparing in constant time. Five wrong answers lock the invitation.

A customer is verified once per identity: an RM cannot invite a customer already verified (409
`customer.already_verified`), and an invitation still open when its customer gets verified
through another one shows the "done" page; answering it records and notifies nothing and closes
it. Answers lock the customer's row, so two invitations answered at once take turns. A bank feed
that changes the customer's name, ID number or phone clears the verification (the record is
someone else's now, `feeds`) and counts up the customer's `identity_version`: the RM may invite
them again, and an invitation made for the former identity verifies nobody (its page says it
expired). The customer's page names their RM now and the notification of a verification goes to
them, whoever sent the invitation (a feed may have handed the customer over since).

An answer that cannot be anyone's (no name, an ID number that is not 18 characters with a valid
check digit, a phone that is not a mainland mobile number) is refused field by field without
looking at the record or counting an attempt. The same wrong answer sent again within
`DUPLICATE_WINDOW_SECONDS` (a double tap on a slow network, a resent form) counts once: a keyed
digest of the last wrong answer is kept that long in Redis, which every API process shares.
"""

from __future__ import annotations

import base64
import enum
import hmac
import logging
import re
import uuid
from datetime import UTC, datetime

from redis.exceptions import RedisError

from mobile_contracts.v1 import customers as wire
from workbench.access import Caller
from workbench.audit import queries as audit
from workbench.customers import queries
from workbench.customers.feeds import personal_data_aad
from workbench.customers.personal_data import (
    comparable_name,
    mask_name,
    normalize_id_number,
    normalize_phone,
)
from workbench.customers.views import visible_customer
from workbench.db import Connection
from workbench.errors import Conflict, DomainError
from workbench.ids import uuid7
from workbench.notifications import service as notifications
from workbench.redis import Redis
from workbench.security.tokens import Keyring, LinkKind, TokenError
from workbench.security.vault import Vault
from workbench.timeline import service as timeline

MAX_ATTEMPTS = 5
DUPLICATE_WINDOW_SECONDS = 10  # the same wrong answer again within this counts once

log = logging.getLogger("workbench.customers.verification")


class InviteState(enum.StrEnum):
    """What the customer's page should show."""

    OPEN = "open"
    INVALID = "invalid"  # forged, truncated, or of another kind
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"


class RecordUnreadable(DomainError):
    """The customer's stored name cannot be decrypted (a data key dropped too early, a corrupt
    row): the answers cannot be checked, and the attempt is not counted against the customer."""

    status, code, title = 503, "customer.record_unreadable", "This record cannot be checked now"


class AlreadyVerified(Conflict):
    code, title = "customer.already_verified", "The customer has already completed verification"


class Outcome(enum.StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"
    MALFORMED = "malformed"  # see `malformed`: nothing checked, no attempt counted


class FieldProblem(enum.StrEnum):
    """What is wrong with one field of an answer, before any record is looked at."""

    MISSING = "missing"
    MALFORMED = "malformed"


class Answers:
    """What the customer typed on the page."""

    def __init__(self, *, name: str, id_number: str, phone: str) -> None:
        self.name, self.id_number, self.phone = name, id_number, phone


def malformed(answers: Answers) -> dict[str, FieldProblem]:
    """The fields that cannot be anyone's, by name (`name`, `id_number`, `phone`): left empty,
    an ID number that is not 18 characters with a valid check digit, a phone that is not an
    11-digit mainland mobile number (+86 and separators allowed). Empty: the answer can be
    checked. Such an answer is the customer's typing slip, not a guess: no attempt is used."""
    problems: dict[str, FieldProblem] = {}
    if not answers.name.strip():
        problems["name"] = FieldProblem.MISSING
    for field, valid in (("id_number", normalize_id_number), ("phone", normalize_phone)):
        value = getattr(answers, field)
        if not value.strip():
            problems[field] = FieldProblem.MISSING
        elif valid(value) is None:
            problems[field] = FieldProblem.MALFORMED
    return problems


class RecentWrongAnswers:
    """The last wrong answer of each invitation, as a keyed digest, for `seconds`, in Redis (so
    every API process sees it). Best effort: when Redis cannot answer, the answer is counted (a
    security check never assumes the happy answer), and the page still works."""

    def __init__(
        self, redis: Redis, prefix: str, *, seconds: int = DUPLICATE_WINDOW_SECONDS
    ) -> None:
        self._redis, self._prefix, self._seconds = redis, prefix, seconds

    def key(self, invite_id: uuid.UUID) -> str:
        return f"{self._prefix}verification:last_wrong:{invite_id}"

    async def is_last(self, invite_id: uuid.UUID, digest: str) -> bool:
        try:
            last = await self._redis.get(self.key(invite_id))
        except (RedisError, OSError) as exc:
            log.warning("last wrong answer unknown", extra={"error": type(exc).__name__})
            return False
        if isinstance(last, bytes):
            last = last.decode("ascii", "replace")
        return last is not None and hmac.compare_digest(str(last), digest)

    async def remember(self, invite_id: uuid.UUID, digest: str) -> None:
        try:
            await self._redis.set(self.key(invite_id), digest, ex=self._seconds)
        except (RedisError, OSError) as exc:
            log.warning("last wrong answer not kept", extra={"error": type(exc).__name__})


async def invite(
    conn: Connection,
    *,
    vault: Vault,
    caller: Caller,
    customer_id: uuid.UUID,
    ttl_seconds: int,
    public_base_url: str,
) -> wire.VerificationInvite:
    """The owning RM creates an invitation link for their customer, unless already verified."""
    customer = await visible_customer(conn, caller=caller, customer_id=customer_id)
    if customer["verified_at"] is not None:
        raise AlreadyVerified("This customer has already completed real-name verification")
    invite_id = uuid7()
    row = await queries.insert_invite(
        conn,
        invite_id=invite_id,
        customer_id=customer_id,
        created_by=caller.user_id,
        ttl_seconds=ttl_seconds,
    )
    token = link_token(vault, invite_id)
    await audit.record(
        conn,
        action="verification_invited",
        actor_id=caller.user_id,
        subject=f"customer:{customer_id}",
    )
    return wire.VerificationInvite(
        url=f"{public_base_url.rstrip('/')}/v/{token}", expires_at=row["expires_at"]
    )


LINK_PURPOSE = "verification_link"  # the blind-index HMAC, used for this purpose only
_MAC_BYTES = 12
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{38}")
_SIGNED_LINK = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def link_token(vault: Vault, invite_id: uuid.UUID) -> str:
    """The link token of an invitation: its id and a MAC of it only the server can compute."""
    raw = invite_id.bytes + vault.blind_index(LINK_PURPOSE, str(invite_id))[:_MAC_BYTES]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _invite_of(vault: Vault, token: str) -> uuid.UUID | None:
    """The invitation a link token names, or None for anything that is not exactly one of
    ours (one spelling per token, the MAC compared in constant time)."""
    if not _LINK_TOKEN.fullmatch(token):
        return None
    invite_id = uuid.UUID(bytes=base64.urlsafe_b64decode(token + "==")[:16])
    return invite_id if hmac.compare_digest(link_token(vault, invite_id), token) else None


def _signed_as_made(token: str) -> bool:
    """Whether a signed link token is exactly as signed: three base64url parts, unpadded, each
    in its one spelling (the JWT library also takes padding and other spellings of a part)."""
    if not _SIGNED_LINK.fullmatch(token):
        return False
    for part in token.split("."):
        if len(part) % 4 == 1:  # no bytes are spelled so
            return False
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != part:
            return False
    return True


def invite_named_by(
    *, vault: Vault, keyring: Keyring, token: str
) -> tuple[uuid.UUID, str | None] | None:
    """The invitation a link token names and, for an older signed link, the customer it names
    too; None for anything the server did not make. From the token alone (its MAC, or the
    older link's signature, expiry left to the invitation row so the page can say "expired"):
    no database, so the link guessing limit may ask it too."""
    if (invite_id := _invite_of(vault, token)) is not None:
        return invite_id, None
    if not _signed_as_made(token):
        return None
    try:
        claims = keyring.verify_link(LinkKind.VERIFICATION, token, allow_expired=True)
        return uuid.UUID(claims.jti), claims.sub
    except (TokenError, ValueError):
        return None


async def open_invite(
    conn: Connection, *, vault: Vault, keyring: Keyring, token: str, lock: bool = False
) -> tuple[InviteState, queries.Record | None]:
    """The invitation behind a token and what state it is in. Opening never consumes it.

    `lock` (before answering it): the invitation's row and then its customer's are locked, so
    an answer through another invitation of the customer is finished (or undone) first; an
    invitation left open when its customer was verified through another is closed then."""
    if (named := invite_named_by(vault=vault, keyring=keyring, token=token)) is None:
        return (InviteState.INVALID, None)
    invite_id, customer = named
    row = await queries.invite(conn, invite_id, lock=lock)
    if row is None or (customer is not None and str(row["customer_id"]) != customer):
        return (InviteState.INVALID, None)
    state = await queries.verification_state(conn, row["customer_id"], lock=lock)
    if state is None:
        return (InviteState.INVALID, None)
    still_open = row["completed_at"] is None and not row["locked_at"] and not row["expired"]
    if state["closed"] and row["completed_at"] is None:
        # The customer left the bank (the customer feed closed them): the link is over.
        if lock and still_open:
            await queries.close_invite(conn, row["id"])
        return (InviteState.EXPIRED, row)
    if state["identity_version"] != row["identity_version"]:
        # Made for an identity a feed has changed since: it verifies nobody now.
        if lock and still_open:
            await queries.close_invite(conn, row["id"])
        return (InviteState.EXPIRED, row)
    if row["completed_at"] is not None:
        return (InviteState.USED, row)
    if state["verified_at"] is not None:
        if lock and still_open:
            await queries.close_invite(conn, row["id"])
        return (InviteState.USED, row)
    if row["locked_at"] is not None:
        return (InviteState.LOCKED, row)
    if row["expired"]:
        return (InviteState.EXPIRED, row)
    return (InviteState.OPEN, row)


async def inviter_name(conn: Connection, invite_row: queries.Record) -> str | None:
    """The display name of the customer's RM now, for the customer's page: the one who sent
    the invitation, unless a feed has handed the customer to another RM since (whom the
    customer should then turn to). An RM's name is not customer personal data: the customer
    should know who is asking."""
    return await queries.owner_name(conn, invite_row["customer_id"])


async def submit(
    conn: Connection,
    *,
    vault: Vault,
    invite_row: queries.Record,
    answers: Answers,
    recent: RecentWrongAnswers | None = None,
) -> Outcome:
    """Check the answers; a match verifies the customer and tells their RM now, a miss counts.
    A customer verified already (through another invitation) is not verified, recorded or
    notified again: the match only closes this invitation. A malformed answer (`malformed`)
    checks and counts nothing. With `recent`, the same wrong answer as the invitation's last
    one, within its window, is not counted again (the caller holds the invitation's row lock
    from `open_invite(lock=True)`, so answers to one invitation take turns)."""
    if malformed(answers):
        return Outcome.MALFORMED
    customer = await queries.personal_data_for_update(conn, invite_row["customer_id"])
    if customer is None:
        raise DomainError("The customer no longer exists")
    if customer["identity_version"] != invite_row["identity_version"]:
        # Made for a former identity (`open_invite` says so first): it answers nothing more.
        await queries.close_invite(conn, invite_row["id"])
        return Outcome.LOCKED
    stored_name = _stored_name(vault, customer)
    if _matches(vault, customer, stored_name, answers):
        if customer["verified_at"] is not None:
            await queries.close_invite(conn, invite_row["id"])
            return Outcome.VERIFIED
        await queries.complete_invite(conn, invite_row["id"])
        await queries.mark_verified(conn, customer["id"])
        now = datetime.now(UTC)
        await timeline.record(
            conn,
            cipher=vault.cipher,
            customer_id=customer["id"],
            kind="verification.completed",
            occurred_at=now,
            source="verification",
            # Once per invitation: the customer's row lock and `verified_at` make it once per
            # identity, whichever invitation it was; a feed that changes the identity clears
            # `verified_at`, and the next identity verifies through an invitation of its own.
            source_id=str(invite_row["id"]),
        )
        await notifications.notify(
            conn,
            user_id=customer["owner_id"],  # the RM now, who may not be the one who invited
            category="customer.verified",
            title="客户已完成实名认证",
            body=f"您的客户 {mask_name(stored_name)} 已完成实名认证。",
            dedupe_key=f"verification:{invite_row['id']}",
            data={"customer_id": str(customer["id"])},
        )
        return Outcome.VERIFIED
    digest = _answer_digest(vault, invite_row["id"], answers)
    if recent is not None and await recent.is_last(invite_row["id"], digest):
        return Outcome.WRONG  # sent twice (a double tap): it was counted the first time
    attempts = await queries.count_failed_attempt(conn, invite_row["id"], max_attempts=MAX_ATTEMPTS)
    if recent is not None:
        await recent.remember(invite_row["id"], digest)
    return Outcome.LOCKED if attempts >= MAX_ATTEMPTS else Outcome.WRONG


def _answer_digest(vault: Vault, invite_id: uuid.UUID, answers: Answers) -> str:
    """A keyed digest of an answer as it is compared (so "+86 138..." and "138..." are one
    answer), bound to the invitation; it tells nothing without the blind-index key."""
    normalized = "\x1f".join(
        (
            str(invite_id),
            comparable_name(answers.name),
            normalize_id_number(answers.id_number) or "",
            normalize_phone(answers.phone) or "",
        )
    )
    return vault.blind_index("verification.wrong_answer", normalized).hex()


def _stored_name(vault: Vault, customer: queries.Record) -> str:
    """The customer's name as stored; RecordUnreadable if it cannot be decrypted (logged and
    counted; not the customer's mistake, so no attempt is used)."""
    stored_name = vault.cipher.decrypt_or_none(
        customer["name_enc"],
        aad=personal_data_aad("name", customer["external_id"]),
        column="customers.name_enc",
        row=customer["id"],
    )
    if stored_name is None:
        raise RecordUnreadable()
    return stored_name


def _matches(vault: Vault, customer: queries.Record, stored_name: str, answers: Answers) -> bool:
    id_number = normalize_id_number(answers.id_number)
    phone = normalize_phone(answers.phone)
    if id_number is None or phone is None:
        return False
    id_ok = hmac.compare_digest(
        vault.blind_index("id_number", id_number), bytes(customer["id_number_bidx"])
    )
    phone_ok = hmac.compare_digest(vault.blind_index("phone", phone), bytes(customer["phone_bidx"]))
    # The dot in 阿依古丽·买买提 may be typed as • ・ ． or a space: the same name.
    name_ok = hmac.compare_digest(
        comparable_name(stored_name).encode(), comparable_name(answers.name).encode()
    )
    return id_ok and phone_ok and name_ok
