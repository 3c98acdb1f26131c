"""Push endpoints: the device registry and notification preferences of the signed-in user."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from mobile_contracts.v1 import push as wire
from push import devices, preferences
from workbench.http.deps import CurrentCaller, Db
from workbench.http.problems import PROBLEM_RESPONSES


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["push"]

    @post("", responses=PROBLEM_RESPONSES, operation_id="registerDevice", status_code=HTTP_200_OK)
    async def register(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.DeviceRegistration],
    ) -> wire.RegisteredDevice:
        """Register this device's push token (again whenever the provider rotates it)."""
        return await devices.register(
            db, vault=request.app.state.vault, caller=caller, registration=data
        )

    @delete(
        "/{device_id:str}",
        responses=PROBLEM_RESPONSES,
        operation_id="unregisterDevice",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unregister(self, db: Db, caller: CurrentCaller, device_id: FromPath[str]) -> None:
        """Stop pushing to one of my devices."""
        await devices.unregister(db, caller=caller, device_id=device_id)


class PreferencesController(Controller):
    path = "/api/v1/me/notification-preferences"
    tags = ["push"]

    @get("", responses=PROBLEM_RESPONSES, operation_id="getNotificationPreferences")
    async def read(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller
    ) -> wire.NotificationPreferences:
        """My quiet hours, muted categories and the categories there are."""
        return await preferences.current(
            db, caller=caller, bank_timezone=request.app.state.settings.bank_timezone
        )

    @put("", responses=PROBLEM_RESPONSES, operation_id="setNotificationPreferences")
    async def write(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.NotificationPreferencesUpdate],
    ) -> wire.NotificationPreferences:
        """Set quiet hours (`null` turns them off), muted categories and my time zone."""
        return await preferences.update(
            db,
            caller=caller,
            change=data,
            bank_timezone=request.app.state.settings.bank_timezone,
        )


ROUTES = [DeviceController, PreferencesController]
