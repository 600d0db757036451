"""Every inbox notification also goes out by e-mail when an SMTP server is configured.

`mail_posted_notices` follows `NoticesPosted` within the transaction: it writes each
e-mail then, in its recipient's language, and records them as `MailWritten`, which is
sent only once the notices are committed (`exchange.mail.outbox`).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select

from exchange.events import NoticesPosted
from exchange.i18n import _, lazy_gettext, resolve_language, using_language
from exchange.mail.outbox import compose, queue_mail, settings_of
from exchange.models import Member, Notification, School
from exchange.unit_of_work import UnitOfWork

SIGNATURE = lazy_gettext("— The partner-school exchange")
SUBJECT_CHARS = 140


def subject_of(notification: Notification) -> str:
    """The notice's subject when the domain gave one, else the message's first line, in
    the current language."""
    from exchange.notifications.service import notice_message, notice_subject

    subject = notice_subject(notification.payload).strip()
    if not subject:
        message = notice_message(notification.payload) or notification.kind
        subject = message.strip().splitlines()[0] if message.strip() else notification.kind
    if len(subject) > SUBJECT_CHARS:
        subject = subject[: SUBJECT_CHARS - 1].rstrip() + "…"
    return subject


async def mail_posted_notices(uow: UnitOfWork, event: NoticesPosted) -> None:
    await email_notifications(uow, event.notifications)


async def email_notifications(uow: UnitOfWork, notifications: Sequence[Notification]) -> int:
    """Write one e-mail per notification (sent after commit); returns how many."""
    session = uow.session
    settings = settings_of(session)
    if settings is None or not settings.smtp_url or not notifications:
        return 0
    ids: set[UUID] = {n.recipient_member_id for n in notifications}
    from exchange.notifications.service import notice_message

    rows = await session.execute(
        select(Member.id, Member.email, Member.full_name, Member.language, School.languages)
        .join(School, School.id == Member.school_id)
        .where(Member.id.in_(ids), Member.is_active.is_(True))
    )
    people = {
        row.id: (
            row.email,
            row.full_name,
            resolve_language(member_choice=row.language, school_languages=row.languages or ()),
        )
        for row in rows
    }
    messages = []
    for notification in notifications:
        if notification.recipient_member_id not in people:
            continue
        email, full_name, language = people[notification.recipient_member_id]
        # Each e-mail in its recipient's language, whoever's request caused it.
        with using_language(language):
            message = notice_message(notification.payload).strip()
            greeting = _("Dear {name},", name=full_name)
            body = f"{greeting}\n\n{message}\n\n{SIGNATURE}\n"
            messages.append(
                compose(
                    sender=settings.mail_from,
                    to=email,
                    subject=subject_of(notification),
                    body=body,
                    language=language,
                )
            )
    return queue_mail(uow, messages)
