"""House rules the code keeps: SQL only in queries modules, lint clean."""

from __future__ import annotations

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
