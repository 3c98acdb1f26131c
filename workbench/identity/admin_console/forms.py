"""What the users' and the units' admin pages share: their paths and roles, the readers and
checks of a form's fields, and the org tree as the pages show it."""

from __future__ import annotations

import uuid
from collections.abc import Set
from typing import Any

import msgspec
from litestar import Request

from workbench.console import nav
from workbench.console.names import name_problem as _said_problem
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.identity import staff

USERS_PATH = nav.ADMINISTRATION.path  # the section opens on the users
UNITS_PATH = f"{USERS_PATH}/units"
ROLES = nav.ADMINISTRATION.roles


def parse_uuid(value: str | None) -> uuid.UUID | None:
    """The form's value as a UUID (None: empty or not one)."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def text(form: Any, name: str) -> str:
    """The form's field, trimmed (empty: missing or not text)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def valid(value: object, type_: Any) -> bool:
    """Whether the value passes the contract's type (`msgspec.convert`)."""
    try:
        msgspec.convert(value, type_)
    except msgspec.ValidationError:
        return False
    return True


def shows(name: str) -> bool:
    """Whether the service takes `name` as a name every list can show (`staff.visible_name`)."""
    try:
        staff.visible_name(name)
    except staff.NameNotVisible:
        return False
    return True


def name_problem(name: str, type_: Any, *, what: str) -> str | None:
    """What is wrong with a unit's or a person's name, said per fault (empty, too long, a line
    break, a tab, a direction control...); None if the contract's `type_` and the service
    (`shows`) take it."""
    problem = _said_problem(name, what=what)
    if problem is None and not (valid(name, type_) and shows(name)):
        problem = f"{what}无法保存：请检查是否含有特殊字符后重新输入。"  # a rule not said above
    return problem


def client_address(request: Request[Any, Any, Any]) -> str:
    """The admin's address for the audit trail, as sign-in records it: the peer's, or the one a
    trusted proxy's relay header names."""
    return request_ip(request)


def path(absolute: str) -> str:
    """The route path of a console address (the router adds /console)."""
    return absolute.removeprefix("/console")


# ---- the org tree, as pages show it ------------------------------------------------------------


class Tree:
    """The org units (parents first) with their users, and how to name a unit's place."""

    def __init__(self, units: list[staff.OrgTreeUnit]) -> None:
        self.by_id = {u.unit.id: u for u in units}
        self.top = min((u.unit.depth for u in units), default=0)
        # Parents first, and siblings by name (the path orders them by id).
        children: dict[uuid.UUID | None, list[staff.OrgTreeUnit]] = {}
        for u in units:
            parent = u.unit.parent_id if u.unit.parent_id in self.by_id else None
            children.setdefault(parent, []).append(u)
        self.units: list[staff.OrgTreeUnit] = []
        stack = sorted(children.get(None, []), key=lambda u: u.unit.name, reverse=True)
        while stack:
            node = stack.pop()
            self.units.append(node)
            below = children.get(node.unit.id, [])
            stack.extend(sorted(below, key=lambda u: u.unit.name, reverse=True))

    def ancestors(self, unit_id: uuid.UUID) -> list[str]:
        """The names above the unit, the head office first."""
        names: list[str] = []
        node = self.by_id.get(unit_id)
        while node is not None and node.unit.parent_id is not None:
            node = self.by_id.get(node.unit.parent_id)
            if node is not None:
                names.append(node.unit.name)
        return names[::-1]

    def name(self, unit_id: uuid.UUID) -> str:
        node = self.by_id.get(unit_id)
        return node.unit.name if node else "—"

    def subtree(self, unit_id: uuid.UUID) -> set[uuid.UUID]:
        """The unit and every unit below it."""
        found = {unit_id}
        for u in self.units:  # parents come first
            if u.unit.parent_id in found:
                found.add(u.unit.id)
        return found

    def options(self, *, leave_out: Set[uuid.UUID] = frozenset()) -> list[dict[str, Any]]:
        """The units for a <select>, indented by depth."""
        return [
            {"id": str(u.unit.id), "name": u.unit.name, "depth": u.unit.depth - self.top}
            for u in self.units
            if u.unit.id not in leave_out
        ]


async def tree(db: Db, caller: CurrentCaller) -> Tree:
    """The caller's org tree."""
    return Tree(await staff.org_tree(db, caller=caller))
