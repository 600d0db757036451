"""Who is told about a reuse request or grant, and what they read.

Every request event reaches the other side (rule 9: every request is answered, and
the requester learns the answer): a new request its resource's authors and the owner
school's admins; a decision the requester and their school's admins; a withdrawal
the deciders; a closing or a revocation the requester's side. Each notice goes to the
inbox and, when an SMTP server is configured, by e-mail once the change is committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.models import (
    Forward,
    Grant,
    Member,
    MemberRole,
    Resource,
    ResourceAuthor,
    ReuseRequest,
    School,
)
from exchange.notifications.service import notify_members


@dataclass(frozen=True)
class Notice:
    kind: str
    subject_type: str
    subject_id: UUID
    subject_line: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


async def school_admin_ids(session: AsyncSession, school_id: UUID) -> set[UUID]:
    rows = await session.scalars(
        select(Member.id).where(
            Member.school_id == school_id,
            Member.role == MemberRole.ADMIN.value,
            Member.is_active.is_(True),
        )
    )
    return set(rows)


async def author_ids(session: AsyncSession, resource_id: UUID) -> set[UUID]:
    rows = await session.scalars(
        select(ResourceAuthor.member_id)
        .join(Member, Member.id == ResourceAuthor.member_id)
        .where(ResourceAuthor.resource_id == resource_id, Member.is_active.is_(True))
    )
    return set(rows)


async def deciders_of(session: AsyncSession, resource: Resource) -> set[UUID]:
    """The resource's authors and the owner school's admins."""
    return await author_ids(session, resource.id) | await school_admin_ids(
        session, resource.owner_school_id
    )


async def requesting_side_of(session: AsyncSession, request: ReuseRequest) -> set[UUID]:
    """The member who asked and their school's admins."""
    members = await school_admin_ids(session, request.requesting_school_id)
    if request.requested_by_id is not None:
        members.add(request.requested_by_id)
    return members


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
    name = await session.scalar(select(School.name).where(School.id == school_id))
    return name or "a school"


# --- the notices -------------------------------------------------------------------------


def _about_request(
    request: ReuseRequest,
    resource: Resource,
    kind: str,
    *,
    subject_line: str,
    body: str,
    **more: Any,
) -> Notice:
    """A notice about a reuse request; its payload names the request and the resource,
    with `more`."""
    return Notice(
        kind=f"reuse_request.{kind}",
        subject_type="reuse_request",
        subject_id=request.id,
        subject_line=subject_line,
        body=body,
        payload={
            "reuse_request_id": str(request.id),
            "resource_id": str(resource.id),
            "resource_title": resource.title,
            "scope": request.scope,
            "status": request.status,
            **more,
        },
    )


async def request_created(
    session: AsyncSession, clock: Clock, request: ReuseRequest, resource: Resource
) -> None:
    school = await school_name(session, request.requesting_school_id)
    await deliver(
        session,
        clock,
        await deciders_of(session, resource),
        _about_request(
            request,
            resource,
            "created",
            subject_line=f"{school} asks to {request.scope} “{resource.title}”",
            body=(
                f"{school} asks for permission to {request.scope} “{resource.title}”.\n\n"
                f"Purpose: {request.purpose}\nAudience: {request.audience}\n\n"
                f"Please answer by {request.respond_by:%d %B %Y}: "
                f"POST /api/reuse-requests/{request.id}/decision "
                "(the code of conduct, rule 9: every request is answered)."
            ),
            requesting_school=school,
            respond_by=str(request.respond_by),
        ),
    )


async def request_decided(
    session: AsyncSession, clock: Clock, request: ReuseRequest, resource: Resource
) -> None:
    owner = await school_name(session, resource.owner_school_id)
    approved = request.status == "approved"
    answer = "approved" if approved else "declined"
    lines = [f"{owner} {answer} your request to {request.scope} “{resource.title}”."]
    if request.decision_note:
        lines.append(f"Their note: {request.decision_note}")
    if approved and request.grant_expires_at:
        lines.append(f"The permission lasts until {request.grant_expires_at:%d %B %Y}.")
    await deliver(
        session,
        clock,
        await requesting_side_of(session, request),
        _about_request(
            request,
            resource,
            request.status,
            subject_line=f"Your request to {request.scope} “{resource.title}” was {answer}",
            body="\n\n".join(lines),
            note=request.decision_note,
        ),
    )


