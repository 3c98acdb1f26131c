"""Settings from the environment: defaults, and every bad value reported at once, readably."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from push.fakes import FakeCredentials
from workbench.settings import JwtKey, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
SEED = bytes(range(32))
KEY = base64.b64encode(SEED).decode()
MINIMAL = {
    "DATABASE_URL": "postgresql://wb:pw@db.internal:5432/workbench",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "WORKBENCH_JWT_KEYS": f"k1:{KEY}",
    "WORKBENCH_DATA_KEYS": f"d1:{KEY}",
    "WORKBENCH_BLIND_INDEX_KEY": KEY,
}


def problems_of(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    problems = caught.value.problems
    # The message an operator sees lists every problem too.
    for problem in problems:
        assert problem in str(caught.value)
    return problems


def lines_naming(problems: list[str], variable: str) -> list[str]:
    return [p for p in problems if p.startswith(variable)]


def test_minimal_environment_parses_with_documented_defaults():
    settings = Settings.from_env(MINIMAL)
    assert settings.database_url == MINIMAL["DATABASE_URL"]
    assert settings.redis_url == MINIMAL["REDIS_URL"]
    assert settings.jwt_keys == (JwtKey(kid="k1", seed=SEED),)
    assert settings.signing_key.kid == "k1"
    assert settings.jwt_issuer == "rm-workbench"
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_seconds == 30 * 86400
    assert settings.bank_timezone == "Asia/Shanghai"
    assert settings.min_app_version is None
    assert settings.cors_origins == ()
    assert settings.trusted_proxies == ()
    assert settings.bootstrap_admin is None
    assert settings.max_body_bytes == 2_000_000
    assert settings.migrate_on_start is True
    assert settings.redis_prefix == "wb:"
    assert settings.log_level == "INFO"
    assert settings.log_format == "json"  # production logs are for machines
    assert settings.bank_name == "示例银行"
    assert settings.sync_offline_max_days == 7


def test_environment_is_read_not_os_environ_when_given(monkeypatch):
    monkeypatch.setenv("WORKBENCH_ACCESS_TOKEN_TTL", "60")
    assert Settings.from_env(MINIMAL).access_token_ttl_seconds == 900


def test_every_value_is_parsed():
    other = base64.b64encode(bytes(range(1, 33))).decode()
    settings = Settings.from_env(
        MINIMAL
        | {
            "WORKBENCH_JWT_KEYS": f"new:{other}, old:{KEY}",
            "WORKBENCH_ACCESS_TOKEN_TTL": " 300 ",
            "WORKBENCH_CORS_ORIGINS": "https://app.bank.example, http://localhost:5173",
            "WORKBENCH_TRUSTED_PROXIES": "10.0.0.0/8,::1",
            "WORKBENCH_BOOTSTRAP_ADMIN": "root:correct horse battery:staple",
            "WORKBENCH_MIN_APP_VERSION": "3.2.0",
            "WORKBENCH_TIMEZONE": "Europe/Paris",
            "WORKBENCH_MIGRATE_ON_START": "off",
            "WORKBENCH_LOG_LEVEL": "debug",
            "WORKBENCH_LOG_FORMAT": " Text ",
            "WORKBENCH_BANK_NAME": " 长江商业银行 ",
        }
    )
    assert [k.kid for k in settings.jwt_keys] == ["new", "old"]
    assert settings.signing_key.kid == "new"
    assert settings.access_token_ttl_seconds == 300
    assert settings.cors_origins == ("https://app.bank.example", "http://localhost:5173")
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert settings.bootstrap_admin == ("root", "correct horse battery:staple")
    assert settings.min_app_version == "3.2.0"
    assert settings.bank_timezone == "Europe/Paris"
    assert settings.migrate_on_start is False
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "text"
    assert settings.bank_name == "长江商业银行"


def test_missing_required_variables_are_all_listed():
    problems = problems_of({})
    for variable in (
        "DATABASE_URL",
        "REDIS_URL",
        "WORKBENCH_JWT_KEYS",
        "WORKBENCH_DATA_KEYS",
        "WORKBENCH_BLIND_INDEX_KEY",
    ):
        assert len(lines_naming(problems, variable)) == 1, problems
        assert "required" in lines_naming(problems, variable)[0]
    # Empty counts as missing.
    assert lines_naming(problems_of(MINIMAL | {"REDIS_URL": ""}), "REDIS_URL")


BAD_VALUES = {
    "DATABASE_URL": "mysql://x",
    "REDIS_URL": "http://cache:6379",
    "WORKBENCH_ACCESS_TOKEN_TTL": "abc",
    "WORKBENCH_CORS_ORIGINS": "*",
    "WORKBENCH_TIMEZONE": "Mars/Base",
    "WORKBENCH_JWT_KEYS": "k1:" + base64.b64encode(b"s" * 16).decode(),
    "WORKBENCH_BOOTSTRAP_ADMIN": "nopassword",
    "WORKBENCH_MIN_APP_VERSION": "latest",
    "WORKBENCH_TRUSTED_PROXIES": "not-an-ip",
    "WORKBENCH_MIGRATE_ON_START": "maybe",
    "WORKBENCH_PUBLIC_BASE_URL": "ftp://files",
    "WORKBENCH_DATA_KEYS": "d1:" + base64.b64encode(b"s" * 24).decode(),
    "WORKBENCH_BLIND_INDEX_KEY": "not base64!",
    "WORKBENCH_REFRESH_RETRY_SECONDS": "3600",  # a stolen token's window, not a retry's
}


@pytest.mark.parametrize(("variable", "value"), BAD_VALUES.items())
def test_each_bad_value_gets_one_line_naming_its_variable(variable, value):
    problems = problems_of(MINIMAL | {variable: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(variable)
    assert len(problems[0]) > len(variable) + 10  # says what is wrong, not just where


def test_all_bad_values_are_reported_at_once():
    problems = problems_of(MINIMAL | BAD_VALUES)
    assert len(problems) == len(BAD_VALUES), problems
    for variable in BAD_VALUES:
        assert len(lines_naming(problems, variable)) == 1, (variable, problems)
    assert any("32 bytes" in p for p in lines_naming(problems, "WORKBENCH_JWT_KEYS"))
    assert "Mars/Base" in lines_naming(problems, "WORKBENCH_TIMEZONE")[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKBENCH_JWT_KEYS", "k1:not base64!"),
        ("WORKBENCH_JWT_KEYS", KEY),  # no kid
        ("WORKBENCH_JWT_KEYS", f"bad kid:{KEY}"),
        ("WORKBENCH_CORS_ORIGINS", "https://app.bank.example/path"),
        ("WORKBENCH_CORS_ORIGINS", "app.bank.example"),
        ("WORKBENCH_BOOTSTRAP_ADMIN", "admin:short"),
        ("WORKBENCH_BOOTSTRAP_ADMIN", ":longenough-password"),
        ("WORKBENCH_MIN_APP_VERSION", "3.2.0-beta"),
        ("WORKBENCH_TRUSTED_PROXIES", "10.0.0.0/8,300.1.1.1"),
        ("WORKBENCH_MAX_BODY_BYTES", "1e6"),
    ],
)
def test_more_bad_values(variable, value):
    problems = problems_of(MINIMAL | {variable: value})
    assert len(lines_naming(problems, variable)) == 1, problems


def test_duplicate_kid_is_refused():
    other = base64.b64encode(bytes(range(1, 33))).decode()
    problems = problems_of(MINIMAL | {"WORKBENCH_JWT_KEYS": f"k1:{KEY},k1:{other}"})
    assert len(problems) == 1
    assert problems[0].startswith("WORKBENCH_JWT_KEYS")
    assert "kid" in problems[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKBENCH_ACCESS_TOKEN_TTL", "0"),
        ("WORKBENCH_ACCESS_TOKEN_TTL", "86400"),
        ("WORKBENCH_MAX_BODY_BYTES", "-1"),
        ("WORKBENCH_DB_POOL_MAX", "0"),
        ("WORKBENCH_LOG_LEVEL", "chatty"),
        ("WORKBENCH_LOG_FORMAT", "xml"),
        ("WORKBENCH_BANK_NAME", "   "),
        ("WORKBENCH_BANK_NAME", "银" * 41),
        ("WORKBENCH_SYNC_OFFLINE_MAX_DAYS", "0"),
        ("WORKBENCH_SYNC_OFFLINE_MAX_DAYS", "367"),
        ("WORKBENCH_SYNC_OFFLINE_MAX_DAYS", "99999999999"),
        ("WORKBENCH_REDIS_TIMEOUT_MS", "0"),
    ],
)
def test_out_of_range_values_are_refused(variable, value):
    problems = problems_of(MINIMAL | {variable: value})
    assert len(lines_naming(problems, variable)) == 1, problems


def test_the_redis_timeout_is_the_configured_one():
    """A bank whose Redis sits behind a slow link waits longer before a 503; 2 s by default."""
    from workbench.app import create_redis_client

    for env, seconds in (({}, 2.0), ({"WORKBENCH_REDIS_TIMEOUT_MS": "5500"}, 5.5)):
        client = create_redis_client(Settings.from_env(MINIMAL | env))
        options = client.connection_pool.connection_kwargs
        assert (options["socket_timeout"], options["socket_connect_timeout"]) == (seconds, seconds)


def test_range_problems_are_reported_together_with_parse_problems():
    """An operator fixing a config sees every problem in one go, not one batch at a time."""
    other = base64.b64encode(bytes(range(1, 33))).decode()
    env = MINIMAL | {
        "WORKBENCH_TIMEZONE": "Mars/Base",
        "WORKBENCH_MIGRATE_ON_START": "maybe",
        "WORKBENCH_ACCESS_TOKEN_TTL": "0",
        "WORKBENCH_JWT_KEYS": f"k1:{KEY},k1:{other}",
    }
    problems = problems_of(env)
    for variable in (
        "WORKBENCH_TIMEZONE",
        "WORKBENCH_MIGRATE_ON_START",
        "WORKBENCH_ACCESS_TOKEN_TTL",
        "WORKBENCH_JWT_KEYS",
    ):
        assert len(lines_naming(problems, variable)) == 1, (variable, problems)


APNS = {
    "WORKBENCH_APNS_KEY_ID": "ABCDE12345",
    "WORKBENCH_APNS_TEAM_ID": "TEAM123456",
    "WORKBENCH_APNS_TOPIC": "com.bank.workbench",
}


def push_credentials(folder: Path) -> dict[str, str]:
    """Variables naming good APNs and FCM credential files in `folder`."""
    creds = FakeCredentials.generate(folder, token_uri="https://oauth2.googleapis.com/token")
    return APNS | {
        "WORKBENCH_APNS_KEY_FILE": str(creds.apns_key_file),
        "WORKBENCH_FCM_SERVICE_ACCOUNT_FILE": str(creds.fcm_service_account_file),
    }


def test_good_push_credential_files_are_accepted(tmp_path):
    variables = push_credentials(tmp_path)
    settings = Settings.from_env(MINIMAL | variables)
    assert settings.fcm_service_account_file == variables["WORKBENCH_FCM_SERVICE_ACCOUNT_FILE"]
    assert settings.apns_key_file == variables["WORKBENCH_APNS_KEY_FILE"]


def write_service_account(folder: Path, **changes: object) -> str:
    """A copy of a good service-account file with fields changed (None: left out)."""
    good = json.loads(
        Path(push_credentials(folder)["WORKBENCH_FCM_SERVICE_ACCOUNT_FILE"]).read_text()
    )
    account = {k: v for k, v in (good | changes).items() if v is not None}
    path = folder / "changed.json"
    path.write_text(json.dumps(account))
    return str(path)


def written(folder: Path, content: str | bytes, name: str = "file") -> str:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


FCM = "WORKBENCH_FCM_SERVICE_ACCOUNT_FILE"
RSA_MARKER = "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKY"  # how an RSA PKCS#8 key's base64 starts


@pytest.mark.parametrize(
    ("variable", "make", "problem"),
    [
        (FCM, lambda d: written(d, "{bad SECRET"), "is not JSON (line 1, column 2)"),
        (FCM, lambda d: written(d, "[1, 2]"), "is not a JSON object"),
        (FCM, lambda d: written(d, b"\xff\xfeSECRET"), "is not a JSON text file"),
        (FCM, lambda d: str(d / "missing.json"), "cannot read"),
        (FCM, lambda d: str(d), "cannot read"),
        (FCM, lambda d: write_service_account(d, project_id=None), "has no project_id"),
        (
            FCM,
            lambda d: write_service_account(d, client_email="", token_uri=None),
            "has no client_email, token_uri",
        ),
        (
            FCM,
            lambda d: write_service_account(d, private_key="-----BEGIN PRIVATE KEY-----SECRET"),
            "private_key in",
        ),
        (
            FCM,
            lambda d: write_service_account(
                d, private_key=Path(push_credentials(d)["WORKBENCH_APNS_KEY_FILE"]).read_text()
            ),
            "not an unencrypted RSA key",
        ),
        ("WORKBENCH_APNS_KEY_FILE", lambda d: "/nonexistent.p8", "cannot read /nonexistent.p8"),
        ("WORKBENCH_APNS_KEY_FILE", lambda d: written(d, "SECRET"), "is not an APNs auth key"),
        (
            "WORKBENCH_APNS_KEY_FILE",
            lambda d: push_credentials(d)[FCM],
            "is not an APNs auth key",
        ),
    ],
)
def test_unusable_push_credential_files_get_one_line_naming_the_variable(
    tmp_path, variable, make, problem
):
    """Read and checked when settings load, as every value is: never the first push's problem.
    The line says what is wrong, never what the file holds."""
    folder = tmp_path / "credentials"
    folder.mkdir()
    env = (
        MINIMAL | (APNS if variable.startswith("WORKBENCH_APNS") else {}) | {variable: make(folder)}
    )
    problems = problems_of(env)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{variable}: "), problems
    assert problem in problems[0], problems
    for secret in ("SECRET", "PRIVATE KEY", RSA_MARKER):
        assert secret not in problems[0]


def test_cli_reports_every_problem_and_exits_2_without_a_traceback():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WORKBENCH_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "WORKBENCH_TIMEZONE": "Mars/Base",
        "WORKBENCH_CORS_ORIGINS": "*",
        "WORKBENCH_ACCESS_TOKEN_TTL": "abc",
    }
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "serve", "--port", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for variable in (
        "DATABASE_URL",
        "REDIS_URL",
        "WORKBENCH_JWT_KEYS",
        "WORKBENCH_TIMEZONE",
        "WORKBENCH_CORS_ORIGINS",
        "WORKBENCH_ACCESS_TOKEN_TTL",
    ):
        assert sum(variable in line for line in result.stderr.splitlines()) == 1, (
            variable,
            result.stderr,
        )
    assert "Mars/Base" in result.stderr
