"""The migration adding `brochure_versions.edited_by` finds the edits made before it in the
audit trail, so four eyes holds for versions edited before the upgrade too."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import asyncpg

from workbench import migrate


async def test_edits_before_the_column_are_found_in_the_audit_trail(scratch_db, tmp_path: Path):
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.default_directory(), folder)
    [editors_sql] = folder.glob("*_brochure_version_editors.sql")
    version = int(editors_sql.name[:4])
    later = [f for f in folder.glob("*.sql") if int(f.name[:4]) >= version]
    held = {f.name: f.read_text() for f in later}
    for f in later:
        f.unlink()
    await migrate.migrate(scratch_db, folder)

    unit, author, editor, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    brochure = uuid.uuid4()
    conn = await asyncpg.connect(scratch_db)
    try:
        await conn.execute(
            "insert into org_units (id, name, path, depth) values ($1, 'HO', $2, 0)",
            unit, f"/{unit}/",
        )  # fmt: skip
        for user, login in ((author, "author"), (editor, "editor"), (other, "other")):
            await conn.execute(
                "insert into users (id, login, name, role, org_unit_id, password_hash)"
                " values ($1, $2, $2, 'marketing', $3, 'x')",
                user, login, unit,
            )  # fmt: skip
        await conn.execute(
            "insert into products (code, name, category, risk_level) values ('P1', 'P', 'c', 2)"
        )
        await conn.execute(
            "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
            brochure, unit, author,
        )  # fmt: skip
        for number in (1, 2):
            await conn.execute(
                "insert into brochure_versions (brochure_id, version, title, product_code, pages,"
                " content_hash, status, created_by)"
                " values ($1, $2, 't', 'P1', array[$3::bytea], $3, 'draft', $4)",
                brochure, number, bytes(32), author,
            )  # fmt: skip
        edits = [(editor, 2), (author, 2), (editor, 2), (other, 1)]
        for actor, number in edits:
            await conn.execute(
                "insert into audit_events (actor_id, action, subject, detail)"
                " values ($1, 'brochure.edited', $2, $3::jsonb)",
                actor, f"brochure:{brochure}", json.dumps({"version": number}),
            )  # fmt: skip
        await conn.execute(  # an edit of another kind is no edit of the content
            "insert into audit_events (actor_id, action, subject, detail)"
            " values ($1, 'brochure.submitted', $2, '{\"version\": 1}')",
            editor, f"brochure:{brochure}",
        )  # fmt: skip

        for name, text in held.items():
            (folder / name).write_text(text)
        await migrate.migrate(scratch_db, folder)

        rows = await conn.fetch(
            "select version, edited_by from brochure_versions where brochure_id = $1"
            " order by version",
            brochure,
        )
        assert [(r["version"], r["edited_by"]) for r in rows] == [
            (1, [other]), (2, [editor, author]),
        ]  # fmt: skip
    finally:
        await conn.close()
