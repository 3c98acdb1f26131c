"""What the push query modules share."""

from __future__ import annotations

import asyncpg

Record = asyncpg.Record
PUSH_USER_LOCKS = 0x7075  # advisory-lock namespace of a user's push deliveries ("pu")
PUSH_TOKEN_LOCKS = 0x7074  # advisory-lock namespace of one provider token's registration ("pt")
