"""Survey delivery endpoints: invitations to customers and staff, progress, the staff inbox."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
