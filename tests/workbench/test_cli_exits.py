"""What stops the `workbench` commands, run as real processes: one line (or one listed setting),
exit 2, no traceback, no password.

- `rotate-keys --batch` below 1 is refused before anything is read or written.
- `worker` checks the schema as `serve` does: newer than the code, or pending without
  WORKBENCH_MIGRATE_ON_START, stops it; and it needs Redis at start.
- A malformed DATABASE_URL or REDIS_URL (a port that is no number, an IPv6 address without its
  closing bracket, a Redis database that is no number) is named as a setting.
- `migrate` on a database newer than the code, or with an applied migration edited, exits 2.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import asyncpg
import pytest

from tests.customers_data import customer_row, feed, headers_of
from tests.workbench.security.test_rotation import NEW, data_keys, key_ids
from tests.workbench.test_cli import assert_one_line, run_cli, service_env
from workbench import migrate
from workbench.embedded import free_port

PASSWORD = "Sekr3t-pw"


def newer_migrations(tmp_path: Path) -> tuple[Path, int]:
    """The code's migrations and one more, as a newer release has them."""
    newer = tmp_path / "migrations"
    shutil.copytree(migrate.default_directory(), newer)
    version = len(migrate.load()) + 1
    (newer / f"{version:04d}_from_the_future.sql").write_text("create table later (id int);\n")
    return newer, version


# ---- rotate-keys --batch -----------------------------------------------------------------------


@pytest.mark.parametrize("batch", ["0", "-5"])
@pytest.mark.usefixtures("demo_bank")
async def test_rotate_keys_refuses_a_batch_below_1_and_rotates_nothing(settings, db, client, batch):
    admin = await headers_of(client, "admin")
    rows = [customer_row(f"B-{i}", name="周星星", seq=i) for i in range(3)]
    assert (await feed(client, admin, "customers", rows))["inserted"] == 3
    old = settings.data_keys[0]
    env = service_env(settings.database_url, WORKBENCH_DATA_KEYS=data_keys(NEW, old))

    result = run_cli("rotate-keys", "--batch", batch, env=env, timeout=60)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"workbench rotate-keys: error: argument --batch: must be at least 1, got {batch}"
    )
    assert "Traceback" not in result.stderr
    assert "can be removed" not in result.stdout
    assert {kid for _, _, kid in await key_ids(db)} == {old.kid}  # nothing rotated


# ---- worker: the schema, and Redis -------------------------------------------------------------


@pytest.mark.parametrize("migrate_on_start", ["true", "false"])
async def test_worker_on_a_database_newer_than_the_code_says_so_and_exits_2(
    scratch_db, tmp_path, migrate_on_start
):
    newer, version = newer_migrations(tmp_path)
    await migrate.migrate(scratch_db, newer)
    env = service_env(scratch_db, WORKBENCH_MIGRATE_ON_START=migrate_on_start)

    result = run_cli("worker", env=env, timeout=60)

    line = assert_one_line(result, f"workbench: migration {version:04d}_from_the_future")
    assert "older than the database" in line


async def test_worker_with_pending_migrations_and_no_migrating_at_start_exits_2(
    scratch_db, tmp_path
):
    older = tmp_path / "migrations"
    older.mkdir()
    *applied, _newest = sorted(migrate.default_directory().glob("*.sql"))
    for path in applied:
        shutil.copy(path, older)
    await migrate.migrate(scratch_db, older)
    env = service_env(scratch_db, WORKBENCH_MIGRATE_ON_START="false")

    result = run_cli("worker", env=env, timeout=60)

    line = assert_one_line(result, "workbench: 1 migration(s) pending")
    assert "workbench migrate" in line
    assert await migrate.pending(scratch_db) != []  # the worker migrated nothing


def test_worker_without_redis_at_start_says_so_in_one_line_and_exits_2(settings):
    port = free_port()  # nothing listens there
    env = service_env(
        settings.database_url,
        REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
        WORKBENCH_DATA_KEYS=data_keys(*settings.data_keys),
    )

    started = time.monotonic()
    result = run_cli("worker", env=env, timeout=60)

    line = assert_one_line(result, "workbench: cannot use Redis (REDIS_URL): ")
    assert str(port) in line
    assert PASSWORD not in result.stdout + result.stderr
    assert time.monotonic() - started < 30


# ---- malformed URLs ----------------------------------------------------------------------------

MALFORMED: list[tuple[str, str, str]] = [
    ("DATABASE_URL", f"postgresql://u:{PASSWORD}@127.0.0.1:notaport/qa_ops", "port"),
    ("DATABASE_URL", f"postgresql://u:{PASSWORD}@[::1/qa_ops", "IPv6"),
    ("DATABASE_URL", f"postgresql://u:{PASSWORD}@::1:5432/qa_ops", "IPv6"),
    ("DATABASE_URL", f"postgresql://u:{PASSWORD}@db:70000/qa_ops", "port"),
    ("REDIS_URL", f"redis://:{PASSWORD}@cache:notaport/11", "port"),
    ("REDIS_URL", f"redis://:{PASSWORD}@cache:6379/eleven", "database number"),
    ("REDIS_URL", f"redis://:{PASSWORD}@[::1:6379/0", "IPv6"),
]


@pytest.mark.parametrize(
    ("command", "variable", "url", "problem"),
    [
        (command, *case)
        for case in MALFORMED
        for command in ("serve", "worker", "migrate")
        if not (command == "migrate" and case[0] == "REDIS_URL")  # it reads DATABASE_URL only
    ],
)
def test_a_malformed_url_is_named_as_a_setting_without_its_password(
    settings, command, variable, url, problem
):
    env = service_env(settings.database_url, **{variable: url})
    args = ["serve", "--port", str(free_port())] if command == "serve" else [command]

    result = run_cli(*args, env=env, timeout=60)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[0] == "workbench: invalid configuration:", result.stderr
    problems = result.stderr.splitlines()[1:]
    assert len(problems) == 1, result.stderr
    assert problems[0].startswith(f"  - {variable}: "), result.stderr
    assert problem in problems[0]
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert PASSWORD not in output
    assert url not in output


# ---- migrate -------------------------------------------------------------------------------------


async def test_migrate_on_a_database_newer_than_the_code_exits_2(scratch_db, tmp_path):
    newer, version = newer_migrations(tmp_path)
    await migrate.migrate(scratch_db, newer)

    result = run_cli("migrate", env=service_env(scratch_db), timeout=60)

    line = assert_one_line(result, f"workbench: migration {version:04d}_from_the_future")
    assert "older than the database" in line


async def test_migrate_with_an_applied_migration_edited_exits_2(scratch_db):
    await migrate.migrate(scratch_db)
    conn = await asyncpg.connect(scratch_db)
    try:
        await conn.execute("update schema_migrations set checksum = 'edited' where version = 1")
    finally:
        await conn.close()

    result = run_cli("migrate", env=service_env(scratch_db), timeout=60)

    line = assert_one_line(result, "workbench: migration 0001_")
    assert "was edited after it was applied" in line
