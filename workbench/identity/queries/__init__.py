"""SQL of identity and org. The only place of this feature that talks to PostgreSQL.

One private module per role, re-exported here:
- `_org_units`: the org tree (a unit read, created, moved; the units in a caller's scope; the
  lock serializing the head office's setup)
- `_users`: a user's row (by login or id, created, changed, enabled or disabled, a new password,
  in a caller's subtree)
- `_user_lists`: what the staff admin reads about users (handover, last seen, users per unit,
  the paginated list of a subtree)
- `_devices`: a device as it signs in, is seen and is revoked
- `_device_lists`: devices as the consoles list them (a scope's devices, a user's signed-in apps)
- `_sessions`: sessions and their refresh tokens (issued, rotated, retried, purged)
- `_revocations`: what ends an access token early (`WIPES_FOR_DISABLED_USER`, a token's session
  checked, recent revocations, sessions ended by a change to their user)
- `_common`: what they share (`Record`, a RETURNING row that must be there, a user's columns)
"""

from workbench.identity.queries._common import Record
from workbench.identity.queries._device_lists import app_devices_signed_in, device_rows
from workbench.identity.queries._devices import (
    clear_device_revoked,
    device_for_sign_in,
    device_for_update,
    device_in_scope,
    in_use_by_another,
    set_device_revoked,
    touch_device,
    upsert_device,
)
from workbench.identity.queries._org_units import (
    insert_org_unit,
    lock_org_setup,
    move_and_rename_org_unit,
    org_unit,
    org_unit_in_scope,
    org_units_in_scope,
    root_org_unit,
    sibling_names,
)
from workbench.identity.queries._revocations import (
    WIPES_FOR_DISABLED_USER,
    former_users_sessions_ended_by_user_change,
    recent_revocations,
    sessions_ended_by_user_change,
    token_revocation,
)
from workbench.identity.queries._sessions import (
    end_sessions,
    insert_refresh_token,
    insert_session,
    mark_refresh_token_used,
    purge_expired_refresh_tokens,
    refresh_token_for_update,
    retire_for_retry,
)
from workbench.identity.queries._user_lists import (
    handover,
    last_seen,
    org_unit_user_counts,
    users_in_subtree,
)
from workbench.identity.queries._users import (
    change_user,
    insert_user,
    lock_active_admins,
    me,
    set_password_hash,
    set_user_active,
    update_user,
    user_by_id,
    user_for_login,
    user_for_update,
    user_in_scope,
)

__all__ = [
    "WIPES_FOR_DISABLED_USER",
    "Record",
    "app_devices_signed_in",
    "change_user",
    "clear_device_revoked",
    "device_for_sign_in",
    "device_for_update",
    "device_in_scope",
    "device_rows",
    "end_sessions",
    "former_users_sessions_ended_by_user_change",
    "handover",
    "in_use_by_another",
    "insert_org_unit",
    "insert_refresh_token",
    "insert_session",
    "insert_user",
    "last_seen",
    "lock_active_admins",
    "lock_org_setup",
    "mark_refresh_token_used",
    "me",
    "move_and_rename_org_unit",
    "org_unit",
    "org_unit_in_scope",
    "org_unit_user_counts",
    "org_units_in_scope",
    "purge_expired_refresh_tokens",
    "recent_revocations",
    "refresh_token_for_update",
    "retire_for_retry",
    "root_org_unit",
    "sessions_ended_by_user_change",
    "set_device_revoked",
    "set_password_hash",
    "set_user_active",
    "sibling_names",
    "token_revocation",
    "touch_device",
    "update_user",
    "upsert_device",
    "user_by_id",
    "user_for_login",
    "user_for_update",
    "user_in_scope",
    "users_in_subtree",
]
