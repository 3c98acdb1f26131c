"""The public survey page `/f/{token}`: a light zh-CN mobile page, its submission, thank-you."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
