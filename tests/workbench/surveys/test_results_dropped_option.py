"""An option a later version no longer offers is shown in results and exports by the label the
version that asked it gave it, as a work order shows it, never by its raw value."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import user
from tests.workbench.surveys.results_data import RESULTS, add_customer, publish, respond
from workbench.db import use_json_codecs
from workbench.security.vault import Vault

pytestmark = pytest.mark.usefixtures("demo_bank")

DAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)


def channel(*options: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"key": "score", "type": "nps", "text": "您向亲友推荐我行的可能性有多大？"},
        {
            "key": "channel",
            "type": "single",
            "text": "您通过什么渠道了解我行？",
            "options": [{"value": v, "label": label} for v, label in options],
        },
        {
            "key": "seen",
            "type": "multi",
            "text": "您看过哪些宣传？",
            "options": [{"value": v, "label": label} for v, label in options],
        },
    ]


async def publish_again(db: Any, survey_id: Any, version: int, questions: Any) -> None:
    await db.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, $2, '网点服务满意度', 'customer', $3::jsonb, $4)""",
        survey_id, version, questions, user("marketing"),
    )  # fmt: skip
    await db.execute(
        "update surveys set version = $2, questions = $3::jsonb where id = $1",
        survey_id, version, questions,
    )  # fmt: skip


async def test_a_dropped_option_keeps_its_label(client: Any, settings: Any, db: Any) -> None:
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey = await publish(db, questions=channel(("a", "网点"), ("c", "其他")))
    await publish_again(db, survey, 2, channel(("a", "网点"), ("b", "手机银行")))
    customer = await add_customer(db, vault, "张三")
    await respond(db, vault, survey, {"score": 9, "channel": "c", "seen": ["a", "c"]},
                  customer_id=customer, sent_at=DAY)  # fmt: skip

    headers = await headers_of(client, "marketing")
    body = (await client.get(RESULTS.format(survey), headers=headers)).json()
    asked = {q["key"]: q for q in body["questions"]}
    assert [(d["value"], d["label"], d["count"]) for d in asked["channel"]["distribution"]] == [
        ("a", "网点", 0),
        ("b", "手机银行", 0),
        ("c", "其他", 1),  # no longer offered: after the offered ones, by its label
    ]
    assert [(d["label"], d["count"]) for d in asked["seen"]["distribution"]] == [
        ("网点", 1),
        ("手机银行", 0),
        ("其他", 1),
    ]

    exported = await client.get(RESULTS.format(survey) + ".csv", headers=headers)
    assert exported.status_code == 200, exported.text
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    row = dict(zip(table[0], table[1], strict=True))
    assert row["channel 您通过什么渠道了解我行？"] == "其他"
    assert row["seen 您看过哪些宣传？"] == "网点、其他"

    book = await client.get(RESULTS.format(survey) + ".xlsx", headers=headers)
    assert book.status_code == 200
    with zipfile.ZipFile(io.BytesIO(book.content)) as archive:
        cells = "".join(
            archive.read(name).decode()
            for name in archive.namelist()
            if name in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml")
        )
    assert "其他" in cells


async def test_a_relabelled_option_reads_as_the_newest_version_words_it(
    client: Any, settings: Any, db: Any
) -> None:
    """Offered options keep the newest label (one label per value, as before); a dropped one
    the label of the newest version that offered it."""
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey = await publish(db, questions=channel(("a", "网点"), ("c", "其它")))
    await publish_again(db, survey, 2, channel(("a", "营业网点"), ("c", "其他渠道")))
    await publish_again(db, survey, 3, channel(("a", "营业厅"), ("b", "手机银行")))
    await respond(db, vault, survey, {"score": 9, "channel": "c"}, sent_at=DAY)
    await respond(db, vault, survey, {"score": 9, "channel": "a"}, sent_at=DAY)

    headers = await headers_of(client, "marketing")
    body = (await client.get(RESULTS.format(survey), headers=headers)).json()
    asked = {q["key"]: q for q in body["questions"]}
    assert [(d["label"], d["count"]) for d in asked["channel"]["distribution"]] == [
        ("营业厅", 1),
        ("手机银行", 0),
        ("其他渠道", 1),
    ]
