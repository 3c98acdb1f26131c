"""Push endpoints: the device registry and notification preferences of the signed-in user."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from mobile_contracts.v1 import push as wire
from push import devices, preferences
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["push"]

    @post(
        "",
        operation_id="registerDevice",
        status_code=HTTP_200_OK,
        opt={
            ERRORS: {
                404: "`device_id` is not a device I am signed in on (`device.not_found`)",
                422: "Invalid body, or a platform or provider that does not fit the device "
                "(`push.invalid_registration`, with `errors[]`)",
            }
        },
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.DeviceRegistration],
    ) -> wire.RegisteredDevice:
        """Register this device's push token.

        Register again whenever the provider rotates the token. iOS uses `apns`, HarmonyOS `hms`,
        Android `fcm` or `hms`. The token is stored encrypted and never echoed.
        """
        return await devices.register(
            db, vault=request.app.state.vault, caller=caller, registration=data
        )

    @delete(
        "/{device_id:str}",
        operation_id="unregisterDevice",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unregister(self, db: Db, caller: CurrentCaller, device_id: FromPath[str]) -> None:
        """Stop pushing to one of my devices."""
        await devices.unregister(db, caller=caller, device_id=device_id)


class PreferencesController(Controller):
    path = "/api/v1/me/notification-preferences"
    tags = ["push"]

    @get("", operation_id="getNotificationPreferences")
    async def read(
        self, request: Request[Any, Any, Any], db: Db, caller: CurrentCaller
    ) -> wire.NotificationPreferences:
        """My notification preferences.

        Quiet hours, muted categories, time zone, and every category with whether it can be
        muted.
        """
        return await preferences.current(
            db, caller=caller, bank_timezone=request.app.state.settings.bank_timezone
        )

    @put(
        "",
        operation_id="setNotificationPreferences",
        opt={
            ERRORS: {
                422: "Invalid body: an unknown or unmutable category, an unknown time zone... "
                "(`request.validation_failed`, `push.invalid_preferences`, with `errors[]`)"
            }
        },
    )
    async def write(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        caller: CurrentCaller,
        data: JSONBody[wire.NotificationPreferencesUpdate],
    ) -> wire.NotificationPreferences:
        """Change my notification preferences.

        Omitted fields keep their value; `quiet_hours: null` turns quiet hours off. Quiet hours
        (in my time zone, overnight windows included) hold normal notifications until the window
        ends; critical and silent ones go through. Muted categories are not pushed but are still
        listed in the notification centre.
        """
        return await preferences.update(
            db,
            caller=caller,
            change=data,
            bank_timezone=request.app.state.settings.bank_timezone,
        )


ROUTES = [DeviceController, PreferencesController]
