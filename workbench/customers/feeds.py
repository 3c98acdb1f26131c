"""Bank feeds: bulk, idempotent upserts of customers, holdings and products.

Every row is checked on its own: a bad row is reported with its index and reason and the good
rows land. Writes are set-based (one statement per feed), and a row that would change nothing is
not written, so re-sending a feed is harmless and cheap.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from mobile_contracts.v1 import customers as wire
from mobile_contracts.v1.identity import Role
from workbench.customers import queries
from workbench.customers.personal_data import (
    name_key,
    name_key_before,
    normalize_id_number,
    normalize_phone,
    search_id_number,
    surname_key,
)
from workbench.db import Connection
from workbench.ids import uuid7
from workbench.nul import NUL_CODE, NUL_MESSAGE, rows_with_nul
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import Vault
from workbench.surveys.invitations import queries as survey_invitations
from workbench.tasks import handover
from workbench.timeline import service as timeline
from workbench.visible import invisible, one_line_shown, reads_otherwise
from workbench.workorders import handover as work_orders

T = TypeVar("T")
NAME_CHECK = "name_exact"  # the purpose of customers.name_check's keyed hash
MAX_TAGS = 30
_CUSTOMER_RISK = {f"C{i}": i for i in range(1, 6)}
# A position's date: an older one never overwrites a newer, so a date in the future would hold
# the position until that day; no zone is more than a day ahead of UTC.
EARLIEST_AS_OF = date(2000, 1, 1)
# What products.code takes (its check): ASCII letters and digits, '.', '_', '-'.
_PRODUCT_CODE = re.compile(r"[A-Za-z0-9._-]{1,40}\Z")
_PRODUCT_RISK = {f"R{i}": i for i in range(1, 6)}
DUPLICATE_CUSTOMER = (
    "customer.duplicate_in_feed",
    "This external_id came earlier in the same feed",
)


class _Rejections:
    def __init__(self) -> None:
        self.rows: list[wire.RejectedRow] = []

    def add(self, index: int, code: str, detail: str) -> None:
        self.rows.append(wire.RejectedRow(index=index, code=code, detail=detail))


def personal_data_aad(field: str, external_id: str) -> str:
    """Associated data binding an encrypted field to its customer (external ids never change)."""
    return f"customer.{field}:{external_id}"


def _stored_aad(field: str) -> Callable[[queries.Record], str]:
    return lambda row: personal_data_aad(field, row["external_id"])


# What `workbench rotate-keys` re-encrypts of customers.
ENCRYPTED = EncryptedColumns(
    kind="customers",
    table="customers",
    key="id",
    key_type="uuid",
    aad={f"{field}_enc": _stored_aad(field) for field in ("name", "id_number", "phone")},
    reads=("external_id",),
)


def search_indexes(vault: Vault, text: str) -> list[bytes]:
    """Blind indexes of a search text read as a full name, a surname, a phone and an ID number,
    each normalized as the feed normalizes what it indexes (`蒋 刚` is 蒋刚, `110105 19820921
    0009` an ID number). A name is also looked up as indexes stored before names were indexed
    without their spaces and dots held it (`name_key_before`), until `reindex` rewrote them."""
    keys = []
    for name in dict.fromkeys((name_key(text), name_key_before(text))):
        keys += [vault.blind_index("name", name), vault.blind_index("surname", name)]
    if phone := normalize_phone(text):
        keys.append(vault.blind_index("phone", phone))
    if id_number := search_id_number(text):
        keys.append(vault.blind_index("id_number", id_number))
    return keys


async def upsert_customers(
    conn: Connection,
    *,
    vault: Vault,
    rows: Sequence[wire.CustomerFeedRow],
    nul_rows: Mapping[int, str] | None = None,
    earlier: AbstractSet[str] = frozenset(),
) -> wire.FeedResult:
    """Apply a customer feed; owner changes move the customer to the new RM, `status: closed`
    closes the customer (`active` reopens them). `nul_rows`: the
    rows holding a NUL character, if the caller already knows (else they are looked for).
    `earlier`: the external ids an earlier part of the same feed applied (a file applied in
    chunks): a row repeating one is a duplicate, as a row repeating one of `rows` is."""
    rejected = _Rejections()
    unstorable = rows_with_nul(rows, nul_rows, path="$.customers")
    storable = _storable(rows, unstorable)
    owners = await queries.users_by_login(
        conn, sorted({r.owner_login.strip().lower() for r in storable})
    )
    columns: dict[str, list[Any]] = {
        k: []
        for k in (
            "id", "external_id", "owner_id", "name_enc", "id_number_enc", "phone_enc",
            "name_bidx", "surname_bidx", "id_number_bidx", "phone_bidx", "risk_level",
            "segment", "tags", "aum", "name_check", "name_bidx_before", "closed",
        )
    }  # fmt: skip
    seen: set[str] = set()
    for index, row in enumerate(rows):
        problem = _nul_problem(unstorable, index) or _customer_problem(
            row, owners, repeated=row.external_id in seen or row.external_id in earlier
        )
        if problem:
            rejected.add(index, *problem)
            continue
        seen.add(row.external_id)
        name = unicodedata.normalize("NFKC", row.name).strip()
        id_number = normalize_id_number(row.id_number) or ""
        phone = normalize_phone(row.phone) or ""
        cipher, bidx, ext = vault.cipher, vault.blind_index, row.external_id
        columns["id"].append(uuid7())
        columns["external_id"].append(ext)
        columns["owner_id"].append(owners[row.owner_login.strip().lower()]["id"])
        columns["name_enc"].append(cipher.encrypt(name, aad=personal_data_aad("name", ext)))
        columns["id_number_enc"].append(
            cipher.encrypt(id_number, aad=personal_data_aad("id_number", ext))
        )
        columns["phone_enc"].append(cipher.encrypt(phone, aad=personal_data_aad("phone", ext)))
        columns["name_bidx"].append(bidx("name", name_key(name)))
        columns["surname_bidx"].append(bidx("surname", surname_key(name)))
        columns["id_number_bidx"].append(bidx("id_number", id_number))
        columns["phone_bidx"].append(bidx("phone", phone))
        columns["risk_level"].append(_CUSTOMER_RISK[row.risk_level.strip().upper()])
        # A blank segment is none: "   " is stored as a segment left out is, so resending it
        # either way is `unchanged` (an empty segment would be a second spelling of none).
        columns["segment"].append((row.segment or "").strip() or None)
        tags = sorted({t.strip() for t in row.tags or [] if t.strip()})
        columns["tags"].append(msgspec.json.encode(tags).decode())
        columns["aum"].append(row.aum if row.aum is not None else Decimal(0))
        columns["name_check"].append(bidx(NAME_CHECK, name))  # the name exactly as stored
        # the name's index as stored before (`name_key_before`): the same name, not a new one
        columns["name_bidx_before"].append(bidx("name", name_key_before(name)))
        columns["closed"].append(row.status is wire.CustomerStatus.CLOSED)
    written, previous_owner = await _write_customers(conn, columns)
    await _record_owner_changes(conn, written=written, previous=previous_owner, new=columns)
    await _record_cleared_verifications(conn, written)
    await _record_closes_and_reopens(conn, written)
    inserted = sum(1 for r in written if r["inserted"])
    return wire.FeedResult(
        inserted=inserted,
        updated=len(written) - inserted,
        unchanged=len(columns["id"]) - len(written),
        rejected=rejected.rows,
    )


async def _write_customers(
    conn: Connection, columns: dict[str, list[Any]]
) -> tuple[list[queries.Record], dict[str, uuid.UUID]]:
    """Write the checked rows: (the rows written, the owner each stored customer had before).

    New customers are inserted first; then the stored ones (with any that another feed inserted
    meanwhile) are locked in external id order, their owners read under that lock, and updated.
    Two feeds moving the same customers at once take turns: the second reads the owner the first
    left, so its timeline entry and the pending tasks it moves start from there. (Inserts, then
    row locks, each in external id order: every feed waits in the same order, never in a cycle.)
    """
    external_ids = columns["external_id"]
    stored = await queries.existing_external_ids(conn, external_ids) if external_ids else set()
    new = [i for i, ext in enumerate(external_ids) if ext not in stored]
    inserted = await queries.insert_customers(conn, _take(columns, new)) if new else []
    done = {r["external_id"] for r in inserted}
    rest = [i for i, ext in enumerate(external_ids) if ext not in done]
    if not rest:
        return inserted, {}
    previous = await queries.lock_owners(conn, [external_ids[i] for i in rest])
    return inserted + await queries.update_customers(conn, _take(columns, rest)), previous


async def _record_cleared_verifications(conn: Connection, written: list[queries.Record]) -> None:
    """A timeline entry for every customer whose verification this feed cleared: their name, ID
    number or phone changed, so the verified person may not be this one (the RM may invite them
    to verify again)."""
    now = datetime.now(UTC)
    entries = [
        (
            row["id"],
            f"{row['id']}:{row['identity_version']}",  # once per identity left behind
            {
                "reason": "identity_changed",
                "changed": list(row["identity_changed"]),
                "verified_at": row["verification_cleared"].isoformat(),
            },
        )
        for row in written
        if row["verification_cleared"] is not None
    ]
    await timeline.record_many(
        conn, kind="verification.cleared", occurred_at=now, source="feed.identity", entries=entries
    )


async def _record_closes_and_reopens(conn: Connection, written: list[queries.Record]) -> None:
    """A timeline entry for every customer this feed closed (they left the bank) or reopened;
    a closed customer's tasks not started yet are cancelled (`客户已销户`), their reminders
    stopped, and their open links end: verification links, survey links not answered (so
    reminded no more) and the brochures shared with them (ended by this `customer.closed`
    entry: `tracking.queries.CUSTOMER_LEFT`). Reopening brings none of them back. Started
    tasks stay with their RM, who may still submit them (their draft may be on their phone)."""
    # Imported here: the task lifecycle reaches the customers' views (through surveys), which
    # import this module.
    from workbench.tasks import lifecycle

    now = datetime.now(UTC)
    closed = [row for row in written if row["closed"] is True]
    reopened = [row["id"] for row in written if row["closed"] is False]
    # Dated when the database closed them (`closed_at`), not by this process's clock: the
    # shares made before this moment end (`CUSTOMER_LEFT`), those made after a reopen do not.
    await timeline.record_events(
        conn,
        source="feed.status",
        events=[
            timeline.Event(
                row["id"],
                "customer.closed",
                row["closed_at"],
                f"{row['id']}:customer.closed:{now.isoformat()}",
                {},
            )
            for row in closed
        ],
    )
    await timeline.record_many(
        conn,
        kind="customer.reopened",
        occurred_at=now,
        source="feed.status",
        entries=[(c, f"{c}:customer.reopened:{now.isoformat()}", {}) for c in reopened],
    )
    closed_ids = [row["id"] for row in closed]
    await lifecycle.cancel_for_closed_customers(conn, closed_ids)
    await queries.end_invites_of(conn, closed_ids)
    await survey_invitations.end_links_of(conn, closed_ids)


def _take(columns: dict[str, list[Any]], indexes: list[int]) -> dict[str, list[Any]]:
    """These rows of the columns (in the same column order)."""
    return {name: [values[i] for i in indexes] for name, values in columns.items()}


def _storable(rows: Sequence[T], unstorable: Mapping[int, str]) -> list[T]:
    """The rows without a NUL character (the only ones that may be looked up in the database)."""
    return [row for index, row in enumerate(rows) if index not in unstorable]


def _nul_problem(unstorable: Mapping[int, str], index: int) -> tuple[str, str] | None:
    where = unstorable.get(index)
    return (NUL_CODE, f"{where}: {NUL_MESSAGE}") if where else None


def _customer_problem(
    row: wire.CustomerFeedRow, owners: dict[str, Any], *, repeated: bool
) -> tuple[str, str] | None:
    if not 1 <= len(row.external_id) <= 64:
        return "customer.bad_external_id", "external_id must have 1 to 64 characters"
    if any(invisible(c) for c in row.external_id):
        # "QA-1" and "QA-1" + a zero-width space (or a variation selector, a combining grapheme
        # joiner) would be two customers no one tells apart.
        return "customer.bad_external_id", "external_id has control or invisible characters"
    if repeated:
        return DUPLICATE_CUSTOMER
    name = unicodedata.normalize("NFKC", row.name).strip()
    if not 1 <= len(name) <= 50:
        return "customer.bad_name", "name must have 1 to 50 characters"
    if why := _not_shown(name):
        return "customer.bad_name", f"name {why}"
    if normalize_id_number(row.id_number) is None:
        return "customer.bad_id_number", "not an 18-character resident ID number with a valid check"
    if normalize_phone(row.phone) is None:
        return "customer.bad_phone", "not a mainland mobile number (11 digits starting 13-19)"
    owner = owners.get(row.owner_login.strip().lower())
    if owner is None:
        return "customer.unknown_owner", f"no user with login {row.owner_login[:64]!r}"
    if owner["role"] != Role.RM.value or not owner["active"]:
        return "customer.owner_not_rm", "the owner must be an active relationship manager"
    if row.risk_level.strip().upper() not in _CUSTOMER_RISK:
        return "customer.bad_risk_level", "risk_level must be C1 to C5"
    if row.aum is not None and (row.aum < 0 or not row.aum.is_finite()):
        return "customer.bad_aum", "aum must be a non-negative amount"
    segment = row.segment.strip() if row.segment is not None else ""
    if len(segment) > 40:
        return "customer.bad_segment", "segment has at most 40 characters"
    if segment and (why := _not_shown(segment)):
        return "customer.bad_segment", f"segment {why}"
    tags = row.tags or []
    # Measured as stored (trimmed), as a segment is.
    if len(tags) > MAX_TAGS or any(len(t.strip()) > 40 for t in tags):
        return "customer.bad_tags", f"at most {MAX_TAGS} tags of at most 40 characters"
    for number, tag in enumerate(tags, start=1):
        if tag.strip() and (why := _not_shown(tag.strip())):
            return "customer.bad_tags", f"tag {number} {why}"
    return None


def _not_shown(text: str) -> str | None:
    """Why a name, segment or tag (one line, trimmed) would not show what it says, if so: the
    app and the console show them as they are stored (`workbench.visible`)."""
    if reads_otherwise(text):
        return (
            "has a control character (a line break, a tab) or a direction override,"
            " which make it read otherwise than it says"
        )
    if not one_line_shown(text):
        return "shows nothing: spaces or invisible (zero-width, format) characters only"
    return None


async def _record_owner_changes(
    conn: Connection,
    *,
    written: list[Any],
    previous: dict[str, uuid.UUID],
    new: dict[str, list[Any]],
) -> None:
    """A timeline entry for every customer this feed moved to another RM, whose pending tasks
    and unfinished work orders about the customer go with them (`tasks.handover`,
    `workorders.handover`)."""
    new_owner = dict(zip(new["external_id"], new["owner_id"], strict=True))
    now = datetime.now(UTC)
    entries, moves = [], []
    for row in written:
        before, after = previous.get(row["external_id"]), new_owner[row["external_id"]]
        if before is not None and before != after:
            data = {"from": str(before), "to": str(after)}
            entries.append((row["id"], f"{row['id']}:{now.isoformat()}", data))
            moves.append((row["id"], before, after))
    await timeline.record_many(
        conn, kind="owner.changed", occurred_at=now, source="feed.owner", entries=entries
    )
    await handover.hand_over_pending(conn, moves)
    await work_orders.hand_over_unfinished(conn, moves)  # their unfinished work orders too


async def upsert_holdings(
    conn: Connection,
    *,
    rows: Sequence[wire.HoldingFeedRow],
    nul_rows: Mapping[int, str] | None = None,
) -> wire.FeedResult:
    """Apply a holdings feed; a position older than the stored one is left as it is."""
    rejected = _Rejections()
    unstorable = rows_with_nul(rows, nul_rows, path="$.holdings")
    customers = await queries.customer_ids_by_external_id(
        conn, sorted({r.customer_external_id for r in _storable(rows, unstorable)})
    )
    products = await queries.products_by_code(
        conn, sorted({r.product_code for r in _storable(rows, unstorable)})
    )
    keep: dict[tuple[uuid.UUID, str], tuple[Decimal, Any]] = {}
    today = datetime.now(UTC).date()
    for index, row in enumerate(rows):
        customer_id = customers.get(row.customer_external_id)
        if problem := _nul_problem(unstorable, index):
            rejected.add(index, *problem)
        elif customer_id is None:
            rejected.add(index, "holding.unknown_customer", "no customer with that external id")
        elif row.product_code not in products:
            rejected.add(index, "holding.unknown_product", "no product with that code")
        elif row.amount < 0 or not row.amount.is_finite():
            rejected.add(index, "holding.bad_amount", "amount must be a non-negative amount")
        elif as_of_problem := _as_of_problem(row.as_of, today=today):
            rejected.add(index, "holding.bad_as_of", as_of_problem)
        elif (customer_id, row.product_code) in keep:
            rejected.add(index, "holding.duplicate_in_feed", "same customer and product twice")
        else:
            keep[(customer_id, row.product_code)] = (row.amount, row.as_of)
    written = (
        await queries.upsert_holdings(
            conn,
            customer_ids=[k[0] for k in keep],
            product_codes=[k[1] for k in keep],
            amounts=[v[0] for v in keep.values()],
            as_ofs=[v[1] for v in keep.values()],
        )
        if keep
        else []
    )
    inserted = sum(1 for r in written if r["inserted"])
    return wire.FeedResult(
        inserted=inserted,
        updated=len(written) - inserted,
        unchanged=len(keep) - len(written),
        rejected=rejected.rows,
    )


def _as_of_problem(as_of: date, *, today: date) -> str | None:
    """Why a position's date is not one a bank's books can hold, if it is not."""
    latest = today + timedelta(days=1)
    if not EARLIEST_AS_OF <= as_of <= latest:
        return f"as_of lies between {EARLIEST_AS_OF} and today ({latest} at the latest)"
    return None


async def upsert_products(
    conn: Connection,
    *,
    rows: Sequence[wire.ProductFeedRow],
    nul_rows: Mapping[int, str] | None = None,
) -> wire.FeedResult:
    """Apply a product feed (the bank's product master)."""
    rejected = _Rejections()
    unstorable = rows_with_nul(rows, nul_rows, path="$.products")
    columns: dict[str, list[Any]] = {
        k: [] for k in ("code", "name", "category", "risk_level", "max_holding", "active")
    }
    seen: set[str] = set()
    for index, row in enumerate(rows):
        code = row.code.strip()
        if problem := _nul_problem(unstorable, index):
            rejected.add(index, *problem)
        elif not _PRODUCT_CODE.match(code):
            rejected.add(index, "product.bad_code", "code has 1-40 ASCII letters, digits, . _ -")
        elif code in seen:
            rejected.add(index, "product.duplicate_in_feed", "this code came earlier in the feed")
        elif not 1 <= len(row.name.strip()) <= 200 or not 1 <= len(row.category.strip()) <= 60:
            rejected.add(index, "product.bad_name", "name (1-200) and category (1-60) are needed")
        elif why := _not_shown(row.name.strip()) or _not_shown(row.category.strip()):
            # A product's name is on the RMs' screens and the customers' share pages.
            rejected.add(index, "product.bad_name", f"the name or category {why}")
        elif row.risk_level.strip().upper() not in _PRODUCT_RISK:
            rejected.add(index, "product.bad_risk_level", "risk_level must be R1 to R5")
        elif row.max_holding is not None and not row.max_holding > 0:
            rejected.add(index, "product.bad_max_holding", "max_holding must be positive")
        else:
            seen.add(code)
            columns["code"].append(code)
            columns["name"].append(row.name.strip())
            columns["category"].append(row.category.strip())
            columns["risk_level"].append(_PRODUCT_RISK[row.risk_level.strip().upper()])
            columns["max_holding"].append(row.max_holding)
            columns["active"].append(row.active)
    written = await queries.upsert_products(conn, columns) if columns["code"] else []
    inserted = sum(1 for r in written if r["inserted"])
    return wire.FeedResult(
        inserted=inserted,
        updated=len(written) - inserted,
        unchanged=len(columns["code"]) - len(written),
        rejected=rejected.rows,
    )
