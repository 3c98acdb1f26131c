"""House rules the code keeps: SQL only in queries modules, lint clean, browser waits that the
pages' Content Security Policy lets run."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["workbench", "sync", "push", "mobile_contracts"]
SQL_CALL = re.compile(r"\.(fetch|fetchrow|fetchval|execute|executemany|copy_records_to_table)\(")
REDIS_PIPELINE = re.compile(r"\bpipe\.execute\(\)")  # a Redis pipeline, not SQL
# The migration runner applies SQL files; everything else goes through a feature's queries
# module (or a `queries/` package of private modules).
ALLOWED = {"queries.py", "migrate.py"}


def test_sql_is_executed_only_in_queries_modules():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name not in ALLOWED and path.parent.name != "queries"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SQL_CALL.search(REDIS_PIPELINE.sub("", line))
    ]
    assert offenders == [], f"SQL outside a queries module: {offenders}"


FUNCTION_SOURCE = re.compile(r"\s*(async\s+)?(\(|function\b|[A-Za-z_$][\w$]*\s*=>)")


def _leading_text(node: ast.expr) -> str | None:
    """The literal text a string argument starts with (an f-string's first literal part)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _leading_text(node.values[0]) if isinstance(node.values[0], ast.Constant) else ""
    return None


def test_browser_waits_pass_a_function_not_an_expression():
    """Playwright polls a `wait_for_function` given a bare expression with `eval`, which the
    pages' CSP (`script-src 'self'`) refuses: the wait fails whenever its first look is too early
    (on a loaded CI machine). A function (`"() => ..."`) is called, not evaluated."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "wait_for_function"
                and node.args
            ):
                text = _leading_text(node.args[0])
                if text is not None and not FUNCTION_SOURCE.match(text):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"wait_for_function with an expression, not a function: {offenders}"


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
