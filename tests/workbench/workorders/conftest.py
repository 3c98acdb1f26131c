"""Work order tests: the bench fixture (see wo_setup)."""

from tests.workbench.workorders.wo_setup import bench

__all__ = ["bench"]
