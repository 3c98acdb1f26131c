"""Who the radar tells: a share made for a customer tells the customer's RM now (a feed may have
moved the customer since), else the sharer, while active; a request to be contacted that no
active RM can hear reaches the branch heads over them (never lost), an open nobody can hear is
dropped. The half hour between pings holds per person told."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.customers_data import customer_row, feed
from tests.workbench.tracking.conftest import to_customer
from tests.workbench.tracking.test_radar import radar, visit

USERS = "/api/v1/admin/users"


async def disable(shared: Any, db: Any, login: str) -> None:
    """The admin disables the user (POST /admin/users/{id}/disable)."""
    user_id = await db.fetchval("select id from users where login = $1", login)
    off = await shared.client.post(f"{USERS}/{user_id}/disable", headers=shared.studio.admin)
    assert off.status_code == 200, off.text


async def move_customer(shared: Any, owner: str) -> None:
    """The bank's feed hands the share's customer (R-1, 张小三) to another RM."""
    rows = [customer_row("R-1", name="张小三", owner=owner, seq=1)]
    await feed(shared.client, shared.studio.admin, "customers", rows)


async def test_a_contact_request_after_the_sharer_is_disabled_reaches_the_branch_head(
    shared: Any, db: Any
) -> None:
    await to_customer(shared, db)  # rm01's customer, rm01's share
    await disable(shared, db, "rm01")
    # Reading rings no one (the heads are not rung for readers) ...
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    assert await radar(db) == []
    # ... but the customer asking to be contacted is a lead: rm01's branch head hears it.
    await visit(shared, "v-1", ("cta", {}))
    await shared.consume()
    [told] = await radar(db)
    assert (told["login"], told["category"]) == ("bh.east", "brochure.contact_requested")
    assert told["title"] == "客户请您联系"
    assert told["body"].startswith("客户 张*三 想了解《")
    assert "张伟 已停用" in told["body"]
    assert "张小三" not in told["body"]
    data = json.loads(told["data"])
    assert (data["action"], data["share_id"]) == ("contact", str(shared.share_id))
    assert "customer_id" in data
    assert told["push_status"] == "pending"
    # A retried beacon, another tap, another visitor within the half hour: nothing more.
    await visit(shared, "v-1", ("cta", {}), ("open", {}), ("cta", {}))
    await visit(shared, "v-2", ("open", {}), ("cta", {}))
    await shared.consume()
    assert len(await radar(db)) == 1


async def test_a_share_to_no_one_of_a_disabled_sharer_reaches_the_nearest_active_head(
    shared: Any, db: Any
) -> None:
    # rm01 (East Team 1) and the East Branch's head are gone; a head at the head office is
    # the nearest active one above the unit the share was made in.
    await disable(shared, db, "rm01")
    await disable(shared, db, "bh.east")
    head = uuid.uuid4()
    await db.execute(
        """
        insert into users (id, login, name, role, org_unit_id, password_hash)
        select $1, 'bh.hq', '总行主管', 'branch_head', o.id, 'x'
          from org_units o where o.parent_id is null
        """,
        head,
    )
    await visit(shared, "v-1", ("open", {}), ("cta", {}))
    await shared.consume()
    [told] = await radar(db)
    assert (told["login"], told["category"]) == ("bh.hq", "brochure.contact_requested")
    assert told["body"].startswith("有人对 张伟 分享的《")
    assert "customer_id" not in json.loads(told["data"])


async def test_after_the_customer_moved_the_new_rm_hears_with_the_name_not_the_old(
    shared: Any, db: Any
) -> None:
    await to_customer(shared, db)
    await visit(shared, "v-1", ("open", {}))
    await shared.consume()
    [before] = await radar(db)
    assert (before["login"], before["title"]) == ("rm01", "客户正在浏览您分享的资料")

    # The feed hands 张小三 to rm05 (West Team 1). Within rm01's half hour, another reader:
    # rm05 hears of it (the half hour is per person told), as their customer, by name.
    await move_customer(shared, "rm05")
    await visit(shared, "v-2", ("open", {}))
    await shared.consume()
    [_, opened] = await radar(db)
    assert (opened["login"], opened["category"]) == ("rm05", "brochure.opened")
    assert opened["title"] == "客户正在浏览分享的资料"  # rm05 did not share it
    assert opened["body"].startswith("您的客户 张*三 正在浏览《")
    assert "customer_id" in json.loads(opened["data"])

    await visit(shared, "v-2", ("cta", {}))
    await shared.consume()
    told = await radar(db)
    [asked] = [n for n in told if n["category"] == "brochure.contact_requested"]
    assert asked["login"] == "rm05"
    assert asked["body"].startswith("您的客户 张*三 想了解《")
    assert asked["body"].endswith("》，请尽快联系")
    assert "张小三" not in asked["body"]
    assert "customer_id" in json.loads(asked["data"])
    # The old RM heard only of the open while the customer was theirs.
    assert [n["id"] for n in told if n["login"] == "rm01"] == [before["id"]]


async def test_a_moved_customers_request_with_no_active_rm_reaches_their_rms_head(
    shared: Any, db: Any
) -> None:
    # The customer moved to rm05 (West), then rm05 and the sharer rm01 (East) were disabled:
    # the head over the customer's RM's unit hears it, West's.
    await to_customer(shared, db)
    await move_customer(shared, "rm05")
    await disable(shared, db, "rm05")
    await disable(shared, db, "rm01")
    await visit(shared, "v-1", ("open", {}), ("cta", {}))
    await shared.consume()
    [told] = await radar(db)
    assert told["login"] == "bh.west"
    assert told["body"].startswith("客户 张*三 想了解《")
    assert "陈静 已停用" in told["body"]
