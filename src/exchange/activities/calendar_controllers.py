"""HTTP routes of the private calendar feed (thin: parse, call)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from exchange.accounts.identity import Identity
from exchange.activities.calendar_feed import FEED_PATH, CalendarFeedService
from exchange.errors import NotFound
from exchange.i18n import _

ICALENDAR = "text/calendar; charset=utf-8"


class CalendarFeedOut(msgspec.Struct):
    """The private address of your calendar: add it to a calendar app as a subscription
    (by URL). It is shown only now; anyone who has it sees your school's partnership
    activities, so turn it on again (a new address) or off if it leaks."""

    url: str
    created_at: datetime


class CalendarFeedController(Controller):
    path = "/api/me/calendar-feed"
    tags = ["partnership life"]
    dependencies = {"feeds": Provide(CalendarFeedService, sync_to_thread=False)}

    @post(
        operation_id="turnOnCalendarFeed",
        summary="A private iCalendar address with your school's partnership activities "
        "(a new one replaces the old)",
        status_code=HTTP_201_CREATED,
    )
    async def turn_on(
        self, feeds: NamedDependency[CalendarFeedService], identity: NamedDependency[Identity]
    ) -> CalendarFeedOut:
        feed = await feeds.turn_on(identity)
        return CalendarFeedOut(url=feed.url, created_at=feed.created_at)

    @delete(
        operation_id="revokeCalendarFeed",
        summary="Turn your calendar address off: it stops working at once",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def revoke(
        self, feeds: NamedDependency[CalendarFeedService], identity: NamedDependency[Identity]
    ) -> None:
        await feeds.revoke(identity)


class CalendarController(Controller):
    path = FEED_PATH
    tags = ["partnership life"]
    dependencies = {"feeds": Provide(CalendarFeedService, sync_to_thread=False)}

    @get(
        "/{feed:str}",
        operation_id="readCalendarFeed",
        summary="A member's calendar, by its secret address (`<secret>.ics`); no header "
        "needed, as calendar apps send none",
        media_type=ICALENDAR,
        exclude_from_auth=True,
        security=[],
    )
    async def read(
        self, feeds: NamedDependency[CalendarFeedService], feed: FromPath[str]
    ) -> Response[bytes]:
        if not feed.endswith(".ics") or len(feed) > 100:
            raise NotFound(_("No such calendar: it was turned off, or replaced by a newer one."))
        return Response(
            content=await feeds.render(feed.removesuffix(".ics")),
            media_type=ICALENDAR,
            headers={
                "Cache-Control": "private, max-age=300",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )
