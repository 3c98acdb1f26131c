"""Applying a rule to many past answers runs in the worker, chunk by chunk, and a rerun (or a
second request) still leaves one work order per answer."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from tests.workbench.workorders.wo_setup import Bench
from workbench.db import create_pool
from workbench.workorders import alerts, jobs, rules


async def test_many_answers_are_applied_in_the_worker(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "INLINE_APPLY", 2)
    monkeypatch.setattr(alerts, "APPLY_CHUNK", 2)
    for score in (0, 9, 5, 6, 10):
        await bench.store(answers={"score": score})
    rule = {"survey_id": str(bench.nps), "question_key": "score", "op": "lte", "value": 6}
    rule_id = (
        await bench.client.post("/api/v1/alert-rules", json=rule, headers=bench.admin)
    ).json()["id"]
    answer = await bench.client.post(f"/api/v1/alert-rules/{rule_id}/apply", headers=bench.admin)
    assert answer.json() == {"rule_id": rule_id, "responses": 5, "queued": True, "opened": 0}
    assert await bench.work_orders() == []
    client = redis.from_url(bench.settings.redis_url)
    try:
        queued = [
            k async for k in client.scan_iter(match=f"arq:job:{bench.settings.redis_prefix}*")
        ]
    finally:
        await client.aclose()
    assert len(queued) == 1
    pool = await create_pool(bench.settings.database_url, max_size=2)
    try:
        ctx = {"pool": pool, "settings": bench.settings}
        assert await jobs.apply_alert_rule(ctx, rule_id) == 3
        assert await jobs.apply_alert_rule(ctx, rule_id) == 0
    finally:
        await pool.close()
    scores = await bench.conn.fetch(
        "select (r.answers->>'score')::int as score from work_orders w"
        " join survey_responses r on r.id = w.response_id order by 1"
    )
    assert [s["score"] for s in scores] == [0, 5, 6]