async def request_withdrawn(
    session: AsyncSession, clock: Clock, request: ReuseRequest, resource: Resource
) -> None:
    school = await school_name(session, request.requesting_school_id)
    await deliver(
        session,
        clock,
        await deciders_of(session, resource),
        _about_request(
            request,
            resource,
            "withdrawn",
            subject_line=f"{school} withdrew its request about “{resource.title}”",
            body=(
                f"{school} withdrew its request to {request.scope} “{resource.title}”. "
                "Nothing more is needed from you."
            ),
        ),
    )


async def request_closed(
    session: AsyncSession, clock: Clock, request: ReuseRequest, resource: Resource
) -> None:
    await deliver(
        session,
        clock,
        await requesting_side_of(session, request),
        _about_request(
            request,
            resource,
            "closed",
            subject_line=f"Your request about “{resource.title}” was closed",
            body=(
                f"Your request to {request.scope} “{resource.title}” was closed without a "
                f"decision: {request.closed_reason}"
            ),
            reason=request.closed_reason,
        ),
    )
    await deliver(
        session,
        clock,
        await deciders_of(session, resource),
        _about_request(
            request,
            resource,
            "closed",
            subject_line=f"A request about “{resource.title}” was closed",
            body=(
                f"The request to {request.scope} “{resource.title}” was closed: "
                f"{request.closed_reason} Nothing more is needed from you."
            ),
            reason=request.closed_reason,
        ),
    )


async def request_overdue(
    session: AsyncSession, clock: Clock, request: ReuseRequest, resource: Resource
) -> None:
    school = await school_name(session, request.requesting_school_id)
    await deliver(
        session,
        clock,
        await school_admin_ids(session, resource.owner_school_id),
        _about_request(
            request,
            resource,
            "overdue",
            subject_line=f"Overdue: {school}'s request about “{resource.title}”",
            body=(
                f"{school} asked on {request.created_at:%d %B %Y} to {request.scope} "
                f"“{resource.title}” and has had no answer; the answer was due by "
                f"{request.respond_by:%d %B %Y}. The code of conduct (rule 9) asks that "
                "every request is answered, even when the answer is no. Please decide it "
                f"or ask its authors to: POST /api/reuse-requests/{request.id}/decision."
            ),
            respond_by=str(request.respond_by),
        ),
    )


async def grant_revoked(
    session: AsyncSession,
    clock: Clock,
    *,
    grant_id: UUID,
    scope: str,
    school_id: UUID,
    resource: Resource,
    request: ReuseRequest | None,
    forwards_cut: int,
) -> None:
    owner = await school_name(session, resource.owner_school_id)
    members = await school_admin_ids(session, school_id)
    if request is not None and request.requested_by_id is not None:
        members.add(request.requested_by_id)
    cut = (
        f" The {forwards_cut} school(s) your school passed it to can no longer read it."
        if forwards_cut
        else ""
    )
    await deliver(
        session,
        clock,
        members,
        Notice(
            kind="grant.revoked",
            subject_type="grant",
            subject_id=grant_id,
            subject_line=f"Permission to {scope} “{resource.title}” was withdrawn",
            body=(f"{owner} withdrew your school's permission to {scope} “{resource.title}”.{cut}"),
            payload={
                "grant_id": str(grant_id),
                "resource_id": str(resource.id),
                "resource_title": resource.title,
                "scope": scope,
                "forwards_cut": forwards_cut,
            },
        ),
    )


async def resource_forwarded(
    session: AsyncSession, clock: Clock, forward: Forward, resource: Resource
) -> None:
    sender = await school_name(session, forward.from_school_id)
    receiver = await school_name(session, forward.to_school_id)
    payload = {
        "forward_id": str(forward.id),
        "resource_id": str(resource.id),
        "resource_title": resource.title,
        "from_school": sender,
        "to_school": receiver,
    }
    await deliver(
        session,
        clock,
        await deciders_of(session, resource),
        Notice(
            kind="resource.forwarded",
            subject_type="forward",
            subject_id=forward.id,
            subject_line=f"{sender} passed “{resource.title}” on to {receiver}",
            body=(
                f"With your permission to share it, {sender} passed “{resource.title}” on "
                f"to its partner {receiver}. See GET /api/resources/{resource.id}/forwards."
            ),
            payload=payload,
        ),
    )
    await deliver(
        session,
        clock,
        await school_admin_ids(session, forward.to_school_id),
        Notice(
            kind="resource.received",
            subject_type="forward",
            subject_id=forward.id,
            subject_line=f"{sender} shared “{resource.title}” with your school",
            body=(
                f"{sender} passed on “{resource.title}”, a resource of "
                f"{await school_name(session, resource.owner_school_id)}, with its authors' "
                f"permission. Your school can read it: GET /api/resources/{resource.id}."
            ),
            payload=payload,
        ),
    )


