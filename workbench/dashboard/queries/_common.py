"""What the dashboard's SQL modules share: the row type, what an open task and an open work
order are, and the RMs of a subtree."""

from __future__ import annotations

import asyncpg

Record = asyncpg.Record

OPEN_TASK = "('pending', 'in_progress', 'submitted', 'awaiting_confirmation')"
OPEN_WORK_ORDER = "('open', 'in_progress')"

# The RMs of the subtree of $1.
_RMS = """
    select u.id, u.name, u.org_unit_id from users u
     where u.role = 'rm'
       and u.org_unit_id = any(array(select s.id from org_subtree($1) s(id)))
"""
