"""What the sync's SQL modules share."""

from __future__ import annotations

import uuid

import asyncpg

Record = asyncpg.Record

EVERYONE = uuid.UUID(int=0)  # user_id of changes every partition holds
