"""`workbench import customers`: what it prints (where a batch scheduler logs it) names lines,
columns and reasons, never a line's values: a file without its header line is refused naming the
missing columns, not echoing its first line (a customer's name, ID number and phone)."""

from __future__ import annotations

import pytest

from tests.workbench.customers.test_cli_import_and_rotation import GOOD_ID, cli, data_key

HEADER = "external_id,name,id_number,phone,owner_login,risk_level"
DATA = ("QA-X", "张三", "110105198209210009", "13912345678", "rm01", "C2")


@pytest.fixture
def current_keys(settings) -> str:
    return data_key(settings.data_keys[0].kid, settings.data_keys[0].key)


async def test_a_file_without_its_header_is_refused_without_echoing_its_first_line(
    settings, db, tmp_path, current_keys
):
    csv_file = tmp_path / "nohdr.csv"
    csv_file.write_text(",".join(DATA) + "\n", encoding="utf-8")
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 2
    output = result.stdout + result.stderr
    for value in DATA:
        assert value not in output
    assert (
        "missing column(s): external_id, name, id_number, phone, owner_login, risk_level"
        in result.stderr
    )
    assert f"The first line must be the header: {HEADER}" in result.stderr
    assert await db.fetchval("select count(*) from customers") == 0


async def test_a_header_names_only_the_columns_it_knows(settings, db, tmp_path, current_keys):
    csv_file = tmp_path / "odd.csv"
    csv_file.write_text(f"external_id,name,13912345678,{GOOD_ID}\nX,张三,1,2\n", encoding="utf-8")
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 2
    assert "missing column(s): id_number, phone, owner_login, risk_level" in result.stderr
    assert "found: external_id, name and 2 column(s)" in result.stderr
    assert "13912345678" not in result.stderr
    assert GOOD_ID not in result.stderr


@pytest.mark.usefixtures("demo_bank")
async def test_a_rejected_line_is_told_without_its_values(settings, db, tmp_path, current_keys):
    # An owner_login the bank's export filled with a phone number; a name holding a NUL.
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        f"{HEADER}\n"
        f"OK-1,赵六,{GOOD_ID},13900001111,rm02,C2\n"
        f"BAD-1,钱七,{GOOD_ID},13900001112,13987654321,C2\n"
        f"BAD-2,孙\x00八,{GOOD_ID},13900001113,rm02,C2\n",
        encoding="utf-8",
    )
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "line 3: customer.unknown_owner: no user with the owner_login given",
        "line 4: request.nul_character: name: must not contain NUL characters",
        "inserted 1, updated 0, unchanged 0, rejected 2",
    ]
