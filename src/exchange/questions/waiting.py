"""Which questions wait for an answer (rule 9), as SQL conditions on PartnerQuestion.

A question waits from the moment it is asked until its first answer, while its
partnership is active: once the partnership ended nothing can be answered, so an
unanswered question is closed, not overdue for ever.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, select

from exchange.models import PartnerQuestion, Partnership, PartnershipStatus


def waiting() -> ColumnElement[bool]:
    return and_(
        PartnerQuestion.answered_at.is_(None),
        PartnerQuestion.partnership_id.in_(
            select(Partnership.id).where(Partnership.status == PartnershipStatus.ACTIVE)
        ),
    )


def overdue(now: datetime) -> ColumnElement[bool]:
    return and_(waiting(), PartnerQuestion.respond_by < now)
