"""Trigger functions join a statement's old rows to its new rows only in SQL they EXECUTE.

PL/pgSQL plans a static statement once per connection and keeps the plan, the transition
tables' row counts included: after a one-row update on a pooled connection, a batch of
thousands was joined in a nested loop over all of old_rows for each new row (the customers
feed: 25 s for 5,000 rows instead of 0.35 s; migration 0029). EXECUTE plans each statement
with the rows it changed."""

from __future__ import annotations

import re
from typing import Any


def _static_statements(source: str) -> list[str]:
    """The statements of a PL/pgSQL body outside EXECUTEd dollar-quoted text, string literals
    and comments."""
    source = re.sub(r"\$sql\$.*?\$sql\$", "", source, flags=re.S)
    source = re.sub(r"'(?:[^']|'')*'", "''", source)
    source = re.sub(r"--[^\n]*", "", source)
    return source.split(";")


async def test_no_trigger_joins_transition_tables_in_a_static_statement(db: Any) -> None:
    functions = await db.fetch(
        """
        select p.proname, p.prosrc from pg_proc p join pg_language l on l.oid = p.prolang
         where l.lanname = 'plpgsql' and p.prosrc like '%old_rows%'
           and p.prosrc like '%new_rows%'
        """
    )
    assert {"sync_customers", "sync_tasks", "share_funnel_visitors"} <= {
        f["proname"] for f in functions
    }
    static = [
        f["proname"]
        for f in functions
        if any("old_rows" in s and "new_rows" in s for s in _static_statements(f["prosrc"]))
    ]
    assert static == []


def test_the_check_sees_a_static_join() -> None:
    body = """begin
        insert into sync_log select n.id from new_rows n join old_rows o on o.id = n.id;
        execute $sql$ insert into t select 1 from new_rows n join old_rows o using (id) $sql$;
        return null; end"""
    statics = [s for s in _static_statements(body) if "old_rows" in s and "new_rows" in s]
    assert len(statics) == 1
    assert "insert into sync_log" in statics[0]
