"""Sign-in throttling, after OWASP's authentication cheat sheet: slow guessing down
without letting a guesser lock a member out.

Every attempt is counted on up to three counters before its password is checked:

- its address, whatever account it tries (`sign_in_max_failures_per_address`);
- the account from that address (`sign_in_max_failures_per_account`);
- the account from every address the member has never signed in from (the same limit),
  not counted at all from an address the member has signed in from before.

Each counter lets its limit of failures through, then makes the next attempt wait
`sign_in_first_delay_seconds`, twice that after the next failure, and so on up to
`sign_in_window_seconds`; it forgets everything once that long passes without a failure.
So a guesser elsewhere slows down sign-ins from new addresses, never the member's own,
and a member who mistypes waits a minute, not a quarter of an hour.

The count and the check are one statement on one row (an upsert that only counts when
the counter lets the attempt through), and an attempt's counters are counted in one
transaction, in the same order by every attempt: concurrent attempts, on any number of
app instances sharing the database, can never all pass a check that only some of them
may pass. A right password then takes its attempt back off the address's counter and
clears the account's.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ColumnElement, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.config import Settings
from exchange.errors import TooManyAttempts
from exchange.i18n import lazy_gettext
from exchange.models import KnownSignInAddress, SignInThrottle

_THROTTLES = SignInThrottle.__table__
_KNOWN = KnownSignInAddress.__table__


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def address_digest(member_id: UUID, address: str) -> str:
    """A member's address as it is remembered: hashed with the member, so the table
    shows neither the address nor which members share one."""
    return _digest("known-address", member_id.hex, address)


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    limit: int
    # What a right password does to it: clear it, or take its attempt back.
    cleared_by_success: bool


def counters_for(
    settings: Settings, email: str, address: str | None, *, known_address: bool
) -> list[Counter]:
    per_account = settings.sign_in_max_failures_per_account
    counters = [
        Counter(_digest("account-address", email, address or ""), per_account, True),
    ]
    if address:
        counters.append(
            Counter(_digest("address", address), settings.sign_in_max_failures_per_address, False)
        )
    if not known_address:
        counters.append(Counter(_digest("account", email), per_account, True))
    # One order for every attempt: two attempts never wait for each other's rows crosswise.
    return sorted(counters, key=lambda counter: counter.key)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def delay_ms(settings: Settings, failures: int, limit: int) -> int:
    """How long the attempt after the `failures`-th must wait."""
    if failures < limit:
        return 0
    first = settings.sign_in_first_delay_seconds * 1000
    most = settings.sign_in_window_seconds * 1000
    doublings = failures - limit
    if doublings > 40 or first << doublings >= most:
        return most
    return first << doublings


def _delay_after(settings: Settings, failures: ColumnElement[Any], limit: int) -> Any:
    """`delay_ms` in SQL, for a count known only to the database: a CASE over the few
    counts that double before the delay reaches its most."""
    steps: list[tuple[ColumnElement[bool], int]] = [(failures < limit, 0)]
    most = settings.sign_in_window_seconds * 1000
    count = limit
    while (wait := delay_ms(settings, count, limit)) < most:
        steps.append((failures == count, wait))
        count += 1
    return case(*steps, else_=most)


def _insert_for(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def count_attempt(
    session: AsyncSession, settings: Settings, counters: list[Counter], now: datetime
) -> None:
    """Count one attempt on each counter and commit, or refuse it (nothing counted)."""
    now_ms = _ms(now)
    forgotten_before = now_ms - settings.sign_in_window_seconds * 1000
    insert = _insert_for(session)
    for counter in counters:
        expired = _THROTTLES.c.last_failure_ms < forgotten_before
        failures = _THROTTLES.c.failures + 1
        statement = (
            insert(_THROTTLES)
            .values(
                key=counter.key,
                failures=1,
                last_failure_ms=now_ms,
                next_attempt_ms=now_ms + delay_ms(settings, 1, counter.limit),
            )
            .on_conflict_do_update(
                index_elements=[_THROTTLES.c.key],
                set_={
                    "failures": case((expired, 1), else_=failures),
                    "last_failure_ms": now_ms,
                    "next_attempt_ms": literal(now_ms, BigInteger)
                    + case(
                        (expired, delay_ms(settings, 1, counter.limit)),
                        else_=_delay_after(settings, failures, counter.limit),
                    ),
                },
                # Counted only when let through; a refused attempt changes nothing.
                # (The limit is checked apart from the moment so that the clocks of
                # several instances, a little apart, never refuse an attempt below it.)
                where=or_(
                    expired,
                    _THROTTLES.c.failures < counter.limit,
                    _THROTTLES.c.next_attempt_ms <= now_ms,
                ),
            )
            .returning(_THROTTLES.c.failures)
        )
        if (await session.execute(statement)).first() is None:
            next_attempt_ms = await session.scalar(
                select(_THROTTLES.c.next_attempt_ms).where(_THROTTLES.c.key == counter.key)
            )
            await session.rollback()
            raise too_many_attempts(
                max(1, math.ceil(((next_attempt_ms or now_ms) - now_ms) / 1000))
            )
    await session.commit()


TOO_MANY_ATTEMPTS = lazy_gettext(
    "Too many failed sign-ins. Wait {seconds} seconds and try again, or ask your school's "
    "admin for a link to set a new password."
)


def too_many_attempts(retry_after_seconds: int) -> TooManyAttempts:
    return TooManyAttempts(
        TOO_MANY_ATTEMPTS.with_params(seconds=retry_after_seconds),
        retry_after_seconds=retry_after_seconds,
    )


async def forget_attempt(
    session: AsyncSession, settings: Settings, counters: list[Counter], now: datetime
) -> None:
    """A right password: the account's counters start again, the address's takes the
    attempt back. Counters nobody used for a window are removed. The caller commits."""
    cleared = [counter.key for counter in counters if counter.cleared_by_success]
    taken_back = [counter.key for counter in counters if not counter.cleared_by_success]
    if cleared:
        await session.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(cleared)))
    if taken_back:
        await session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.key.in_(taken_back), SignInThrottle.failures > 0)
            .values(failures=SignInThrottle.failures - 1)
        )
    stale_before = _ms(now) - settings.sign_in_window_seconds * 1000
    await session.execute(
        delete(SignInThrottle).where(SignInThrottle.last_failure_ms < stale_before)
    )


async def is_known_address(
    session: AsyncSession, settings: Settings, member_id: UUID, address: str, now: datetime
) -> bool:
    since = now - timedelta(days=settings.sign_in_known_address_days)
    found = await session.scalar(
        select(KnownSignInAddress.id).where(
            KnownSignInAddress.member_id == member_id,
            KnownSignInAddress.address_hash == address_digest(member_id, address),
            KnownSignInAddress.last_seen_at >= since,
        )
    )
    return found is not None


async def remember_address(
    session: AsyncSession, settings: Settings, member_id: UUID, address: str, now: datetime
) -> None:
    """Record that the member signed in from `address`, and forget the member's
    addresses unused for longer than `sign_in_known_address_days`. The caller commits."""
    statement = (
        _insert_for(session)(_KNOWN)
        .values(
            member_id=member_id, address_hash=address_digest(member_id, address), last_seen_at=now
        )
        .on_conflict_do_update(
            index_elements=[_KNOWN.c.member_id, _KNOWN.c.address_hash],
            set_={"last_seen_at": now},
        )
    )
    await session.execute(statement)
    since = now - timedelta(days=settings.sign_in_known_address_days)
    await session.execute(
        delete(KnownSignInAddress).where(
            KnownSignInAddress.member_id == member_id, KnownSignInAddress.last_seen_at < since
        )
    )