# --- when a partnership ends ----------------------------------------------------------------
# Each text is one string with named placeholders, so that it can be translated whole.

GRANT_ENDED_SUBJECT = "Permission to {scope} “{title}” ended with the partnership"
GRANT_ENDED_BODY = (
    "The partnership between {school_a} and {school_b} ended, so your school's permission "
    "to {scope} “{title}” of {owner} ended with it. A new partnership does not bring it "
    "back: ask its authors again if you still need it."
)
GRANT_ENDED_BODY_WITH_FORWARDS = (
    "The partnership between {school_a} and {school_b} ended, so your school's permission "
    "to {scope} “{title}” of {owner} ended with it, and the schools your school passed it "
    "to ({count}) can no longer read it. A new partnership does not bring it back: ask its "
    "authors again if you still need it."
)
ACCESS_ENDED_SUBJECT = "Your school can no longer read “{title}”"
ACCESS_ENDED_BODY = (
    "{sender} passed “{title}” of {owner} on to your school. The partnership between "
    "{school_a} and {school_b} ended, so your school can no longer read it. If you still "
    "need it, ask {owner} to share it with your school."
)


async def grant_ended_with_partnership(
    session: AsyncSession,
    clock: Clock,
    *,
    grant: Grant,
    resource: Resource,
    request: ReuseRequest | None,
    forwards_cut: int,
    school_a: str,
    school_b: str,
) -> None:
    """Tell the school that held the grant (its admins and who asked) that it ended."""
    owner = await school_name(session, resource.owner_school_id)
    members = await school_admin_ids(session, grant.school_id)
    if request is not None and request.requested_by_id is not None:
        members.add(request.requested_by_id)
    words = {
        "scope": grant.scope,
        "title": resource.title,
        "owner": owner,
        "school_a": school_a,
        "school_b": school_b,
        "count": forwards_cut,
    }
    body = GRANT_ENDED_BODY_WITH_FORWARDS if forwards_cut else GRANT_ENDED_BODY
    await deliver(
        session,
        clock,
        members,
        Notice(
            kind="grant.revoked",
            subject_type="grant",
            subject_id=grant.id,
            subject_line=GRANT_ENDED_SUBJECT.format(**words),
            body=body.format(**words),
            payload={
                "grant_id": str(grant.id),
                "resource_id": str(resource.id),
                "resource_title": resource.title,
                "owner_school": owner,
                "scope": grant.scope,
                "reason": "partnership_ended",
                "school_a": school_a,
                "school_b": school_b,
                "forwards_cut": forwards_cut,
            },
        ),
    )


async def forwarded_access_ended(
    session: AsyncSession,
    clock: Clock,
    *,
    forward: Forward,
    resource: Resource,
    school_a: str,
    school_b: str,
) -> None:
    """Tell the school a forward reached that it can no longer read the resource."""
    words = {
        "sender": await school_name(session, forward.from_school_id),
        "title": resource.title,
        "owner": await school_name(session, resource.owner_school_id),
        "school_a": school_a,
        "school_b": school_b,
    }
    await deliver(
        session,
        clock,
        await school_admin_ids(session, forward.to_school_id),
        Notice(
            kind="resource.access_ended",
            subject_type="forward",
            subject_id=forward.id,
            subject_line=ACCESS_ENDED_SUBJECT.format(**words),
            body=ACCESS_ENDED_BODY.format(**words),
            payload={
                "forward_id": str(forward.id),
                "resource_id": str(resource.id),
                "resource_title": resource.title,
                "owner_school": words["owner"],
                "from_school": words["sender"],
                "reason": "partnership_ended",
                "school_a": school_a,
                "school_b": school_b,
            },
        ),
    )
