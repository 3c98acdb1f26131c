"""What the invitation SQL modules share."""

from __future__ import annotations

import asyncpg

Record = asyncpg.Record

# An invitation (`i`) with its version's (`v`) title, audience and questions.
INVITATION = """
    i.id, i.survey_id, i.version, i.delivery_id, i.customer_id, i.user_id, i.rm_id,
    i.org_unit_id, i.sent_by, i.task_id, i.sent_at, i.expires_at, i.reminders, i.responded_at,
    v.title, v.audience, v.questions
"""
