"""The committed OpenAPI document is current, and released apps keep working against it."""

from __future__ import annotations

from typing import Any

import pytest

from mobile_contracts.compat import breaking_changes
from mobile_contracts.export import committed_document, current_document, released_document

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return current_document()


def test_committed_openapi_document_is_current(current):
    committed = committed_document()
    stale = sorted(
        set(committed.get("paths", {})) ^ set(current.get("paths", {}))
        | {
            name
            for name in set(committed.get("components", {}).get("schemas", {}))
            | set(current.get("components", {}).get("schemas", {}))
            if committed.get("components", {}).get("schemas", {}).get(name)
            != current.get("components", {}).get("schemas", {}).get(name)
        }
    )
    assert committed == current, (
        "mobile_contracts/openapi.json is stale: run `workbench export-contracts` and commit"
        f" the result (differences in: {', '.join(stale) or 'paths or metadata'})"
    )


def test_no_breaking_changes_against_the_released_contract(current):
    changes = breaking_changes(released_document(), current)
    assert changes == [], "breaking changes for released apps:\n" + "\n".join(
        f"  {c.kind}: {c.where}: {c.detail}" for c in changes
    )


def test_every_operation_is_named_and_described(current):
    operations = [
        (method.upper(), path, op)
        for path, item in current["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]
    assert operations
    unnamed = [f"{m} {p}" for m, p, op in operations if not op.get("operationId")]
    undescribed = [
        f"{m} {p}"
        for m, p, op in operations
        if not (op.get("summary") or "").strip() and not (op.get("description") or "").strip()
    ]
    assert unnamed == [], f"operations without operationId: {unnamed}"
    assert undescribed == [], f"operations without summary or description: {undescribed}"
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
