"""Surveys in offline sync (schema 4), as RMs' and branch heads' devices see them: the published
customer surveys they may send (their unit's path, latest version; archived: a delete) and the
staff surveys that invite them (until answered: a delete); another RM never gets someone
else's invitation; a west-branch survey stays in the west; schema 3 apps never see surveys.
Surveys and invitations are written with SQL, as the survey services leave them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.sync.sync_data import App
from tests.tasks_data import unit, user
from workbench.ids import uuid7

pytestmark = pytest.mark.usefixtures("demo_bank")

V4 = 4
NPS = [{"key": "nps", "type": "nps", "text": "您有多大可能向朋友推荐我们？", "required": True}]
PULSE = [{"key": "mood", "type": "rating", "text": "本周工作状态如何？", "required": True}]


async def add_survey(
    db: Any, title: str, *, audience: str = "customer", owner: str = "head-office",
    questions: list[dict[str, Any]] = NPS, versions: int = 1,
) -> uuid.UUID:  # fmt: skip
    """A survey published `versions` times (version n's title ends with ` v<n>`)."""
    survey_id = uuid7()
    await db.execute(
        """
        insert into surveys (id, title, audience, status, questions, version, owner_unit_id,
                             created_by)
        values ($1, $2, $3, 'draft', $4::jsonb, 0, $5, $6)
        """,
        survey_id, title, audience, json.dumps(questions), unit(owner), user("marketing"),
    )  # fmt: skip
    for n in range(1, versions + 1):
        await publish(db, survey_id, f"{title} v{n}", questions)
    return survey_id


async def publish(db: Any, survey_id: uuid.UUID, title: str, questions: list[Any]) -> int:
    """Publish the draft as a new version (one transaction, as the design service does)."""
    async with db.transaction():
        version: int = await db.fetchval(
            """
            update surveys set status = 'published', version = version + 1, updated_at = now()
             where id = $1 returning version
            """,
            survey_id,
        )
        await db.execute(
            """
            insert into survey_versions (survey_id, version, title, audience, questions,
                                         published_by)
            select id, version, $2, audience, $3::jsonb, $4 from surveys where id = $1
            """,
            survey_id, title, json.dumps(questions), user("marketing"),
        )  # fmt: skip
    return version


async def invite(db: Any, survey_id: uuid.UUID, login: str, unit_key: str) -> uuid.UUID:
    """A staff invitation to `login` (their inbox), open for a week."""
    invitation_id = uuid7()
    await db.execute(
        """
        insert into survey_invitations (id, survey_id, version, user_id, org_unit_id, sent_by,
                                        expires_at)
        select $1, id, version, $2, $3, $4, now() + interval '7 days' from surveys where id = $5
        """,
        invitation_id, user(login), unit(unit_key), user("admin"), survey_id,
    )  # fmt: skip
    return invitation_id


@pytest.fixture
async def surveys(db: Any) -> dict[str, uuid.UUID]:
    nps = await add_survey(db, "到店服务满意度", versions=2)
    west = await add_survey(db, "西城支行回访", owner="branch-west")
    draft_id = uuid7()
    await db.execute(
        """
        insert into surveys (id, title, audience, questions, owner_unit_id, created_by)
        values ($1, '草稿问卷', 'customer', $2::jsonb, $3, $4)
        """,
        draft_id, json.dumps(NPS), unit("head-office"), user("marketing"),
    )  # fmt: skip
    pulse = await add_survey(db, "员工脉搏", audience="staff", questions=PULSE)
    return {
        "nps": nps,
        "west": west,
        "draft": draft_id,
        "pulse": pulse,
        "rm01_pulse": await invite(db, pulse, "rm01", "team-east-1"),
        "rm02_pulse": await invite(db, pulse, "rm02", "team-east-1"),
    }


async def app_of(client: Any, db: Any, login: str, schema: int = V4) -> App:
    return App(client, await headers_of(client, login), db, schema=schema)


async def test_each_partition_holds_its_surveys_and_only_its_invitations(
    client: Any, db: Any, surveys: dict[str, uuid.UUID]
) -> None:
    rm01, rm02, west, head = [
        await app_of(client, db, who) for who in ("rm01", "rm02", "rm05", "bh.east")
    ]
    for app in (rm01, rm02, west, head):
        await app.sync(limit=2)  # pages of two: the walk goes from sendable to invitations

    mine = rm01.rows("survey")
    assert set(mine) == {str(surveys["nps"]), str(surveys["rm01_pulse"])}
    nps = mine[str(surveys["nps"])]
    assert (nps["use"], nps["version"], nps["title"]) == ("send", 2, "到店服务满意度 v2")
    assert nps["questions"][0]["type"] == "nps"
    assert "invitation_id" not in nps
    pulse = mine[str(surveys["rm01_pulse"])]
    assert (pulse["use"], pulse["survey_id"], pulse["title"]) == (
        "answer", str(surveys["pulse"]), "员工脉搏 v1",
    )  # fmt: skip
    assert pulse["invitation_id"] == str(surveys["rm01_pulse"])
    assert pulse["expires_at"]

    assert set(rm02.rows("survey")) == {str(surveys["nps"]), str(surveys["rm02_pulse"])}
    assert set(west.rows("survey")) == {str(surveys["nps"]), str(surveys["west"])}
    assert set(head.rows("survey")) == {str(surveys["nps"])}


async def test_archive_republish_and_answer_reach_the_device(
    client: Any, db: Any, surveys: dict[str, uuid.UUID]
) -> None:
    rm01, rm02 = await app_of(client, db, "rm01"), await app_of(client, db, "rm02")
    await rm01.sync()
    await rm02.sync()

    await publish(db, surveys["nps"], "到店服务满意度 v3", NPS)
    await db.execute(
        "update survey_invitations set responded_at = now() where id = $1", surveys["rm01_pulse"]
    )
    changes = await rm01.sync()
    assert {(c["op"], c["id"]) for c in changes if c["entity"] == "survey"} == {
        ("upsert", str(surveys["nps"])),
        ("delete", str(surveys["rm01_pulse"])),
    }
    assert rm01.rows("survey")[str(surveys["nps"])]["version"] == 3

    await db.execute("update surveys set status = 'archived' where id = $1", surveys["nps"])
    await rm01.sync()
    assert rm01.rows("survey") == {}
    # rm02 heard of neither rm01's answer nor anything of theirs but the archive.
    changes = await rm02.sync()
    assert [(c["op"], c["id"]) for c in changes if c["entity"] == "survey"] == [
        ("delete", str(surveys["nps"]))
    ]
    assert set(rm02.rows("survey")) == {str(surveys["rm02_pulse"])}


async def test_an_archived_staff_survey_leaves_its_invitees_devices(
    client: Any, db: Any, surveys: dict[str, uuid.UUID]
) -> None:
    """Archiving closes a staff survey (it takes no answer): the invitation it left on a phone
    could only be refused (409 survey.archived)."""
    rm01, rm02 = await app_of(client, db, "rm01"), await app_of(client, db, "rm02")
    await rm01.sync()
    await rm02.sync()
    assert str(surveys["rm01_pulse"]) in rm01.rows("survey")
    await db.execute(  # rm02 answered before the close: nothing is left to take off their phone
        "update survey_invitations set responded_at = now() where id = $1", surveys["rm02_pulse"]
    )
    await rm02.sync()

    await db.execute("update surveys set status = 'archived' where id = $1", surveys["pulse"])
    changes = await rm01.sync()
    assert [(c["op"], c["id"]) for c in changes if c["entity"] == "survey"] == [
        ("delete", str(surveys["rm01_pulse"]))
    ]
    assert set(rm01.rows("survey")) == {str(surveys["nps"])}
    assert [c for c in await rm02.sync() if c["entity"] == "survey"] == []
    # A fresh device of rm01 gets the customer survey they send, and no invitation.
    fresh = await app_of(client, db, "rm01")
    await fresh.sync()
    assert set(fresh.rows("survey")) == {str(surveys["nps"])}


async def test_schema_3_apps_never_see_surveys(
    client: Any, db: Any, surveys: dict[str, uuid.UUID]
) -> None:
    old = await app_of(client, db, "rm01", schema=3)
    changes = await old.sync()
    await invite(db, surveys["pulse"], "rm01", "team-east-1")
    await db.execute("update surveys set status = 'archived' where id = $1", surveys["nps"])
    changes += await old.sync()
    assert not [c for c in changes if c["entity"] in ("survey", "work_order")]
    new = await app_of(client, db, "rm01")
    await new.sync()
    assert len(new.rows("survey")) == 2  # the same user on schema 4: both invitations
