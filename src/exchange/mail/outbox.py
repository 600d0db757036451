"""Mail leaves only after the change it reports on is committed.

Services queue messages on their database session. When that session commits, the
batch is sent in the background; when it rolls back, the batch is dropped. So a
mail server that is down never undoes a decision, and a decision that failed is
never announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange.config import Settings
from exchange.database import SETTINGS_INFO_KEY
from exchange.mail.smtp import SmtpTarget, send_messages

logger = structlog.get_logger("exchange.mail")

_PENDING = "exchange.mail.pending"
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


def queue_mail(session: AsyncSession | Session, messages: Iterable[EmailMessage]) -> int:
    """Queue messages to go out when `session` commits.

    Nothing is queued when the session's settings name no SMTP server.
    """
    settings = settings_of(session)
    if settings is None or not settings.smtp_url:
        return 0
    target = SmtpTarget.from_url(settings.smtp_url)
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    batch: list[tuple[SmtpTarget, EmailMessage]] = sync_session.info.setdefault(_PENDING, [])
    before = len(batch)
    batch.extend((target, message) for message in messages)
    return len(batch) - before


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    batch: list[tuple[SmtpTarget, EmailMessage]] = session.info.pop(_PENDING, [])
    if not batch:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # a synchronous caller: nothing to run the sending on
        logger.warning("mail dropped: no event loop", count=len(batch))
        return
    by_target: dict[SmtpTarget, list[EmailMessage]] = {}
    for target, message in batch:
        by_target.setdefault(target, []).append(message)
    for target, messages in by_target.items():
        task = loop.create_task(send_messages(target, messages))
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction ended: drop
        session.info.pop(_PENDING, None)


async def drain(within_seconds: float = 30.0) -> None:
    """Wait for mail this event loop is sending (on shutdown, at the end of a CLI job)."""
    loop = asyncio.get_running_loop()
    pending = [task for task in _in_flight if not task.done() and task.get_loop() is loop]
    if pending:
        await asyncio.wait(pending, timeout=within_seconds)


def in_flight() -> int:
    return sum(1 for task in _in_flight if not task.done())


__all__ = ["compose", "drain", "in_flight", "queue_mail", "settings_of"]
