"""Formula-looking text in the exports: the CSV quotes it (an apostrophe first, so a spreadsheet
program does not run it), the XLSX holds it as typed in a text cell (never a formula), without
the CSV's apostrophe showing."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.results_data import RESULTS, add_customer, publish, respond
from workbench.db import use_json_codecs
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
async def survey(settings: Any, db: Any) -> Any:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish(db)
    customer = await add_customer(db, vault, "=王五")
    await respond(db, vault, survey_id, {"score": 3, "topics": ["wealth"]},
                  texts={"reason": FORMULA, "comment": "+86 好"}, customer_id=customer,
                  sent_at=DAY)  # fmt: skip
    return survey_id


async def test_the_csv_quotes_formula_looking_text(client: Any, survey: Any) -> None:
    response = await client.get(
        RESULTS.format(survey) + ".csv", headers=await headers_of(client, "admin")
    )
    assert response.status_code == 200, response.text
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    row = dict(zip(table[0], table[1], strict=True))
    assert row["reason 请告诉我们原因"] == "'" + FORMULA
    assert row["comment 其他建议"] == "'+86 好"
    assert row["答题人"] == "*"  # an admin sees a customer's name as `*`


async def test_the_xlsx_holds_the_text_as_typed_never_as_a_formula(
    client: Any, survey: Any
) -> None:
    response = await client.get(
        RESULTS.format(survey) + ".xlsx", headers=await headers_of(client, "bh.east")
    )
    assert response.status_code == 200, response.text
    sheet = zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml")
    xml = sheet.decode()
    assert "<f>" not in xml  # no cell is a formula
    texts = re.findall(r'<c r="[A-Z]+2" t="inlineStr"><is><t[^>]*>([^<]*)</t></is></c>', xml)
    unescaped = [t.replace("&quot;", '"').replace("&amp;", "&") for t in texts]
    assert FORMULA in unescaped
    assert "+86 好" in unescaped
    assert "=*五" in unescaped  # a branch head sees the masked name, as typed
    assert not any(t.startswith("'") for t in unescaped)
