"""Forward-only plain-SQL migrations, applied in order under a PostgreSQL advisory lock."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from workbench.db import Connection

# Any fixed 64-bit number: every process migrating this database takes the same lock.
_LOCK_KEY = 0x574B_4D49_4752  # "WKMIGR"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The database and the migration files disagree; the service must not start."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def default_directory() -> Path:
    return Path(str(resources.files("migrations")))


def load(directory: Path | None = None) -> list[Migration]:
    """Read `NNNN_name.sql` files in version order; a gap or duplicate version is an error."""
    folder = directory or default_directory()
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations carry version {version:04d}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(
            f"migration versions must run 0001, 0002, ... without gaps: {versions}"
        )
    return [found[v] for v in versions]


async def migrate(dsn: str, directory: Path | None = None) -> list[Migration]:
    """Apply every pending migration; return those applied by this call.

    Two processes running this at once serialize on the advisory lock: the second finds the work
    done. An applied migration whose file changed (or vanished) stops everything with an error.
    """
    migrations = load(directory)
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "workbench-migrate"})
    try:
        await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                """
                create table if not exists schema_migrations (
                    version     int primary key,
                    name        text not null,
                    checksum    text not null,
                    applied_at  timestamptz not null default now()
                )
                """
            )
            applied = await _applied(conn)
            _verify(migrations, applied)
            done = []
            for migration in migrations:
                if migration.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "insert into schema_migrations (version, name, checksum)"
                        " values ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                done.append(migration)
            return done
        finally:
            await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


async def pending(dsn: str, directory: Path | None = None) -> list[Migration]:
    """Migrations not yet applied; raises MigrationError if an applied one was edited."""
    migrations = load(directory)
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("select to_regclass('schema_migrations') is not null")
        applied = await _applied(conn) if exists else {}
    finally:
        await conn.close()
    _verify(migrations, applied)
    return [m for m in migrations if m.version not in applied]


async def _applied(conn: Connection) -> dict[int, tuple[str, str]]:
    rows = await conn.fetch("select version, name, checksum from schema_migrations")
    return {r["version"]: (r["name"], r["checksum"]) for r in rows}


def _verify(migrations: list[Migration], applied: dict[int, tuple[str, str]]) -> None:
    by_version = {m.version: m for m in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version:04d}_{name} is applied to the database but its file is gone;"
                " this code is older than the database"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{name}.sql was edited after it was applied"
                f" (recorded checksum {checksum[:12]}, file {migration.checksum[:12]});"
                " restore the file and put the change in a new migration"
            )
