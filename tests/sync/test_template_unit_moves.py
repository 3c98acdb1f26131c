"""Task templates follow a unit moved in the org tree: a team moved to another branch leaves the
old branch's templates on its devices (a delete) and gets the new branch's (the row), schema 1
apps too (their tasks come without a form, so they need the template); the branch heads over the
team's old and new places lose and get the team's own templates; moving it back puts things back.
After every step each device holds exactly what a fresh initial sync gives, with the cursor it
had before the move (a unit move keeps cursors, unlike a user's move to another unit)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customers_data import headers_of
from tests.sync.sync_data import App, fresh_state, ops
from tests.tasks_data import create_template, field, unit

pytestmark = pytest.mark.usefixtures("demo_bank")

NOTE = field("a", "text", label="备注", required=True)
V1, V4 = 1, 4


async def move(client: Any, admin: dict[str, str], team: str, name: str, branch: str) -> None:
    response = await client.post(
        "/api/v1/admin/org-units",
        json={"id": str(unit(team)), "name": name, "parent_id": str(unit(branch))},
        headers=admin,
    )
    assert response.status_code == 200, response.text


def templates(app: App) -> set[str]:
    return set(app.rows("task_template"))


async def test_a_team_moved_to_another_branch_swaps_the_branch_templates_on_its_devices(client, db):
    admin = await headers_of(client, "admin")
    east_head, west_head = await headers_of(client, "bh.east"), await headers_of(client, "bh.west")
    te = (await create_template(client, east_head, NOTE, name="东城专用模板"))["id"]
    tw = (await create_template(client, west_head, NOTE, name="西城专用模板"))["id"]
    team = (await create_template(client, admin, NOTE, name="东城二组模板",
                                  owner_unit_id=str(unit("team-east-2"))))["id"]  # fmt: skip
    everyone = (await create_template(client, admin, NOTE, name="全行模板"))["id"]
    rm03 = await headers_of(client, "rm03")
    apps = {
        "rm03": App(client, rm03, db, schema=V4),
        "rm03 schema 1": App(client, await headers_of(client, "rm03", "old-app"), db, schema=V1),
        "bh.east": App(client, east_head, db, schema=V4),
        "bh.west": App(client, west_head, db, schema=V4),
        "rm01": App(client, await headers_of(client, "rm01"), db, schema=V4),
    }
    for app in apps.values():
        await app.sync()
    assert {login: templates(app) for login, app in apps.items()} == {
        "rm03": {te, team, everyone}, "rm03 schema 1": {te, team, everyone},
        "bh.east": {te, team, everyone}, "bh.west": {tw, everyone}, "rm01": {te, everyone},
    }  # fmt: skip

    await move(client, admin, "team-east-2", "东城二组 East Team 2", "branch-west")
    got = {login: sorted(ops(await app.sync(), "task_template")) for login, app in apps.items()}
    assert got == {
        "rm03": [("task_template", "delete", te), ("task_template", "upsert", tw)],
        "rm03 schema 1": [("task_template", "delete", te), ("task_template", "upsert", tw)],
        "bh.east": [("task_template", "delete", team)],
        "bh.west": [("task_template", "upsert", team)],
        "rm01": [],
    }
    assert templates(apps["rm03"]) == {tw, team, everyone}
    for app in apps.values():
        assert app.local == await fresh_state(client, app.headers, db=db, schema=app.schema)

    # Moved back: the East Branch's templates again, the West Branch's gone.
    await move(client, admin, "team-east-2", "东城二组 East Team 2", "branch-east")
    for app in apps.values():
        await app.sync()
    assert templates(apps["rm03"]) == templates(apps["rm03 schema 1"]) == {te, team, everyone}
    assert templates(apps["bh.east"]) == {te, team, everyone}
    assert templates(apps["bh.west"]) == {tw, everyone}
    for app in apps.values():
        assert app.local == await fresh_state(client, app.headers, db=db, schema=app.schema)


async def test_a_template_moved_to_another_unit_by_sql_leaves_and_reaches_devices(client, db):
    """A template's owner changed in the database (there is no API for it) is a change for each
    user who saw it before or sees it now, not only for those who still see it."""
    east_head = await headers_of(client, "bh.east")
    template = (await create_template(client, east_head, NOTE, name="东城专用模板"))["id"]
    rm03 = App(client, await headers_of(client, "rm03"), db, schema=V4)
    rm05 = App(client, await headers_of(client, "rm05"), db, schema=V4)
    await rm03.sync()
    await rm05.sync()
    assert template in templates(rm03)
    assert template not in templates(rm05)

    await db.execute(
        "update task_templates set owner_unit_id = $2 where id = $1::uuid",
        template, unit("branch-west"),
    )  # fmt: skip
    assert ops(await rm03.sync(), "task_template") == [("task_template", "delete", template)]
    assert ops(await rm05.sync(), "task_template") == [("task_template", "upsert", template)]
    for app in (rm03, rm05):
        assert app.local == await fresh_state(client, app.headers, db=db, schema=app.schema)
