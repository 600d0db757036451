"""Writing notifications for other domains, and reading one's own inbox.

Domains call `notify_school_admins` or `notify_members` inside the transaction of the
change they announce (mostly from handlers of its domain event), so a notification
exists exactly when its event does; each call records `NoticesPosted`, which e-mail
follows. The
`payload` carries what the inbox shows without further look-ups: a `message` (and maybe
a `subject`), given as sentences of `exchange.i18n` (`lazy_gettext`, one or a list of
paragraphs). They are stored as their English message ids and parameters
(`message_i18n`, `subject_i18n`) and written in the reader's language when the inbox is
read or the e-mail is sent (`notice_message`, `notice_subject`). Notifications stored
before that carry an English `message`, shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import ColumnElement, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.database import PreparedRead
from exchange.domain_service import DomainService
from exchange.errors import InvalidInput, NotFound
from exchange.events import NoticesPosted
from exchange.i18n import LazyText, _
from exchange.kernel import paging
from exchange.models import Member, MemberRole, Notification
from exchange.policy import Action, own_notifications, refusals
from exchange.policy.tuned import caller_may, caller_parameters
from exchange.unit_of_work import unit_of_work

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


async def notify_members(
    session: AsyncSession,
    clock: Clock,
    *,
    member_ids: Iterable[UUID],
    kind: str,
    subject_type: str,
    subject_id: UUID,
    payload: Mapping[str, Any],
) -> list[Notification]:
    """One notification for each active member among `member_ids` (added, not committed)."""
    wanted = set(member_ids)
    if not wanted:
        return []
    return await _post(
        session, clock, Member.id.in_(wanted), kind, subject_type, subject_id, payload
    )


async def notify_school_admins(
    session: AsyncSession,
    clock: Clock,
    *,
    school_id: UUID,
    kind: str,
    subject_type: str,
    subject_id: UUID,
    payload: Mapping[str, Any],
) -> list[Notification]:
    """One notification for each active admin of `school_id` (added, not committed)."""
    admins = and_(Member.school_id == school_id, Member.role == MemberRole.ADMIN)
    return await _post(session, clock, admins, kind, subject_type, subject_id, payload)


async def _post(
    session: AsyncSession,
    clock: Clock,
    members: ColumnElement[bool],
    kind: str,
    subject_type: str,
    subject_id: UUID,
    payload: Mapping[str, Any],
) -> list[Notification]:
    """One notification for each active member among `members`, recorded as posted (their
    e-mails follow from that, `exchange.consequences`); all go with the commit."""
    stored = stored_payload(payload)
    if not (stored.get("message_i18n") or str(stored.get("message", "")).strip()):
        raise ValueError("A notification payload needs a 'message' the inbox can show.")
    recipients = (
        await session.execute(
            select(Member.id, Member.school_id)
            .where(members, Member.is_active.is_(True))
            .order_by(Member.id)
        )
    ).all()
    now = clock.now()
    notifications = [
        Notification(
            recipient_member_id=member_id,
            school_id=school_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            payload=dict(stored),
            created_at=now,
            updated_at=now,
        )
        for member_id, school_id in recipients
    ]
    session.add_all(notifications)
    if notifications:
        unit_of_work(session, clock).record(NoticesPosted(notifications))
    return notifications


NoticeText = LazyText | Sequence[LazyText]


def _stored(text: NoticeText) -> list[dict[str, Any]]:
    paragraphs = [text] if isinstance(text, LazyText) else list(text)
    return [paragraph.to_json() for paragraph in paragraphs]


def _shown(stored: Any) -> str:
    return "\n\n".join(LazyText.from_json(paragraph).render() for paragraph in stored)


def stored_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as stored: sentences as message ids and parameters."""
    stored = dict(payload)
    for key in ("message", "subject"):
        value = stored.get(key)
        if isinstance(value, LazyText) or (
            isinstance(value, list | tuple) and value and isinstance(value[0], LazyText)
        ):
            stored[f"{key}_i18n"] = _stored(stored.pop(key))
    return stored


