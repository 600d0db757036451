"""Mail leaves only after the change it reports on is committed.

Messages are recorded on the unit of work (`MailWritten`); `send_after_commit` follows
that event after the commit (`exchange.consequences`) and sends the batch in the
background; a rollback drops it with the rest of the unit of work. So a mail server
that is down never undoes a decision, and a decision that failed is never announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from email.message import EmailMessage

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange.config import Settings
from exchange.database import SETTINGS_INFO_KEY
from exchange.events import MailWritten
from exchange.mail.smtp import SmtpTarget, send_messages
from exchange.unit_of_work import UnitOfWork

logger = structlog.get_logger("exchange.mail")

_in_flight: set[asyncio.Task[int]] = set()


def compose(
    *, sender: str, to: str, subject: str, body: str, language: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if language:  # after the content: setting it clears the Content-* headers
        message["Content-Language"] = language
    return message


def settings_of(session: AsyncSession | Session) -> Settings | None:
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    settings = sync_session.info.get(SETTINGS_INFO_KEY)
    return settings if isinstance(settings, Settings) else None


def queue_mail(uow: UnitOfWork, messages: Iterable[EmailMessage]) -> int:
    """Record messages to go out once `uow` commits; returns how many.

    Nothing is recorded when the session's settings name no SMTP server.
    """
    settings = settings_of(uow.session)
    if settings is None or not settings.smtp_url:
        return 0
    batch = list(messages)
    if batch:
        uow.record(MailWritten(settings.smtp_url, batch))
    return len(batch)


async def send_after_commit(_uow: UnitOfWork, event: MailWritten) -> None:
    """Send in the background: the answer to the request does not wait for the server."""
    target = SmtpTarget.from_url(event.smtp_url)
    task = asyncio.get_running_loop().create_task(send_messages(target, event.messages))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


async def drain(within_seconds: float = 30.0) -> None:
    """Wait for mail this event loop is sending (on shutdown, at the end of a CLI job)."""
    loop = asyncio.get_running_loop()
    pending = [task for task in _in_flight if not task.done() and task.get_loop() is loop]
    if pending:
        await asyncio.wait(pending, timeout=within_seconds)


def in_flight() -> int:
    return sum(1 for task in _in_flight if not task.done())


__all__ = ["compose", "drain", "in_flight", "queue_mail", "send_after_commit", "settings_of"]
