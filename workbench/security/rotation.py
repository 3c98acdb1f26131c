"""`workbench rotate-keys`: re-encrypt every encrypted value still under an older data key.

Put the new key first in WORKBENCH_DATA_KEYS (keep the old ones after it), restart every API
process and worker, then run this. It walks each declared table in key order, in batches of one
transaction each, leaves values already under the current key as they are (once they decrypt
with it), and can be stopped and run again at any time. The old keys can be removed when a run
rewrites nothing, finds nothing it cannot decrypt, and a count after the walk finds no value under
any other key than the current one. The command checks every configured key against its kid's
key check first (`workbench.security.key_checks`): a wrong key under a right kid stops it.

Each feature declares its encrypted columns next to the associated data it binds them with
(`EncryptedColumns`), and `registry()` lists the declarations: a new encrypted column is one
declaration. A test holds the live schema to it: every `bytea` column is either declared here or
listed in `NOT_ENCRYPTED` with the reason. The blind-index key is not rotated this way.

A value that cannot be decrypted (its key already dropped, a corrupt row, or one under the
current kid that its key does not open) is logged without the value, counted, left as it is and
reported; the run goes on with the others.

Each run is in the audit trail once (`keys.rotated`, by 系统): the current kid, the counts per
kind (rewritten, unreadable, left under other keys), whether it finished and whether anything was
left; a run stopped midway records what it had done by then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.audit import queries as audit
from workbench.db import Connection, Pool
from workbench.security import queries
from workbench.security.vault import (
    DecryptionError,
    FieldCipher,
    key_id,
    key_prefix,
    undecryptable,
)

Aad = Callable[[queries.Record], str]
ROTATED = "keys.rotated"  # a run, in the audit trail


@dataclass(frozen=True, slots=True)
class EncryptedColumns:
    """The encrypted columns of one table and the associated data each value is bound to."""

    kind: str  # how `rotate-keys` counts these rows: "customers"
    table: str
    key: str  # the primary key: rows are walked in its order
    key_type: str  # its PostgreSQL type (uuid, text or bigint)
    aad: Mapping[str, Aad]  # encrypted column -> the associated data of its value in a row
    reads: tuple[str, ...] = ()  # other columns the associated data is made from


# bytea columns that hold no ciphertext, and why: a test fails on any bytea column of the schema
# that is neither here nor declared as encrypted.
NOT_ENCRYPTED: Mapping[tuple[str, str], str] = {
    ("customers", "name_bidx"): "blind index (HMAC), not reversible",
    ("customers", "surname_bidx"): "blind index (HMAC), not reversible",
    ("customers", "id_number_bidx"): "blind index (HMAC), not reversible",
    ("customers", "phone_bidx"): "blind index (HMAC), not reversible",
    ("customers", "name_check"): "keyed hash (HMAC) of the exact name, not reversible",
    ("push_registrations", "token_index"): "blind index (HMAC), not reversible",
    ("refresh_tokens", "token_hash"): "SHA-256 of the refresh token",
    ("console_sessions", "token_hash"): "SHA-256 of the staff console's session cookie token",
    ("task_confirmations", "token_hash"): "SHA-256 of the QR confirmation link's token",
    ("task_attachments", "data"): "photo and signature images (stamped with masked data only)",
    ("brochure_images", "sha256"): "SHA-256 of a published brochure page image",
    ("brochure_renditions", "image_sha256"): "SHA-256 of a brochure page image",
    ("brochure_versions", "pages"): "SHA-256 of each page image of a brochure version",
    ("brochure_versions", "content_hash"): "SHA-256 of a brochure version's content",
    ("brochure_versions", "approved_hash"): "SHA-256 of the content compliance approved",
    ("sync_answers", "digest"): "BLAKE2b-128 of an answered offline mutation, to know a retry",
    ("data_key_checks", "sealed"): "a fixed, public text sealed under its row's kid to check that"
    " key at start; never re-encrypted (under another key it would check nothing)",
}


def registry() -> tuple[EncryptedColumns, ...]:
    """Every encrypted column of the product, in the order `rotate-keys` reports them."""
    from push.devices import ENCRYPTED as push_tokens
    from workbench.customers.feeds import ENCRYPTED as personal_data
    from workbench.surveys.submission import ENCRYPTED as survey_texts
    from workbench.tasks.form_values import ENCRYPTED as task_answers
    from workbench.timeline.service import ENCRYPTED as timeline_texts
    from workbench.workorders.service import ENCRYPTED as work_order_notes

    return (
        personal_data,
        timeline_texts,
        push_tokens,
        work_order_notes,
        survey_texts,
        task_answers,
    )


@dataclass(slots=True)
class Counts:
    rewritten: int = 0  # rows with at least one value re-encrypted
    unreadable: int = 0  # values that could not be decrypted (left as they are)
    left: int = 0  # values under another key than the current one, counted after the walk


@dataclass(slots=True)
class Report:
    current_kid: str
    kinds: dict[str, Counts] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Nothing was left under an older key: those keys can be removed. Only a run that had
        nothing to rewrite says so (values written meanwhile by a process still encrypting with an
        older key would be missed), and only from the count after the walk."""
        return all(
            c.rewritten == 0 and c.unreadable == 0 and c.left == 0 for c in self.kinds.values()
        )


