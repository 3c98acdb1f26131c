"""The arq worker, as configured for production, runs the refresh-token purge job."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from arq.connections import create_pool
from arq.worker import create_worker

from workbench.ids import uuid5_for
from workbench.worker import worker_settings

pytestmark = [
    pytest.mark.usefixtures("demo_bank"),
    # arq's own shutdown calls a redis-py method deprecated in redis 5.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]


async def insert_tokens(db) -> dict[str, bytes]:
    """One session of rm01 with refresh tokens expired long ago, recently, and still valid."""
    user_id = uuid5_for("user:rm01")
    session_id = uuid.uuid4()
    await db.execute(
        "insert into devices (device_id, user_id, platform) values ('device-purge', $1, 'ios')",
        user_id,
    )
    await db.execute(
        "insert into sessions (id, user_id, device_id) values ($1, $2, 'device-purge')",
        session_id,
        user_id,
    )
    tokens = {
        "expired_10_days_ago": timedelta(days=-10),
        "expired_2_days_ago": timedelta(days=-2),  # kept a week, for reuse detection and audits
        "valid": timedelta(days=20),
    }
    hashes = {}
    for label, offset in tokens.items():
        hashes[label] = hashlib.sha256(label.encode()).digest()
        await db.execute(
            "insert into refresh_tokens (token_hash, session_id, issued_at, expires_at)"
            " values ($1, $2, now() - interval '30 days', now() + $3)",
            hashes[label],
            session_id,
            offset,
        )
    return hashes


async def run_purge_once(settings) -> object:
    """Enqueue the job on the prefixed queue and let a burst worker (real settings) run it."""
    cls = worker_settings(settings)
    assert cls.queue_name.startswith(settings.redis_prefix)
    redis = await create_pool(cls.redis_settings, default_queue_name=cls.queue_name)
    try:
        job = await redis.enqueue_job("purge_expired_refresh_tokens")
        assert job is not None
        worker = create_worker(cls, burst=True, poll_delay=0.05, handle_signals=False)
        try:
            await worker.main()
        finally:
            await worker.close()
        # The purge, plus the every-minute task jobs that also run when a worker starts.
        assert worker.jobs_complete >= 1
        assert worker.jobs_failed == 0
        result = await job.result(timeout=10)
        await redis.delete(f"arq:result:{job.job_id}")
        return result
    finally:
        await redis.aclose()


async def remaining(db) -> set[bytes]:
    return {r["token_hash"] for r in await db.fetch("select token_hash from refresh_tokens")}


async def test_worker_purges_only_long_expired_refresh_tokens(settings, db):
    hashes = await insert_tokens(db)

    assert await run_purge_once(settings) == 1

    assert await remaining(db) == {hashes["expired_2_days_ago"], hashes["valid"]}
    # The session itself is untouched.
    assert await db.fetchval("select count(*) from sessions where ended_at is null") == 1

    # Running it again is harmless.
    assert await run_purge_once(settings) == 0
    assert await remaining(db) == {hashes["expired_2_days_ago"], hashes["valid"]}


def test_the_worker_schedules_the_task_jobs_every_minute(settings):
    from workbench.tasks import jobs as task_jobs

    cron_jobs = {job.coroutine: job for job in worker_settings(settings).cron_jobs}
    for job in (task_jobs.expire_tasks, task_jobs.open_recurring_periods):
        assert job in cron_jobs, f"{job.__name__} is not scheduled"
        scheduled = cron_jobs[job]
        assert (scheduled.minute, scheduled.hour, scheduled.second) == (None, None, 0)
        assert scheduled.unique


def test_two_deployments_on_one_redis_schedule_their_own_runs(settings):
    # arq keeps a scheduled run as arq:job:<cron job name>:<time> (never prefixed): with the
    # same names, a second deployment on the database found the first's runs and ran none of
    # its own. Each deployment's names carry its WORKBENCH_REDIS_PREFIX.
    from dataclasses import replace

    one = worker_settings(replace(settings, redis_prefix="bank-a:")).cron_jobs
    other = worker_settings(replace(settings, redis_prefix="bank-b:")).cron_jobs
    assert all(job.name.startswith("bank-a:") for job in one)
    assert not {job.name for job in one} & {job.name for job in other}
    assert [job.coroutine for job in one] == [job.coroutine for job in other]
