"""The notification centre of the signed-in user."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from mobile_contracts.v1.notifications import (
    Notification,
    NotificationPage,
    ReadAllRequest,
    ReadAllResult,
    UnreadCount,
)
from workbench.http.deps import CurrentCaller, Db
from workbench.http.openapi import ERRORS
from workbench.notifications import service
from workbench.pagination import DEFAULT_LIMIT, Limit


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("", operation_id="listNotifications")
    async def list_notifications(
        self,
        db: Db,
        caller: CurrentCaller,
        unread: FromQuery[bool] = False,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> NotificationPage:
        """My notifications, newest first.

        `unread=true` lists only the unread ones. A notification appears once its time has come
        (the same one is pushed to my devices). The first page (no `cursor`) carries `listed`:
        send it to read-all to mark read only what this list held.
        """
        return await service.list_mine(
            db, caller=caller, cursor=cursor, unread_only=unread, limit=limit
        )

    @get("/unread-count", operation_id="countUnreadNotifications")
    async def unread_count(self, db: Db, caller: CurrentCaller) -> UnreadCount:
        """How many of my notifications are unread (the badge).

        Counts exactly what `unread=true` lists.
        """
        return await service.unread_count(db, caller=caller)

    @post(
        "/read-all",
        operation_id="readAllNotifications",
        status_code=HTTP_200_OK,
        opt={ERRORS: {404: "`up_to_id` is none of my notifications (`notification.not_found`)"}},
    )
    async def read_all(
        self, db: Db, caller: CurrentCaller, data: JSONBody[ReadAllRequest | None] = None
    ) -> ReadAllResult:
        """Mark my unread notifications read, and say how many.

        Send `listed`, from the first page of the list shown: only what that list held is
        marked, so one that arrived meanwhile stays unread, wherever it sorts (a notification
        written by a long transaction is dated by its start, below newer ones). `up_to_id`, the
        newest notification shown (the first of the list), marks only it and older ones in the
        list's order; it cannot tell such a late one from one shown, so send `listed` (with
        both, only what both allow). Without a body, everything listed now is marked. Again:
        `marked` is 0. A `listed` the list did not hand out: 400 `request.bad_cursor`.
        """
        up_to_id = data.up_to_id if data else None
        listed = data.listed if data else None
        return await service.mark_all_read(db, caller=caller, up_to_id=up_to_id, listed=listed)

    @post(
        "/{notification_id:uuid}/read",
        operation_id="readNotification",
        status_code=HTTP_200_OK,
    )
    async def read(
        self, db: Db, caller: CurrentCaller, notification_id: FromPath[uuid.UUID]
    ) -> Notification:
        """Mark one of my notifications read.

        Marking it again changes nothing.
        """
        return await service.mark_read(db, caller=caller, notification_id=notification_id)


ROUTES = [NotificationController]
