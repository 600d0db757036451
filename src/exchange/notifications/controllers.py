"""HTTP routes of the inbox: thin, they parse and call the service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from exchange.accounts.identity import Identity
from exchange.models import Notification
from exchange.notifications.schemas import NotificationOut, NotificationPage, ReadAllOut
from exchange.notifications.service import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    InboxService,
    Notice,
    notice_message,
    shown_payload,
)


def notification_out(notification: Notification | Notice) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        kind=notification.kind,
        subject_type=notification.subject_type,
        subject_id=notification.subject_id,
        message=notice_message(notification.payload),
        payload=shown_payload(notification.payload),
        created_at=notification.created_at,
        read_at=notification.read_at,
        unread=notification.read_at is None,
    )


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["notifications"]
    dependencies = {"inbox": Provide(InboxService, sync_to_thread=False)}

    @get(operation_id="listNotifications", summary="Your inbox, newest first")
    async def list_notifications(
        self,
        inbox: NamedDependency[InboxService],
        identity: NamedDependency[Identity],
        unread: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        cursor: FromQuery[str | None] = None,
    ) -> NotificationPage:
        page = await inbox.page(identity, unread_only=unread, limit=limit, cursor=cursor)
        return NotificationPage(
            items=[notification_out(n) for n in page.items],
            unread_count=page.unread_count,
            next_cursor=page.next_cursor,
        )

    @post(
        "/{notification_id:uuid}/read",
        operation_id="markNotificationRead",
        summary="Mark one of your notifications as read",
        status_code=HTTP_200_OK,
    )
    async def mark_read(
        self,
        inbox: NamedDependency[InboxService],
        identity: NamedDependency[Identity],
        notification_id: FromPath[UUID],
    ) -> NotificationOut:
        return notification_out(await inbox.mark_read(identity, notification_id))

    @post(
        "/read-all",
        operation_id="markAllNotificationsRead",
        summary="Mark every notification in your inbox as read",
        status_code=HTTP_200_OK,
    )
    async def mark_all_read(
        self, inbox: NamedDependency[InboxService], identity: NamedDependency[Identity]
    ) -> ReadAllOut:
        marked = await inbox.mark_all_read(identity)
        return ReadAllOut(marked=marked, unread_count=await inbox.unread_count(identity))
