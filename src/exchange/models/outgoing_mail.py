from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column


class OutgoingMail(UUIDv7AuditBase):
    """An e-mail written in the same transaction as the change it reports, waiting for a
    job worker to send it (`exchange.mail.outbox`).

    `message` is the whole message as it goes over SMTP; once the server has accepted
    it, `sent_at` is set and the message itself is deleted, so the table keeps only who
    was written to, about what, and when.
    """

    __tablename__ = "outgoing_mail"

    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
