"""Who is told about a reuse request or grant, and what they read.

Every request event reaches the other side (rule 9: every request is answered, and
the requester learns the answer): a new request its resource's authors and the owner
school's admins; a decision the requester and their school's admins; a withdrawal
the deciders; a closing or a revocation the requester's side. Each notice goes to the
inbox and, when an SMTP server is configured, by e-mail once the change is committed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.events import (
    ForwardCutByPartnershipEnd,
    GrantRevoked,
    ResourceForwarded,
    ReuseRequestClosed,
    ReuseRequestDecided,
    ReuseRequestMade,
    ReuseRequestOverdue,
    ReuseRequestWithdrawn,
)
from exchange.i18n import LazyText, lazy_gettext, lazy_ngettext
from exchange.models import (
    Member,
    Resource,
    ResourceAuthor,
    ReuseRequest,
)
from exchange.notifications.notices import Notice, deliver, school_admin_ids, school_name
from exchange.unit_of_work import UnitOfWork


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


# --- the notices -------------------------------------------------------------------------


async def _tell(
    uow: UnitOfWork,
    member_ids: set[UUID],
    request: ReuseRequest,
    resource: Resource,
    kind: str,
    *,
    subject_line: LazyText,
    body: LazyText | list[LazyText],
    **more: Any,
) -> None:
    """Deliver a notice about a reuse request; its payload names the request and the
    resource, with `more`."""
    await deliver(
        uow.session,
        uow.clock,
        member_ids,
        Notice(
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
        ),
    )


# What each scope of permission is called inside a sentence ("asks for {permission}").
PERMISSION: dict[str, LazyText] = {
    "adapt": lazy_gettext("permission to adapt"),
    "share": lazy_gettext("permission to share"),
    "publish": lazy_gettext("permission to publish"),
}


def permission(scope: str) -> LazyText | str:
    return PERMISSION.get(scope, scope)


async def _requester_words(
    session: AsyncSession, request: ReuseRequest, resource: Resource
) -> dict[str, Any]:
    """The words of a sentence to the deciders: who asks, for what, about which resource."""
    return {
        "school": await school_name(session, request.requesting_school_id),
        "permission": permission(request.scope),
        "title": resource.title,
    }


async def request_created(uow: UnitOfWork, event: ReuseRequestMade) -> None:
    session, request, resource = uow.session, event.request, event.resource
    words = await _requester_words(session, request, resource)
    await _tell(
        uow,
        await deciders_of(session, resource),
        request,
        resource,
        "created",
        subject_line=lazy_gettext("{school} asks for {permission}: “{title}”", **words),
        body=[
            lazy_gettext("{school} asks for {permission}: “{title}”.", **words),
            lazy_gettext(
                "Purpose: {purpose}\nAudience: {audience}",
                purpose=request.purpose,
                audience=request.audience,
            ),
            lazy_gettext(
                "Please answer by {date}: approve or decline the request under Requests "
                "(the code of conduct, rule 9: every request is answered).",
                date=request.respond_by,
            ),
        ],
        requesting_school=words["school"],
        respond_by=str(request.respond_by),
    )


async def request_decided(uow: UnitOfWork, event: ReuseRequestDecided) -> None:
    session, request, resource = uow.session, event.request, event.resource
    owner = await school_name(session, resource.owner_school_id)
    approved = request.status == "approved"
    words = {"owner": owner, "permission": permission(request.scope), "title": resource.title}
    if approved:
        subject = lazy_gettext("Your request was approved: {permission}, “{title}”", **words)
        lines = [
            lazy_gettext(
                "{owner} approved your school's request: your school has {permission} “{title}”.",
                **words,
            )
        ]
    else:
        subject = lazy_gettext("Your request was declined: {permission}, “{title}”", **words)
        lines = [
            lazy_gettext(
                "{owner} declined your school's request for {permission} “{title}”.", **words
            )
        ]
    if request.decision_note:
        lines.append(lazy_gettext("Their note: {note}", note=request.decision_note))
    if approved and request.grant_expires_at:
        lines.append(
            lazy_gettext("The permission lasts until {date}.", date=request.grant_expires_at)
        )
    await _tell(
        uow,
        await requesting_side_of(session, request),
        request,
        resource,
        request.status,
        subject_line=subject,
        body=lines,
        note=request.decision_note,
    )


async def request_withdrawn(uow: UnitOfWork, event: ReuseRequestWithdrawn) -> None:
    session, request, resource = uow.session, event.request, event.resource
    words = await _requester_words(session, request, resource)
    await _tell(
        uow,
        await deciders_of(session, resource),
        request,
        resource,
        "withdrawn",
        subject_line=lazy_gettext("{school} withdrew its request about “{title}”", **words),
        body=lazy_gettext(
            "{school} withdrew its request for {permission} “{title}”. Nothing more is "
            "needed from you.",
            **words,
        ),
    )


async def request_closed(uow: UnitOfWork, event: ReuseRequestClosed) -> None:
    """The partnership between the two schools ended, and the request with it: both
    sides are told."""
    session, request, resource = uow.session, event.request, event.resource
    words = {
        "permission": permission(request.scope),
        "title": resource.title,
        "school_a": event.school_a,
        "school_b": event.school_b,
    }
    await _tell(
        uow,
        await requesting_side_of(session, request),
        request,
        resource,
        "closed",
        subject_line=lazy_gettext("Your request about “{title}” was closed", **words),
        body=lazy_gettext(
            "Your request for {permission} “{title}” was closed without a decision: the "
            "partnership between {school_a} and {school_b} ended. If the schools become "
            "partners again, the request can be made again.",
            **words,
        ),
        reason=request.closed_reason,
    )
    await _tell(
        uow,
        await deciders_of(session, resource),
        request,
        resource,
        "closed",
        subject_line=lazy_gettext("A request about “{title}” was closed", **words),
        body=lazy_gettext(
            "The request for {permission} “{title}” was closed: the partnership between "
            "{school_a} and {school_b} ended. Nothing more is needed from you.",
            **words,
        ),
        reason=request.closed_reason,
    )


async def request_overdue(uow: UnitOfWork, event: ReuseRequestOverdue) -> None:
    """Rule 9: the owner school's admins are told a request waits past its date."""
    session, request, resource = uow.session, event.request, event.resource
    school = await school_name(session, request.requesting_school_id)
    await _tell(
        uow,
        await school_admin_ids(session, resource.owner_school_id),
        request,
        resource,
        "overdue",
        subject_line=lazy_gettext(
            "Overdue: the request of {school} about “{title}”",
            school=school,
            title=resource.title,
        ),
        body=lazy_gettext(
            "On {asked} {school} asked for {permission} “{title}” and has had no answer; "
            "the answer was due by {due}. The code of conduct (rule 9) asks that every "
            "request is answered, even when the answer is no. Please decide it under "
            "Requests, or ask its authors to.",
            asked=request.created_at,
            school=school,
            permission=permission(request.scope),
            title=resource.title,
            due=request.respond_by,
        ),
        respond_by=str(request.respond_by),
    )


