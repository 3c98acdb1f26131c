"""A database dump holds no plaintext personal data: names, ID numbers, phones, note texts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pgserver
import pytest

from tests.customers_data import CUSTOMERS, customer_ids, customer_row, feed, headers_of
from tests.customers_data import id_number as make_id_number

pytestmark = pytest.mark.usefixtures("demo_bank")

PG_DUMP = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"

PEOPLE = [
    # external id, name, ID number, phone
    ("EXT-DUMP-0001", "钱多多", "11010519491231002X", "13812345678"),
    ("EXT-DUMP-0002", "欧阳娜娜", make_id_number(4242, region="310104"), "15987654321"),
    ("EXT-DUMP-0003", "Wang Xiaoming", make_id_number(777, region="440305"), "18600001234"),
    ("EXT-DUMP-0004", "孙悟", make_id_number(9001, region="510107"), "19911112222"),
]
NOTE_TEXT = "客户计划明年在浦东购房，需要房贷咨询"


async def pg_dump(database_url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(PG_DUMP),
        f"--dbname={database_url}",
        "--no-owner",
        "--no-privileges",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    return out.decode()


async def test_database_dump_contains_no_plaintext_personal_data(client, db, settings):
    admin = await headers_of(client, "admin")
    rm01 = await headers_of(client, "rm01")
    rows = [
        customer_row(ext, name=name, id_no=id_no, mobile=phone, owner="rm01", aum=1000 * i)
        for i, (ext, name, id_no, phone) in enumerate(PEOPLE)
    ]
    # The feed sends phones and ID numbers in the shapes banks use, not only the normal form.
    rows[0]["phone"] = "+86 138-1234-5678"
    rows[0]["id_number"] = rows[0]["id_number"].lower()
    assert (await feed(client, admin, "customers", rows))["inserted"] == len(PEOPLE)
    ids = await customer_ids(db)

    # Use the product the way an RM does: notes, searches, detail views, a verification.
    first = f"{CUSTOMERS}/{ids['EXT-DUMP-0001']}"
    note = await client.post(
        f"{first}/notes", json={"kind": "visit", "text": NOTE_TEXT}, headers=rm01
    )
    assert note.status_code == 201
    for _, name, id_no, phone in PEOPLE:
        for q in (name, id_no, phone):
            found = await client.get(CUSTOMERS, params={"q": q}, headers=rm01)
            assert len(found.json()["items"]) == 1, (q, found.text)
    assert (await client.get(first, headers=rm01)).status_code == 200
    invite = await client.post(f"{first}/verification-invites", headers=rm01)
    page = "/v/" + invite.json()["url"].split("/v/", 1)[1]
    _, name, id_no, phone = PEOPLE[0]
    wrong = await client.post(page, data={"name": name, "id_number": id_no, "phone": "13800000000"})
    assert wrong.status_code == 200  # 303 back to the form, which says so
    right = await client.post(page, data={"name": name, "id_number": id_no, "phone": phone})
    assert right.status_code == 200

    dump = await pg_dump(settings.database_url)

    # The dump does have the rows (external ids are not personal data) ...
    for ext, *_ in PEOPLE:
        assert ext in dump
    assert "COPY public.customers" in dump
    assert "COPY public.customer_timeline" in dump
    # ... but none of their personal data, in any form: text, or hex of a plaintext bytea.
    secrets: list[str] = [NOTE_TEXT, "13800000000"]
    for _, name, id_no, phone in PEOPLE:
        secrets += [name, name.lower(), id_no, id_no.lower(), id_no[:17], phone]
        secrets += [
            f"{phone[:3]} {phone[3:7]} {phone[7:]}",
            f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
        ]
    for secret in secrets:
        assert secret not in dump, f"the dump contains {secret!r}"
        assert secret.encode().hex() not in dump, f"the dump contains {secret!r} as hex"
