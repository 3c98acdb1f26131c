"""The words of text answers in results, each linking to the answers containing it (decrypted,
customers masked, scoped), and the CSV and XLSX exports of every response."""

from __future__ import annotations

import csv
import io
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


@pytest.fixture
async def survey(settings: Any, db: Any) -> dict[str, Any]:
    """Three customers' answers in the east branch, one staff answer in the west."""
    await use_json_codecs(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    survey_id = await publish(db)
    zhang = await add_customer(db, vault, "张小三")
    li = await add_customer(db, vault, "李四", owner="rm02")
    wang = await add_customer(db, vault, "=王五")
    await respond(db, vault, survey_id, {"score": 3, "topics": ["wealth", "card"]},
                  texts={"reason": "等待时间太长，服务态度一般"}, customer_id=zhang,
                  sent_at=DAY)  # fmt: skip
    await respond(db, vault, survey_id, {"score": 5}, texts={"reason": "排队等待时间太长了"},
                  customer_id=li, sent_at=DAY + timedelta(hours=1))  # fmt: skip
    await respond(db, vault, survey_id, {"score": 10},
                  texts={"comment": "服务态度很好，客户经理很专业"}, customer_id=wang,
                  sent_at=DAY + timedelta(hours=2))  # fmt: skip
    await respond(db, vault, survey_id, {"score": 2}, texts={"reason": "等待时间太长"},
                  team="team-west-1", sent_at=DAY - timedelta(hours=1))  # fmt: skip
    return {"id": survey_id}


async def test_top_terms_count_answers_and_link_to_them(
    client: Any, survey: dict[str, Any]
) -> None:
    headers = await headers_of(client, "bh.east")
    body = (await client.get(RESULTS.format(survey["id"]), headers=headers)).json()
    assert body["top_terms"][:2] == [  # most answers first, then by term
        {"term": "服务态度", "count": 2},
        {"term": "等待时间", "count": 2},
    ]
    terms = {t["term"] for t in body["top_terms"]}
    assert "很" not in terms
    assert "了" not in terms
    reason = next(q for q in body["questions"] if q["key"] == "reason")
    assert reason["answered"] == 2
    assert reason["top_terms"][0] == {"term": "等待时间", "count": 2}

    answers = await client.get(
        RESULTS.format(survey["id"]) + "/answers", params={"term": "等待时间"}, headers=headers
    )
    assert answers.status_code == 200, answers.text
    items = answers.json()["items"]
    assert [(i["text"], i["respondent"], i["org_unit_name"]) for i in items] == [
        ("排队等待时间太长了", "李*", "东城一组 East Team 1"),
        ("等待时间太长，服务态度一般", "张*三", "东城一组 East Team 1"),
    ]
    only_comments = await client.get(
        RESULTS.format(survey["id"]) + "/answers",
        params={"term": "服务态度", "question_key": "comment", "limit": 1},
        headers=headers,
    )
    assert [i["text"] for i in only_comments.json()["items"]] == ["服务态度很好，客户经理很专业"]

    west = await client.get(
        RESULTS.format(survey["id"]) + "/answers",
        params={"term": "等待时间"},
        headers=await headers_of(client, "bh.west"),
    )
    assert [(i["text"], i["respondent"]) for i in west.json()["items"]] == [
        ("等待时间太长", "员工（匿名）")
    ]


async def test_answers_page_by_page(client: Any, survey: dict[str, Any]) -> None:
    headers = await headers_of(client, "admin")
    url = RESULTS.format(survey["id"]) + "/answers"
    first = (await client.get(url, params={"term": "等待时间", "limit": 2}, headers=headers)).json()
    assert len(first["items"]) == 2
    rest = await client.get(
        url, params={"term": "等待时间", "limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    )  # fmt: skip
    assert [i["text"] for i in rest.json()["items"]] == ["等待时间太长"]
    assert rest.json()["next_cursor"] is None


async def test_csv_export_has_a_bom_a_header_and_a_row_per_response(
    client: Any, survey: dict[str, Any]
) -> None:
    response = await client.get(
        RESULTS.format(survey["id"]) + ".csv", headers=await headers_of(client, "bh.east")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # one charset
    assert response.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:6] == ["回复编号", "发送日期", "提交时间", "机构", "答题人",
                            "score 您向亲友推荐我行的可能性有多大？"]  # fmt: skip
    assert len(table) == 4  # the branch's three responses
    first = dict(zip(table[0], table[1], strict=True))
    assert first["答题人"] == "张*三"
    assert first["reason 请告诉我们原因"] == "等待时间太长，服务态度一般"
    assert first["topics 您还关心哪些业务？"] == "理财、信用卡"
    assert table[3][4] == "'=*五"  # a formula-looking name is quoted


async def test_xlsx_export_is_a_workbook_with_the_same_rows(
    client: Any, survey: dict[str, Any]
) -> None:
    response = await client.get(
        RESULTS.format(survey["id"]) + ".xlsx", headers=await headers_of(client, "admin")
    )
    assert response.status_code == 200, response.text
    book = zipfile.ZipFile(io.BytesIO(response.content))
    assert "xl/worksheets/sheet1.xml" in book.namelist()
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    # header and the three customers' responses: the staff answer keeps no invitation (0054),
    # so it is no row of a customer survey's export (a real one has none: staff answer staff
    # surveys, whose exports hold figures only)
    assert sheet.count("<row ") == 4
    assert "等待时间太长" in sheet  # constant-memory mode writes strings inline


async def test_exports_keep_the_scope(client: Any, survey: dict[str, Any]) -> None:
    headers = await headers_of(client, "bh.west")
    outside = await client.get(
        RESULTS.format(survey["id"]) + ".csv",
        params={"org_unit_id": "5b1a4b7e-0000-5000-8000-000000000000"},
        headers=headers,
    )
    assert outside.status_code == 404
