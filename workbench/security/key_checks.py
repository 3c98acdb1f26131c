"""Data key checks: a wrong key given under a right key id stops a command before it writes.

A stored value names the id of its key, not the key itself: `d2:<the d1 key's bytes>` would
otherwise be taken for d2, show every value as unreadable and store new ones that the real d2
never opens. So each kid gets a check the first time a command sees it (a row of
`data_key_checks`: a fixed text sealed under that kid's key), and every command that encrypts or
decrypts personal data (`serve`, `worker`, `rotate-keys`, `import`, `seed`, `push test`,
`reindex-customers`) opens the check of each configured key before it starts.

A kid without a check yet (a new key, or a database upgraded to these checks that already holds
values) is first tried on values already stored under it, if there are any: its check is recorded
only when the key opens one of them (or there are none), so an upgrade cannot record a wrong key.
Checks are recorded only once every configured key has passed, so a refused start writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.db import Connection
from workbench.security import queries
from workbench.security.rotation import EncryptedColumns, registry
from workbench.security.vault import DecryptionError, FieldCipher, key_prefix
from workbench.settings import DataKey

CHECK_TEXT = "RM Workbench data key check"
# Stored values tried per encrypted column for a kid without a check: one that opens is enough.
SAMPLE = 5


class DataKeyMismatch(Exception):
    """A configured data key is not the key its kid names in the database; the message names
    each such kid and why, never a key."""

    def __init__(self, wrong: dict[str, str]) -> None:
        self.kids = sorted(wrong)
        reasons = "; ".join(f"kid {kid!r}: {wrong[kid]}" for kid in self.kids)
        super().__init__(
            f"WORKBENCH_DATA_KEYS: wrong key for {reasons}. Nothing was written; give the key"
            " this kid was created with"
        )


def seal(key: DataKey) -> bytes:
    """The check of `key`: the fixed text sealed under it, bound to its kid."""
    return FieldCipher((key,)).encrypt(CHECK_TEXT, aad=_aad(key.kid))


def opens(key: DataKey, check: bytes) -> bool:
    """Whether `key` is the key `check` was sealed under."""
    try:
        return FieldCipher((key,)).decrypt(check, aad=_aad(key.kid)) == CHECK_TEXT
    except DecryptionError:
        return False


async def verify_data_keys(
    conn: Connection,
    keys: Sequence[DataKey],
    *,
    declarations: tuple[EncryptedColumns, ...] | None = None,
) -> None:
    """Check every configured key against its kid's check (recording checks for kids seen the
    first time); raise DataKeyMismatch naming each key that is not its kid's."""
    stored = await queries.key_checks(conn, [k.kid for k in keys])
    wrong: dict[str, str] = {}
    first_seen: list[DataKey] = []
    for key in keys:
        check = stored.get(key.kid)
        if check is None:
            first_seen.append(key)
        elif not opens(key, check):
            wrong[key.kid] = "it does not open the key check recorded for this kid"
    for key in first_seen:
        tried = await _stored_values_it_cannot_open(conn, key, declarations or registry())
        if tried:
            wrong[key.kid] = f"it opens none of the {tried} value(s) stored under this kid it tried"
    if wrong:
        raise DataKeyMismatch(wrong)
    if not first_seen:
        return
    await queries.record_key_checks(conn, {k.kid: seal(k) for k in first_seen})
    # Another process may have recorded its key for the same new kid a moment before.
    stored = await queries.key_checks(conn, [k.kid for k in first_seen])
    wrong = {
        k.kid: "another process recorded a different key for this kid"
        for k in first_seen
        if not opens(k, stored[k.kid])
    }
    if wrong:
        raise DataKeyMismatch(wrong)


async def _stored_values_it_cannot_open(
    conn: Connection, key: DataKey, declarations: tuple[EncryptedColumns, ...]
) -> int:
    """0 if `key` opens a value stored under its kid (or none is stored); else how many it
    tried and could not open."""
    cipher = FieldCipher((key,))
    prefix = key_prefix(key.kid)
    tried = 0
    for declared in declarations:
        for column, aad in declared.aad.items():
            rows = await queries.values_under_key(
                conn,
                table=declared.table,
                key=declared.key,
                reads=declared.reads,
                column=column,
                prefix=prefix,
                limit=SAMPLE,
            )
            for row in rows:
                try:
                    cipher.decrypt(bytes(row[column]), aad=aad(row))
                except DecryptionError:
                    tried += 1
                    continue
                return 0
    return tried


def _aad(kid: str) -> str:
    return f"data_key_checks:{kid}"