async def grant_revoked(uow: UnitOfWork, event: GrantRevoked) -> None:
    """Tell the school that held the permission (its admins and who asked for it) that
    it ended, and why."""
    session, clock = uow.session, uow.clock
    grant, resource, forwards_cut = event.grant, event.resource, event.forwards_cut
    grant_id, scope, school_id = grant.id, grant.scope, grant.school_id
    request = (
        await session.get(ReuseRequest, grant.reuse_request_id) if grant.reuse_request_id else None
    )
    owner = await school_name(session, resource.owner_school_id)
    members = await school_admin_ids(session, school_id)
    if request is not None and request.requested_by_id is not None:
        members.add(request.requested_by_id)
    payload: dict[str, Any] = {
        "grant_id": str(grant_id),
        "resource_id": str(resource.id),
        "resource_title": resource.title,
        "owner_school": owner,
        "scope": scope,
        "reason": event.reason,
        "forwards_cut": forwards_cut,
    }
    words = {"owner": owner, "permission": permission(scope), "title": resource.title}
    subject_line: LazyText
    body: LazyText | list[LazyText]
    if event.partnership is not None:
        partnership = event.partnership
        ended_between = {
            "school_a": await school_name(session, partnership.inviting_school_id),
            "school_b": await school_name(session, partnership.invited_school_id),
        }
        payload.update(ended_between)
        words.update(ended_between)
        subject_line = GRANT_ENDED_SUBJECT.with_params(**words)
        body = (
            replace(GRANT_ENDED_BODY_WITH_FORWARDS, n=forwards_cut)
            if forwards_cut
            else GRANT_ENDED_BODY
        ).with_params(**words)
    else:
        subject_line = lazy_gettext("Withdrawn: {permission} “{title}”", **words)
        body = [lazy_gettext("{owner} withdrew your school's {permission} “{title}”.", **words)]
        if forwards_cut:
            body.append(
                lazy_ngettext(
                    "The {n} school your school passed it to can no longer read it.",
                    "The {n} schools your school passed it to can no longer read it.",
                    forwards_cut,
                )
            )
    await deliver(
        session,
        clock,
        members,
        Notice(
            kind="grant.revoked",
            subject_type="grant",
            subject_id=grant_id,
            subject_line=subject_line,
            body=body,
            payload=payload,
        ),
    )


