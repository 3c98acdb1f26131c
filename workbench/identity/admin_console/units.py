"""The org tree's admin pages: the tree with each unit's users, a new unit under a parent, and a
unit renamed or moved (with everything below it) under another parent."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from mobile_contracts.v1 import identity as wire
from workbench.console import Console, once, visible_to
from workbench.errors import DomainError, NotFound
from workbench.http.deps import CurrentCaller, Db
from workbench.identity import staff
from workbench.identity.admin_console import forms
from workbench.identity.admin_console.forms import ROLES, UNITS_PATH, USERS_PATH, Tree

# ---- org units -------------------------------------------------------------------------------


@get(forms.path(UNITS_PATH), opt=visible_to(*ROLES), name="console:admin-units")
async def unit_tree(db: Db, caller: CurrentCaller, console: Console) -> Response[Any]:
    """The org tree, indented, with each unit's users."""
    tree = await forms.tree(db, caller)
    # Per unit, the people of its subtree (all, disabled): the list its link opens holds them.
    totals: dict[uuid.UUID, int] = {}
    disabled: dict[uuid.UUID, int] = {}
    for node in reversed(tree.units):  # children before parents
        unit_id, parent_id = node.unit.id, node.unit.parent_id
        totals[unit_id] = totals.get(unit_id, 0) + node.users
        disabled[unit_id] = disabled.get(unit_id, 0) + node.users - node.active_users
        if parent_id is not None:
            totals[parent_id] = totals.get(parent_id, 0) + totals[unit_id]
            disabled[parent_id] = disabled.get(parent_id, 0) + disabled[unit_id]
    return console.render(
        "admin/units.html",
        {
            "tab": "units",
            "rows": [
                {
                    "u": node.unit,
                    "depth": node.unit.depth - tree.top,
                    "users": node.users,
                    "disabled": disabled.get(node.unit.id, 0),
                    "total": totals.get(node.unit.id, 0),
                    "users_url": USERS_PATH + "?" + urlencode({"unit": str(node.unit.id)}),
                    "add_url": f"{UNITS_PATH}/new?" + urlencode({"parent": str(node.unit.id)}),
                    "add_user_url": f"{USERS_PATH}/users/new?"
                    + urlencode({"unit": str(node.unit.id)}),
                    "edit_url": f"{UNITS_PATH}/{node.unit.id}/edit",
                }
                for node in tree.units
            ],
        },
    )


def _unit_form_context(
    tree: Tree, fields: dict[str, str], errors: dict[str, str], **extra: Any
) -> dict[str, Any]:
    return {"tab": "units", "fields": fields, "errors": errors, **extra}


@get(forms.path(UNITS_PATH) + "/new", opt=visible_to(*ROLES), name="console:admin-unit-new")
async def new_unit_form(
    db: Db, caller: CurrentCaller, console: Console, parent: FromQuery[str | None] = None
) -> Response[Any]:
    """The form for a new unit under a parent (which may come chosen, from the tree)."""
    tree = await forms.tree(db, caller)
    parent_id = forms.parse_uuid(parent)
    fields = {"name": "", "parent_id": str(parent_id) if parent_id in tree.by_id else ""}
    return console.render(
        "admin/unit_form.html",
        _unit_form_context(tree, fields, {}, units=tree.options(), unit=None,
                           action=f"{UNITS_PATH}/new"),
    )  # fmt: skip


