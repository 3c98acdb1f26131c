"""The admin pages of the staff console (/console/admin, 机构与用户): the org tree with each
unit's users (add a unit, rename it, move it under another parent) and the staff accounts (find,
create, edit without touching the password, a new generated password, disable and enable,
lift the lock that wrong passwords put on a sign-in).

Every page calls the identity services with the console's `Caller`, so the rules are the API's:
the last active admin stays, nobody disables themselves, a change of role, unit or login ends
the user's sessions, and the services write the audit events. A generated password is shown
once, on the answer to the form that made it, and is stored nowhere but as its hash.

The accounts' pages are in `users`, the org tree's in `units`, and what both share (paths, form
readers and checks, the tree as pages show it) in `forms`."""

from workbench.identity.admin_console.units import (
    create_unit,
    edit_unit_form,
    new_unit_form,
    save_unit,
    unit_tree,
)
from workbench.identity.admin_console.users import (
    confirm_disable,
    confirm_password,
    create_user,
    disable,
    edit_user_form,
    enable,
    new_user_form,
    reset_password,
    save_user,
    unlock_sign_in,
    user_list,
)

PAGES = [
    user_list, new_user_form, create_user, edit_user_form, save_user, confirm_password,
    reset_password, confirm_disable, disable, enable, unlock_sign_in, unit_tree, new_unit_form,
    create_unit, edit_unit_form, save_unit,
]  # fmt: skip

__all__ = ["PAGES"]
