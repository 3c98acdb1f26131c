"""A task's answers (its form values) at rest and on the way out.

Answers are personal data: an RM types a customer's new phone or ID number into a text field, and
a location field says where the customer was met. They are stored only encrypted: every answer of
a submission, the JSON object by field key, is one AES-256-GCM value in `tasks.form_values_enc`,
bound to its task by its associated data (as note texts are to their entry). Nothing reads an
answer in SQL, so none is kept in clear.

Every reader (the task API, offline sync, the conflicts a push answers) is shown a text answer
with each number of six characters or more masked, its first three and last two kept, exactly
as a note's text (`mask_long_numbers`: `13712345678` -> `137******78`). Numbers, dates, choices,
attachment and customer ids and locations are shown as answered (a date is a number of eight
digits: masking is by the field's type, never by the look of the value).

Tasks submitted before migration 0058 hold their answers in clear (`tasks.form_values`). They are
read as they are, masked the same way, until the worker seals them (`seal_clear_rows`, run by the
task job every minute and at the worker's start): a SQL migration cannot encrypt.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import msgspec

from mobile_contracts.v1.tasks import FieldType, Form
from workbench.customers.personal_data import mask_long_numbers
from workbench.db import Pool
from workbench.security.rotation import EncryptedColumns
from workbench.security.vault import UNREADABLE, FieldCipher
from workbench.tasks import queries

log = logging.getLogger("workbench.tasks.form_values")

SEAL_BATCH = 500  # tasks sealed per transaction (each row locked only for its batch)
SEAL_SECONDS = 20.0  # how long one run of the task job seals before it leaves the rest


def values_aad(task_id: uuid.UUID) -> str:
    """Associated data binding a task's encrypted answers to the task."""
    return f"task.form_values:{task_id}"


# What `workbench rotate-keys` re-encrypts of tasks: their answers.
ENCRYPTED = EncryptedColumns(
    kind="task forms",
    table="tasks",
    key="id",
    key_type="uuid",
    aad={"form_values_enc": lambda row: values_aad(row["id"])},
)


def seal(cipher: FieldCipher, task_id: uuid.UUID, values: dict[str, Any]) -> bytes:
    """A submission's checked answers as they are stored: encrypted, bound to the task."""
    return cipher.encrypt(msgspec.json.encode(values).decode(), aad=values_aad(task_id))


def shown(cipher: FieldCipher, row: queries.Record, form: Form) -> dict[str, Any] | None:
    """The answers of a task row (`form_values_enc`, or `form_values` of a row not sealed yet)
    as every reader is shown them: text answers with long numbers masked, the others as
    answered; None before the task is submitted. Answers that cannot be decrypted (logged and
    counted) show as UNREADABLE in each text field, so that one bad row does not break a page
    or a pull."""
    types = {f.key: f.type for f in form.fields}
    blob = row["form_values_enc"]
    if blob is None:
        stored: dict[str, Any] | None = row["form_values"]
        if stored is None:
            return None
        return {key: _masked(value, types.get(key)) for key, value in stored.items()}
    text = cipher.decrypt_or_none(
        bytes(blob), aad=values_aad(row["id"]), column="tasks.form_values_enc", row=row["id"]
    )
    if text is None:
        return {f.key: UNREADABLE for f in form.fields if f.type is FieldType.TEXT}
    answers: dict[str, Any] = msgspec.json.decode(text)
    return {key: _masked(value, types.get(key)) for key, value in answers.items()}


def _masked(value: Any, field_type: FieldType | None) -> Any:
    """A text answer (or a text under a key its form does not name) with long numbers masked;
    any other answer as it is."""
    if isinstance(value, str) and field_type in (FieldType.TEXT, None):
        return mask_long_numbers(value)
    return value


async def seal_clear_rows(
    pool: Pool,
    cipher: FieldCipher,
    *,
    batch_size: int = SEAL_BATCH,
    seconds: float | None = SEAL_SECONDS,
) -> int:
    """Encrypt the answers of tasks stored in clear (submitted before migration 0058), in id
    order, a batch per transaction, until none is left or `seconds` have passed (None: no
    limit); how many tasks were sealed. A task another transaction holds is left for the next
    run; one sealed meanwhile is not sealed twice. Once none is left a run reads one empty index
    (`tasks_form_values_in_clear`), so the job may run it every minute for good."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    deadline = None if seconds is None else time.monotonic() + seconds
    sealed, after = 0, uuid.UUID(int=0)
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await queries.clear_form_values(conn, after=after, limit=batch_size)
            if not rows:
                break
            after = rows[-1]["id"]
            sealed += await queries.store_sealed_form_values(
                conn,
                ids=[r["id"] for r in rows],
                sealed=[seal(cipher, r["id"], r["form_values"]) for r in rows],
            )
        if len(rows) < batch_size or (deadline is not None and time.monotonic() > deadline):
            break
    if sealed:
        log.info("task answers stored in clear were encrypted", extra={"count": sealed})
    return sealed
