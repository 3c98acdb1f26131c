"""The demo bank's work orders: the NPS rule applied to a month of answers gives one work order
per detractor, worked according to age, some open and some overdue; a second seed adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.workbench.workorders.wo_setup import RM01, restore_root_causes
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import seed_demo_customers, seed_demo_tasks
from workbench.surveys.demo import demo_nps_survey_id, seed_demo_surveys
from workbench.workorders import service
from workbench.workorders.demo import seed_demo_work_orders

pytestmark = pytest.mark.usefixtures("demo_bank")
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai


async def test_the_demo_opens_one_work_order_per_detractor(settings: Any, db: Any) -> None:
    await use_json_codecs(db)
    await restore_root_causes(db)
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_tasks(db, tz=settings.bank_timezone)
        await seed_demo_surveys(db, vault=vault, now=NOW)
        added = await seed_demo_work_orders(db, vault=vault, now=NOW)
    detractors = await db.fetchval(
        "select count(*) from survey_responses where survey_id = $1"
        " and (answers->>'score')::int <= 6",
        demo_nps_survey_id(),
    )
    assert detractors > 5
    assert added == {"alert_rules": 1, "work_orders": detractors}
    states = dict(await db.fetch("select state, count(*) from work_orders group by state"))
    assert set(states) == {"open", "in_progress", "resolved", "closed"}, states
    assert await db.fetchval(
        "select bool_and(root_cause is not null) from work_orders where state = 'closed'"
    )
    mine = await service.list_work_orders(db, vault=vault, caller=RM01, now=NOW, limit=200)
    overdue = await service.list_work_orders(
        db, vault=vault, caller=RM01, overdue=True, now=NOW, limit=200
    )
    assert mine.items
    assert overdue.items
    assert all(w.assignee_id == RM01.user_id for w in mine.items)
    assert {w.state for w in overdue.items} <= {"open", "in_progress"}
    # Each 新工单 notification is dated when its work order opened, read once the RM has worked
    # it (only the open ones are unread), and none is pushed as if it were new.
    told = await db.fetch(
        """select w.state, w.created_at as opened, n.created_at, n.read_at, n.push_status
             from work_orders w join notifications n on n.subject_id = w.id
            where n.category = 'work_order.assigned'"""
    )
    assert len(told) == detractors
    assert all(t["created_at"] == t["opened"] for t in told)
    assert {t["state"] for t in told if t["read_at"] is None} == {"open"}
    assert {t["push_status"] for t in told} == {"skipped"}
    async with db.transaction():
        assert await seed_demo_work_orders(db, vault=vault, now=NOW) == {}
    assert await db.fetchval("select count(*) from work_orders") == detractors
