"""Applications for tests: each built once per worker process and started afresh by each test.

Building one registers every route (about half a second, more on a loaded machine), which most
tests would otherwise pay for; what a test can observe is made in the lifespan (pool, Redis,
puller, auth) or reset here (metrics), so a test sees a new instance either way. A test running
two instances side by side (another API process) gets a second, separate application, and an
application a test changed (a route of its own registered on it) is not handed out again.

Blob folders: a test names a folder of its own (under `tmp_path`), which would make every such
test's settings new and build a new application. The application is given a stable name for
that folder instead, `<slots>/slot-N`, a symbolic link that each test points at its own folder:
the files land in the test's folder, as before, and the settings (so the application) are the
same from one test to the next. The local blob store resolves its folder once, when the
application starts, so a link re-pointed by the next test changes nothing of a finished one.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from litestar import Litestar

from workbench.app import create_app
from workbench.operations.metrics import Metrics
from workbench.settings import Settings

KEEP = 16  # applications kept per worker (~9 MB each): a test of its own settings builds anew

_APPS: OrderedDict[Settings, Litestar] = OrderedDict()
_STARTED: dict[int, frozenset[tuple[str, frozenset[str]]]] = {}  # id: routes when handed out
_SLOTS: dict[str, Path] = {}  # the test's folder: its slot
_SLOT_ROOT: list[Path] = []


def set_slot_root(root: Path) -> None:
    """Where the slots live (a folder of this worker's run); called once per session."""
    _SLOT_ROOT[:] = [root]


def forget_slots() -> None:
    """A new test: its folders get slots afresh (called before each test)."""
    _SLOTS.clear()


def with_stable_blob_dir(settings: Settings) -> Settings:
    """These settings with their blob folder behind a slot (unchanged without one)."""
    if settings.blob_dir is None or not _SLOT_ROOT:
        return settings
    folder = os.path.abspath(settings.blob_dir)
    slot = _SLOTS.get(folder)
    if slot is None:
        slot = _SLOTS[folder] = _SLOT_ROOT[0] / f"slot-{len(_SLOTS)}"
        slot.unlink(missing_ok=True)  # the link of an earlier test
        slot.symlink_to(folder, target_is_directory=True)
    return replace(settings, blob_dir=str(slot))


def take_app(settings: Settings) -> Litestar:
    """The application for these settings, to be started now; `give_back` it once stopped."""
    settings = with_stable_blob_dir(settings)
    app = _APPS.get(settings)
    if app is not None and id(app) in _STARTED:
        return create_app(settings)  # a second instance side by side: its own, not kept
    if app is None:
        app = _APPS[settings] = create_app(settings)
        while len(_APPS) > KEEP:
            oldest = next(iter(_APPS))
            if id(_APPS[oldest]) in _STARTED:
                break
            del _APPS[oldest]
    _APPS.move_to_end(settings)
    app.state.metrics = Metrics()
    _STARTED[id(app)] = _routes(app)
    return app


def give_back(app: Litestar) -> None:
    """The application has stopped; an application whose routes a test changed is dropped."""
    routes = _STARTED.pop(id(app), None)
    if routes is not None and routes != _routes(app):
        for settings, kept in list(_APPS.items()):
            if kept is app:
                del _APPS[settings]


def _routes(app: Litestar) -> frozenset[tuple[str, frozenset[str]]]:
    return frozenset((route.path, frozenset(route.methods)) for route in app.routes)
