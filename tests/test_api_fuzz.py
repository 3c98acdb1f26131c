"""The whole API fuzzed as each role: schemathesis generates requests from the committed-to
OpenAPI (valid and invalid ones) for every operation and sends them to the app in process; no
answer may be a 5xx, every answer must match the documented status codes, content types and
schemas, and no value may reach PostgreSQL that it refuses (`request.invalid_value`, the net
under the contract types). Figures are printed (`pytest -s`); more examples with
WORKBENCH_FUZZ_EXAMPLES."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from workbench.app import create_app
from workbench.db import use_json_codecs
from workbench.security.vault import Vault
from workbench.seed import DEMO_PASSWORD, seed_demo_customers, seed_demo_tasks

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "2"))
ROLES = {
    "rm": "rm01",
    "branch_head": "bh.east",
    "marketing": "marketing",
    "compliance": "compliance",
    "admin": "admin",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Answers that are not wrong in themselves but show a gap: the database, not the contract,
# refused a value (the catch-all of workbench.http.problems), or an unexpected error.
GAP_CODES = {"request.invalid_value", "server.error"}


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # first failure per (role, op, check)

    def fail(self, key: str, text: str) -> None:
        self.failures.setdefault(key, text[:1500])


@pytest.fixture
async def fuzz_app(settings, demo_bank, db, tmp_path) -> Any:
    vault = Vault.from_settings(settings.data_keys, settings.blind_index_key)
    await use_json_codecs(db)
    async with db.transaction():
        await seed_demo_customers(db, vault=vault)
        await seed_demo_tasks(db, tz=settings.bank_timezone)
    # The fuzzer signs in hundreds of times and sends random sign-ins: no rate limit here.
    # Uploads (brochure pages) are fuzzed too, into a folder of the test's own.
    overrides = {"login_limit_per_ip": 10**9, "login_limit_per_login": 10**9}
    return create_app(replace(settings, blob_dir=str(tmp_path / "blobs"), **overrides))


def sign_in(client: Any, login: str) -> dict[str, str]:
    device_id = f"fuzz-{uuid.uuid4().hex}"
    response = client.post(
        "/api/v1/auth/login",
        json={
            "login": login,
            "password": DEMO_PASSWORD,
            "device": {"device_id": device_id, "platform": "web"},
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", "X-Device-Id": device_id}


def test_no_operation_answers_5xx_or_off_contract_for_any_role(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", fuzz_app)
    schema.config.max_stream_events = 1  # GET /sync/events: its `hello` is enough
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    with asgi.get_client(fuzz_app) as client:
        for role, login in ROLES.items():
            for operation in operations:
                headers = sign_in(client, login)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    run_operation(operation, mode, headers, role, tally)
    pairs = len(operations) * len(ROLES)
    print(
        f"\nAPI fuzz: {len(operations)} operations x {len(ROLES)} roles = {pairs} pairs, "
        f"{tally.requests} requests, {sum(n for s, n in tally.statuses.items() if s >= 500)} "
        f"5xx, {len(tally.failures)} failing (role, operation, check); statuses "
        f"{dict(sorted(tally.statuses.items()))}"
    )
    assert len(operations) > 50
    assert not tally.failures, "\n\n".join(f"{k}\n{v}" for k, v in tally.failures.items())


def run_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], role: str, tally: Tally
) -> None:
    label = f"{role} {operation.label} [{mode.value}]"

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Any) -> None:
        response = case.call(headers=headers)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:  # failed checks: keep the first of each kind, go on
            for failure in group.exceptions:
                tally.fail(f"{label} {failure.title}", f"{failure}\n{case.as_curl_command()}")
        content_type = (response.headers.get("content-type") or [""])[0]
        if content_type.startswith("application/problem+json"):
            code = response.json().get("code")
            if code in GAP_CODES:
                tally.fail(f"{label} {code}", f"{response.text}\n{case.as_curl_command()}")

    # Unsatisfiable: nothing of this operation can be invalid (no parameters, no body).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        send()
