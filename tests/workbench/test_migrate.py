"""Migrations: applied once, in order, checksummed; edits, gaps and failures stop everything."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import make_settings
from workbench import migrate
from workbench.app import create_app
from workbench.ids import uuid7
from workbench.migrate import MigrationError
from workbench.settings import Settings


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A private copy of the real migrations folder, free to edit."""
    target = tmp_path / "migrations"
    shutil.copytree(migrate.default_directory(), target)
    return target


def sql_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sql"))


async def recorded(url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(
            "select version, name, checksum from schema_migrations order by version"
        )
    finally:
        await conn.close()


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("select tablename from pg_tables where schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_migrate_applies_every_file_in_order_and_records_checksums(scratch_db, folder):
    files = sql_files(folder)
    assert files, "the migrations folder holds at least one migration"
    next_version = len(files) + 1
    (folder / f"{next_version:04d}_add_notes.sql").write_text(
        "create table wb_notes (id int primary key);\n"
    )
    files = sql_files(folder)

    applied = await migrate.migrate(scratch_db, folder)

    assert [m.version for m in applied] == list(range(1, len(files) + 1))
    rows = await recorded(scratch_db)
    assert [(r["version"], r["name"]) for r in rows] == [
        (int(p.name[:4]), p.stem[5:]) for p in files
    ]
    for row, path in zip(rows, files, strict=True):
        assert row["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert {"users", "org_units", "refresh_tokens", "wb_notes"} <= await tables(scratch_db)
    assert await migrate.pending(scratch_db, folder) == []

    # A second run finds nothing to do and changes nothing.
    assert await migrate.migrate(scratch_db, folder) == []
    assert await recorded(scratch_db) == rows


async def test_concurrent_migrate_applies_each_migration_once(scratch_db, folder):
    next_version = len(sql_files(folder)) + 1
    (folder / f"{next_version:04d}_add_notes.sql").write_text(
        "create table wb_notes (id int primary key);\n"
    )
    files = sql_files(folder)

    first, second = await asyncio.gather(
        migrate.migrate(scratch_db, folder), migrate.migrate(scratch_db, folder)
    )

    # Both succeed; between them every migration was applied exactly once.
    versions = sorted(m.version for m in [*first, *second])
    assert versions == list(range(1, len(files) + 1))
    rows = await recorded(scratch_db)
    assert [r["version"] for r in rows] == list(range(1, len(files) + 1))
    assert "wb_notes" in await tables(scratch_db)


async def test_edited_migration_is_refused_and_nothing_changes(scratch_db, folder):
    await migrate.migrate(scratch_db, folder)
    before_rows, before_tables = await recorded(scratch_db), await tables(scratch_db)
    first = sql_files(folder)[0]
    first.write_text(first.read_text() + "\ncreate table sneaky (id int);\n")
    next_file = folder / f"{len(sql_files(folder)) + 1:04d}_next.sql"
    next_file.write_text("create table wb_next (id int);\n")

    with pytest.raises(MigrationError) as by_migrate:
        await migrate.migrate(scratch_db, folder)
    with pytest.raises(MigrationError) as by_pending:
        await migrate.pending(scratch_db, folder)

    for error in (by_migrate, by_pending):
        message = str(error.value)
        assert first.name in message
        assert "edited" in message
    assert await recorded(scratch_db) == before_rows
    assert await tables(scratch_db) == before_tables  # neither the edit nor the new file ran


async def test_new_migration_file_is_applied_by_the_next_run(scratch_db, folder):
    await migrate.migrate(scratch_db, folder)
    count = len(sql_files(folder))
    new = folder / f"{count + 1:04d}_x.sql"
    new.write_text("create table wb_x (id int primary key, label text not null);\n")

    assert [m.name for m in await migrate.pending(scratch_db, folder)] == ["x"]
    applied = await migrate.migrate(scratch_db, folder)

    assert [(m.version, m.name) for m in applied] == [(count + 1, "x")]
    assert "wb_x" in await tables(scratch_db)
    assert (await recorded(scratch_db))[-1]["name"] == "x"


async def test_gap_in_versions_is_refused(scratch_db, folder):
    count = len(sql_files(folder))
    (folder / f"{count + 2:04d}_skipped_one.sql").write_text("create table wb_gap (id int);\n")

    with pytest.raises(MigrationError, match="gap"):
        await migrate.migrate(scratch_db, folder)
    with pytest.raises(MigrationError, match="gap"):
        await migrate.pending(scratch_db, folder)
    assert await tables(scratch_db) == set()  # nothing at all was applied


@pytest.mark.parametrize("bad_name", ["2_short.sql", "0002-dashes.sql", "0002_CamelCase.sql"])
async def test_badly_named_file_is_refused(scratch_db, folder, bad_name):
    (folder / bad_name).write_text("create table wb_bad (id int);\n")

    with pytest.raises(MigrationError) as error:
        await migrate.migrate(scratch_db, folder)

    assert bad_name in str(error.value)
    assert await tables(scratch_db) == set()


async def test_failing_migration_is_rolled_back_and_not_recorded(scratch_db, folder):
    await migrate.migrate(scratch_db, folder)
    before = await recorded(scratch_db)
    count = len(sql_files(folder))
    broken = folder / f"{count + 1:04d}_broken.sql"
    broken.write_text(
        "create table wb_half (id int);\n"
        "insert into wb_half values (1);\n"
        "alter table no_such_table add column x int;\n"
    )

    with pytest.raises(asyncpg.PostgresError):
        await migrate.migrate(scratch_db, folder)

    # Entirely rolled back (the table of the first statement is gone too) and not recorded.
    assert "wb_half" not in await tables(scratch_db)
    assert await recorded(scratch_db) == before
    assert [m.name for m in await migrate.pending(scratch_db, folder)] == ["broken"]

    # The fixed file applies on the next run (the failed attempt left no lock behind).
    broken.write_text("create table wb_half (id int);\ninsert into wb_half values (1);\n")
    applied = await asyncio.wait_for(migrate.migrate(scratch_db, folder), timeout=30)
    assert [m.name for m in applied] == ["broken"]
    assert "wb_half" in await tables(scratch_db)
    assert len(await recorded(scratch_db)) == count + 1


async def test_applied_migration_whose_file_is_gone_is_refused(scratch_db, folder):
    count = len(sql_files(folder))
    extra = folder / f"{count + 1:04d}_later.sql"
    extra.write_text("create table wb_later (id int);\n")
    await migrate.migrate(scratch_db, folder)
    extra.unlink()  # e.g. an older build of the code started against a newer database

    for run in (migrate.migrate, migrate.pending):
        with pytest.raises(MigrationError) as error:
            await run(scratch_db, folder)
        message = str(error.value)
        assert f"{count + 1:04d}_later" in message
        assert "gone" in message


async def startup_error(settings: Settings) -> BaseException:
    """Start the API on these settings and return what stopped it (unwrapping task groups)."""
    try:
        async with AsyncTestClient(create_app(settings)):
            pass
    except Exception as exc:  # the lifespan error may arrive wrapped in a task group
        error: BaseException = exc
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        return error
    pytest.fail("the API started")


async def test_api_refuses_to_start_on_an_edited_migration(servers, scratch_db):
    await migrate.migrate(scratch_db)
    conn = await asyncpg.connect(scratch_db)
    try:
        await conn.execute("update schema_migrations set checksum = 'bogus' where version = 1")
    finally:
        await conn.close()
    settings = make_settings(servers, database_url=scratch_db)

    for migrate_on_start in (True, False):
        error = await startup_error(replace(settings, migrate_on_start=migrate_on_start))
        assert isinstance(error, MigrationError), repr(error)
        assert "edited" in str(error)


async def test_api_refuses_to_start_with_pending_migrations_when_not_migrating(servers, scratch_db):
    settings = make_settings(servers, database_url=scratch_db, migrate_on_start=False)

    error = await startup_error(settings)
    assert isinstance(error, MigrationError), repr(error)
    assert "pending" in str(error)
    assert await tables(scratch_db) == set()


async def test_the_upgrade_gives_back_a_brochure_a_later_version_took_off(scratch_db, folder):
    # Before 0033, publishing v2 to start tomorrow superseded v1 at once: the brochure was off the
    # catalogue, shares and links until then. Upgrading hands it over at v2's start instead.
    for later in [f for f in sql_files(folder) if int(f.name[:4]) >= 33]:
        later.unlink()
    await migrate.migrate(scratch_db, folder)
    conn = await asyncpg.connect(scratch_db)
    try:
        unit, user, brochure = uuid7(), uuid7(), uuid7()
        await conn.execute(
            "insert into org_units (id, name, parent_id, path, depth)"
            " values ($1, '总行', null, $2, 0)",
            unit, f"/{unit}/",
        )  # fmt: skip
        await conn.execute(
            "insert into users (id, login, name, role, org_unit_id, password_hash)"
            " values ($1, 'mkt', '市场', 'marketing', $2, 'x')",
            user, unit,
        )  # fmt: skip
        await conn.execute(
            "insert into products (code, name, category, risk_level)"
            " values ('P1', '产品', '理财', 2)"
        )
        await conn.execute(
            "insert into brochures (id, owner_unit_id, created_by) values ($1, $2, $3)",
            brochure, unit, user,
        )  # fmt: skip
        for version, status, days in ((1, "superseded", -30), (2, "published", 1)):
            await conn.execute(
                """insert into brochure_versions (brochure_id, version, title, product_code, pages,
                        content_hash, status, approved_hash, live_from, created_by, published_by,
                        published_at)
                    values ($1, $2, '手册', 'P1', array[$3::bytea], $3, $4, $3,
                            now() + make_interval(days => $5), $6, $6,
                            now() - interval '30 days')""",
                brochure, version, bytes(32), status, days, user,
            )  # fmt: skip
        told = await conn.fetchval("select count(*) from sync_log where entity = 'brochure'")
    finally:
        await conn.close()

    await migrate.migrate(scratch_db, migrate.default_directory())
    conn = await asyncpg.connect(scratch_db)
    try:
        handover = await conn.fetchrow(
            """select o.replaced_at = n.live_from as at_start
                 from brochure_versions o join brochure_versions n using (brochure_id)
                where o.version = 1 and n.version = 2"""
        )
        assert handover is not None
        assert handover["at_start"]
        now_told = await conn.fetchval("select count(*) from sync_log where entity = 'brochure'")
        assert now_told == told + 1  # devices are told it is back
    finally:
        await conn.close()
