"""Each school's share of the store (`EXCHANGE_SCHOOL_QUOTA_BYTES`), kept exact under
concurrent uploads.

`schools.storage_used_bytes` counts every stored version of the school's resources. An
upload reserves its size with one conditional UPDATE in the transaction that commits
its rows, so two uploads racing for the last megabytes cannot both pass; a delete gives
the bytes back in the transaction that removes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import CursorResult, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.errors import QuotaExceeded
from exchange.i18n import _, format_size
from exchange.models import School


@dataclass(frozen=True)
class SchoolQuota:
    """What a school had stored when an upload began, and its limit (None: no limit)."""

    school_id: UUID
    used: int
    limit: int | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    def refusal(self, adding: int | None = None) -> QuotaExceeded:
        assert self.limit is not None
        full = _(
            "Your school's storage is full: it uses {used} of its {limit}.",
            used=format_size(self.used),
            limit=format_size(self.limit),
        )
        needs = _("This file needs at least {size}.", size=format_size(adding)) if adding else ""
        advice = _(
            "Delete resources or old versions your school no longer needs, or ask the "
            "exchange's administrator for more space."
        )
        return QuotaExceeded(
            " ".join(part for part in (full, needs, advice) if part),
            used_bytes=self.used,
            limit_bytes=self.limit,
        )

    def refuse_if_full(self) -> None:
        if self.left == 0:
            raise self.refusal()


async def quota_of(session: AsyncSession, school_id: UUID, limit: int | None) -> SchoolQuota:
    used = await session.scalar(select(School.storage_used_bytes).where(School.id == school_id))
    return SchoolQuota(school_id=school_id, used=int(used or 0), limit=limit)


async def reserve(session: AsyncSession, school_id: UUID, size: int, limit: int | None) -> None:
    """Count `size` more bytes for the school, or raise QuotaExceeded when they do not fit.

    Runs in the caller's transaction: a rollback gives the bytes back.
    """
    statement = update(School).where(School.id == school_id)
    if limit is not None:
        statement = statement.where(School.storage_used_bytes + size <= limit)
    result = await session.execute(
        statement.values(storage_used_bytes=School.storage_used_bytes + size),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    if result.rowcount == 1:
        return
    current = await quota_of(session, school_id, limit)
    raise current.refusal(size)


async def release(session: AsyncSession, school_id: UUID, size: int) -> None:
    """Give back `size` bytes (never below zero), in the caller's transaction."""
    if size <= 0:
        return
    await session.execute(
        update(School)
        .where(School.id == school_id)
        .values(
            storage_used_bytes=case(
                (School.storage_used_bytes > size, School.storage_used_bytes - size), else_=0
            )
        ),
        execution_options={"synchronize_session": False},
    )
