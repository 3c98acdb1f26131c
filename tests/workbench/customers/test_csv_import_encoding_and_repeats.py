"""`workbench import customers FILE.csv`: a file that is not UTF-8 is refused whole with a clear
message (exit 2, nothing imported); an external id repeated anywhere in the file is a duplicate,
whichever chunk the two lines fall in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.customers_data import id_number, phone
from tests.workbench.customers.test_cli_import_and_rotation import cli, data_key
from workbench.customers.csv_import import CsvProblem, import_customers
from workbench.db import Pool, create_pool
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

HEADER = "external_id,name,id_number,phone,owner_login,risk_level\n"


def line(n: int, *, name: str = "赵六", owner: str = "rm01") -> str:
    return f"CSV-{n},{name},{id_number(n)},{phone(n)},{owner},C2\n"


@pytest.fixture
def current_keys(settings) -> str:
    return data_key(settings.data_keys[0].kid, settings.data_keys[0].key)


@pytest.fixture
async def pool(settings) -> AsyncIterator[Pool]:
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("encoding", "text", "bad_line"),
    [
        # Excel's plain "CSV" on a Chinese Windows: GBK; the first name is on line 2.
        ("gbk", HEADER + line(1, name="张三") + line(2), 2),
        # A header that is not UTF-8 itself (it failed before the header was even checked).
        ("latin-1", HEADER.replace("risk_level", "risk_level,ségment") + "X\n", 1),
        # Only a late line (those before are ASCII), past what the first read decodes.
        ("gbk", HEADER + "".join(line(n, name="Zhao") for n in range(1, 400)) + line(400), 401),
    ],
)
async def test_a_file_that_is_not_utf8_is_refused_whole_with_a_clear_message(
    settings, db, tmp_path, current_keys, encoding, text, bad_line
):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_bytes(text.encode(encoding))
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        f"workbench: {csv_file} is not UTF-8 text (line {bad_line} is not): nothing was"
        ' imported. Save it as UTF-8 (in Excel: Save As, file type "CSV UTF-8 (Comma'
        ' delimited)") and import it again\n'
    )
    assert result.stdout == ""
    assert await db.fetchval("select count(*) from customers") == 0


async def test_a_late_undecodable_line_changes_nothing_even_after_full_chunks(
    settings, db, tmp_path, pool
):
    csv_file = tmp_path / "customers.csv"
    good = HEADER + "".join(line(n) for n in range(1, 400))
    csv_file.write_bytes(good.encode() + line(400, name="王五").encode("gbk"))
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    with pytest.raises(CsvProblem) as refused:
        await import_customers(pool, vault=vault, path=csv_file, chunk_size=2)
    assert await db.fetchval("select count(*) from customers") == 0  # no chunk landed before
    assert "line 401 is not" in str(refused.value)


async def test_a_bom_and_a_line_too_long_for_csv(settings, db, tmp_path, current_keys):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("\ufeff" + HEADER + line(1), encoding="utf-8")
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "inserted 1, updated 0, unchanged 0, rejected 0\n"

    csv_file.write_text(HEADER + line(2) + "x" * 200_000 + ",a,b,c,d,e\n", encoding="utf-8")
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "line 3 cannot be read as CSV (field larger than field limit" in result.stderr
    assert await db.fetchval("select count(*) from customers") == 1


async def test_a_repeat_in_a_later_chunk_is_a_duplicate_as_within_one(settings, db, tmp_path, pool):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        HEADER
        + line(1)  # line 2
        + line(2)  # line 3
        + line(3, name="孙八").replace(phone(3), "139")  # line 4: rejected (bad phone)
        + line(1, owner="rm02")  # line 5: CSV-1 again, two chunks on
        + line(3)  # line 6: the first CSV-3 was rejected, so this one is its first
        + line(2, name="钱七"),  # line 7: CSV-2 again
        encoding="utf-8",
    )
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    totals, rejected = await import_customers(pool, vault=vault, path=csv_file, chunk_size=2)
    duplicate = ("customer.duplicate_in_feed", "This external_id came earlier in the same feed")
    assert sorted(rejected) == [
        (4, "customer.bad_phone", "not a mainland mobile number (11 digits starting 13-19)"),
        (5, *duplicate),
        (7, *duplicate),
    ]
    assert (totals.inserted, totals.updated, totals.unchanged) == (3, 0, 0)
    owners = await db.fetch(
        """select c.external_id, u.login from customers c join users u on u.id = c.owner_id
           order by 1"""
    )
    # CSV-1 stayed with its first line's RM: the repeat did not move it.
    assert [(r["external_id"], r["login"]) for r in owners] == [
        ("CSV-1", "rm01"), ("CSV-2", "rm01"), ("CSV-3", "rm01"),
    ]  # fmt: skip


async def test_the_cli_rejects_a_repeat_10000_lines_later(settings, db, tmp_path, current_keys):
    csv_file = tmp_path / "customers.csv"
    with csv_file.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(1, 10_002):
            out.write(line(n))
        out.write(line(1, owner="rm02"))  # line 10,003: in the second chunk
    result = cli(settings, "import", "customers", str(csv_file), data_keys=current_keys)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "line 10003: customer.duplicate_in_feed: This external_id came earlier in the same feed",
        "inserted 10001, updated 0, unchanged 0, rejected 1",
    ]
    owner = await db.fetchval(
        """select u.login from customers c join users u on u.id = c.owner_id
           where c.external_id = 'CSV-1'"""
    )
    assert owner == "rm01"


async def test_a_line_with_more_or_fewer_fields_than_the_header_is_rejected(
    settings, db, tmp_path, pool
):
    # An amount written 1,250,000.50 without quotes is three fields: before, the last two were
    # dropped and the customer stored with an AUM of 1.00, the file reported as all imported.
    header = HEADER.rstrip("\n") + ",segment,tags,aum\n"
    unquoted = line(1).rstrip("\n") + ",mass,vip,1,250,000.50\n"  # line 2
    quoted = line(2).rstrip("\n") + ',mass,vip,"1,250,000.50"\n'  # line 3
    short = f"CSV-3,钱七,{id_number(3)},{phone(3)},rm01\n"  # line 4: no risk level
    multi = line(4).replace("赵六", '"赵\n六"')  # lines 5-6: one record over two lines
    bad = f"  ,钱八,{id_number(5)},{phone(5)},rm01,C2\n"  # line 7: no external id
    csv_file = tmp_path / "fields.csv"
    csv_file.write_text(header + unquoted + quoted + short + multi + bad, encoding="utf-8")
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)

    totals, rejected = await import_customers(pool, vault=vault, path=csv_file)

    assert totals.inserted == 1  # CSV-2 (the name with a line break is refused as a name)
    assert str(await db.fetchval("select aum from customers where external_id = 'CSV-2'")) == (
        "1250000.50"
    )
    assert await db.fetchval("select count(*) from customers where external_id = 'CSV-1'") == 0
    told = {number: detail for number, _, detail in rejected}
    assert told[2].startswith("the line has 2 more field(s) than the header")
    assert told[4] == "the line has fewer fields than the header: no risk_level"
    assert 5 in told  # the record's first line, not its last
    assert "Expected" not in told[7]
    assert "external_id" in told[7]
