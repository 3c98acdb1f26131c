"""`workbench dev`: one command for a laptop. Embedded PostgreSQL and Redis under a data folder
(unless DATABASE_URL and REDIS_URL are set), keys made once per folder, migrations, the demo
bank, then the API and the worker as child processes until Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import IO

from workbench import logs
from workbench.cli import database_errors
from workbench.security.passwords import Passwords
from workbench.security.vault import Vault
from workbench.settings import Settings


def run(host: str, port: int, data_dir: Path) -> int:
    """Embedded servers (unless URLs are set), migrate, seed, then API and worker as children.
    A taken port stops it before anything starts; "running" is printed once /healthz answers."""
    from workbench.embedded import EmbeddedServers, listen_problem

    env = dict(os.environ)
    env.setdefault("WORKBENCH_LOG_FORMAT", "text")  # short lines for a person; serve stays JSON
    logs.configure(env.get("WORKBENCH_LOG_LEVEL", "INFO").upper(), env["WORKBENCH_LOG_FORMAT"])
    if problem := listen_problem(host, port):
        # A second `workbench dev` on the same folder finds the first one's port taken: which
        # process holds the folder is what its user needs to know (nothing is made either way).
        if (holder := _holder_of(data_dir.resolve())) is not None:
            problem = f"{data_dir.resolve()} is in use by another workbench dev (pid {holder})"
            print(f"workbench dev: {problem}; stop it or choose --data-dir", file=sys.stderr)
        else:
            print(f"workbench dev: {problem}; stop what uses it or choose --port", file=sys.stderr)
        return 2
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if (holder := _hold_data_dir(data_dir)) is not None:
        print(
            f"workbench dev: {data_dir} is in use by another workbench dev (pid {holder}); "
            "stop it or choose --data-dir",
            file=sys.stderr,
        )
        return 2
    for name, value in _dev_secrets(data_dir).items():
        env.setdefault(name, value)
    env.setdefault("WORKBENCH_PUBLIC_BASE_URL", f"http://{host}:{port}")
    env.setdefault("WORKBENCH_PUSH_LOG_UNCONFIGURED", "true")  # pushes go to the log
    env.setdefault("WORKBENCH_BLOB_DIR", str(data_dir / "blobs"))  # brochure images
    servers = EmbeddedServers(data_dir)
    _stop_on_sigterm()
    children: list[subprocess.Popen[bytes]] = []
    try:
        if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
            print(f"starting embedded PostgreSQL and Redis under {data_dir} ...", flush=True)
            database_url, redis_url = servers.start()
            env["DATABASE_URL"] = env.get("DATABASE_URL") or database_url
            env["REDIS_URL"] = env.get("REDIS_URL") or redis_url
        settings = Settings.from_env(env)
        _write_dev_env(data_dir / "dev.env", env)
        added = asyncio.run(migrate_and_seed(settings))
        print(f"database ready; {seeded_words(added)}", flush=True)
        # Preparing the database takes a while; another server may have taken the port meanwhile
        # (its /healthz would then pass for this instance's).
        if problem := listen_problem(host, port):
            print(
                f"workbench dev: {problem} (taken while the database was prepared); "
                "stop what uses it or choose --port",
                file=sys.stderr,
            )
            return 2
        for command in (["serve", "--host", host, "--port", str(port)], ["worker"]):
            children.append(
                subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "workbench", *command], env=env, start_new_session=True
                )
            )
        if not _wait_until_serving(host, port, children):
            return 1
        _print_welcome(host, port, data_dir)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a child process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        _stop_children(children)
        servers.stop()


# The open lock file of the data folder this process runs on: held (flock) while it lives, freed
# by the system however it ends (Ctrl-C, a crash, kill -9).
_held: list[IO[str]] = []


def _holder_of(data_dir: Path) -> str | None:
    """The pid of the `workbench dev` holding the data folder now, or None; looks only (a
    folder that is not there stays so)."""
    try:
        with (data_dir / "dev.lock").open("r", encoding="utf-8") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return lock.read().strip() or "unknown"
            fcntl.flock(lock, fcntl.LOCK_UN)
    except OSError:
        pass
    return None


def _hold_data_dir(data_dir: Path) -> str | None:
    """Take the data folder for this process; the pid of the `workbench dev` holding it
    already (two on one folder would start a second Redis on it and rewrite dev.env under the
    first), else None."""
    lock = (data_dir / "dev.lock").open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        return holder
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    _held.append(lock)
    return None


def seeded_words(added: dict[str, int]) -> str:
    """What seeding did, for a person: the rows it added by kind, or that the demo bank was
    there already (a restart on the same data folder adds nothing)."""
    made = ", ".join(f"{count} {kind}" for kind, count in added.items() if count)
    return f"demo bank added: {made}" if made else "demo bank already in place: nothing added"


async def migrate_and_seed(settings: Settings) -> dict[str, int]:
    from workbench import migrate
    from workbench.brochures.demo import seed_demo_brochures_from_settings
    from workbench.db import create_pool
    from workbench.seed import seed_demo_bank, seed_demo_customers, seed_demo_tasks
    from workbench.shares.demo import seed_demo_shares_from_settings
    from workbench.surveys.demo import seed_demo_surveys_from_settings
    from workbench.workorders.demo import seed_demo_work_orders_from_settings

    with database_errors(settings.database_url):
        await migrate.migrate(settings.database_url)
        pool = await create_pool(settings.database_url, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            added = await seed_demo_bank(conn, passwords=_passwords(settings))
            added |= await seed_demo_customers(
                conn, vault=Vault.from_settings(settings.data_keys, settings.blind_index_key)
            )
            added |= await seed_demo_tasks(conn, tz=settings.bank_timezone)
            added |= await seed_demo_brochures_from_settings(conn, settings)
            added |= await seed_demo_shares_from_settings(conn, settings)
            added |= await seed_demo_surveys_from_settings(conn, settings)
            return added | await seed_demo_work_orders_from_settings(conn, settings)
    finally:
        await pool.close()


def _passwords(settings: Settings) -> Passwords:
    return Passwords(
        memory_kib=settings.password_hash_memory_kib, iterations=settings.password_hash_iterations
    )


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Keys made once per data folder, so dev sessions and encrypted data survive restarts."""
    path = data_dir / "dev-secrets.json"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(
            json.dumps(
                {
                    "WORKBENCH_JWT_KEYS": "dev1:" + base64.b64encode(os.urandom(32)).decode(),
                    "WORKBENCH_DATA_KEYS": "dev1:" + base64.b64encode(os.urandom(32)).decode(),
                    "WORKBENCH_BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
                }
            )
        )
    secrets: dict[str, str] = json.loads(path.read_text())
    return secrets


