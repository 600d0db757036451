"""Writing to the audit trail. Rows are only ever inserted (the database refuses more).

Each `record_*` handler writes the entries of one domain event, subscribed in
`exchange.consequences`; services record the events, never the entries."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from exchange.accounts.identity import Identity
from exchange.events import (
    ConfidentialResourceRead,
    EntryClaimed,
    ForwardCutByPartnershipEnd,
    ForwardRefused,
    GrantRevoked,
    PartnershipChanged,
    PasswordChanged,
    PasswordLinkIssued,
    PasswordSet,
    ResourceChanged,
    ResourceDownloaded,
    ResourceForwarded,
    ReuseRequestChanged,
    ReuseRequestClosed,
    ReuseRequestOverdue,
    ReuseRequestRefused,
    SchoolInvitedByEmail,
    SchoolProfileUpdated,
    SchoolRegistered,
    SharedWithRemoved,
    StudentConsentRecorded,
)
from exchange.models import AuditEvent, GrantRevocation, Member, Resource
from exchange.unit_of_work import UnitOfWork


def record_event(
    uow: UnitOfWork,
    *,
    action: str,
    owner_school_id: UUID,
    actor: Identity | None = None,
    outcome: str = "ok",
    resource_id: UUID | None = None,
    partnership_id: UUID | None = None,
    reuse_request_id: UUID | None = None,
    other_school_id: UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the unit of work's session; it is committed with the change it
    describes."""
    event = AuditEvent(
        occurred_at=uow.clock.now(),
        action=action,
        outcome=outcome,
        owner_school_id=owner_school_id,
        actor_member_id=actor.member_id if actor else None,
        actor_school_id=actor.school_id if actor else None,
        resource_id=resource_id,
        partnership_id=partnership_id,
        reuse_request_id=reuse_request_id,
        other_school_id=other_school_id,
        details=details or {},
    )
    uow.session.add(event)
    return event


async def record_partnership_change(uow: UnitOfWork, event: PartnershipChanged) -> None:
    """One event in each school's trail: each side reads its own trail only."""
    partnership = event.partnership
    for owner in (partnership.inviting_school_id, partnership.invited_school_id):
        record_event(
            uow,
            action=event.action,
            owner_school_id=owner,
            actor=event.actor,
            partnership_id=partnership.id,
            other_school_id=partnership.other_school_id(owner),
            details=event.details,
        )


def _in_owner_trail(
    uow: UnitOfWork,
    *,
    action: str,
    actor: Identity | None,
    resource: Resource,
    details: dict[str, Any],
    outcome: str = "ok",
    reuse_request_id: UUID | None = None,
    partnership_id: UUID | None = None,
    other_school_id: UUID | None = None,
) -> None:
    """One entry about a resource, in its owner school's trail (`actor` None: nobody
    acted, the end of a partnership or a job did)."""
    record_event(
        uow,
        action=action,
        outcome=outcome,
        owner_school_id=resource.owner_school_id,
        actor=actor,
        resource_id=resource.id,
        reuse_request_id=reuse_request_id,
        partnership_id=partnership_id,
        other_school_id=other_school_id,
        details=details,
    )


async def record_resource_change(uow: UnitOfWork, event: ResourceChanged) -> None:
    _in_owner_trail(
        uow, action=event.action, actor=event.actor, resource=event.resource, details=event.details
    )


async def record_request_change(uow: UnitOfWork, event: ReuseRequestChanged) -> None:
    """With the requesting school as the other side."""
    _in_owner_trail(
        uow,
        action=event.action,
        actor=event.actor,
        resource=event.resource,
        details=event.details,
        reuse_request_id=event.request.id,
        other_school_id=event.request.requesting_school_id,
    )


