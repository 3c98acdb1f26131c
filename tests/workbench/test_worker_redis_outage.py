"""`workbench worker` outlives a Redis outage: it says so once, waits, and runs jobs again when
Redis is back, in the same process; SIGTERM during its life still stops it cleanly."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from arq.connections import ArqRedis, create_pool

from tests.conftest import TEST_KEY
from tests.outage import PrivateRedis
from tests.workbench.test_worker import insert_tokens
from workbench.worker import worker_settings

pytestmark = pytest.mark.usefixtures("demo_bank")

ROOT = Path(__file__).resolve().parents[2]
WAIT = 120.0  # generous: the machine is shared and the worker imports the whole service
OUTAGE = "Redis unreachable"


def worker_env(settings, redis_url: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("WORKBENCH_") and name != "REDIS_URL"
    }
    return env | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "WORKBENCH_REDIS_PREFIX": settings.redis_prefix,
        "WORKBENCH_JWT_KEYS": f"ci:{TEST_KEY}",
        "WORKBENCH_DATA_KEYS": f"ci:{TEST_KEY}",
        "WORKBENCH_BLIND_INDEX_KEY": TEST_KEY,
        "WORKBENCH_LOG_FORMAT": "text",
        "WORKBENCH_LOG_LEVEL": "INFO",
    }


def start_worker(settings, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workbench", "worker"],
            env=worker_env(settings, redis_url),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def read(log: Path) -> str:
    return log.read_text(errors="replace")


async def purge_on_the_worker(settings, redis_url: str) -> int:
    """Queue the refresh-token purge for the running worker; what the run returned."""
    served = worker_settings(replace(settings, redis_url=redis_url))
    redis: ArqRedis = await create_pool(served.redis_settings, default_queue_name=served.queue_name)
    try:
        job = await redis.enqueue_job("purge_expired_refresh_tokens")
        assert job is not None
        result: int = await job.result(timeout=WAIT, poll_delay=0.1)
        return result
    finally:
        await redis.aclose()


async def expired_token(db) -> bytes:
    """One more refresh token, of the session `insert_tokens` made, expired 10 days ago."""
    token_hash = hashlib.sha256(os.urandom(16)).digest()
    await db.execute(
        "insert into refresh_tokens (token_hash, session_id, issued_at, expires_at)"
        " select $1, session_id, now() - interval '30 days', now() - interval '10 days'"
        " from refresh_tokens limit 1",
        token_hash,
    )
    return token_hash


async def wait_for_log(log: Path, text: str, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while text not in (logged := read(log)):
        assert worker.poll() is None, f"the worker exited ({worker.returncode}):\n{logged}"
        assert time.monotonic() < deadline, f"no {text!r} in the worker's log:\n{logged}"
        await asyncio.sleep(0.1)


async def test_the_worker_outlives_a_redis_outage_and_stops_on_sigterm(settings, db, tmp_path):
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    log = tmp_path / "worker.log"
    worker = start_worker(settings, redis_server.url, log)
    try:
        hashes = await insert_tokens(db)
        assert await purge_on_the_worker(settings, redis_server.url) == 1

        redis_server.kill()
        await wait_for_log(log, OUTAGE, worker)
        redis_server.start()  # same port, same data folder

        later = await expired_token(db)
        assert await purge_on_the_worker(settings, redis_server.url) == 1
        rows = await db.fetch("select token_hash from refresh_tokens")
        assert later not in {r["token_hash"] for r in rows}
        assert {r["token_hash"] for r in rows} == {hashes["expired_2_days_ago"], hashes["valid"]}
        assert worker.poll() is None, read(log)  # the process started above, never replaced

        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, WAIT) == 0, read(log)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        redis_server.stop()
    text = read(log)
    assert "Traceback" not in text, text
    assert text.count(OUTAGE) == 1, text  # one line for the outage, however many polls failed
    assert "Redis reachable again" in text, text
