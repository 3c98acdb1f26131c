"""GET /funnels: the steps on a small history, labels, the period, and who sees which shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.tasks_data import unit, user
from tests.workbench.funnels.conftest import (
    add_brochure,
    add_customer,
    add_share,
    add_visitor,
    conversion,
)

NOW = datetime.now(UTC)
STEPS = ("shared", "opened", "engaged", "clicked", "converted", "visitors", "conversions")


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in STEPS)


def by_label(funnel: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {row["label"]: counts(row) for row in funnel["rows"]}


@pytest.fixture
async def history(bank):
    """rm01 (East Team 1): 4 shares of 稳享: unopened; opened briefly by two visitors; one where a
    visitor stayed 12 s; one clicked (after 3 s) and bought, plus a converted customer who never
    clicked. rm05 (West Team 1): 1 share of 科技, opened and clicked by one visitor."""
    db = bank.db
    c1, c2 = await add_customer(db, "C1"), await add_customer(db, "C2")
    wm = await add_brochure(db, "稳享90天", new_title="稳享90天（新版）")
    tech = await add_brochure(db, "科技先锋", product="TECH01")
    at = NOW - timedelta(days=2)
    await add_share(db, rm="rm01", brochure=wm, created_at=at)
    brief = await add_share(db, rm="rm01", brochure=wm, created_at=at)
    await add_visitor(db, brief, "v1", dwell_ms=3000, at=at)
    await add_visitor(db, brief, "v2", dwell_ms=9999, at=at)
    await add_visitor(db, brief, "bot-free-but-never-opened", opened=False, dwell_ms=50000, at=at)
    stayed = await add_share(db, rm="rm01", brochure=wm, customer=c2, created_at=at)
    await add_visitor(db, stayed, "v1", dwell_ms=12000, at=at)
    clicked = await add_share(db, rm="rm01", brochure=wm, customer=c1, created_at=at)
    await add_visitor(db, clicked, "v3", dwell_ms=3000, clicked=True, at=at)
    west = await add_share(db, rm="rm05", brochure=tech, product="TECH01", created_at=at)
    await add_visitor(db, west, "v9", clicked=True, at=at)
    result = await bank.convert(
        conversion("P-1", "C1", NOW - timedelta(days=1)),
        conversion("P-2", "C1", NOW - timedelta(days=1), kind="consult"),
        conversion("P-3", "C2", NOW - timedelta(days=1)),  # opened + engaged, never clicked
    )
    assert result["attributed"] == 3
    return bank


async def test_each_step_counts_shares_and_never_rises(history):
    funnel = await history.funnel("marketing", group_by="rm")

    assert by_label(funnel) == {
        # shared, opened, engaged, clicked, converted, visitors, conversions
        "张伟": (4, 3, 2, 1, 1, 4, 3),
        "陈静": (1, 1, 1, 1, 0, 1, 0),
    }
    assert [r["key"] for r in funnel["rows"]] == [str(user("rm01")), str(user("rm05"))]
    assert counts(funnel["total"]) == (5, 4, 3, 2, 1, 5, 3)
    assert funnel["total_groups"] == 2


async def test_groups_by_unit_and_by_brochure_with_their_current_names(history):
    units = await history.funnel("marketing", group_by="org_unit")
    brochures = await history.funnel("marketing", group_by="brochure")

    assert by_label(units) == {
        "东城一组 East Team 1": (4, 3, 2, 1, 1, 4, 3),
        "西城一组 West Team 1": (1, 1, 1, 1, 0, 1, 0),
    }
    assert units["rows"][0]["key"] == str(unit("team-east-1"))
    # The published version's title, not the newer one under review.
    assert by_label(brochures) == {
        "稳享90天": (4, 3, 2, 1, 1, 4, 3),
        "科技先锋": (1, 1, 1, 1, 0, 1, 0),
    }


async def test_by_sub_unit_the_bank_shows_its_branches_and_a_branch_its_teams(history):
    bank = await history.funnel("marketing", group_by="sub_unit")
    assert by_label(bank) == {
        "东城支行 East Branch": (4, 3, 2, 1, 1, 4, 3),
        "西城支行 West Branch": (1, 1, 1, 1, 0, 1, 0),
    }
    assert bank["rows"][0]["key"] == str(unit("branch-east"))
    assert counts(bank["total"]) == (5, 4, 3, 2, 1, 5, 3)
    # Drilling into a branch: its teams; its head sees the same without naming it.
    east = await history.funnel(
        "marketing", group_by="sub_unit", org_unit_id=str(unit("branch-east"))
    )
    assert by_label(east) == {"东城一组 East Team 1": (4, 3, 2, 1, 1, 4, 3)}
    assert by_label(await history.funnel("bh.east", group_by="sub_unit")) == by_label(east)
    # A team has no units below it: its shares are its own row.
    team = await history.funnel(
        "bh.east", group_by="sub_unit", org_unit_id=str(unit("team-east-1"))
    )
    assert by_label(team) == {"东城一组 East Team 1": (4, 3, 2, 1, 1, 4, 3)}
    # An RM: their own shares, below their own unit (a team: its own row, not the branch's).
    assert by_label(await history.funnel("rm05", group_by="sub_unit")) == {
        "西城一组 West Team 1": (1, 1, 1, 1, 0, 1, 0)
    }
    await history.funnel("bh.east", status=404, group_by="sub_unit",
                         org_unit_id=str(unit("branch-west")))  # fmt: skip


async def test_by_sub_unit_an_rm_sees_the_units_below_their_own(history):
    # rm01 is in East Team 1, which has no units below: one row, their team, their own shares.
    mine = await history.funnel("rm01", group_by="sub_unit")
    assert by_label(mine) == {"东城一组 East Team 1": (4, 3, 2, 1, 1, 4, 3)}
    assert mine["rows"][0]["key"] == str(unit("team-east-1"))
    assert counts(mine["total"]) == (4, 3, 2, 1, 1, 4, 3)
    # rm03, placed at the branch itself: the branch's teams, the branch's own row, and a share
    # made before the move from a unit outside it in that unit's row (their shares, all of them).
    db = history.db
    await db.execute(
        "update users set org_unit_id = $1 where id = $2", unit("branch-east"), user("rm03")
    )
    cash = await add_brochure(db, "现金管家")
    at = NOW - timedelta(days=1)
    for key in ("team-east-1", "team-east-2", "team-east-2", "branch-east", "team-west-1"):
        await add_share(db, rm="rm03", brochure=cash, created_at=at, unit_key=key)
    rm03 = await history.funnel("rm03", group_by="sub_unit")
    assert {label: row[0] for label, row in by_label(rm03).items()} == {
        "东城二组 East Team 2": 2,
        "东城一组 East Team 1": 1,
        "东城支行 East Branch": 1,
        "西城一组 West Team 1": 1,
    }
    assert rm03["total"]["shared"] == 5
    # The branch head's default is still their branch (its teams, its own row), everyone's.
    east = await history.funnel("bh.east", group_by="sub_unit")
    assert {label: row[0] for label, row in by_label(east).items()} == {
        "东城一组 East Team 1": 5,
        "东城二组 East Team 2": 2,
        "东城支行 East Branch": 1,
    }
    # Marketing's default is the bank: its branches.
    bank = await history.funnel("marketing", group_by="sub_unit")
    assert {label: row[0] for label, row in by_label(bank).items()} == {
        "东城支行 East Branch": 8,
        "西城支行 West Branch": 2,
    }


async def test_one_brochures_shares_by_who_shared_them(history):
    brochures = await history.funnel("marketing", group_by="brochure")
    tech = next(r["key"] for r in brochures["rows"] if r["label"] == "科技先锋")
    funnel = await history.funnel("marketing", group_by="rm", brochure_id=tech)
    assert by_label(funnel) == {"陈静": (1, 1, 1, 1, 0, 1, 0)}
    assert counts(funnel["total"]) == (1, 1, 1, 1, 0, 1, 0)
    # an RM's own shares of it: rm01 never shared it
    assert counts((await history.funnel("rm01", brochure_id=tech))["total"]) == (0,) * 7
    unknown = await history.funnel("marketing", brochure_id="00000000-0000-4000-8000-000000000001")
    assert unknown["rows"] == []
    await history.funnel("marketing", status=422, brochure_id="not-a-uuid")


async def test_rm_sees_only_own_shares(history):
    assert set(by_label(await history.funnel("rm01"))) == {"张伟"}
    assert by_label(await history.funnel("rm05", group_by="brochure")) == {
        "科技先锋": (1, 1, 1, 1, 0, 1, 0)
    }
    nothing = await history.funnel("rm02", group_by="brochure")
    assert nothing["rows"] == []
    assert counts(nothing["total"]) == (0,) * 7
    # Inside their own unit: their shares; a unit outside it is not theirs to name.
    assert set(by_label(await history.funnel("rm01", org_unit_id=str(unit("team-east-1"))))) == {
        "张伟"
    }
    await history.funnel("rm01", status=404, org_unit_id=str(unit("branch-east")))


async def test_branch_head_sees_the_subtree_and_nothing_above_it(history):
    east = await history.funnel("bh.east", group_by="org_unit")
    assert set(by_label(east)) == {"东城一组 East Team 1"}
    west = await history.funnel("bh.west")
    assert set(by_label(west)) == {"陈静"}
    team = await history.funnel("bh.east", org_unit_id=str(unit("team-east-2")))
    assert team["rows"] == []
    assert team["org_unit_id"] == str(unit("team-east-2"))
    for outside in ("branch-west", "team-west-1", "head-office"):
        problem = await history.funnel("bh.east", status=404, org_unit_id=str(unit(outside)))
        assert problem["code"] == "org_unit.not_found"
    await history.funnel("bh.east", status=404, org_unit_id="0191a2b3-0000-7000-8000-000000000000")


async def test_marketing_compliance_and_admin_see_the_whole_bank(history):
    for login in ("marketing", "compliance", "admin"):
        funnel = await history.funnel(login, group_by="org_unit")
        assert len(funnel["rows"]) == 2, login
    west = await history.funnel("marketing", org_unit_id=str(unit("branch-west")))
    assert set(by_label(west)) == {"陈静"}


async def test_shares_made_in_a_unit_stay_there_when_the_rm_moves(history):
    await history.db.execute(
        "update users set org_unit_id = $1 where id = $2", unit("team-west-2"), user("rm01")
    )
    east = await history.funnel("bh.east", group_by="rm")
    assert set(by_label(east)) == {"张伟"}
    assert (await history.funnel("bh.west", group_by="rm"))["total"]["shared"] == 1


async def test_the_period_is_read_in_the_bank_time_zone(bank):
    db = bank.db
    wm = await add_brochure(db, "稳享90天")
    # 2026-11-30 23:30 in Shanghai is 15:30 UTC: a share of the 30th, not of December.
    await add_share(
        db, rm="rm01", brochure=wm, created_at=datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
    )
    await add_share(
        db, rm="rm01", brochure=wm, created_at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    )

    november = await bank.funnel("rm01", **{"from": "2026-11-01", "to": "2026-11-30"})
    december = await bank.funnel("rm01", **{"from": "2026-12-01", "to": "2026-12-01"})

    assert november["total"]["shared"] == december["total"]["shared"] == 1
    assert november["from"] == "2026-11-01T00:00:00+08:00"
    assert november["to"] == "2026-12-01T00:00:00+08:00"


async def test_without_a_period_the_last_30_days(bank):
    db = bank.db
    wm = await add_brochure(db, "稳享90天")
    for days in (0, 28, 31):
        await add_share(db, rm="rm01", brochure=wm, created_at=NOW - timedelta(days=days))

    funnel = await bank.funnel("rm01")

    assert funnel["total"]["shared"] == 2
    start, end = datetime.fromisoformat(funnel["from"]), datetime.fromisoformat(funnel["to"])
    assert end - start == timedelta(days=30)
    assert start < NOW < end


async def test_bad_periods_and_parameters_answer_422(bank):
    for params in (
        {"from": "2026-01-01", "to": "2027-01-02"},  # 367 days
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "yesterday"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "2026-02-30"},
        {"group_by": "customer"},
        {"limit": 501},
        {"limit": 0},
        {"org_unit_id": "not-a-uuid"},
    ):
        problem = await bank.funnel("marketing", status=422, **params)
        assert problem["status"] == 422, params
    assert (await bank.funnel("marketing", **{"from": "2026-01-01", "to": "2026-12-31"}))[
        "rows"
    ] == []


async def test_most_shares_first_and_limit_with_the_total(bank):
    db = bank.db
    wm = await add_brochure(db, "稳享90天")
    at = NOW - timedelta(days=1)
    for rm, n in (("rm01", 1), ("rm02", 3), ("rm03", 2), ("rm04", 2)):
        for _ in range(n):
            await add_share(db, rm=rm, brochure=wm, created_at=at)

    funnel = await bank.funnel("bh.east", limit=3)

    ordered = sorted([str(user("rm03")), str(user("rm04"))])
    assert [r["key"] for r in funnel["rows"]] == [str(user("rm02")), *ordered]
    assert funnel["total_groups"] == 4
    assert funnel["total"]["shared"] == 8


async def test_signed_out_callers_get_401(bank):
    response = await bank.client.get("/api/v1/funnels")
    assert response.status_code == 401