def notice_message(payload: Mapping[str, Any]) -> str:
    """What the notification says, in the current language."""
    if "message_i18n" in payload:
        return _shown(payload["message_i18n"])
    return str(payload.get("message", ""))


def shown_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload a client reads: the message and subject written out in the current
    language, the stored sentence ids left out."""
    shown = {key: value for key, value in payload.items() if not key.endswith("_i18n")}
    shown["message"] = notice_message(payload)
    if "subject_i18n" in payload:
        shown["subject"] = notice_subject(payload)
    return shown


def notice_subject(payload: Mapping[str, Any]) -> str:
    """Its subject line (for e-mail), in the current language; "" when it has none."""
    if "subject_i18n" in payload:
        return _shown(payload["subject_i18n"])
    return str(payload.get("subject") or "")


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    unread_count: int
    next_cursor: str | None


# Newest first; the cursor is the last item's (created_at, id), stable while new
# notifications arrive.
INBOX_ORDER = (
    paging.SortKey(Notification.created_at, datetime, descending=True),
    paging.SortKey(Notification.id, UUID, descending=True),
)


class Notice(NamedTuple):
    """A notification read as columns (what `notification_out` shows of one)."""

    id: UUID
    kind: str
    subject_type: str
    subject_id: UUID
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class UnreadNotices:
    items: list[Notice]
    unread_count: int


_UNREAD = and_(caller_may(Action.READ_NOTIFICATION), Notification.read_at.is_(None))
_NEWEST_UNREAD = PreparedRead(
    select(
        Notification.id,
        Notification.kind,
        Notification.subject_type,
        Notification.subject_id,
        Notification.payload,
        Notification.created_at,
        Notification.read_at,
    )
    .where(_UNREAD)
    .order_by(*paging.ordering(INBOX_ORDER))
    .limit(bindparam("shown"))
)
_UNREAD_COUNT = PreparedRead(select(func.count()).select_from(Notification).where(_UNREAD))


class InboxService(DomainService):
    """A member's own notifications; anyone else's are 404."""

    async def newest_unread(self, identity: Identity, shown: int) -> UnreadNotices:
        """The member's `shown` newest unread notices and how many are unread: the home
        page's inbox, read as `page(unread_only=True, limit=shown)` reads it, as columns
        by statements compiled once."""
        values = {**caller_parameters(identity), "shown": shown}
        rows = await _NEWEST_UNREAD.all(self.session, values)
        counted = await _UNREAD_COUNT.first(self.session, values)
        return UnreadNotices(
            items=[Notice(*row) for row in rows],
            unread_count=int(counted[0]) if counted else 0,
        )

    async def page(
        self,
        identity: Identity,
        *,
        unread_only: bool = False,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> InboxPage:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(
                _("'limit' must be between 1 and {MAX_PAGE_SIZE}.", MAX_PAGE_SIZE=MAX_PAGE_SIZE)
            )
        query = select(Notification).where(own_notifications(identity))
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        page = await paging.fetch(
            self.session,
            query,
            INBOX_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("inbox", unread_only),
        )
        return InboxPage(
            items=page.rows,
            unread_count=await self.unread_count(identity),
            next_cursor=page.next_cursor,
        )

    async def unread_count(self, identity: Identity) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(own_notifications(identity), Notification.read_at.is_(None))
        )
        return int(count or 0)

    async def mark_read(self, identity: Identity, notification_id: UUID) -> Notification:
        notification = await self.session.scalar(
            select(Notification).where(
                Notification.id == notification_id, own_notifications(identity)
            )
        )
        if notification is None:
            raise NotFound(refusals.NO_SUCH_NOTIFICATION)
        if notification.read_at is None:
            notification.read_at = self.clock.now()
            await unit_of_work(self.session, self.clock).commit()
        return notification

    async def mark_all_read(self, identity: Identity) -> int:
        result = await self.session.execute(
            update(Notification)
            .where(own_notifications(identity), Notification.read_at.is_(None))
            .values(read_at=self.clock.now())
        )
        await unit_of_work(self.session, self.clock).commit()
        return int(getattr(result, "rowcount", 0) or 0)
