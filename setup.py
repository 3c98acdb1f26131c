"""Build step of the package (everything else is in pyproject.toml): vendor Chart.js into
workbench/console/static/vendor/ before the package's files are collected, for a wheel and for
`pip install -e .` alike. The pins and the checks are in workbench/dashboard/chartjs.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
VENDOR = Path("workbench", "console", "static", "vendor")


def _chartjs() -> ModuleType:
    """workbench/dashboard/chartjs.py by its path (the package's dependencies are not installed
    while it builds; that module uses the standard library only)."""
    spec = importlib.util.spec_from_file_location(
        "_workbench_chartjs", HERE / "workbench" / "dashboard" / "chartjs.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError("workbench/dashboard/chartjs.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithChartJs(build_py):
    """build_py that first vendors the pinned Chart.js (once; a file in place is kept)."""

    def run(self) -> None:
        chartjs = _chartjs()
        try:
            chartjs.vendor(HERE / VENDOR, say=lambda text: print(text, file=sys.stderr))
        except chartjs.VendorError as exc:
            # The console still works without it: the dashboard shows its tables and a note.
            print(f"WARNING: chart.js not vendored, dashboard charts off: {exc}", file=sys.stderr)
        super().run()
        # Into the wheel even if the package-data list was read before the files existed.
        if not self.editable_mode:
            target = Path(self.build_lib) / VENDOR
            for name, _ in chartjs.FILES.values():
                source = HERE / VENDOR / name
                if source.is_file():
                    self.mkpath(str(target))
                    self.copy_file(str(source), str(target / name))


setup(cmdclass={"build_py": BuildPyWithChartJs})
