"""The migration binding approvals to the product's risk level and to a live window carries the
approvals given before it: at the product's level then, for the window each version was
published with. A brochure that expired before the upgrade is not revived without a review, and
one live stays live."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from workbench import migrate
from workbench.brochures.queries import LIVE


async def test_approvals_before_the_upgrade_keep_their_risk_level_and_published_window(
    scratch_db: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.default_directory(), folder)
    [scope_sql] = folder.glob("*_brochure_approval_scope.sql")
    later = [f for f in folder.glob("*.sql") if int(f.name[:4]) >= int(scope_sql.name[:4])]
    held = {f.name: f.read_text() for f in later}
    for f in later:
        f.unlink()
    await migrate.migrate(scratch_db, folder)

    unit, author = uuid.uuid4(), uuid.uuid4()
    expired, live, draft = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    conn = await asyncpg.connect(scratch_db)
    try:
        await conn.execute(
            "insert into org_units (id, name, path, depth) values ($1, 'HO', $2, 0)",
            unit, f"/{unit}/",
        )  # fmt: skip
        await conn.execute(
            "insert into users (id, login, name, role, org_unit_id, password_hash)"
            " values ($1, 'author', 'author', 'marketing', $2, 'x')",
            author, unit,
        )  # fmt: skip
        await conn.execute(
            "insert into products (code, name, category, risk_level) values ('P1', 'P', 'c', 3)"
        )
        for brochure, status, until in (
            (expired, "published", now - timedelta(days=1)),
            (live, "published", None),
            (draft, "draft", None),
        ):
            await conn.execute(
                "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
                brochure, unit, author,
            )  # fmt: skip
            published = status == "published"
            await conn.execute(
                "insert into brochure_versions (brochure_id, version, title, product_code, pages,"
                " content_hash, status, approved_hash, live_until, published_at, created_by)"
                " values ($1, 1, 't', 'P1', array[$2::bytea], $2, $3, $4, $5, $6, $7)",
                brochure, bytes(32), status, bytes(32) if published else None, until,
                now - timedelta(days=30) if published else None, author,
            )  # fmt: skip

        for name, text in held.items():
            (folder / name).write_text(text)
        await migrate.migrate(scratch_db, folder)

        rows = {
            r["brochure_id"]: (r["approved_risk_level"], r["approved_until"])
            for r in await conn.fetch(
                "select brochure_id, approved_risk_level, approved_until from brochure_versions"
            )
        }
        assert rows == {
            expired: (3, now - timedelta(days=1)),
            live: (3, None),
            draft: (None, None),
        }
        live_rule = LIVE.format("now()")  # the service's own rule, no input in it
        still_live = await conn.fetch(
            f"select v.brochure_id from brochure_versions v where {live_rule}"  # noqa: S608
        )
        assert [r["brochure_id"] for r in still_live] == [live]
    finally:
        await conn.close()
