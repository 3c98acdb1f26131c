"""The `workbench` command, run as a real process the way a developer or operator runs it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import pytest

from mobile_contracts.export import current_document
from tests.conftest import TEST_KEY
from workbench import migrate
from workbench.embedded import free_port
from workbench.seed import DEMO_PASSWORD, USERS
from workbench.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEV_COMMAND = (sys.executable, "-m", "workbench", "dev")


def cli_env(**values: str | None) -> dict[str, str]:
    """The test's environment with these variables set (or removed when None)."""
    env = dict(os.environ)
    for name, value in values.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ---- workbench dev ---------------------------------------------------------------------------


class DevProcess:
    """`workbench dev` in its own session, its output in a file."""

    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.data_dir, self.port, self.log = data_dir, port, log
        self.base = f"http://127.0.0.1:{port}"
        env = cli_env(
            DATABASE_URL=None,
            REDIS_URL=None,
            WORKBENCH_JWT_KEYS=None,
            WORKBENCH_DATA_KEYS=None,
            WORKBENCH_BLIND_INDEX_KEY=None,
            WORKBENCH_DATA_DIR=None,
            WORKBENCH_REDIS_PREFIX=None,
            WORKBENCH_BOOTSTRAP_ADMIN=None,
            PYTHONUNBUFFERED="1",
            # Cheap but real Argon2id, as in the other tests: each start hashes the demo
            # password and a dummy one per process, and each sign-in verifies one (~0.6 s each
            # at the default 64 MiB, several seconds a run on a loaded machine).
            WORKBENCH_ARGON2_MEMORY_KIB="1024",
            WORKBENCH_ARGON2_ITERATIONS="1",
        )
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            [*DEV_COMMAND, "--data-dir", str(data_dir), "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.seen: dict[int, psutil.Process] = {}

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"workbench dev exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        pytest.fail(f"/readyz did not answer 200 within {timeout} s:\n{self.output()}")

    def wait_for_output(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                pytest.fail(f"workbench dev exited early:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} was not printed within {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    def remember_processes(self) -> None:
        """Every process this dev run started: its children, and anything using the data dir."""
        parent = psutil.Process(self.process.pid)
        for proc in parent.children(recursive=True):
            self.seen[proc.pid] = proc
        for proc in psutil.process_iter(["cmdline"]):
            if str(self.data_dir) in " ".join(proc.info["cmdline"] or []):
                self.seen[proc.pid] = proc
        self.seen.pop(os.getpid(), None)

    def stop(self, timeout: float = 90) -> int:  # generous: a loaded machine checkpoints slowly
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            self._out.close()

    def kill_all(self) -> None:
        """Last-resort cleanup after a failed test: only processes this run started."""
        procs = [p for p in self.seen.values() if p.is_running()]
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        if not self._out.closed:
            self._out.close()


def leftovers(dev: DevProcess) -> list[str]:
    """Processes of the stopped run still alive (zombies count as gone)."""
    alive = []
    deadline = time.monotonic() + 10  # give reparented children a moment to be reaped
    while True:
        alive = []
        for proc in dev.seen.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{proc.pid} {' '.join(proc.cmdline())}")
            except psutil.NoSuchProcess:
                continue
        for proc in psutil.process_iter(["cmdline", "status"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if str(dev.data_dir) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(f"{proc.pid} {cmdline}")
        if not alive or time.monotonic() > deadline:
            return sorted(set(alive))
        time.sleep(0.2)


def api_login(base: str, who: str) -> dict:
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        json={
            "login": who,
            "password": DEMO_PASSWORD,
            "device": {"device_id": f"cli-test-{who}", "platform": "web"},
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def user_logins(base: str, admin: dict) -> list[str]:
    response = httpx.get(
        f"{base}/api/v1/users",
        params={"limit": 200},
        headers={"Authorization": f"Bearer {admin['access_token']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return [u["login"] for u in response.json()["items"]]


@pytest.fixture
def dev_runs(tmp_path: Path) -> Iterator[list[DevProcess]]:
    runs: list[DevProcess] = []
    yield runs
    for run in runs:
        run.kill_all()


def test_dev_runs_the_demo_bank_and_stops_cleanly_keeping_data(tmp_path, dev_runs):
    data_dir = tmp_path / "wb-data"
    port = free_port()

    for attempt in (1, 2):
        dev = DevProcess(data_dir, port, tmp_path / f"dev-{attempt}.log")
        dev_runs.append(dev)
        # "Running" is printed only once the API answers.
        dev.wait_for_output("RM Workbench is running")
        assert httpx.get(f"{dev.base}/healthz", timeout=5).status_code == 200
        dev.wait_ready()
        dev.remember_processes()
        assert any("postgres" in " ".join(p.cmdline()) for p in dev.seen.values()), dev.seen
        assert any("redis-server" in " ".join(p.cmdline()) for p in dev.seen.values()), dev.seen

        output = dev.output()
        assert "Demo logins" in output
        assert DEMO_PASSWORD in output
        for user in USERS:
            assert user.login in output
        # The welcome names the real data folder, and how to reach this instance from a shell.
        assert f"data      {data_dir}" in output
        assert f"set -a; . {data_dir / 'dev.env'}; set +a" in output
        assert "<data dir>" not in output
        assert (data_dir / "dev.env").exists()
        if attempt == 1:
            # A second dev on the same folder says so and starts nothing beside the first
            # (it started a second Redis on the folder and rewrote dev.env under it).
            settings = (data_dir / "dev.env").read_text()
            second = run_cli(
                "dev", "--data-dir", str(data_dir), "--port", str(free_port()),
                env=cli_env(DATABASE_URL=None, REDIS_URL=None, WORKBENCH_DATA_DIR=None),
                timeout=60,
            )  # fmt: skip
            assert second.returncode == 2, second.stdout + second.stderr
            assert second.stderr.strip().splitlines() == [
                f"workbench dev: {data_dir} is in use by another workbench dev "
                f"(pid {dev.process.pid}); stop it or choose --data-dir"
            ]
            assert "starting embedded" not in second.stdout
            # On the first one's port too (the README's command, typed again): the folder is
            # what it names, not the port.
            same_port = run_cli(
                "dev", "--data-dir", str(data_dir), "--port", dev.base.rsplit(":", 1)[1],
                env=cli_env(DATABASE_URL=None, REDIS_URL=None, WORKBENCH_DATA_DIR=None),
                timeout=60,
            )  # fmt: skip
            assert same_port.returncode == 2, same_port.stdout + same_port.stderr
            assert same_port.stderr.strip().splitlines() == second.stderr.strip().splitlines()
            assert (data_dir / "dev.env").read_text() == settings
            assert httpx.get(f"{dev.base}/healthz", timeout=5).status_code == 200

        rm = api_login(dev.base, "rm01")
        assert rm["user"]["role"] == "rm"
        me = httpx.get(
            f"{dev.base}/api/v1/me",
            headers={"Authorization": f"Bearer {rm['access_token']}"},
            timeout=30,
        )
        assert me.status_code == 200
        assert me.json()["login"] == "rm01"

        # The demo bank exists once, also after a restart on the same data folder.
        logins = user_logins(dev.base, api_login(dev.base, "admin"))
        assert sorted(logins) == sorted(u.login for u in USERS)
        if attempt == 1:
            assert "demo bank added: " in output
            assert " 500 customers," in output
            assert " 3 task_templates," in output
        if attempt == 2:
            # Nothing is added twice, and the log says the bank was there (not "0 users...").
            assert "database ready; demo bank already in place: nothing added" in output
        # The RM's demo customers are there, masked.
        mine = httpx.get(
            f"{dev.base}/api/v1/customers",
            headers={"Authorization": f"Bearer {rm['access_token']}"},
            timeout=30,
        )
        assert mine.status_code == 200
        assert len(mine.json()["items"]) == 50
        assert "*" in mine.json()["items"][0]["name"]
        # Request lines are short text for a person, naming the route template, not JSON.
        dev.wait_for_output(" GET /api/v1/customers 200 ")
        request_lines = [
            line for line in dev.output().splitlines() if re.search(r" /api/v1/\S* \d{3} ", line)
        ]
        assert request_lines
        for line in request_lines:
            assert re.fullmatch(r"\d\d:\d\d:\d\d [A-Z]+ /\S* \d{3} \d+\.\dms", line), line
        assert rm["access_token"] not in dev.output()
        assert dev.output().count(DEMO_PASSWORD) == 1  # in the welcome, never in a log line

        assert dev.stop() == 0, dev.output()
        assert leftovers(dev) == [], f"orphan processes after Ctrl-C:\n{dev.output()}"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{dev.base}/healthz", timeout=2)


def test_dev_on_a_taken_port_says_so_and_starts_nothing(tmp_path):
    data_dir = tmp_path / "wb-data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "dev",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            env=cli_env(DATABASE_URL=None, REDIS_URL=None, WORKBENCH_DATA_DIR=None),
            timeout=60,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"workbench dev: 127.0.0.1:{port} is already in use; stop what uses it or choose --port"
    ]
    assert "Traceback" not in result.stderr
    assert "running" not in result.stdout
    assert not data_dir.exists()  # no embedded servers, no keys, nothing left behind


def test_dev_whose_port_is_taken_while_the_database_is_prepared_says_so(
    tmp_path, monkeypatch, settings
):
    """Another server took the port while the demo bank was seeded: its /healthz would have
    passed for this instance's (a "running" welcome for someone else's server)."""
    from workbench import dev_runner

    taken = socket.socket()
    started: list[list[str]] = []

    async def seed_while_another_takes_the_port(_settings: Settings) -> dict[str, int]:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        return {}

    port = free_port()
    monkeypatch.setattr(dev_runner, "migrate_and_seed", seed_while_another_takes_the_port)
    monkeypatch.setattr(dev_runner, "_stop_on_sigterm", lambda: None)
    monkeypatch.setattr(dev_runner.logs, "configure", lambda *_: None)
    monkeypatch.setattr(dev_runner.subprocess, "Popen", lambda args, **_: started.append(args))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    with taken:
        assert dev_runner.run("127.0.0.1", port, tmp_path / "wb-data") == 2
    assert started == []  # neither the API nor the worker


# ---- workbench migrate -----------------------------------------------------------------------


async def test_migrate_command_applies_and_reports(scratch_db):
    names = [f"{m.version:04d}_{m.name}" for m in migrate.load()]
    env = cli_env(DATABASE_URL=scratch_db)

    first = run_cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    for name in names:
        assert name in first.stdout

    second = run_cli("migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "nothing" in second.stdout
    assert not any(name in second.stdout for name in names)
    assert await migrate.pending(scratch_db) == []


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [
        ("mysql://db.example/workbench", "DATABASE_URL"),
        ("", "DATABASE_URL is required"),
        (None, "DATABASE_URL is required"),
    ],
)
def test_migrate_command_with_a_bad_database_url_exits_2(database_url, expected):
    result = run_cli("migrate", env=cli_env(DATABASE_URL=database_url))

    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_command_on_an_unreachable_database_fails_with_a_message():
    port = free_port()  # nothing listens there
    result = run_cli(
        "migrate", env=cli_env(DATABASE_URL=f"postgresql://127.0.0.1:{port}/workbench"), timeout=60
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert str(port) in result.stderr or "connect" in result.stderr.lower()


# ---- serve and worker: what stops them at start ---------------------------------------------


def service_env(database_url: str, **values: str | None) -> dict[str, str]:
    """Everything `serve` and `worker` need, on this database."""
    service: dict[str, str | None] = {
        "DATABASE_URL": database_url,
        "WORKBENCH_JWT_KEYS": f"ci:{TEST_KEY}",
        "WORKBENCH_DATA_KEYS": f"ci:{TEST_KEY}",
        "WORKBENCH_BLIND_INDEX_KEY": TEST_KEY,
        "WORKBENCH_MIGRATE_ON_START": None,
        "WORKBENCH_APNS_KEY_FILE": None,
        "WORKBENCH_FCM_SERVICE_ACCOUNT_FILE": None,
    }
    return cli_env(**(service | values))


def with_path(url: str, database: str, password: str = "") -> str:
    """`url` on another database (and with a password, when given)."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    login = f"{user}:{password}@" if password else f"{user}@"
    # The host as given: none for the embedded server, whose socket folder is in the query.
    netloc = login + parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def assert_one_line(result: subprocess.CompletedProcess, start: str) -> str:
    """The command stopped with exit 2 and one line on stderr, no traceback, nothing served."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start), lines
    assert "Traceback" not in result.stdout + result.stderr
    assert "Uvicorn running" not in result.stdout + result.stderr
    return lines[0]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("migrate_on_start", ["true", "false"])
def test_serve_on_an_unreachable_database_says_so_in_one_line_and_exits_2(
    workers, migrate_on_start
):
    port = free_port()  # nothing listens there
    url = f"postgresql://postgres:Sekr3t-pw@127.0.0.1:{port}/workbench"
    env = service_env(url, WORKBENCH_MIGRATE_ON_START=migrate_on_start)

    result = run_cli("serve", "--port", str(free_port()), "--workers", workers, env=env)

    line = assert_one_line(result, "workbench: cannot use the database: ConnectionRefusedError")
    assert str(port) in line
    assert "Sekr3t-pw" not in result.stdout + result.stderr


@pytest.mark.parametrize("migrate_on_start", ["true", "false"])
def test_serve_on_a_database_that_does_not_exist_names_it_and_exits_2(servers, migrate_on_start):
    url = with_path(servers.admin_url, "wb_no_such_database")
    env = service_env(url, WORKBENCH_MIGRATE_ON_START=migrate_on_start)

    result = run_cli("serve", "--port", str(free_port()), env=env)

    line = assert_one_line(result, "workbench: cannot use the database:")
    assert '"wb_no_such_database" does not exist' in line


@pytest.mark.parametrize("migrate_on_start", ["true", "false"])
async def test_serve_on_a_database_newer_than_the_code_says_so_and_exits_2(
    scratch_db, tmp_path, migrate_on_start
):
    newer = tmp_path / "migrations"
    shutil.copytree(migrate.default_directory(), newer)
    version = len(migrate.load()) + 1
    (newer / f"{version:04d}_from_the_future.sql").write_text("create table later (id int);\n")
    await migrate.migrate(scratch_db, newer)
    env = service_env(scratch_db, WORKBENCH_MIGRATE_ON_START=migrate_on_start)

    result = run_cli("serve", "--port", str(free_port()), env=env)

    line = assert_one_line(result, f"workbench: migration {version:04d}_from_the_future")
    assert "older than the database" in line


def test_serve_starts_without_redis_and_answers_503_until_it_is_there(settings, tmp_path):
    port = free_port()
    env = service_env(settings.database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).is_success:
                        break
                time.sleep(0.2)
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 503
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(30)
    assert process.returncode == 0, log.read_text()


def test_worker_on_an_unreachable_database_says_so_in_one_line_and_exits_2():
    port = free_port()
    env = service_env(f"postgresql://postgres:Sekr3t-pw@127.0.0.1:{port}/workbench")

    result = run_cli("worker", env=env)

    line = assert_one_line(result, "workbench: cannot use the database: ConnectionRefusedError")
    assert str(port) in line
    assert "Sekr3t-pw" not in result.stderr


def test_a_file_problem_is_not_called_a_database_problem(tmp_path):
    target = tmp_path / "no-such-folder" / "openapi.json"

    result = run_cli("export-contracts", "--output", str(target), env=cli_env())

    line = assert_one_line(result, "workbench: FileNotFoundError")
    assert str(target) in line
    assert "database" not in line


def bad_push_credentials(tmp_path: Path) -> list[tuple[dict[str, str], str, str]]:
    """Settings naming unusable push credentials: (variables, the one named, what is wrong)."""
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{bad SECRET-CONTENT")
    no_project = tmp_path / "no-project.json"
    no_project.write_text(json.dumps({"client_email": "SECRET-CONTENT@x", "private_key": "x"}))
    apns = {
        "WORKBENCH_APNS_KEY_ID": "ABCDE12345",
        "WORKBENCH_APNS_TEAM_ID": "TEAM123456",
        "WORKBENCH_APNS_TOPIC": "com.bank.workbench",
    }
    fcm = "WORKBENCH_FCM_SERVICE_ACCOUNT_FILE"
    return [
        ({fcm: str(bad_json)}, fcm, "is not JSON"),
        ({fcm: str(no_project)}, fcm, "has no project_id"),
        ({fcm: str(tmp_path / "missing.json")}, fcm, "No such file or directory"),
        (
            {"WORKBENCH_APNS_KEY_FILE": "/nonexistent.p8", **apns},
            "WORKBENCH_APNS_KEY_FILE",
            "No such file or directory",
        ),
    ]


@pytest.mark.parametrize("command", ["worker", "serve"])
@pytest.mark.parametrize("case", range(4))
def test_unusable_push_credentials_stop_the_start_as_invalid_configuration(
    settings, tmp_path, command, case
):
    variables, named, problem = bad_push_credentials(tmp_path)[case]
    env = service_env(settings.database_url, **variables)

    args = ["serve", "--port", str(free_port())] if command == "serve" else [command]

    result = run_cli(*args, env=env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    first, *problems = result.stderr.splitlines()
    assert first == "workbench: invalid configuration:", result.stderr
    assert len(problems) == 1, result.stderr
    assert problems[0].startswith(f"  - {named}: "), result.stderr
    assert problem in problems[0]
    assert "database" not in result.stderr
    assert "SECRET-CONTENT" not in result.stderr


# ---- contracts -------------------------------------------------------------------------------


def test_export_contracts_writes_the_current_document(tmp_path):
    target = tmp_path / "x.json"
    result = run_cli(
        "export-contracts", "--output", str(target), env=cli_env(WORKBENCH_JWT_KEYS=None)
    )

    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    assert json.loads(target.read_text(encoding="utf-8")) == current_document()


def test_check_contracts_passes_on_the_current_tree():
    result = run_cli("check-contracts", env=cli_env(WORKBENCH_JWT_KEYS=f"ci:{TEST_KEY}"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 breaking change(s)" in result.stdout


def test_keygen_prints_a_key_the_settings_accept():
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "keygen", "--kid", "k2026a"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    entry = result.stdout.strip()
    assert entry.startswith("k2026a:")
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://x",
            "REDIS_URL": "redis://x",
            "WORKBENCH_JWT_KEYS": entry,
            "WORKBENCH_DATA_KEYS": entry,
            "WORKBENCH_BLIND_INDEX_KEY": entry.partition(":")[2],
        }
    )
    assert settings.signing_key.kid == "k2026a"
    assert len(settings.signing_key.seed) == 32


@pytest.mark.parametrize("kid", ["a:b", "x,y", "", "k 1"])
def test_keygen_refuses_a_key_id_the_settings_would_not_read(kid):
    # It printed `a:b:<key>`, which the settings then refused as "key 'a' is not valid base64".
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "keygen", "--kid", kid],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert "a key id is 1 to 64 letters" in result.stderr
