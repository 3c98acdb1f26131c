"""我的导出 checks each export's request again, as its page, status and file do: an export whose
RM has moved out of the branch head's subtree is listed as no longer available, in words and
without a link (its page, status and file answer 404), while the branch head's other exports
keep their downloads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import make_console, signed_in
from tests.customers_data import headers_of
from tests.workbench.dashboard.dash_data import dispatch_tasks
from tests.workbench.exports.test_exports import pool, start, worker
from workbench.db import Pool
from workbench.exports import jobs, service
from workbench.ids import uuid5_for

__all__ = ["make_console", "pool"]

pytestmark = pytest.mark.usefixtures("demo_bank")

NEW = "/console/exports/new"
LIST = "/console/exports"


def _unit(key: str) -> str:
    return str(uuid5_for(f"org:{key}"))


def _rows(html: str) -> list[str]:
    """The list's rows, newest first."""
    return [r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if "<td" in r]


async def test_an_export_whose_rm_moved_away_is_listed_as_no_longer_available(
    make_console: Any, db: Any, settings: Any, pool: Pool, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(service, "DIRECT_LIMIT", 0)  # every export is built by the worker
    blob_dir = tmp_path / "blobs"
    console = await make_console(blob_store="local", blob_dir=str(blob_dir))
    admin = await headers_of(console, "admin")
    await dispatch_tasks(console, admin, "team-east-1", 2)  # rm01 and rm02: two tasks each
    await signed_in(console, "bh.east")

    pages = {}
    for rm in ("rm01", "rm02"):
        asked = await start(
            console,
            f"table=rm_tasks&format=csv&unit={_unit('team-east-1')}&rm={uuid5_for(f'user:{rm}')}",
        )
        assert asked.status_code == 303, asked.text
        pages[rm] = asked.headers["location"]
    ctx = worker(pool, settings, blob_dir)
    assert await jobs.build_exports(ctx) + await jobs.build_exports(ctx) == 2

    listed = await console.get(LIST)
    assert listed.status_code == 200, listed.text
    newer, older = _rows(listed.text)  # rm02's export, then rm01's
    for row, page in ((newer, pages["rm02"]), (older, pages["rm01"])):
        assert "已完成" in row
        assert f'href="{page}/file"' in row

    # rm01 moves to the West Branch: their tasks go with them, out of bh.east's reach.
    moved = await console.patch(
        f"/api/v1/admin/users/{uuid5_for('user:rm01')}", headers=admin,
        json={"org_unit_id": _unit("team-west-1")},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text

    gone = pages["rm01"]
    for path in (gone, f"{gone}/status", f"{gone}/file"):
        assert (await console.get(path)).status_code == 404, path
    listed = await console.get(LIST)
    assert listed.status_code == 200, listed.text
    kept, row = _rows(listed.text)
    assert "客户经理任务明细" in row  # still listed, by its name
    assert "不再可用" in row
    assert "您已无权查看这些数据" in row
    assert "已完成" not in row
    assert "href" not in row  # neither its page nor its download: both answer 404
    assert gone not in listed.text
    assert "已完成" in kept  # rm02 is still theirs
    assert f'href="{pages["rm02"]}/file"' in kept
    assert (await console.get(f"{pages['rm02']}/file")).status_code == 200
