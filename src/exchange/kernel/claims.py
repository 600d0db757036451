"""Claiming a row for escalation once (rule 9): whichever worker or command sees an
overdue request or question first sends its reminder, and nobody sends it again."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.models import PartnerQuestion, ReuseRequest


async def claim_escalation(
    session: AsyncSession,
    model: type[ReuseRequest] | type[PartnerQuestion],
    row_id: UUID,
    still_waiting: ColumnElement[bool],
    now: datetime,
) -> bool:
    """Set `escalated_at` if no one did yet and it still waits: the database lets only
    one transaction win this conditional UPDATE."""
    claimed = await session.execute(
        update(model)
        .where(model.id == row_id, model.escalated_at.is_(None), still_waiting)
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
