"""What the other school's admins read in their inbox when a partnership moves."""

from __future__ import annotations

from exchange.events import PartnershipChanged
from exchange.notifications.service import notify_school_admins
from exchange.unit_of_work import UnitOfWork


async def tell_the_other_school(uow: UnitOfWork, event: PartnershipChanged) -> None:
    partnership, actor = event.partnership, event.actor
    await notify_school_admins(
        uow.session,
        uow.clock,
        school_id=partnership.other_school_id(actor.school_id),
        kind=event.action,
        subject_type="partnership",
        subject_id=partnership.id,
        payload={
            "message": event.notice,
            "partnership_id": str(partnership.id),
            "status": partnership.status,
            "other_school": {"id": str(actor.school_id), "name": event.actor_school_name},
            "actor": {"id": str(actor.member_id), "full_name": actor.full_name},
            **event.notice_details,
        },
    )
