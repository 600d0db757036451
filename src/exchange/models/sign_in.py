from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import DefaultBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class SignInThrottle(DefaultBase):
    """The failed sign-ins of one counter: an address, an account from one address, or
    an account from the addresses it never signed in from (`exchange.accounts.throttle`).

    Kept in the database so that every app instance counts the same, and changed only by
    one statement that counts and checks at once. Moments are Unix milliseconds so that
    statement can add to them on SQLite and PostgreSQL alike.
    """

    __tablename__ = "sign_in_throttles"

    # The SHA-256 of "<kind>:<what>": no e-mail address or client address in clear.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)


class KnownSignInAddress(UUIDv7Base):
    """An address a member signed in from with the right password: a guesser elsewhere
    does not slow the member down there. Only a hash of the member and the address is
    kept, and it is forgotten when unused for `sign_in_known_address_days`."""

    __tablename__ = "known_sign_in_addresses"
    __table_args__ = (UniqueConstraint("member_id", "address_hash"),)

    member_id: Mapped[UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    address_hash: Mapped[str] = mapped_column(String(64))
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
