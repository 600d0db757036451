"""Mail is written with the change it reports on, and sent by a job worker.

Services record messages on the unit of work (`queue_mail`, the `MailWritten` event).
Within the same transaction, `write_to_outbox` stores each message as a row of
`outgoing_mail` and queues a `mail.send` job for it; so a mail exists exactly when the
change it reports was committed: a rollback drops both, and a process stopped right
after the commit leaves the mail to any other worker. Once the commit has succeeded,
this process's own job worker is woken, so mail leaves at once where the app runs one.

A job worker (`exchange jobs run`, or the one inside `exchange serve`) claims each job
once, sends the message, marks it sent and deletes the message itself (a password
link's mail carries a one-time link). A mail server that is down never undoes a
decision: the job is tried again later with a growing delay (`exchange.jobs.queue`).
A message is sent twice only if the server accepted it and the database could not be
told so; it keeps its `Message-ID`, by which mail servers recognise a repeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from uuid_utils.compat import uuid7

from exchange.config import Settings
from exchange.database import SETTINGS_INFO_KEY
from exchange.events import MailWritten
from exchange.jobs.queue import QUEUED
from exchange.jobs.worker import JobContext, JobKind, wake_local_workers
from exchange.mail.smtp import SmtpTarget, send_message
from exchange.models import Job, OutgoingMail
from exchange.unit_of_work import UnitOfWork

logger = structlog.get_logger("exchange.mail")

SEND_MAIL = "mail.send"
# With the queue's growing delay (5 s, 20 s, 80 s... at most an hour apart), a mail
# server may be away for about two and a half hours before a message is given up.
SEND_ATTEMPTS = 8
SUBJECT_CHARS = 300
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def compose(
    *, sender: str, to: str, subject: str, body: str, language: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    # Kept when the message is sent again after a failure: servers know it is the same.
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    if language:  # after the content: setting it clears the Content-* headers
        message["Content-Language"] = language
    return message


def settings_of(session: AsyncSession | Session) -> Settings | None:
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    settings = sync_session.info.get(SETTINGS_INFO_KEY)
    return settings if isinstance(settings, Settings) else None


def queue_mail(uow: UnitOfWork, messages: Iterable[EmailMessage]) -> int:
    """Record messages to be stored with `uow`'s commit and sent after it; returns how
    many.

    Nothing is recorded when the session's settings name no SMTP server.
    """
    settings = settings_of(uow.session)
    if settings is None or not settings.smtp_url:
        return 0
    batch = list(messages)
    if batch:
        uow.record(MailWritten(batch))
    return len(batch)


async def write_to_outbox(uow: UnitOfWork, event: MailWritten) -> None:
    """Within the transaction: each message becomes a row and a job that sends it."""
    # Due at once: by the service's clock, or with none at hand, from the earliest moment.
    due = uow._clock.now() if uow._clock is not None else _EARLIEST
    for message in event.messages:
        mail_id = uuid7()
        uow.session.add(
            OutgoingMail(
                id=mail_id,
                recipient=str(message["To"] or "")[:320],
                subject=str(message["Subject"] or "")[:SUBJECT_CHARS],
                message=message.as_bytes(policy=policy.SMTP),
            )
        )
        uow.session.add(
            Job(
                kind=SEND_MAIL,
                payload={"mail_id": str(mail_id)},
                status=QUEUED,
                run_after=due,
                max_attempts=SEND_ATTEMPTS,
            )
        )


async def wake_the_worker(_uow: UnitOfWork, _event: MailWritten) -> None:
    """After the commit: this process's job worker, if it runs one, sends the mail now
    rather than at its next look at the queue."""
    wake_local_workers()


async def send_outgoing_mail(context: JobContext, payload: dict[str, Any]) -> None:
    """The `mail.send` job: sends one stored message, then marks it sent and deletes the
    message. Raises when the server cannot take it, so that the job is tried again."""
    mail_id = UUID(payload["mail_id"])
    smtp_url = context.settings.smtp_url
    async with context.session_factory() as session:
        row = (
            await session.execute(
                select(OutgoingMail.message).where(
                    OutgoingMail.id == mail_id, OutgoingMail.sent_at.is_(None)
                )
            )
        ).one_or_none()
        await session.rollback()  # no transaction held while the server is talked to
        if row is None or row.message is None:
            return  # sent already (or given up): never twice
        if not smtp_url:
            raise RuntimeError("No SMTP server is configured (EXCHANGE_SMTP_URL).")
        message = BytesParser(policy=policy.default).parsebytes(row.message)
        await send_message(SmtpTarget.from_url(smtp_url), message)
        await session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id)
            .values(sent_at=context.clock.now(), message=None)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def give_up_outgoing_mail(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """The last attempt failed: the message is deleted (it may carry a one-time link),
    who it was for and its subject stay, unsent."""
    mail_id = UUID(payload["mail_id"])
    async with context.session_factory() as session:
        recipient = await session.scalar(
            select(OutgoingMail.recipient).where(OutgoingMail.id == mail_id)
        )
        await session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id, OutgoingMail.sent_at.is_(None))
            .values(message=None)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    logger.error("mail given up", to=recipient, error=error)


OUTGOING_MAIL = JobKind(send_outgoing_mail, on_give_up=give_up_outgoing_mail)


__all__ = [
    "OUTGOING_MAIL",
    "SEND_MAIL",
    "compose",
    "queue_mail",
    "send_outgoing_mail",
    "settings_of",
    "wake_the_worker",
    "write_to_outbox",
]