def _write_dev_env(path: Path, env: dict[str, str]) -> None:
    """The running instance's settings, for other commands in another shell:
    `set -a; . .workbench/dev.env; set +a; workbench push test --user rm01`."""
    names = sorted(
        n for n in env if n in ("DATABASE_URL", "REDIS_URL") or n.startswith("WORKBENCH_")
    )
    path.touch(mode=0o600)
    path.write_text("".join(f"{n}='{env[n]}'\n" for n in names))


SERVE_TIMEOUT = 120  # seconds the API may take to answer /healthz after it was started


def _wait_until_serving(
    host: str, port: int, children: list[subprocess.Popen[bytes]], timeout: float = SERVE_TIMEOUT
) -> bool:
    """True once the API answers /healthz; False (said on stderr) if a child exits first or it
    never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            print("workbench dev: the API or the worker exited while starting", file=sys.stderr)
            return False
        connection = http.client.HTTPConnection(_reachable_host(host), port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return True
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    print(f"workbench dev: the API did not answer within {timeout:.0f} s", file=sys.stderr)
    return False


def _reachable_host(host: str) -> str:
    """Where to reach a server listening on `host` (all addresses: the loopback one)."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104


def _print_welcome(host: str, port: int, data_dir: Path) -> None:
    from workbench.seed import DEMO_PASSWORD, USERS

    base = f"http://{host}:{port}"
    print(
        f"""
RM Workbench is running (Ctrl-C stops everything)
  API       {base}/api/v1
  console   {base}/console   (staff: marketing, compliance, branch heads, admins)
  OpenAPI   {base}/schema   (JSON: {base}/schema/openapi.json)
  health    {base}/healthz   {base}/readyz   {base}/metrics
  data      {data_dir}   (kept across restarts; delete it to start over)
Demo logins (password: {DEMO_PASSWORD}):""",
        flush=True,
    )
    for user in USERS:
        print(f"  {user.login:<12} {user.role.value:<12} {user.name}", flush=True)
    dev_env = shlex.quote(str(data_dir / "dev.env"))
    print(f"Other commands against this instance: set -a; . {dev_env}; set +a", flush=True)


def _stop_on_sigterm() -> None:
    """SIGTERM and SIGINT stop everything. SIGINT explicitly: a program started in the
    background by a script inherits SIGINT ignored, and Python then leaves it ignored."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
