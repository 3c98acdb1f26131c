"""`workbench import customers FILE.csv` and `workbench rotate-keys`, run as an operator would."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import bearer, login
from workbench.security.vault import key_id
from workbench.settings import DataKey

ROOT = Path(__file__).resolve().parents[3]
GOOD_ID = "11010519491231002X"


def cli(settings, *args: str, data_keys: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        WORKBENCH_JWT_KEYS="k:" + base64.b64encode(settings.jwt_keys[0].seed).decode(),
        WORKBENCH_DATA_KEYS=data_keys,
        WORKBENCH_BLIND_INDEX_KEY=base64.b64encode(settings.blind_index_key).decode(),
    )
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def data_key(kid: str, key: bytes) -> str:
    return f"{kid}:{base64.b64encode(key).decode()}"


@pytest.fixture
def current_keys(settings) -> str:
    return data_key(settings.data_keys[0].kid, settings.data_keys[0].key)


@pytest.mark.usefixtures("demo_bank")
async def test_csv_import_lands_good_lines_and_names_bad_ones(settings, db, tmp_path, current_keys):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "\ufeffexternal_id,name,id_number,phone,owner_login,risk_level,segment,tags,aum\n"
        f'CSV-1,赵六,{GOOD_ID},13900001111,rm02,C2,mass,vip;payroll,"12,000.50"\n'
        f"CSV-2,钱七,{GOOD_ID[:-1]}1,13900001112,rm02,C2,,,\n"
        f"CSV-3,孙八,{GOOD_ID},139,rm02,C2,,,\n"
        f"CSV-4,李九,{GOOD_ID},13900001114,rm02,C2,,,lots\n"
        f"CSV-5,周十,{GOOD_ID},13900001115,rm02,C2,,,999999999999999999.999\n",
        encoding="utf-8",
    )

    first = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert first.returncode == 1, first.stderr  # some lines were rejected
    assert "line 3: customer.bad_id_number" in first.stdout
    assert "line 4: customer.bad_phone" in first.stdout
    assert "line 5: customer.unreadable" in first.stdout
    assert "line 6: customer.unreadable" in first.stdout  # an aum no column holds: that line
    assert "10^18" in first.stdout
    assert "inserted 1" in first.stdout
    row = await db.fetchrow("select tags, aum, segment from customers where external_id = 'CSV-1'")
    assert (sorted(row["tags"]), str(row["aum"]), row["segment"]) == (
        ["payroll", "vip"], "12000.50", "mass",
    )  # fmt: skip

    again = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert "inserted 0, updated 0, unchanged 1, rejected 4" in again.stdout


@pytest.mark.usefixtures("demo_bank")
async def test_a_csv_line_breaking_a_contract_rule_is_rejected_alone(
    settings, db, tmp_path, current_keys
):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "external_id,name,id_number,phone,owner_login,risk_level\n"
        f"KEY-1,赵六,{GOOD_ID},13900001111,rm02,C2\n"
        f",钱七,{GOOD_ID},13900001112,rm02,C2\n"
        f"{'K' * 65},孙八,{GOOD_ID},13900001113,rm02,C2\n"
        f"KEY-4,李九,{GOOD_ID},13900001114,rm02,C2\n",
        encoding="utf-8",
    )
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("line 3: customer.unreadable: ")
    assert "$.external_id" in lines[0]
    # Over 64 characters once trimmed: the feed's own rule, as for a row sent as JSON.
    assert lines[1] == "line 4: customer.bad_external_id: external_id must have 1 to 64 characters"
    assert lines[2] == "inserted 2, updated 0, unchanged 0, rejected 2"
    stored = await db.fetch("select external_id from customers order by 1")
    assert [r["external_id"] for r in stored] == ["KEY-1", "KEY-4"]


@pytest.mark.usefixtures("demo_bank")
async def test_a_line_the_database_refuses_is_named_without_its_data(
    settings, db, tmp_path, current_keys
):
    # A rule only the database knows (here one added for the test): the line is rejected by
    # number, the error's data (the failing row, ciphertexts and blind indexes) is never printed,
    # and the other lines still land.
    await db.execute(
        "alter table customers add constraint test_refused check (segment <> 'refused')"
    )
    try:
        csv_file = tmp_path / "customers.csv"
        csv_file.write_text(
            "external_id,name,id_number,phone,owner_login,risk_level,segment\n"
            f"DB-1,赵六,{GOOD_ID},13900001111,rm02,C2,mass\n"
            f"DB-2,钱七,{GOOD_ID},13900001112,rm02,C2,refused\n"
            f"DB-1,孙八,{GOOD_ID},13900001113,rm02,C2,mass\n"
            f"DB-4,李九,{GOOD_ID},13900001114,rm02,C2,\n",
            encoding="utf-8",
        )
        result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    finally:
        await db.execute("alter table customers drop constraint test_refused")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "line 3: customer.refused_by_database: CheckViolationError (test_refused)",
        "line 4: customer.duplicate_in_feed: This external_id came earlier in the same feed",
        "inserted 2, updated 0, unchanged 0, rejected 2",
    ]
    assert result.stderr == ""
    stored = await db.fetch("select external_id from customers order by 1")
    assert [r["external_id"] for r in stored] == ["DB-1", "DB-4"]


async def test_csv_without_required_columns_is_refused_whole(settings, db, tmp_path, current_keys):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("external_id,name\nX,张三\n", encoding="utf-8")
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 2
    assert "missing column(s): id_number, phone, owner_login, risk_level" in result.stderr
    assert await db.fetchval("select count(*) from customers") == 0


@pytest.mark.usefixtures("demo_bank")
async def test_rotate_keys_reencrypts_and_old_data_stays_readable(
    settings, db, tmp_path, current_keys, make_client
):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "external_id,name,id_number,phone,owner_login,risk_level\n"
        f"ROT-1,周星星,{GOOD_ID},13900002222,rm01,C3\n",
        encoding="utf-8",
    )
    assert (
        cli(settings, "import", "customers", str(csv_file), data_keys=current_keys).returncode == 0
    )
    old_kid = settings.data_keys[0].kid
    assert key_id(await db.fetchval("select phone_enc from customers")) == old_kid

    rotated = f"{data_key('data-2', b'n' * 32)},{current_keys}"
    result = cli(settings, "rotate-keys", data_keys=rotated)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted under data-2: 1 customers" in result.stdout
    row = await db.fetchrow("select name_enc, id_number_enc, phone_enc from customers")
    assert {key_id(bytes(v)) for v in row.values()} == {"data-2"}
    # Running it again finds nothing left to do.
    assert "0 customers" in cli(settings, "rotate-keys", data_keys=rotated).stdout

    # An API with the new key first (old kept) reads the data; so searches by blind index.
    client = await make_client(data_keys=(DataKey("data-2", b"n" * 32), settings.data_keys[0]))
    tokens = await login(client, "rm01")
    listed = await client.get("/api/v1/customers", params={"q": "周星星"}, headers=bearer(tokens))
    assert [c["name"] for c in listed.json()["items"]] == ["周*星"]
