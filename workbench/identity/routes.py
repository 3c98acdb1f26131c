"""Identity endpoints: sign-in, tokens, the current user, org units, users, device revocation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from mobile_contracts.v1 import identity as wire
from mobile_contracts.v1.common import Page
from workbench.access import requires_role
from workbench.http.auth import PUBLIC
from workbench.http.client_ip import request_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.identity import devices, service, staff
from workbench.pagination import DEFAULT_LIMIT, Limit, decode_cursor, encode_cursor

Role = wire.Role


def _ip(request: Request[Any, Any, Any]) -> str:
    return request_ip(request)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]

    @post(
        "/login",
        operation_id="login",
        status_code=HTTP_200_OK,
        opt={
            PUBLIC: True,
            ERRORS: {
                401: "Wrong login or password, or the user is disabled "
                "(`auth.invalid_credentials`)",
                403: "This device was revoked (`auth.device_revoked`, `wipe: true`); it can sign "
                "in again only once an admin or branch head restores it. The right password of a "
                "disabled user on a device still theirs: `auth.user_disabled`, `wipe: true`",
                409: "Another user is signed in on this device and used it in the last 12 hours "
                "(`auth.device_in_use`): they sign out first",
                429: "Too many sign-in attempts for this login or from this address "
                "(`auth.rate_limited`); retry after `Retry-After` seconds",
            },
        },
    )
    async def login(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.LoginRequest]
    ) -> wire.TokenPair:
        """Sign in on a device: an access token and a single-use refresh token.

        Send the access token as `Authorization: Bearer <access_token>`; it lasts `expires_in`
        seconds. The session is bound to `device.device_id` (made by the app once and kept):
        signing in again on the device ends its previous session; as someone else, only once
        that session was signed out or left unused for 12 hours.
        """
        state = request.app.state
        try:
            pair = await service.login(db, auth=state.auth, request=data, client_ip=_ip(request))
        except Exception:
            state.metrics.logins.labels("refused").inc()
            raise
        state.metrics.logins.labels("ok").inc()
        return pair

    @post(
        "/refresh",
        operation_id="refresh",
        status_code=HTTP_200_OK,
        opt={
            PUBLIC: True,
            ERRORS: {
                401: "Unknown or expired refresh token, or an ended session "
                "(`auth.invalid_token`, `auth.session_ended`); a refresh token used a second time "
                "ends the whole session (`auth.refresh_reused`): sign in again",
                403: "This device was revoked (`auth.device_revoked`, `wipe: true`), or the user "
                "was disabled (`auth.user_disabled`, `wipe: true`): erase the offline data and "
                "sign out",
            },
        },
    )
    async def refresh(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.RefreshRequest]
    ) -> wire.TokenPair:
        """Trade the refresh token for a new pair of tokens.

        Each refresh token works once: keep the new one from the answer. Presenting one that was
        already used (a stolen copy, or a replay) ends the whole session.
        """
        return await service.refresh(
            db, auth=request.app.state.auth, request=data, client_ip=_ip(request)
        )

    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout(self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller) -> None:
        """Sign out: end this device's session.

        Its tokens stop working at once and pushes to the device stop.
        """
        await service.logout(db, auth=request.app.state.auth, caller=caller)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["identity"]

    @get("", operation_id="getMe")
    async def me(self, db: Db, caller: CurrentCaller) -> wire.Me:
        """The signed-in user, with role and org unit."""
        return await service.me(db, caller=caller)


class OrgController(Controller):
    path = "/api/v1"
    tags = ["org"]

    @post(
        "/admin/org-units",
        operation_id="saveOrgUnit",
        guards=[requires_role(Role.ADMIN)],
        opt={
            ERRORS: {
                404: "No org unit `parent_id` (`org_unit.not_found`)",
                409: "A second head office (`org_unit.root_exists`), or a move under its own "
                "subtree (`org_unit.cycle`), or a name its parent already has for another "
                "unit (`org_unit.name_taken`)",
            }
        },
    )
    async def save_org_unit(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.OrgUnitCreate],
    ) -> Response[wire.OrgUnit]:
        """Create an org unit, or rename or move one.

        With an `id` that exists, the unit is renamed and moved (with its subtree) under
        `parent_id`; the answer is 200 then, 201 for a new unit.
        """
        unit, created = await staff.save_org_unit(
            db, request=data, caller=caller, client_ip=_ip(request)
        )
        return Response(unit, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/org-units",
        operation_id="listOrgUnits",
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
    )
    async def list_org_units(self, db: Db, caller: CurrentCaller) -> list[wire.OrgUnit]:
        """The org units I may see (my own subtree), parents first."""
        return await staff.list_org_units(db, caller=caller)

    @post(
        "/admin/users",
        operation_id="saveUser",
        guards=[requires_role(Role.ADMIN)],
        opt={
            ERRORS: {
                404: "No org unit `org_unit_id` (`org_unit.not_found`)",
                409: "Another user already has this login (`user.login_taken`)",
            }
        },
    )
    async def save_user(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.UserCreate],
    ) -> Response[wire.User]:
        """Create a user, or update one.

        With an `id` that exists, the user's login, name, role, org unit and password are
        replaced and every session of theirs ends (200); a new user answers 201.
        """
        user, created = await staff.save_user(
            db, auth=request.app.state.auth, caller=caller, request=data, client_ip=_ip(request)
        )
        return Response(user, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @patch(
        "/admin/users/{user_id:uuid}",
        operation_id="updateUser",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN)],
        opt={
            ERRORS: {
                404: "No such user (`user.not_found`), or no org unit `org_unit_id` "
                "(`org_unit.not_found`)",
                409: "Another user already has this login (`user.login_taken`), or this would "
                "demote the last active admin (`user.last_admin`)",
            }
        },
    )
    async def update_user(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[wire.UserUpdate],
    ) -> wire.UserChanged:
        """Change a user's name, role, org unit or login, keeping their password.

        Only the fields given change. A new role, org unit or login ends every session of the
        user at once (their tokens carry role and unit): they sign in again. For an RM moved or
        given another role, `handover` counts the customers and open tasks still theirs.
        """
        return await staff.update_user(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id, request=data,
            client_ip=_ip(request),
        )  # fmt: skip

    @post(
        "/admin/users/{user_id:uuid}/disable",
        operation_id="disableUser",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN)],
        opt={
            ERRORS: {
                404: "No such user (`user.not_found`)",
                409: "You cannot disable yourself (`user.cannot_disable_self`) or the last "
                "active admin (`user.last_admin`)",
            }
        },
    )
    async def disable_user(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        user_id: FromPath[uuid.UUID],
    ) -> wire.UserChanged:
        """Disable a user: their sessions end at once and they cannot sign in.

        Every token of theirs stops on every API instance, and pushes to their devices stop.
        While they stay disabled, their phones and tablets that held a session are told to erase
        their offline copy on their next call (403 `auth.user_disabled` with `wipe: true`; a
        sync pull answers `wipe: true`); `devices_to_wipe` counts them. The devices are not
        revoked. For an RM, `handover` counts the customers and open tasks still theirs, to hand
        over (customers move with the bank's feed, `owner_login`). Already disabled: no change.
        """
        return await staff.set_user_active(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id, active=False,
            client_ip=_ip(request),
        )  # fmt: skip

    @post(
        "/admin/users/{user_id:uuid}/enable",
        operation_id="enableUser",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN)],
        opt={ERRORS: {404: "No such user (`user.not_found`)"}},
    )
    async def enable_user(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        user_id: FromPath[uuid.UUID],
    ) -> wire.UserChanged:
        """Enable a disabled user: they may sign in again with their password.

        Their devices need no restoring; the tokens of their old sessions no longer say `wipe`,
        only that the session ended (sign in again)."""
        return await staff.set_user_active(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id, active=True,
            client_ip=_ip(request),
        )  # fmt: skip

    @post(
        "/admin/users/{user_id:uuid}/password",
        operation_id="setUserPassword",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN)],
        opt={ERRORS: {404: "No such user (`user.not_found`)"}},
    )
    async def set_user_password(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[wire.PasswordSet],
    ) -> wire.UserChanged:
        """Set a user's password (a forgotten one) and end every session of theirs.

        Nothing else of the user changes; they sign in again with the new password. A sign-in
        locked by wrong passwords is unlocked.
        """
        return await staff.set_user_password(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id,
            password=data.password, client_ip=_ip(request),
        )  # fmt: skip

    @post(
        "/admin/users/{user_id:uuid}/unlock-sign-in",
        operation_id="unlockUserSignIn",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
        opt={ERRORS: {404: "No such user in my subtree (`user.not_found`)"}},
    )
    async def unlock_sign_in(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        user_id: FromPath[uuid.UUID],
    ) -> wire.SignInUnlocked:
        """Lift the lock that wrong passwords put on a user's sign-in: they may sign in at once.

        Too many failed sign-ins lock a login for the window, even against the right password
        (429 `auth.rate_limited`), and anyone who knows the login can cause it. Check with the
        user that it was them; if not, someone may be guessing: set a new password instead
        (that lifts the lock too). The limits per client address stay. Branch heads: the users
        of their subtree.
        """
        return await staff.unlock_sign_in(
            db, auth=request.app.state.auth, caller=caller, user_id=user_id,
            client_ip=_ip(request),
        )  # fmt: skip

    @get(
        "/users",
        operation_id="listUsers",
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
        opt={
            ERRORS: {404: "`org_unit_id` is unknown or outside my subtree (`org_unit.not_found`)"}
        },
    )
    async def list_users(
        self,
        db: Db,
        caller: CurrentCaller,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        role: FromQuery[Role | None] = None,
        active: FromQuery[bool | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.User]:
        """Users of my subtree, or of one org unit's subtree within it.

        `q` matches part of the login or name (any case); `role` and `active` (`false`: the
        disabled ones) narrow the list. Each user has their last sign-in or token refresh.
        """
        after = decode_cursor(cursor, uuid.UUID)
        users = await staff.list_users(
            db, caller=caller, org_unit_id=org_unit_id, after=after, limit=limit + 1, q=q,
            role=role, active=active,
        )  # fmt: skip
        more = len(users) > limit
        users = users[:limit]
        return Page(items=users, next_cursor=encode_cursor(users[-1].id) if more else None)

    @get(
        # Not /api/v1/devices: that path is the app's own push registration (push.routes), and
        # Litestar refuses a second controller on it; the device list sits with revoke/restore.
        "/admin/devices",
        operation_id="listDevices",
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
        opt={
            ERRORS: {404: "`org_unit_id` is unknown or outside my subtree (`org_unit.not_found`)"}
        },
    )
    async def list_devices(
        self,
        db: Db,
        caller: CurrentCaller,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        device_state: Annotated[wire.DeviceState | None, QueryParameter(name="state")] = None,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.DeviceListItem]:
        """Devices of my subtree's users, the most recently seen first: find a lost one.

        `q` matches part of the user's login or name, or of the device's id or model (any case);
        `state` keeps `active` or `revoked` devices; `org_unit_id` narrows to that unit's
        subtree. Revoke one with `POST /api/v1/admin/devices/{device_id}/revoke`.
        """
        after = decode_cursor(cursor, tuple[datetime, str])
        found = await devices.list_devices(
            db, caller=caller, q=q, state=device_state, org_unit_id=org_unit_id, after=after,
            limit=limit + 1,
        )  # fmt: skip
        more = len(found) > limit
        found = found[:limit]
        last = found[-1] if more else None
        return Page(
            items=found,
            next_cursor=encode_cursor([last.last_seen_at, last.device_id]) if last else None,
        )

    @post(
        "/admin/devices/{device_id:str}/revoke",
        operation_id="revokeDevice",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
    )
    async def revoke_device(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        device_id: FromPath[str],
    ) -> wire.DeviceRevoked:
        """Revoke a lost device: its tokens stop at once and the app is told to wipe.

        Every call from the device then answers 403 `auth.device_revoked` with `wipe: true`, and
        it cannot sign in again until it is restored. Branch heads: devices of their subtree.
        """
        return await devices.revoke_device(
            db, auth=request.app.state.auth, caller=caller, device_id=device_id,
            client_ip=_ip(request),
        )  # fmt: skip

    @post(
        "/admin/devices/{device_id:str}/restore",
        operation_id="restoreDevice",
        status_code=HTTP_200_OK,
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
    )
    async def restore_device(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        device_id: FromPath[str],
    ) -> wire.Device:
        """Let a revoked device sign in again.

        Its old tokens stay dead: the user signs in anew.
        """
        return await devices.restore_device(
            db, auth=request.app.state.auth, caller=caller, device_id=device_id,
            client_ip=_ip(request),
        )  # fmt: skip


ROUTES = [AuthController, MeController, OrgController]
