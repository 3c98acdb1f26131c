"""A staff survey's answers cannot be traced to a person by subtracting results: no scope, unit
row or period shown less another shown leaves fewer than MIN_STAFF_GROUP (5) answers, and its
exports hold figures, not a row per response. Results of a survey the caller may not see (a
draft, another branch's) are 404 as the survey is, and carry the published title."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.customers_data import headers_of
from tests.tasks_data import unit, user
from tests.workbench.surveys.results_data import QUESTIONS, RESULTS, publish, respond
from tests.workbench.surveys.staff_results_data import (
    DAY,
    EAST,
    EAST_1,
    EAST_2,
    TEXT,
    close_staff,
    publish_staff,
)
from workbench.db import use_json_codecs
from workbench.ids import uuid7
from workbench.security.vault import Vault
from workbench.surveys.results import MIN_STAFF_GROUP, shown_children

pytestmark = pytest.mark.usefixtures("demo_bank")


@pytest.fixture
async def vault(settings: Any, db: Any) -> Vault:
    await use_json_codecs(db)
    return Vault.from_settings(settings.data_keys, settings.blind_index_key)


async def _get(client: Any, who: str, path: str, **params: Any) -> Any:
    return await client.get(path, params=params, headers=await headers_of(client, who))


async def _answered(db: Any, vault: Vault, survey_id: uuid.UUID, units: dict[str, int]) -> None:
    """`units[key]` answers of staff of that unit, one a day back from DAY: stars 4, and 5 for
    the unit's own level's (`branch-*`, `head-office`), so that its answers would show; then
    the survey closed (its answers show only then)."""
    for key, many in units.items():
        stars = 4 if key.startswith("team-") else 5
        for n in range(many):
            await respond(db, vault, survey_id, {"score": 9, "stars": stars}, team=key,
                          sent_at=DAY - timedelta(days=n), texts=TEXT)  # fmt: skip
    await close_staff(db, survey_id)


def _stars(body: dict[str, Any]) -> dict[str, int]:
    [stars] = [q for q in body["questions"] if q["key"] == "stars"]
    return {d["value"]: d["count"] for d in stars["distribution"] if d["count"]}


async def test_a_branch_less_its_teams_never_leaves_the_heads_own_answers(
    client: Any, db: Any, vault: Vault
) -> None:
    # QA's case: East Branch 14 answers, two teams of 6 and the branch head's own 2. Before,
    # the branch and both teams were shown, and the branch less both teams was bh.east's 2.
    survey_id = await publish_staff(db)
    await _answered(db, vault, survey_id, {"team-east-1": 6, "team-east-2": 6, "branch-east": 2})
    url = RESULTS.format(survey_id)
    branch = (await _get(client, "admin", url, org_unit_id=str(unit("branch-east")),
                         group_by="org_unit")).json()  # fmt: skip
    assert (branch["responded"], branch["withheld"]) == (14, False)
    assert _stars(branch) == {"4": 12, "5": 2}
    rows = {row["name"]: row for row in branch["by_unit"]}
    assert {name: row["responded"] for name, row in rows.items()} == {
        EAST_1: 6, EAST_2: 6, f"{EAST}（本级）": 2,
    }  # fmt: skip
    shown = [name for name, row in rows.items() if not row["withheld"]]
    assert len(shown) == 1  # one team; the other joins 其他
    assert shown[0] in (EAST_1, EAST_2)

    for key, name in (("team-east-1", EAST_1), ("team-east-2", EAST_2)):
        scope = str(unit(key))
        body = (await _get(client, "admin", url, org_unit_id=scope)).json()
        assert body["responded"] == 6
        if name in shown:
            assert (body["withheld"], _stars(body)) == (False, {"4": 6})
            # the branch less the team shown: 8 answers, never the head's 2
            assert sum(_stars(branch).values()) - sum(_stars(body).values()) == 8
            continue
        assert (body["withheld"], body["csat"], _stars(body)) == (True, None, {})
        for path, params in (("/answers", {"term": "等待时间"}), (".csv", {}), (".xlsx", {})):
            refused = await _get(client, "admin", url + path, org_unit_id=scope, **params)
            assert refused.status_code == 409, (path, refused.text)
            assert refused.json()["code"] == "survey.too_few_answers"
            assert "has 6, but" in refused.json()["detail"]

    other = branch["other"]
    assert other["name"] == "其他（本级及不足 5 份的下级合并）"
    assert (other["responded"], other["withheld"]) == (8, False)
    assert other["csat"] == 1.0

    # The branch's export: its figures, no row per response (sent, submitted and mood together
    # were the answers of one person once the teams' rows were taken away).
    exported = await _get(client, "admin", url + ".csv", org_unit_id=str(unit("branch-east")))
    assert exported.status_code == 200, exported.text
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0] == ["部分", "机构", "题目", "项目", "数值"]
    lines = {tuple(line[:4]): line[4] for line in table[1:]}
    assert lines[("总体", EAST, "", "已回复")] == "14"
    assert lines[("其他", "其他（本级及不足 5 份的下级合并）", "", "已回复")] == "8"
    assert lines[("按机构", f"{EAST}（本级）", "", "CSAT")] == "不足 5 份或会被推算，不显示"
    assert lines[("分布", EAST, "stars 请为客户经理打分", "5")] == "2"


async def test_a_staff_survey_answers_for_its_whole_life_whatever_period_is_asked(
    client: Any, db: Any, vault: Vault, settings: Any
) -> None:
    # Seven answers a day apart: before, the week less its first six days was the last one.
    survey_id = await publish_staff(db)
    await _answered(db, vault, survey_id, {"team-east-1": 7})
    url = RESULTS.format(survey_id)
    zone = ZoneInfo(settings.bank_timezone)
    last = DAY.astimezone(zone).date()
    first = last - timedelta(days=6)
    bodies = [
        (await _get(client, "bh.east", url, **params)).json()
        for params in (
            {"from": last.isoformat(), "to": last.isoformat()},
            {"from": first.isoformat(), "to": (last - timedelta(days=1)).isoformat()},
            {"from": first.isoformat(), "to": last.isoformat()},
            {},
        )
    ]
    for body in bodies:
        assert (body["responded"], body["withheld"], _stars(body)) == (7, False, {"4": 7})
        assert datetime.fromisoformat(body["from"]).astimezone(zone).date() == first
        assert datetime.fromisoformat(body["to"]) > datetime.now(UTC)
        assert body["whole_survey"] is True
    one_day = await _get(client, "bh.east", url + "/answers", term="等待时间",
                         **{"from": last.isoformat(), "to": last.isoformat()})  # fmt: skip
    assert len(one_day.json()["items"]) == 7

    customer = await publish(db)  # a customer survey still reads the period asked
    body = (await _get(client, "bh.east", RESULTS.format(customer),
                       **{"from": last.isoformat()})).json()  # fmt: skip
    assert body["whole_survey"] is False
    assert datetime.fromisoformat(body["from"]).astimezone(zone).date() == last


async def test_a_branch_is_withheld_when_the_bank_less_it_would_be_head_office_few(
    client: Any, db: Any, vault: Vault
) -> None:
    # Six answers in East Team 1 and two of head office's own staff: the bank (8) less the
    # East Branch (6) would be head office's 2; so the branch and its team are withheld, for
    # its branch head too.
    survey_id = await publish_staff(db)
    await _answered(db, vault, survey_id, {"team-east-1": 6, "head-office": 2})
    url = RESULTS.format(survey_id)
    bank = (await _get(client, "admin", url, group_by="org_unit")).json()
    assert (bank["responded"], bank["withheld"], _stars(bank)) == (8, False, {"4": 6, "5": 2})
    assert all(row["withheld"] and row["csat"] is None for row in bank["by_unit"])
    for who, scope in (("bh.east", None), ("admin", unit("branch-east")),
                       ("admin", unit("team-east-1"))):  # fmt: skip
        params = {"org_unit_id": str(scope)} if scope else {}
        body = (await _get(client, who, url, **params)).json()
        assert (body["responded"], body["withheld"], body["csat"]) == (6, True, None)
        refused = await _get(client, who, url + "/answers", term="等待时间", **params)
        assert refused.status_code == 409
        assert "has 6, but" in refused.json()["detail"]
    assert bank["other"] is None  # no row shown: the remainder is the bank's headline


async def _draft(db: Any, *, title: str, audience: str, owner: str = "head-office") -> uuid.UUID:
    survey_id = uuid7()
    await db.execute(
        """insert into surveys (id, title, audience, questions, owner_unit_id, created_by)
           values ($1, $2, $3, $4::jsonb, $5, $6)""",
        survey_id, title, audience, QUESTIONS, unit(owner), user("marketing"),
    )  # fmt: skip
    return survey_id


async def test_results_of_a_survey_are_404_where_the_survey_is_and_show_its_published_title(
    client: Any, db: Any, vault: Vault
) -> None:
    secret = "机密草稿：明年裁员满意度"
    for audience in ("staff", "customer"):
        draft = await _draft(db, title=secret, audience=audience)
        assert (await _get(client, "bh.east", f"/api/v1/surveys/{draft}")).status_code == 404
        for path, params in (("", {}), ("/answers", {"term": "等待时间"}), (".csv", {})):
            hidden = await _get(client, "bh.east", RESULTS.format(draft) + path, **params)
            assert hidden.status_code == 404, (audience, path, hidden.text)
            assert hidden.json()["code"] == "survey.not_found"
            assert secret not in hidden.text
        # its author sees the draft at GET /surveys/{id}, and so its (empty) results
        seen = await _get(client, "marketing", RESULTS.format(draft))
        assert (seen.status_code, seen.json()["title"]) == (200, secret)

    west = await _draft(db, title="西城员工问卷", audience="staff", owner="branch-west")
    await db.execute("update surveys set status = 'published', version = 1 where id = $1", west)
    await db.execute(
        """insert into survey_versions (survey_id, version, title, audience, questions,
                                        published_by)
           values ($1, 1, '西城员工问卷', 'staff', $2::jsonb, $3)""",
        west, QUESTIONS, user("marketing"),
    )  # fmt: skip
    assert (await _get(client, "bh.east", f"/api/v1/surveys/{west}")).status_code == 404
    assert (await _get(client, "bh.east", RESULTS.format(west))).status_code == 404
    assert (await _get(client, "bh.west", RESULTS.format(west))).status_code == 200

    for make in (publish, publish_staff):
        survey_id = await make(db)
        published = (await _get(client, "admin", f"/api/v1/surveys/{survey_id}")).json()["title"]
        await db.execute("update surveys set title = $2 where id = $1", survey_id, secret)
        for who in ("admin", "bh.east"):
            body = (await _get(client, who, RESULTS.format(survey_id))).json()
            assert body["title"] == published != secret


def test_no_shown_group_less_the_shown_groups_inside_it_leaves_fewer_than_five() -> None:
    """The rule on many random org trees: every unit shown has 5 answers or more, and what it
    holds beyond its children shown (its own level and children withheld) is 0 or 5 or more;
    so no difference of figures shown, however taken, is one of fewer than 5 answers."""
    rng = random.Random(20240506)
    for _ in range(500):
        parent: dict[int, int | None] = {0: None}
        for unit_id in range(1, rng.randint(1, 12)):
            parent[unit_id] = rng.randrange(unit_id)
        own = {u: rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9]) for u in parent}
        kids: dict[int, list[int]] = defaultdict(list)
        for u, p in parent.items():
            if p is not None:
                kids[p].append(u)
        total: dict[int, int] = {}
        for u in sorted(parent, reverse=True):  # children have larger ids
            total[u] = own[u] + sum(total[k] for k in kids[u])
        ids = {u: uuid.UUID(int=rng.getrandbits(128)) for u in parent}
        back = {v: k for k, v in ids.items()}
        shown = {0} if total[0] >= MIN_STAFF_GROUP else set()
        for u in sorted(parent):  # parents first
            if u in shown:
                chosen = shown_children(total[u], {ids[k]: total[k] for k in kids[u]})
                shown |= {back[k] for k in chosen}
        for u in shown:
            rest = total[u] - sum(total[k] for k in kids[u] if k in shown)
            assert total[u] >= MIN_STAFF_GROUP
            assert rest == 0 or rest >= MIN_STAFF_GROUP, (total, own, parent, shown)
