"""Every export of customer data is in the audit trail: a table downloaded at once (CSV or XLSX,
by its link or the confirmation's form) as `export.downloaded` with its rows; a worker export
started (or joined) as `export.started`, and its file downloaded as `export.downloaded`; each
with who, from which address, the table, format and filters (ids and days). Refused requests
record nothing, and the events outlive the exports the expiry job deletes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import make_console, signed_in
from tests.helpers import from_peer
from tests.workbench.exports.test_exports import NEW, Rows, pool, rows, start, unit, worker
from workbench.db import Pool
from workbench.exports import jobs, service
from workbench.ids import uuid5_for

__all__ = ["make_console", "pool", "rows"]

pytestmark = pytest.mark.usefixtures("demo_bank")

PERIOD = "from=2026-11-01&to=2026-11-30"


async def events(db: Any, action: str) -> list[dict[str, Any]]:
    found = await db.fetch(
        """select a.actor_id, a.subject, host(a.client_ip) as ip, a.detail::text as detail
             from audit_events a where a.action = $1 order by a.id""",
        action,
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in found]


async def user(db: Any, login: str) -> uuid.UUID:
    found: uuid.UUID = await db.fetchval("select id from users where login = $1", login)
    return found


async def test_a_table_downloaded_at_once_is_audited_with_its_filters_and_rows(
    make_console: Any,
    rows: Rows,
    db: Any,
) -> None:
    console = await make_console()
    await signed_in(console, "bh.east")
    bh = await user(db, "bh.east")
    rm = uuid5_for("user:rm01")

    got = await console.get(f"{NEW}?table=test_rows&format=csv&{PERIOD}")
    assert got.status_code == 200, got.text
    team = unit("team-east-1")
    got = await console.get(f"{NEW}?table=test_rows&format=xlsx&{PERIOD}&unit={team}&rm={rm}")
    assert got.status_code == 200, got.text
    # Refused: another branch, an unknown table, a bad format: nothing downloaded, nothing audited.
    west = f"{NEW}?table=test_rows&format=csv&{PERIOD}&unit={unit('branch-west')}"
    for refused in (west, f"{NEW}?table=nope&format=csv", f"{NEW}?table=test_rows&format=pdf"):
        assert (await console.get(refused)).status_code in (404, 422)

    downloaded = await events(db, "export.downloaded")
    assert [(e["actor_id"], e["subject"]) for e in downloaded] == [
        (bh, "export_table:test_rows"), (bh, "export_table:test_rows")
    ]  # fmt: skip
    assert all(e["ip"] for e in downloaded)  # the address, as sign-in records it
    assert downloaded[0]["detail"] == {
        "table": "test_rows", "format": "csv", "rows": 10, "direct": True,
        "filters": {"unit": str(unit("branch-east")), "from": "2026-11-01", "to": "2026-11-30"},
    }  # fmt: skip
    assert downloaded[1]["detail"] == {
        "table": "test_rows", "format": "xlsx", "rows": 10, "direct": True,
        "filters": {"unit": str(team), "from": "2026-11-01", "to": "2026-11-30", "rm": str(rm)},
    }  # fmt: skip
    assert await events(db, "export.started") == []
    assert await db.fetchval("select count(*) from exports") == 0  # the trail is all there is


async def test_a_worker_export_is_audited_when_started_and_when_its_file_is_downloaded(
    make_console: Any,
    rows: Rows,
    db: Any,
    settings: Any,
    pool: Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "DIRECT_LIMIT", 50)
    rows.size = 120
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    await signed_in(console, "bh.east")
    bh = await user(db, "bh.east")
    query = f"table=test_rows&format=csv&{PERIOD}&unit={unit('team-east-1')}"

    page = (await console.get(f"{NEW}?{query}")).text  # the confirmation: nothing started yet
    assert "开始导出" in page
    assert await events(db, "export.started") == []
    asked = await start(console, query)
    assert asked.status_code == 303, asked.text
    export_id = asked.headers["location"].rsplit("/", 1)[1]
    again = await start(console, query)  # the same request joins the waiting export
    assert again.headers["location"] == asked.headers["location"]

    filters = {"unit": str(unit("team-east-1")), "from": "2026-11-01", "to": "2026-11-30"}
    started = await events(db, "export.started")
    assert [(e["actor_id"], e["subject"]) for e in started] == [(bh, f"export:{export_id}")] * 2
    assert [e["detail"] for e in started] == [
        {"table": "test_rows", "format": "csv", "filters": filters, "rows_total": 120,
         "joined": joined}
        for joined in (False, True)
    ]  # fmt: skip
    assert all(e["ip"] for e in started)
    assert await events(db, "export.downloaded") == []

    assert await jobs.build_exports(worker(pool, settings, blob_dir)) == 1
    got = await console.get(f"/console/exports/{export_id}/file")
    assert got.status_code == 200
    assert got.content.startswith(b"\xef\xbb\xbf")
    downloaded = await events(db, "export.downloaded")
    assert [(e["actor_id"], e["subject"]) for e in downloaded] == [(bh, f"export:{export_id}")]
    assert downloaded[0]["detail"] == {
        "table": "test_rows", "format": "csv", "filters": filters, "rows": 120, "direct": False,
    }  # fmt: skip

    # The expiry job deletes the export after 7 days; what the trail says of it stays.
    await db.execute("update exports set expires_at = now() - interval '1 minute'")
    assert (await console.get(f"/console/exports/{export_id}/file")).status_code == 404
    assert await jobs.expire_exports(worker(pool, settings, blob_dir)) == 1
    assert await db.fetchval("select count(*) from exports") == 0
    assert len(await events(db, "export.started")) == 2
    assert len(await events(db, "export.downloaded")) == 1  # the refused download: none


async def test_a_download_by_a_peer_of_its_own_records_that_peer(
    make_console: Any,
    rows: Rows,
    db: Any,
) -> None:
    console = await make_console()
    await signed_in(console, "admin")
    async with from_peer(console, "198.51.100.4") as peer:
        peer.cookies = console.cookies
        got = await peer.get(f"{NEW}?table=test_rows&format=csv&{PERIOD}")
    assert got.status_code == 200, got.text
    [downloaded] = await events(db, "export.downloaded")
    assert downloaded["ip"] == "198.51.100.4"
    assert downloaded["actor_id"] == await user(db, "admin")
