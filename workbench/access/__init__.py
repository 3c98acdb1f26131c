"""Authorization core: who is calling, role guards and the org-subtree scope."""

from workbench.access.caller import Caller
from workbench.access.guards import requires_role

__all__ = ["Caller", "requires_role"]