async def record_grant_revoked(uow: UnitOfWork, event: GrantRevoked) -> None:
    """However the permission ended, with why (`reason`), the partnership whose end took
    it (if it was that), and the school that held it as the other side."""
    grant = event.grant
    _in_owner_trail(
        uow,
        action="grant.revoked",
        actor=event.actor,
        resource=event.resource,
        reuse_request_id=grant.reuse_request_id,
        partnership_id=event.partnership.id if event.partnership else None,
        other_school_id=grant.school_id,
        details={
            "grant_id": str(grant.id),
            "scope": grant.scope,
            "reason": event.reason,
            "forwards_cut": event.forwards_cut,
        },
    )


async def record_shared_with_removed(uow: UnitOfWork, event: SharedWithRemoved) -> None:
    record_event(
        uow,
        action="resource.shared_with_removed",
        owner_school_id=event.owner_school_id,
        resource_id=event.resource_id,
        partnership_id=event.partnership.id,
        other_school_id=event.school_id,
        details={"reason": GrantRevocation.PARTNERSHIP_ENDED},
    )


async def record_request_closed(uow: UnitOfWork, event: ReuseRequestClosed) -> None:
    request = event.request
    _in_owner_trail(
        uow,
        action="reuse_request.closed",
        actor=None,
        resource=event.resource,
        reuse_request_id=request.id,
        partnership_id=event.partnership.id,
        other_school_id=request.requesting_school_id,
        details={"scope": request.scope, "reason": request.closed_reason},
    )


async def record_request_refused(uow: UnitOfWork, event: ReuseRequestRefused) -> None:
    """The refusal is the answer; the owner's trail keeps that it was asked."""
    _in_owner_trail(
        uow,
        action="reuse_request.refused",
        outcome="refused",
        actor=event.actor,
        resource=event.resource,
        other_school_id=event.actor.school_id,
        details={"scope": event.scope, "rule": event.rule},
    )


async def record_forward(uow: UnitOfWork, event: ResourceForwarded) -> None:
    """With the receiving school as the other side."""
    _in_owner_trail(
        uow,
        action="resource.forwarded",
        actor=event.actor,
        resource=event.resource,
        details=event.details,
        other_school_id=event.forward.to_school_id,
    )


async def record_forward_cut(uow: UnitOfWork, event: ForwardCutByPartnershipEnd) -> None:
    forward = event.forward
    _in_owner_trail(
        uow,
        action="resource.forward_cut",
        actor=None,
        resource=event.resource,
        partnership_id=event.partnership.id,
        other_school_id=forward.to_school_id,
        details={
            "forward_id": str(forward.id),
            "from_school_id": str(forward.from_school_id),
            "to_school_id": str(forward.to_school_id),
            "reason": GrantRevocation.PARTNERSHIP_ENDED,
        },
    )


async def record_forward_refused(uow: UnitOfWork, event: ForwardRefused) -> None:
    """With the school it was to go to as the other side."""
    _in_owner_trail(
        uow,
        action="resource.forward_refused",
        outcome="refused",
        actor=event.actor,
        resource=event.resource,
        other_school_id=event.to_school_id,
        details={"rule": event.rule},
    )


async def record_request_escalated(uow: UnitOfWork, event: ReuseRequestOverdue) -> None:
    request = event.request
    _in_owner_trail(
        uow,
        action="reuse_request.escalated",
        actor=None,
        resource=event.resource,
        reuse_request_id=request.id,
        other_school_id=request.requesting_school_id,
        details={"respond_by": request.respond_by.isoformat(), "scope": request.scope},
    )


DOWNLOADED = "resource.downloaded"
READ = "resource.read"


async def record_download(uow: UnitOfWork, event: ResourceDownloaded) -> None:
    """Who downloaded my resource: with the downloading school as the other side."""
    _in_owner_trail(
        uow,
        action=DOWNLOADED,
        actor=event.actor,
        resource=event.resource,
        other_school_id=event.actor.school_id,
        details={
            "version": event.version,
            "confidential": event.resource.confidential,
            "presigned": event.presigned,
        },
    )


async def record_read(uow: UnitOfWork, event: ConfidentialResourceRead) -> None:
    """Rule 6: who read what of a confidential resource."""
    _in_owner_trail(
        uow,
        action=READ,
        actor=event.actor,
        resource=event.resource,
        other_school_id=event.actor.school_id,
        details={"what": event.what, "confidential": True},
    )


