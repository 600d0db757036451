"""A notice: one sentence (and its subject line) told to chosen members' inboxes, for
the domains that tell people what happened (reuse requests, questions, activities)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.i18n import LazyText, lazy_gettext
from exchange.kernel.refs import Names
from exchange.models import Member, MemberRole
from exchange.notifications.service import notify_members


@dataclass(frozen=True)
class Notice:
    kind: str
    subject_type: str
    subject_id: UUID
    subject_line: LazyText
    body: LazyText | list[LazyText]
    payload: dict[str, Any] = field(default_factory=dict)


async def school_admin_ids(session: AsyncSession, school_id: UUID) -> set[UUID]:
    rows = await session.scalars(
        select(Member.id).where(
            Member.school_id == school_id,
            Member.role == MemberRole.ADMIN,
            Member.is_active.is_(True),
        )
    )
    return set(rows)


async def deliver(
    session: AsyncSession, clock: Clock, member_ids: Iterable[UUID], notice: Notice
) -> None:
    """Put the notice in each member's inbox; the inbox mails it when SMTP is set."""
    recipients = set(member_ids)
    if not recipients:
        return
    await notify_members(
        session,
        clock,
        member_ids=recipients,
        kind=notice.kind,
        subject_type=notice.subject_type,
        subject_id=notice.subject_id,
        payload={**notice.payload, "message": notice.body, "subject": notice.subject_line},
    )


async def school_name(session: AsyncSession, school_id: UUID) -> str:
    """A school's name for a sentence ("a school" for an id that was never one)."""
    names = await Names.load(session, schools=[school_id])
    return names.schools.get(school_id) or str(lazy_gettext("a school"))