async def rotate(
    pool: Pool,
    *,
    cipher: FieldCipher,
    batch_size: int = 1000,
    declarations: tuple[EncryptedColumns, ...] | None = None,
) -> Report:
    """Re-encrypt every declared value that is not under the current key; then count what is
    still under another key."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = Report(cipher.current_kid)
    declared_all = registry() if declarations is None else declarations
    finished = False
    try:
        for declared in declared_all:
            counts = report.kinds.setdefault(declared.kind, Counts())
            await _rotate_table(pool, cipher, declared, counts, batch_size)
        prefix = key_prefix(cipher.current_kid)
        async with pool.acquire() as conn:
            for declared in declared_all:
                report.kinds[declared.kind].left += await queries.count_under_other_keys(
                    conn, table=declared.table, columns=list(declared.aad), prefix=prefix
                )
        finished = True
    finally:
        # Also after a failure or an interrupt: the batches committed by then were rewritten.
        async with pool.acquire() as conn:
            await _record_run(conn, report, finished=finished)
    return report


async def _record_run(conn: Connection, report: Report, *, finished: bool) -> None:
    """The run in the audit trail: counts per kind and the kid, never a value or a key."""
    kinds = report.kinds
    await audit.record(
        conn,
        action=ROTATED,
        actor_id=None,
        subject=f"data_key:{report.current_kid}",
        detail={
            "current_kid": report.current_kid,
            "rewritten": {kind: c.rewritten for kind, c in kinds.items()},
            "unreadable": {kind: c.unreadable for kind, c in kinds.items()},
            "left": {kind: c.left for kind, c in kinds.items()},
            "finished": finished,
            "anything_left": not finished or any(c.unreadable or c.left for c in kinds.values()),
        },
    )


async def _rotate_table(
    pool: Pool, cipher: FieldCipher, declared: EncryptedColumns, counts: Counts, batch_size: int
) -> None:
    columns = list(declared.aad)
    after: Any = None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await queries.encrypted_batch(
                conn,
                table=declared.table,
                key=declared.key,
                reads=declared.reads,
                columns=columns,
                after=after,
                limit=batch_size,
            )
            if not rows:
                return
            after = rows[-1][declared.key]
            keys: list[Any] = []
            values: dict[str, list[bytes | None]] = {c: [] for c in columns}
            for row in rows:
                fresh = {c: _reencrypted(cipher, declared, c, row, counts) for c in columns}
                if any(v is not None for v in fresh.values()):
                    keys.append(row[declared.key])
                    for column, value in fresh.items():
                        values[column].append(value)
            if keys:
                counts.rewritten += await queries.store_reencrypted(
                    conn,
                    table=declared.table,
                    key=declared.key,
                    key_type=declared.key_type,
                    keys=keys,
                    values=values,
                )


def _reencrypted(
    cipher: FieldCipher,
    declared: EncryptedColumns,
    column: str,
    row: queries.Record,
    counts: Counts,
) -> bytes | None:
    """The value under the current key, or None if it needs nothing (or cannot be read). A value
    already under the current kid is decrypted all the same: one its key does not open is
    reported, never taken for done."""
    blob = row[column]
    if blob is None:
        return None
    try:
        aad = declared.aad[column](row)
        plaintext = cipher.decrypt(blob, aad=aad)
        if key_id(blob) == cipher.current_kid:
            return None
        return cipher.encrypt(plaintext, aad=aad)
    except DecryptionError as exc:
        undecryptable(exc, column=f"{declared.table}.{column}", row=row[declared.key])
        counts.unreadable += 1
        return None
