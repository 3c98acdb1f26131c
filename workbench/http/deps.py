"""Named dependencies every route can ask for (provided in create_app)."""

from __future__ import annotations

from litestar.di import NamedDependency

from workbench.access.caller import Caller
from workbench.db import Connection

Db = NamedDependency[Connection]
"""The request's connection, inside its one transaction."""

CurrentCaller = NamedDependency[Caller]
"""The authenticated caller."""
