"""Each `workbench rotate-keys` run is in the audit trail once (`keys.rotated`, by 系统): the
current kid, what it rewrote, could not read and left per kind, whether it finished and whether
anything was left; never a value or a key. A run stopped midway records what it had done by
then."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.workbench.security.test_key_checks import NAMES, customers, pool
from tests.workbench.security.test_rotation import NEW, rotate_keys
from workbench.security import queries
from workbench.security.rotation import registry, rotate
from workbench.security.vault import FieldCipher

__all__ = ["customers", "pool"]  # fixtures: three customers under data-1, a pool


async def runs(db: Any) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select actor_id, subject, client_ip, detail from audit_events"
        " where action = 'keys.rotated' order by id"
    )
    return [
        {**dict(r),
         "detail": r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])}
        for r in rows
    ]  # fmt: skip


def per_kind(**counts: int) -> dict[str, int]:
    """A count for every kind the registry rotates: these, the others 0."""
    return {d.kind: counts.get(d.kind.replace(" ", "_"), 0) for d in registry()}


async def test_each_run_records_its_counts_and_kid(settings: Any, db: Any, customers: Any) -> None:
    old = settings.data_keys[0]
    first = rotate_keys(settings, NEW, old)
    assert first.returncode == 0, first.stdout + first.stderr
    again = rotate_keys(settings, NEW, old)
    assert again.returncode == 0, again.stdout + again.stderr

    done, nothing = await runs(db)
    for run in (done, nothing):  # by 系统, about the current key
        assert run["actor_id"] is None
        assert (run["subject"], run["client_ip"]) == (f"data_key:{NEW.kid}", None)
    assert done["detail"] == {
        "current_kid": NEW.kid, "rewritten": per_kind(customers=3), "unreadable": per_kind(),
        "left": per_kind(), "finished": True, "anything_left": False,
    }  # fmt: skip
    assert nothing["detail"]["rewritten"] == per_kind()
    assert nothing["detail"]["anything_left"] is False

    # Neither a value nor a key is in the trail.
    trail = await db.fetchval("select string_agg(a::text, ' ') from audit_events a")
    for secret in (*NAMES.values(), *(base64.b64encode(k.key).decode() for k in (NEW, old))):
        assert secret not in trail


@pytest.mark.usefixtures("customers")
async def test_a_run_stopped_midway_records_what_it_did(
    settings: Any, db: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cipher = FieldCipher((NEW, settings.data_keys[0]))
    store = queries.store_reencrypted
    calls = 0

    async def fails_the_second_batch(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ConnectionResetError("the database went away")
        return await store(*args, **kwargs)

    monkeypatch.setattr(queries, "store_reencrypted", fails_the_second_batch)
    with pytest.raises(ConnectionResetError):
        await rotate(pool, cipher=cipher, batch_size=2)

    [run] = await runs(db)
    assert run["detail"] == {
        "current_kid": NEW.kid, "rewritten": {"customers": 2}, "unreadable": {"customers": 0},
        "left": {"customers": 0}, "finished": False, "anything_left": True,
    }  # fmt: skip
