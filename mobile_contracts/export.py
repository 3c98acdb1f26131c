"""The OpenAPI document of the current code, the committed snapshot and the released one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar import Litestar

HERE = Path(__file__).parent


def default_path() -> Path:
    return HERE / "openapi.json"


def released_path() -> Path:
    """The contract of the last released apps; breaking changes are checked against it."""
    return HERE / "released" / "v1.json"


def inert_app() -> Litestar:
    """The app built with inert settings: nothing connects until its lifespan starts."""
    from workbench.app import create_app
    from workbench.settings import DataKey, JwtKey, Settings

    settings = Settings(
        database_url="postgresql://unused",
        redis_url="redis://unused",
        jwt_keys=(JwtKey(kid="export", seed=b"\0" * 32),),
        data_keys=(DataKey(kid="export", key=b"\0" * 32),),
        blind_index_key=b"\0" * 32,
    )
    return create_app(settings)


def current_document() -> dict[str, Any]:
    """Render the OpenAPI document of the inert app."""
    document: dict[str, Any] = inert_app().openapi_schema.to_schema()
    # Round-trip through JSON so the result compares equal to a file read back.
    loaded: dict[str, Any] = json.loads(json.dumps(document, sort_keys=True))
    return loaded


def committed_document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(default_path().read_text(encoding="utf-8"))
    return loaded


def released_document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(released_path().read_text(encoding="utf-8"))
    return loaded