def _check_unit_fields(fields: dict[str, str], tree: Tree, *, root: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := forms.name_problem(fields["name"], wire.Name, what="机构名称"):
        errors["name"] = problem
    if not root and forms.parse_uuid(fields["parent_id"]) not in tree.by_id:
        errors["parent_id"] = "请选择上级机构。"
    return errors


@post(forms.path(UNITS_PATH) + "/new", opt=visible_to(*ROLES, acts_once=True),
      name="console:admin-unit-create")  # fmt: skip
async def create_unit(
    request: Request[Any, Any, Any], db: Db, caller: CurrentCaller, console: Console
) -> Response[Any]:
    """Add the unit under its parent."""
    form = await request.form()
    tree = await forms.tree(db, caller)
    fields = {"name": forms.text(form, "name"), "parent_id": forms.text(form, "parent_id")}
    errors = _check_unit_fields(fields, tree, root=False)
    if errors:
        return console.render(
            "admin/unit_form.html",
            _unit_form_context(tree, fields, errors, units=tree.options(), unit=None,
                               action=f"{UNITS_PATH}/new"),
            status=422,
        )  # fmt: skip
    parent_id = uuid.UUID(fields["parent_id"])
    claim = await once.claim(request, form, db, back=UNITS_PATH)
    try:
        async with claim:  # a refusal lets the form's token go
            unit, _ = await staff.save_org_unit(
                db,
                request=wire.OrgUnitCreate(name=fields["name"], parent_id=parent_id),
                caller=caller,
                client_ip=forms.client_address(request),
            )
            claim.made(f"{UNITS_PATH}/{unit.id}/edit")
    except DomainError as exc:
        if exc.code != "org_unit.name_taken":
            raise
        errors["name"] = _name_taken(tree, parent_id)
        return console.render(
            "admin/unit_form.html",
            _unit_form_context(tree, fields, errors, units=tree.options(), unit=None,
                               action=f"{UNITS_PATH}/new"),
            status=409,
        )  # fmt: skip
    return console.redirect(
        UNITS_PATH, flash=f"已添加 {unit.name}（上级：{tree.name(parent_id)}）。"
    )


def _name_taken(tree: Tree, parent_id: uuid.UUID | None) -> str:
    return f"{tree.name(parent_id) if parent_id else '上级机构'} 下已有同名机构，请换一个名称。"


def _unit_or_404(tree: Tree, unit_id: uuid.UUID) -> staff.OrgTreeUnit:
    node = tree.by_id.get(unit_id)
    if node is None:
        raise NotFound("org_unit")
    return node


@get(forms.path(UNITS_PATH) + "/{unit_id:uuid}/edit", opt=visible_to(*ROLES),
     name="console:admin-unit-edit")  # fmt: skip
async def edit_unit_form(
    db: Db, caller: CurrentCaller, console: Console, unit_id: FromPath[uuid.UUID]
) -> Response[Any]:
    """Rename the unit, or move it (with everything below it) under another parent."""
    tree = await forms.tree(db, caller)
    node = _unit_or_404(tree, unit_id)
    fields = {"name": node.unit.name, "parent_id": str(node.unit.parent_id or "")}
    return console.render("admin/unit_form.html", _edit_unit_context(tree, node, fields, {}))


def _edit_unit_context(
    tree: Tree, node: staff.OrgTreeUnit, fields: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    return _unit_form_context(
        tree,
        fields,
        errors,
        # A unit cannot go under itself or below it: those are not offered.
        units=tree.options(leave_out=tree.subtree(node.unit.id)),
        unit=node.unit,
        below=len(tree.subtree(node.unit.id)) - 1,
        action=f"{UNITS_PATH}/{node.unit.id}/edit",
    )


@post(forms.path(UNITS_PATH) + "/{unit_id:uuid}/edit", opt=visible_to(*ROLES),
      name="console:admin-unit-save")  # fmt: skip
async def save_unit(
    request: Request[Any, Any, Any],
    db: Db,
    caller: CurrentCaller,
    console: Console,
    unit_id: FromPath[uuid.UUID],
) -> Response[Any]:
    """Save the new name and parent (a move under its own subtree is refused)."""
    form = await request.form()
    tree = await forms.tree(db, caller)
    node = _unit_or_404(tree, unit_id)
    root = node.unit.parent_id is None
    fields = {
        "name": forms.text(form, "name"),
        "parent_id": "" if root else forms.text(form, "parent_id"),
    }
    errors = _check_unit_fields(fields, tree, root=root)
    status = 422
    if not errors:
        try:
            unit, _ = await staff.save_org_unit(
                db,
                request=wire.OrgUnitCreate(
                    id=unit_id, name=fields["name"], parent_id=forms.parse_uuid(fields["parent_id"])
                ),
                caller=caller,
                client_ip=forms.client_address(request),
            )
        except DomainError as exc:
            if exc.code == "org_unit.cycle":
                errors["parent_id"] = "不能把机构移到它自己或它的下级机构之下，请选择其他上级机构。"
            elif exc.code == "org_unit.name_taken":
                errors["name"] = _name_taken(tree, forms.parse_uuid(fields["parent_id"]))
            else:
                raise
            status = 409
    if errors:
        return console.render(
            "admin/unit_form.html", _edit_unit_context(tree, node, fields, errors), status=status
        )
    moved = unit.parent_id != node.unit.parent_id
    text = f"已保存 {unit.name}"
    if moved and unit.parent_id is not None:
        text += f"：已移到 {tree.name(unit.parent_id)} 之下，下级机构与人员随之移动"
    return console.redirect(UNITS_PATH, flash=text + "。")
