"""A member's private calendar feed: the activities of their school's active partnerships
as iCalendar (RFC 5545, written with the `icalendar` library), at an address whose secret
path is the only key a calendar app sends (Google Calendar, Outlook and phones subscribe
to a URL and cannot add headers).

The secret is shown once, when the feed is turned on; only its SHA-256 is stored.
Turning it on again replaces it (the old address stops working); revoking deletes it. A
disabled member's feed answers 404, as an unknown one does. What the feed holds is what
the member's school may read, through the policy (`activities_of_active_partnerships`):
a partnership that ends leaves the feed at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from exchange.accounts.identity import Identity, new_token, token_digest
from exchange.domain_service import DomainService
from exchange.errors import NotFound
from exchange.i18n import _, using_language
from exchange.kernel.refs import Names
from exchange.models import Activity, ActivityStatus, CalendarFeed, Member, Partnership
from exchange.policy import activities_of_active_partnerships
from exchange.unit_of_work import unit_of_work

FEED_PATH = "/api/calendar"


@dataclass(frozen=True)
class FeedTurnedOn:
    url: str
    created_at: datetime


class CalendarFeedService(DomainService):
    async def turn_on(self, identity: Identity) -> FeedTurnedOn:
        """A new secret address for the member, replacing any earlier one."""
        token = new_token()
        feed = await self.session.scalar(
            select(CalendarFeed).where(CalendarFeed.member_id == identity.member_id)
        )
        if feed is None:
            feed = CalendarFeed(member_id=identity.member_id, token_hash=token_digest(token))
            self.session.add(feed)
        else:
            feed.token_hash = token_digest(token)
            feed.created_at = self.clock.now()
        try:
            await self.session.flush()
        except IntegrityError:  # turned on twice at once: the other one stands, replace it
            await self.session.rollback()
            return await self.turn_on(identity)
        created_at = feed.created_at
        await unit_of_work(self.session, self.clock).commit()
        base = self.settings.public_url.rstrip("/")
        return FeedTurnedOn(url=f"{base}{FEED_PATH}/{token}.ics", created_at=created_at)

    async def revoke(self, identity: Identity) -> None:
        await self.session.execute(
            delete(CalendarFeed).where(CalendarFeed.member_id == identity.member_id)
        )
        await unit_of_work(self.session, self.clock).commit()

    async def render(self, token: str) -> bytes:
        """The feed behind a secret, as iCalendar bytes; 404 for a secret that is not one."""
        member = await self.session.scalar(
            select(Member)
            .join(CalendarFeed, CalendarFeed.member_id == Member.id)
            .where(CalendarFeed.token_hash == token_digest(token), Member.is_active.is_(True))
        )
        if member is None:
            raise NotFound(_("No such calendar: it was turned off, or replaced by a newer one."))
        identity = Identity(
            member_id=member.id,
            school_id=member.school_id,
            role=member.role,
            email=member.email,
            full_name=member.full_name,
            token_id=member.id,
            language=member.language,
            school_languages=tuple(member.school.languages or ()),
        )
        rows = list(
            await self.session.execute(
                select(Activity, Partnership)
                .join(Partnership, Partnership.id == Activity.partnership_id)
                .where(activities_of_active_partnerships(identity))
                .order_by(Activity.starts_on, Activity.id)
            )
        )
        names = await Names.load(
            self.session,
            schools=[s for _a, p in rows for s in (p.inviting_school_id, p.invited_school_id)]
            + [member.school_id],
        )
        language = member.language or next(iter(member.school.languages or []), None) or "ky"
        base = self.settings.public_url.rstrip("/")
        with using_language(language):
            calendar = Calendar()
            calendar.add("prodid", "-//The partner-school exchange//EN")
            calendar.add("version", "2.0")
            calendar.add("calscale", "GREGORIAN")
            name = _("{school}: partnership activities", school=names.school(member.school_id).name)
            calendar.add("x-wr-calname", name)
            for activity, partnership in rows:
                calendar.add_component(_event(activity, partnership, names, base, self.clock.now()))
            ical: bytes = calendar.to_ical()
            return ical


def _event(
    activity: Activity, partnership: Partnership, names: Names, base: str, now: datetime
) -> Event:
    event = Event()
    event.add("uid", f"{activity.id}@exchange")
    event.add("dtstamp", now)
    event.add("last-modified", activity.updated_at)
    event.add("summary", activity.title)
    event.add("dtstart", activity.starts_on)
    event.add("dtend", activity.ends_on + timedelta(days=1))  # whole days; the end is exclusive
    between = " — ".join(
        names.school(s).name
        for s in (partnership.inviting_school_id, partnership.invited_school_id)
    )
    lines = [between, _("Host school: {school}", school=names.school(activity.host_school_id).name)]
    if activity.description:
        lines.append(activity.description)
    event.add("description", "\n\n".join(lines))
    event.add("location", names.school(activity.host_school_id).name)
    event.add("status", "CANCELLED" if activity.status == ActivityStatus.CANCELLED else "CONFIRMED")
    event.add("url", f"{base}/partnerships/{partnership.id}/activities/{activity.id}")
    return event