async def record_student_consent(uow: UnitOfWork, event: StudentConsentRecorded) -> None:
    """Who recorded or withdrew the students' consent, with what was on file before."""
    _in_owner_trail(
        uow,
        action="resource.student_consent_changed",
        actor=event.actor,
        resource=event.resource,
        details={
            "student_consent": event.consent,
            "previous": event.previous,
            **({"visibility": event.visibility} if event.visibility is not None else {}),
        },
    )


async def record_profile_updated(uow: UnitOfWork, event: SchoolProfileUpdated) -> None:
    record_event(
        uow,
        action="school.profile_updated",
        owner_school_id=event.school.id,
        actor=event.actor,
        details={"answered_questions": event.answered_questions},
    )


async def record_school_invited_by_email(uow: UnitOfWork, event: SchoolInvitedByEmail) -> None:
    """The inviting school's trail: whom it invited, at which address (never the link)."""
    link = event.link
    record_event(
        uow,
        action="school.invited_by_email",
        owner_school_id=event.actor.school_id,
        actor=event.actor,
        details={
            "school_name": link.school_name,
            "email": link.email,
            "entry_id": str(link.entry_id) if link.entry_id else None,
            "registration_link_id": str(link.id),
            "emailed": event.mailed,
        },
    )


async def record_school_registered(uow: UnitOfWork, event: SchoolRegistered) -> None:
    """The new school's trail begins with how it came: invited by a school, or claiming
    its handbook entry; the inviting school's trail says its invitation was taken up."""
    link = event.link
    details = {
        "purpose": link.purpose,
        "member_id": str(event.member.id),
        "entry_key": event.entry.key if event.entry else None,
        "registration_link_id": str(link.id),
        "partnership_id": str(event.partnership.id) if event.partnership else None,
    }
    record_event(
        uow,
        action="school.registered",
        owner_school_id=event.school.id,
        other_school_id=link.inviting_school_id,
        partnership_id=event.partnership.id if event.partnership else None,
        details=details,
    )
    if link.inviting_school_id is not None:
        record_event(
            uow,
            action="school.invitation_taken_up",
            owner_school_id=link.inviting_school_id,
            other_school_id=event.school.id,
            partnership_id=event.partnership.id if event.partnership else None,
            details=details,
        )


async def record_entry_claimed(uow: UnitOfWork, event: EntryClaimed) -> None:
    """Without an actor: whoever opened the link at the entry's address confirmed it."""
    record_event(
        uow,
        action="school.entry_claimed",
        owner_school_id=event.school.id,
        details={
            "entry_key": event.entry.key,
            "email": event.link.email,
            "registration_link_id": str(event.link.id),
        },
    )


def _about_member(
    uow: UnitOfWork, action: str, member: Member, actor: Identity | None, **details: Any
) -> None:
    """One entry about a member's account, in their school's trail (`actor` None: whoever
    held a link acted)."""
    record_event(
        uow,
        action=action,
        owner_school_id=member.school_id,
        actor=actor,
        details={"member_id": str(member.id), **details},
    )


async def record_password_link_issued(uow: UnitOfWork, event: PasswordLinkIssued) -> None:
    _about_member(
        uow,
        "member.password_link_issued",
        event.member,
        event.actor,
        purpose=event.purpose,
        emailed=event.mailed,
    )


async def record_password_set(uow: UnitOfWork, event: PasswordSet) -> None:
    """Without an actor: whoever held the link set it."""
    _about_member(
        uow,
        "member.password_set",
        event.member,
        None,
        purpose=event.purpose,
        sign_ins_ended=event.sign_ins_ended,
    )


async def record_password_changed(uow: UnitOfWork, event: PasswordChanged) -> None:
    _about_member(
        uow,
        "member.password_changed",
        event.member,
        event.actor,
        sign_ins_ended=event.sign_ins_ended,
    )
