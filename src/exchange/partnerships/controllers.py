"""HTTP routes of partnerships and the code of conduct: thin, they parse and call services."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, MediaType, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from exchange.accounts.identity import Identity
from exchange.kernel import paging
from exchange.kernel.refs import SchoolRef
from exchange.models import CodeOfConductVersion, Member, PartnershipStatus
from exchange.openapi import problems
from exchange.partnerships.conduct import CodeOfConductService
from exchange.partnerships.letter import attachment_disposition
from exchange.partnerships.schemas import (
    CodeOfConductOut,
    ConductRuleOut,
    MemberContact,
    PartnershipAccept,
    PartnershipClose,
    PartnershipInvite,
    PartnershipOut,
    PartnershipPage,
    PartnershipSideOut,
    PartnershipUpdate,
)
from exchange.partnerships.services import PartnershipService, PartnershipView
from exchange.policy import PartnershipSide


def _member_ref(member: Member | None) -> MemberContact | None:
    if member is None:
        return None
    return MemberContact(
        id=member.id, full_name=member.full_name, position=member.position, email=member.email
    )


def partnership_out(view: PartnershipView) -> PartnershipOut:
    p = view.partnership
    inviting = view.schools[p.inviting_school_id]
    invited = view.schools[p.invited_school_id]
    partner = invited if view.side is PartnershipSide.INVITING else inviting
    return PartnershipOut(
        id=p.id,
        status=p.status,
        my_side="inviting" if view.side is PartnershipSide.INVITING else "invited",
        partner_school=SchoolRef(id=partner.id, name=partner.name),
        inviting=PartnershipSideOut(
            school=SchoolRef(id=inviting.id, name=inviting.name),
            coordinator=_member_ref(view.member(p.inviting_coordinator_id)),
            agreed_conduct_version=p.inviter_conduct_version,
            agreed_by=_member_ref(view.member(p.invited_by_id)),
            agreed_at=p.invited_at,
        ),
        invited=PartnershipSideOut(
            school=SchoolRef(id=invited.id, name=invited.name),
            coordinator=_member_ref(view.member(p.invited_coordinator_id)),
            agreed_conduct_version=p.accepter_conduct_version,
            agreed_by=_member_ref(view.member(p.accepted_by_id)),
            agreed_at=p.accepted_at,
        ),
        characteristics=list(p.characteristics),
        goals=list(p.goals),
        language=p.language,
        invitation_letter=p.invitation_letter,
        invited_at=p.invited_at,
        accepted_at=p.accepted_at,
        closed_at=p.closed_at,
        closed_by=_member_ref(view.member(p.closed_by_id)),
        closed_reason=p.closed_reason,
        respond_by=view.respond_by,
        overdue=view.overdue,
        reminded_at=p.reminded_at,
        updated_at=p.updated_at,
    )


def conduct_out(version: CodeOfConductVersion) -> CodeOfConductOut:
    return CodeOfConductOut(
        version=version.version,
        published_at=version.published_at,
        title=dict(version.title),
        preamble=dict(version.preamble),
        rules=[
            ConductRuleOut(number=int(rule["number"]), text=dict(rule["text"]))
            for rule in version.rules
        ],
    )


class PartnershipController(Controller):
    path = "/api/partnerships"
    tags = ["partnerships"]
    dependencies = {"partnerships": Provide(PartnershipService, sync_to_thread=False)}

    @post(
        operation_id="invitePartner",
        responses=problems(409),
        summary="Invite a school to a partnership (admins); returns the invitation letter",
        status_code=HTTP_201_CREATED,
    )
    async def invite(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        data: JSONBody[PartnershipInvite],
    ) -> PartnershipOut:
        return partnership_out(await partnerships.invite(identity, data))

    @get(operation_id="listPartnerships", summary="Your school's partnerships and invitations")
    async def list_partnerships(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        status: FromQuery[PartnershipStatus | None] = None,
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> PartnershipPage:
        views, next_cursor = await partnerships.list_for(
            identity, status=status, limit=limit, cursor=cursor
        )
        return PartnershipPage(items=[partnership_out(v) for v in views], next_cursor=next_cursor)

    @get(
        "/{partnership_id:uuid}",
        operation_id="getPartnership",
        summary="One of your school's partnerships",
    )
    async def get_partnership(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
    ) -> PartnershipOut:
        return partnership_out(await partnerships.get(identity, partnership_id))

    @patch(
        "/{partnership_id:uuid}",
        operation_id="updatePartnership",
        responses=problems(409),
        summary="Change an active partnership's goals, characteristics or your coordinator",
    )
    async def update_partnership(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[PartnershipUpdate],
    ) -> PartnershipOut:
        return partnership_out(await partnerships.update(identity, partnership_id, data))

    @get(
        "/{partnership_id:uuid}/letter",
        operation_id="downloadInvitationLetter",
        media_type=MediaType.TEXT,
        summary="The invitation letter as a plain-text file",
    )
    async def letter(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
    ) -> Response[str]:
        text, filename = await partnerships.letter(identity, partnership_id)
        return Response(
            content=text,
            media_type=MediaType.TEXT,  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": attachment_disposition(filename)},
        )

    @post(
        "/{partnership_id:uuid}/accept",
        operation_id="acceptPartnership",
        responses=problems(409),
        summary="Accept an invitation, agreeing to the code of conduct in force (admins)",
        status_code=HTTP_200_OK,
    )
    async def accept(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[PartnershipAccept | None] = None,
    ) -> PartnershipOut:
        coordinator_id = data.coordinator_id if data else None
        return partnership_out(
            await partnerships.accept(identity, partnership_id, coordinator_id=coordinator_id)
        )

    @post(
        "/{partnership_id:uuid}/decline",
        operation_id="declinePartnership",
        responses=problems(409),
        summary="Decline an invitation (admins of the invited school)",
        status_code=HTTP_200_OK,
    )
    async def decline(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[PartnershipClose | None] = None,
    ) -> PartnershipOut:
        note = data.note if data else None
        return partnership_out(await partnerships.decline(identity, partnership_id, note=note))

    @post(
        "/{partnership_id:uuid}/withdraw",
        operation_id="withdrawPartnership",
        responses=problems(409),
        summary="Withdraw an invitation (admins of the inviting school)",
        status_code=HTTP_200_OK,
    )
    async def withdraw(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[PartnershipClose | None] = None,
    ) -> PartnershipOut:
        note = data.note if data else None
        return partnership_out(await partnerships.withdraw(identity, partnership_id, note=note))

    @post(
        "/{partnership_id:uuid}/remind",
        operation_id="remindPartnership",
        responses=problems(409),
        summary=(
            "Remind the invited school of an invitation unanswered after 30 days, once "
            "(admins of the inviting school)"
        ),
        status_code=HTTP_200_OK,
    )
    async def remind(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
    ) -> PartnershipOut:
        return partnership_out(await partnerships.remind(identity, partnership_id))

    @post(
        "/{partnership_id:uuid}/end",
        operation_id="endPartnership",
        responses=problems(409),
        summary="End an active partnership: the partner's access stops at once (admins)",
        status_code=HTTP_200_OK,
    )
    async def end(
        self,
        partnerships: NamedDependency[PartnershipService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[PartnershipClose | None] = None,
    ) -> PartnershipOut:
        note = data.note if data else None
        return partnership_out(await partnerships.end(identity, partnership_id, note=note))


class CodeOfConductController(Controller):
    path = "/api/code-of-conduct"
    tags = ["partnerships"]
    dependencies = {"conduct": Provide(CodeOfConductService, sync_to_thread=False)}

    @get(
        operation_id="getCodeOfConduct",
        summary="The code of conduct in force, in Kyrgyz, Russian and English",
        exclude_from_auth=True,
        security=[],
    )
    async def in_force(self, conduct: NamedDependency[CodeOfConductService]) -> CodeOfConductOut:
        return conduct_out(await conduct.in_force())

    @get(
        "/{version:int}",
        operation_id="getCodeOfConductVersion",
        summary="One published version: what a partnership agreed to",
        exclude_from_auth=True,
        security=[],
    )
    async def version(
        self, conduct: NamedDependency[CodeOfConductService], version: FromPath[int]
    ) -> CodeOfConductOut:
        return conduct_out(await conduct.get(version))
