"""Identity endpoints: sign-in, tokens, the current user, org units, users, device revocation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from mobile_contracts.v1 import identity as wire
from mobile_contracts.v1.common import Page
from workbench.access import requires_role
from workbench.http.auth import PUBLIC
from workbench.http.client_ip import client_ip
from workbench.http.deps import CurrentCaller, Db
from workbench.http.problems import PROBLEM_RESPONSES
from workbench.identity import service
from workbench.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor

Role = wire.Role
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]


def _ip(request: Request[Any, Any, Any]) -> str:
    return client_ip(request.scope, request.app.state.trusted_networks)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]

    @post(
        "/login",
        responses=PROBLEM_RESPONSES,
        operation_id="login",
        status_code=HTTP_200_OK,
        opt={PUBLIC: True},
    )
    async def login(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.LoginRequest]
    ) -> wire.TokenPair:
        """Sign in on a device: returns an access JWT and a single-use refresh token."""
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
        responses=PROBLEM_RESPONSES,
        operation_id="refresh",
        status_code=HTTP_200_OK,
        opt={PUBLIC: True},
    )
    async def refresh(
        self, request: Request[Any, Any, Any], db: Db, data: JSONBody[wire.RefreshRequest]
    ) -> wire.TokenPair:
        """Rotate the refresh token; reusing a rotated one ends the whole session."""
        return await service.refresh(
            db, auth=request.app.state.auth, request=data, client_ip=_ip(request)
        )

    @post(
        "/logout",
        responses=PROBLEM_RESPONSES,
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout(self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller) -> None:
        """End this device's session."""
        await service.logout(db, auth=request.app.state.auth, caller=caller)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["identity"]

    @get("", responses=PROBLEM_RESPONSES, operation_id="getMe")
    async def me(self, db: Db, caller: CurrentCaller) -> wire.Me:
        """The signed-in user, with role and org unit."""
        return await service.me(db, caller=caller)


class OrgController(Controller):
    path = "/api/v1"
    tags = ["org"]

    @post(
        "/admin/org-units",
        responses=PROBLEM_RESPONSES,
        operation_id="saveOrgUnit",
        guards=[requires_role(Role.ADMIN)],
    )
    async def save_org_unit(
        self, db: Db, data: JSONBody[wire.OrgUnitCreate]
    ) -> Response[wire.OrgUnit]:
        """Create an org unit, or rename / move one (with its subtree) when `id` exists."""
        unit, created = await service.save_org_unit(db, request=data)
        return Response(unit, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/org-units",
        responses=PROBLEM_RESPONSES,
        operation_id="listOrgUnits",
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
    )
    async def list_org_units(self, db: Db, caller: CurrentCaller) -> list[wire.OrgUnit]:
        """The org tree the caller may see (their own subtree), parents first."""
        return await service.list_org_units(db, caller=caller)

    @post(
        "/admin/users",
        responses=PROBLEM_RESPONSES,
        operation_id="saveUser",
        guards=[requires_role(Role.ADMIN)],
    )
    async def save_user(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.UserCreate],
    ) -> Response[wire.User]:
        """Create a user, or update the user with this id (ends their sessions)."""
        user, created = await service.save_user(
            db, auth=request.app.state.auth, caller=caller, request=data
        )
        return Response(user, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/users",
        responses=PROBLEM_RESPONSES,
        operation_id="listUsers",
        guards=[requires_role(Role.ADMIN, Role.BRANCH_HEAD)],
    )
    async def list_users(
        self,
        db: Db,
        caller: CurrentCaller,
        org_unit_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> Page[wire.User]:
        """Users of the caller's subtree, optionally of one org unit's subtree."""
        after = decode_cursor(cursor, uuid.UUID)
        users = await service.list_users(
            db, caller=caller, org_unit_id=org_unit_id, after=after, limit=limit + 1
        )
        more = len(users) > limit
        users = users[:limit]
        return Page(items=users, next_cursor=encode_cursor(users[-1].id) if more else None)

    @post(
        "/admin/devices/{device_id:str}/revoke",
        responses=PROBLEM_RESPONSES,
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
        """Stop the device's tokens at once on every instance; the app is told to wipe."""
        return await service.revoke_device(
            db, auth=request.app.state.auth, caller=caller, device_id=device_id
        )

    @post(
        "/admin/devices/{device_id:str}/restore",
        responses=PROBLEM_RESPONSES,
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
        """Let a revoked device sign in again; its old tokens stay dead."""
        return await service.restore_device(
            db, auth=request.app.state.auth, caller=caller, device_id=device_id
        )


ROUTES = [AuthController, MeController, OrgController]
