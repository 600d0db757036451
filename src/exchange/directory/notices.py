"""What the inviting school's admins read when a school they invited by e-mail registers."""

from __future__ import annotations

from exchange.events import SchoolRegistered
from exchange.i18n import lazy_gettext
from exchange.notifications.service import notify_school_admins
from exchange.unit_of_work import UnitOfWork


async def tell_the_inviting_school(uow: UnitOfWork, event: SchoolRegistered) -> None:
    link = event.link
    if link.inviting_school_id is None:
        return
    if event.partnership is not None:
        message = lazy_gettext(
            "{school} joined the exchange through your school's invitation; the invitation "
            "now waits for their answer.",
            school=event.school.name,
        )
        subject_type, subject_id = "partnership", event.partnership.id
    else:
        message = lazy_gettext(
            "{school} joined the exchange through your school's invitation. The admin who "
            "invited them can no longer invite, so invite them again from the directory.",
            school=event.school.name,
        )
        subject_type, subject_id = "school", event.school.id
    await notify_school_admins(
        uow.session,
        uow.clock,
        school_id=link.inviting_school_id,
        kind="school.registered",
        subject_type=subject_type,
        subject_id=subject_id,
        payload={
            "message": message,
            "other_school": {"id": str(event.school.id), "name": event.school.name},
            "partnership_id": str(event.partnership.id) if event.partnership else None,
        },
    )