async def resource_forwarded(uow: UnitOfWork, event: ResourceForwarded) -> None:
    session, clock = uow.session, uow.clock
    forward, resource = event.forward, event.resource
    sender = await school_name(session, forward.from_school_id)
    receiver = await school_name(session, forward.to_school_id)
    payload = {
        "forward_id": str(forward.id),
        "resource_id": str(resource.id),
        "resource_title": resource.title,
        "from_school": sender,
        "to_school": receiver,
    }
    words = {"sender": sender, "receiver": receiver, "title": resource.title}
    await deliver(
        session,
        clock,
        await deciders_of(session, resource),
        Notice(
            kind="resource.forwarded",
            subject_type="forward",
            subject_id=forward.id,
            subject_line=lazy_gettext("{sender} passed “{title}” on to {receiver}", **words),
            body=lazy_gettext(
                "With your permission to share it, {sender} passed “{title}” on to its partner "
                "{receiver}. The resource's page shows where it was passed on.",
                **words,
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
            subject_line=lazy_gettext("{sender} shared “{title}” with your school", **words),
            body=lazy_gettext(
                "{sender} passed on “{title}”, a resource of {owner}, with its authors' "
                "permission. Your school can read it now.",
                owner=await school_name(session, resource.owner_school_id),
                **words,
            ),
            payload=payload,
        ),
    )


# --- when a partnership ends ----------------------------------------------------------------
# Each text is one string with named placeholders, so that it can be translated whole.

GRANT_ENDED_SUBJECT = lazy_gettext("Ended with the partnership: {permission} “{title}”")
GRANT_ENDED_BODY = lazy_gettext(
    "The partnership between {school_a} and {school_b} ended, so your school's {permission} "
    "“{title}” of {owner} ended with it. A new partnership does not bring it back: ask its "
    "authors again if you still need it."
)
GRANT_ENDED_BODY_WITH_FORWARDS = lazy_ngettext(
    "The partnership between {school_a} and {school_b} ended, so your school's {permission} "
    "“{title}” of {owner} ended with it, and the {n} school your school passed it to can no "
    "longer read it. A new partnership does not bring it back: ask its authors again if you "
    "still need it.",
    "The partnership between {school_a} and {school_b} ended, so your school's {permission} "
    "“{title}” of {owner} ended with it, and the {n} schools your school passed it to can no "
    "longer read it. A new partnership does not bring it back: ask its authors again if you "
    "still need it.",
    0,
)
ACCESS_ENDED_SUBJECT = lazy_gettext("Your school can no longer read “{title}”")
ACCESS_ENDED_BODY = lazy_gettext(
    "{sender} passed “{title}” of {owner} on to your school. The partnership between "
    "{school_a} and {school_b} ended, so your school can no longer read it. If you still "
    "need it, ask {owner} to share it with your school."
)


async def forwarded_access_ended(uow: UnitOfWork, event: ForwardCutByPartnershipEnd) -> None:
    """Tell the school a cut forward reached that it can no longer read the resource
    (once, when no other way in is left)."""
    if not event.receiver_lost_access:
        return
    session, clock, forward, resource = uow.session, uow.clock, event.forward, event.resource
    school_a, school_b = event.school_a, event.school_b
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
            subject_line=ACCESS_ENDED_SUBJECT.with_params(**words),
            body=ACCESS_ENDED_BODY.with_params(**words),
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
