"""Every kind of event the code records has words on the audit trail page (`kinds.KIND_LABELS`),
so compliance reads 批准宣传册 rather than `brochure.approved`; and the page's object links go
only where the reader's role may go."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mobile_contracts.v1.identity import Role
from sync.packages import releases
from workbench.audit import kinds

ROOT = Path(__file__).resolve().parents[3]
KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def _strings(node: ast.expr, names: dict[str, set[str]]) -> set[str]:
    """The kinds an `action` expression can be: literals, both sides of a conditional, the
    string values a name is given in its module."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body, names) | _strings(node.orelse, names)
    if isinstance(node, ast.Name):
        return names.get(node.id, set())
    if isinstance(node, ast.Attribute):  # e.g. staff.SIGN_IN_UNLOCKED: a constant of its module
        return names.get(node.attr, set())
    if isinstance(node, ast.JoinedStr):  # f"offline_package.{action}": the release moves
        head = node.values[0]
        if isinstance(head, ast.Constant) and head.value == "offline_package.":
            return {f"offline_package.{move}" for move in releases._MOVES}
        raise AssertionError(f"an f-string kind this test cannot read: {ast.unparse(node)}")
    return set()


def recorded_kinds() -> set[str]:
    files = [p for d in ("workbench", "sync", "push") for p in sorted((ROOT / d).rglob("*.py"))]
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in files}
    names: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and KIND.match(node.value.value)
            ):
                names.setdefault(node.targets[0].id, set()).add(node.value.value)
    found: set[str] = set()
    for path, tree in trees.items():
        if "audit" not in path.read_text(encoding="utf-8"):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            own = path.parent.name == "audit"  # the trail's own module: `queries.record`
            if name == "record" and ("audit" in ast.unparse(func) or own):
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found |= _strings(keyword.value, names)
            elif name == "_audit":  # a feature's own helper around `record`
                for arg in node.args:
                    if not isinstance(arg, ast.JoinedStr):  # a subject (`export:{id}`)
                        found |= {s for s in _strings(arg, names) if "." in s or "_" in s}
    return {k for k in found if KIND.match(k)}


def test_every_recorded_kind_has_words():
    found = recorded_kinds()
    assert len(found) > 40, sorted(found)  # the scan sees the code's kinds
    for expected in ("login_failed", "brochure.approved", "offline_package.rollback",
                     "user.sign_in_unlocked", "export.downloaded", "export.started",
                     "survey_results.exported", "audit.exported", "org_unit_updated",
                     "work_order.transitioned", "work_order.handed_over",
                     "keys.rotated"):  # fmt: skip
        assert expected in found, expected
    assert sorted(found - set(kinds.KIND_LABELS)) == []


def test_object_links_only_where_the_role_may_go():
    some = "0195f0a0-0000-7000-8000-00000000b001"
    assert kinds.object_href("brochure", some, Role.COMPLIANCE) == f"/console/brochures/{some}"
    assert kinds.object_href("user", some, Role.COMPLIANCE) is None  # admins' pages
    assert kinds.object_href("user", some, Role.ADMIN) == f"/console/admin/users/{some}/edit"
    assert kinds.object_href("brochure", "not-an-id", Role.ADMIN) is None
    assert kinds.object_href("customer", some, Role.ADMIN) is None  # no console page
    assert kinds.object_href("device", "web-a/b c", Role.ADMIN) == "/console/devices?q=web-a%2Fb+c"
    assert kinds.split_subject("device:web:1") == ("device", "web:1")
    assert kinds.split_subject("recommendation_rules") == ("recommendation_rules", None)
    assert kinds.split_subject(None) is None
    assert kinds.object_href("work_order", some, Role.ADMIN) == f"/console/work-orders/{some}"
    assert kinds.object_href("work_order", some, Role.COMPLIANCE) is None  # not their pages
