"""A phone or ID number a customer types into a comment is masked wherever staff read the
comments (the answers list, the console, the exports), as the app's snippets are; the word
search still finds the comment."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.workbench.surveys.results_data import RESULTS, add_customer, publish, respond
from workbench.db import use_json_codecs
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)
TYPED = (
    "理财经理很耐心，回电 13800138001 或查身份证 110105198001010016，"
    "全角１３９００１３９０００，分段 138.0013.8000"  # a Chinese keyboard's full-width digits
)
SHOWN = (
    "理财经理很耐心，回电 138******01 或查身份证 110*************16，"
    "全角１３９******００，分段 138********00"
)


async def test_numbers_typed_into_a_comment_are_masked_for_every_reader(
    client: Any, settings: Any, db: Any
) -> None:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey = await publish(db)
    customer = await add_customer(db, vault, "张三")
    await respond(db, vault, survey, {"score": 9}, texts={"comment": TYPED},
                  customer_id=customer, sent_at=DAY)  # fmt: skip
    for login in ("marketing", "admin", "bh.east"):
        headers = await headers_of(client, login)
        found = await client.get(
            RESULTS.format(survey) + "/answers", params={"term": "耐心"}, headers=headers
        )
        assert found.status_code == 200, found.text
        assert [a["text"] for a in found.json()["items"]] == [SHOWN], login
        exported = await client.get(RESULTS.format(survey) + ".csv", headers=headers)
        table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        row = dict(zip(table[0], table[1], strict=True))
        assert row["comment 其他建议"] == SHOWN, login
        assert "13800138001" not in exported.text
