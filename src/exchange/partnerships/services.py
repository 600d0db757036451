"""The partnership lifecycle: invite → accept → end, or decline / withdraw an invitation.

Every move asks the policy who may make it, checks the state, records what happened
(`exchange.events`) and commits its unit of work once: both schools' audit trails, the
other school's inbox and, when a partnership ends, what rested on it follow from the
event (`exchange.consequences`), stored together with the move or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from msgspec import UNSET
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.database import PreparedRead
from exchange.domain_service import DomainService
from exchange.errors import Conflict, InvalidInput, NotFound
from exchange.events import (
    PartnershipAccepted,
    PartnershipChanged,
    PartnershipDeclined,
    PartnershipEnded,
    PartnershipInvited,
    PartnershipReminded,
    PartnershipUpdated,
    PartnershipWithdrawn,
)
from exchange.i18n import LazyText, _, lazy_gettext
from exchange.kernel import paging
from exchange.kernel.refs import FORMER_SCHOOL
from exchange.models import Member, Partnership, PartnershipStatus, School
from exchange.partnerships.conduct import CodeOfConductService
from exchange.partnerships.letter import invitation_letter, letter_filename
from exchange.partnerships.schemas import PartnershipInvite, PartnershipUpdate
from exchange.partnerships.terms import clean_characteristics, clean_goals
from exchange.policy import (
    PartnershipMove,
    PartnershipSide,
    partnerships_visible_to,
    refusals,
    require_partnership_move,
    require_partnership_visible,
)
from exchange.policy.tuned import caller_may, caller_parameters
from exchange.unit_of_work import UnitOfWork, unit_of_work


@dataclass(frozen=True)
class Transition:
    source: PartnershipStatus
    target: PartnershipStatus
    action: str
    wrong_state: LazyText
    message: LazyText  # to the other school's admins; {school} is the mover's school
    event: type[PartnershipChanged]


TRANSITIONS: Mapping[PartnershipMove, Transition] = {
    PartnershipMove.ACCEPT: Transition(
        PartnershipStatus.INVITED,
        PartnershipStatus.ACTIVE,
        "partnership.accepted",
        lazy_gettext("This partnership is {status}. Only an open invitation can be accepted."),
        lazy_gettext(
            "{school} accepted your school's partnership invitation: the partnership is active."
        ),
        PartnershipAccepted,
    ),
    PartnershipMove.DECLINE: Transition(
        PartnershipStatus.INVITED,
        PartnershipStatus.DECLINED,
        "partnership.declined",
        lazy_gettext("This partnership is {status}. Only an open invitation can be declined."),
        lazy_gettext("{school} declined your school's partnership invitation."),
        PartnershipDeclined,
    ),
    PartnershipMove.WITHDRAW: Transition(
        PartnershipStatus.INVITED,
        PartnershipStatus.WITHDRAWN,
        "partnership.withdrawn",
        lazy_gettext("This partnership is {status}. Only an open invitation can be withdrawn."),
        lazy_gettext("{school} withdrew its partnership invitation to your school."),
        PartnershipWithdrawn,
    ),
    PartnershipMove.END: Transition(
        PartnershipStatus.ACTIVE,
        PartnershipStatus.ENDED,
        "partnership.ended",
        lazy_gettext(
            "This partnership is {status}. Only an active partnership can be ended; an open "
            "invitation is withdrawn or declined instead."
        ),
        lazy_gettext("{school} ended its partnership with your school."),
        PartnershipEnded,
    ),
}


# Rule 9 for invitations: one unanswered this long is overdue, and its inviting school
# may remind the invited school once.
INVITATION_ANSWER_WINDOW = timedelta(days=30)

NOT_OVERDUE_YET = lazy_gettext(
    "The invitation is not overdue yet: the invited school has until {day} to answer, and "
    "your school can remind it after that."
)
REMINDED_ALREADY = lazy_gettext(
    "Your school already reminded the invited school of this invitation on {day}; an "
    "invitation is reminded once. Wait for the answer, or withdraw the invitation."
)
ONLY_OPEN_REMINDED = lazy_gettext(
    "This partnership is {status}. Only an open invitation can be reminded."
)


def invitation_respond_by(partnership: Partnership) -> datetime:
    """When the invited school should have answered (rule 9)."""
    return partnership.invited_at + INVITATION_ANSWER_WINDOW


# A partnership's status as a person reads it inside a sentence.
STATUS_WORDS: Mapping[str, LazyText] = {
    PartnershipStatus.INVITED: lazy_gettext("invited"),
    PartnershipStatus.ACTIVE: lazy_gettext("active"),
    PartnershipStatus.DECLINED: lazy_gettext("declined"),
    PartnershipStatus.WITHDRAWN: lazy_gettext("withdrawn"),
    PartnershipStatus.ENDED: lazy_gettext("ended"),
}

# What changed in a partnership, as its partner's admins read it.
_CHANGED: Mapping[str, LazyText] = {
    "goals": lazy_gettext("its goals"),
    "characteristics": lazy_gettext("its characteristics"),
    "inviting_coordinator_id": lazy_gettext("the inviting school's coordinator"),
    "invited_coordinator_id": lazy_gettext("the invited school's coordinator"),
}


def pair_key(school_a: UUID, school_b: UUID) -> str:
    """The same key whichever school invites: "<lower id>:<higher id>"."""
    low, high = sorted((str(school_a), str(school_b)))
    return f"{low}:{high}"


@dataclass(frozen=True)
class PartnershipView:
    """A partnership with the schools and members it names, as one side sees it."""

    partnership: Partnership
    side: PartnershipSide
    schools: Mapping[UUID, School]
    members: Mapping[UUID, Member]
    now: datetime

    def member(self, member_id: UUID | None) -> Member | None:
        return self.members.get(member_id) if member_id else None

    @property
    def respond_by(self) -> datetime | None:
        """While the invitation is open: when the invited school should have answered."""
        if self.partnership.status != PartnershipStatus.INVITED:
            return None
        return invitation_respond_by(self.partnership)

    @property
    def overdue(self) -> bool:
        respond_by = self.respond_by
        return respond_by is not None and respond_by <= self.now

    @property
    def may_be_reminded(self) -> bool:
        """Overdue and not reminded yet: the inviting school may send its one reminder."""
        return self.overdue and self.partnership.reminded_at is None


# Newest invitation first.
PARTNERSHIP_ORDER = (
    paging.SortKey(Partnership.invited_at, datetime, descending=True),
    paging.SortKey(Partnership.id, UUID, descending=True),
)


_INVITING = aliased(School)
_INVITED = aliased(School)
_ACTIVE_PARTNERS = PreparedRead(
    select(Partnership.id, Partnership.inviting_school_id, _INVITING.name, _INVITED.name)
    .outerjoin(_INVITING, _INVITING.id == Partnership.inviting_school_id)
    .outerjoin(_INVITED, _INVITED.id == Partnership.invited_school_id)
    .where(
        caller_may(policy.Action.READ_PARTNERSHIP),
        Partnership.status == PartnershipStatus.ACTIVE,
    )
    .order_by(*paging.ordering(PARTNERSHIP_ORDER))
    .limit(bindparam("shown"))
)


@dataclass(frozen=True)
class ActivePartner:
    """An active partnership as a list of them names it: by the partner school."""

    partnership_id: UUID
    partner_name: str


class PartnershipService(DomainService):
    @property
    def conduct(self) -> CodeOfConductService:
        return CodeOfConductService(self.session, self.settings, self.clock)

    @property
    def uow(self) -> UnitOfWork:
        """The session's unit of work: the events this service records commit with it."""
        return unit_of_work(self.session, self.clock)

    # --- reading -----------------------------------------------------------------------

    async def list_for(
        self,
        identity: Identity,
        *,
        status: PartnershipStatus | None = None,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> tuple[list[PartnershipView], str | None]:
        """A page of the school's partnerships, newest invitation first, and the cursor
        after it."""
        query = select(Partnership).where(partnerships_visible_to(identity))
        if status is not None:
            query = query.where(Partnership.status == status)
        page = await paging.fetch(
            self.session,
            query,
            PARTNERSHIP_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("partnerships", status),
        )
        return await self._views(identity, page.rows), page.next_cursor

    async def newest_active(
        self, identity: Identity, shown: int
    ) -> tuple[list[ActivePartner], bool]:
        """The school's `shown` newest active partnerships by partner name, and whether
        there are more: `list_for(status=ACTIVE, limit=shown)` as a short list shows it
        (the home page), read as columns by one statement compiled once."""
        rows = await _ACTIVE_PARTNERS.all(
            self.session, {**caller_parameters(identity), "shown": shown + 1}
        )
        partners = [
            ActivePartner(
                partnership_id=partnership_id,
                partner_name=(invited if inviting_id == identity.school_id else inviting)
                or FORMER_SCHOOL.render(),
            )
            for partnership_id, inviting_id, inviting, invited in rows[:shown]
        ]
        return partners, len(rows) > shown

    async def get(self, identity: Identity, partnership_id: UUID) -> PartnershipView:
        partnership = await self.session.get(Partnership, partnership_id)
        if partnership is None:
            raise NotFound(refusals.NO_SUCH_PARTNERSHIP)
        require_partnership_visible(identity, partnership)
        return (await self._views(identity, [partnership]))[0]

    async def letter(self, identity: Identity, partnership_id: UUID) -> tuple[str, str]:
        """The invitation letter as sent, and a file name for saving it."""
        view = await self.get(identity, partnership_id)
        partnership = view.partnership
        invited = view.schools[partnership.invited_school_id]
        return partnership.invitation_letter, letter_filename(partnership.language, invited.name)

    # --- moves -------------------------------------------------------------------------

    async def preview_letter(self, identity: Identity, data: PartnershipInvite) -> str:
        """The letter `invite` would send now, checked as `invite` checks it; nothing is
        stored and the partner school is not told."""
        own, partner, sender = await self._inviting_parties(identity, data)
        characteristics = clean_characteristics(data.characteristics)
        goals = clean_goals(data.goals)
        return invitation_letter(
            data.language,
            inviting=own,
            invited=partner,
            sender=sender,
            sent_at=self.clock.now(),
            goals=goals,
            characteristics=characteristics,
        )

    async def _inviting_parties(
        self, identity: Identity, data: PartnershipInvite
    ) -> tuple[School, School, Member]:
        policy.require(identity, policy.Action.INVITE)
        if data.partner_school_id == identity.school_id:
            raise InvalidInput(
                _("A school cannot invite itself: choose another school from the directory.")
            )
        partner = await self.session.get(School, data.partner_school_id)
        if partner is None:
            raise InvalidInput(
                _(
                    "No school with this 'partner_school_id' is in the exchange; find the school "
                    "in the directory of schools and use its id."
                )
            )
        own = await self.session.get(School, identity.school_id)
        sender = await self.session.get(Member, identity.member_id)
        if own is None or sender is None:  # pragma: no cover - the token resolved them
            raise NotFound(_("Your school is not in the exchange any more."))
        return own, partner, sender

    async def invite(self, identity: Identity, data: PartnershipInvite) -> PartnershipView:
        partnership = await self.open_invitation(identity, data)
        await self.uow.commit()
        return (await self._views(identity, [partnership]))[0]

    async def open_invitation(self, identity: Identity, data: PartnershipInvite) -> Partnership:
        """Make the invitation and record it on the unit of work, which the caller
        commits (with the registration of a school invited by e-mail, say)."""
        own, partner, sender = await self._inviting_parties(identity, data)
        characteristics = clean_characteristics(data.characteristics)
        goals = clean_goals(data.goals)
        coordinator = await self._coordinator(identity.school_id, data.coordinator_id)
        await self._refuse_if_open(identity.school_id, partner)
        conduct = await self.conduct.in_force()
        now = self.clock.now()
        partnership = Partnership(
            inviting_school_id=own.id,
            invited_school_id=partner.id,
            status=PartnershipStatus.INVITED,
            open_pair=pair_key(own.id, partner.id),
            characteristics=characteristics,
            goals=goals,
            language=data.language,
            invitation_letter=invitation_letter(
                data.language,
                inviting=own,
                invited=partner,
                sender=sender,
                sent_at=now,
                goals=goals,
                characteristics=characteristics,
            ),
            inviting_coordinator_id=coordinator.id if coordinator else None,
            invited_by_id=identity.member_id,
            inviter_conduct_version=conduct.version,
            invited_at=now,
        )
        self.session.add(partnership)
        partner_name = partner.name  # the rollback below expires what the session holds
        try:
            await self.session.flush()
        except IntegrityError as exc:
            # Two admins invited at the same moment: the unique open pair kept one.
            await self.session.rollback()
            raise Conflict(
                _(
                    "Your school and {partner_name} already have an open invitation or an active "
                    "partnership; see your school's partnerships.",
                    partner_name=partner_name,
                )
            ) from exc
        self.uow.record(
            PartnershipInvited(
                actor=identity,
                partnership=partnership,
                action="partnership.invited",
                details={
                    "to": partnership.status,
                    "conduct_version": conduct.version,
                    "language": data.language,
                    "characteristics": characteristics,
                    "goals": goals,
                },
                notice=lazy_gettext(
                    "{school} invites your school to a partnership under the code of conduct.",
                    school=own.name,
                ),
                actor_school_name=own.name,
                notice_details={
                    "goals": goals,
                    "characteristics": characteristics,
                    "language": data.language,
                },
            )
        )
        return partnership

    async def accept(
        self, identity: Identity, partnership_id: UUID, *, coordinator_id: UUID | None = None
    ) -> PartnershipView:
        return await self._move(
            identity, partnership_id, PartnershipMove.ACCEPT, coordinator_id=coordinator_id
        )

    async def decline(
        self, identity: Identity, partnership_id: UUID, *, note: str | None = None
    ) -> PartnershipView:
        return await self._move(identity, partnership_id, PartnershipMove.DECLINE, note=note)

    async def withdraw(
        self, identity: Identity, partnership_id: UUID, *, note: str | None = None
    ) -> PartnershipView:
        return await self._move(identity, partnership_id, PartnershipMove.WITHDRAW, note=note)

    async def end(
        self, identity: Identity, partnership_id: UUID, *, note: str | None = None
    ) -> PartnershipView:
        return await self._move(identity, partnership_id, PartnershipMove.END, note=note)

    async def remind(self, identity: Identity, partnership_id: UUID) -> PartnershipView:
        """The inviting school reminds the invited school's admins (inbox and e-mail) of an
        invitation unanswered after `INVITATION_ANSWER_WINDOW`, once."""
        partnership = await self._load_for_move(partnership_id)
        require_partnership_move(identity, partnership, PartnershipMove.REMIND)
        if partnership.status != PartnershipStatus.INVITED:
            raise Conflict(
                ONLY_OPEN_REMINDED.with_params(
                    status=STATUS_WORDS.get(partnership.status, partnership.status)
                ),
                partnership_status=partnership.status,
            )
        if partnership.reminded_at is not None:
            raise Conflict(
                REMINDED_ALREADY.with_params(day=partnership.reminded_at),
                code_of_conduct_rule=9,
                reminded_at=partnership.reminded_at.isoformat(),
            )
        now = self.clock.now()
        respond_by = invitation_respond_by(partnership)
        if now < respond_by:
            raise Conflict(
                NOT_OVERDUE_YET.with_params(day=respond_by),
                code_of_conduct_rule=9,
                respond_by=respond_by.isoformat(),
            )
        partnership.reminded_at = now
        partnership.reminded_by_id = identity.member_id
        await self.session.flush()
        own = await self.session.get(School, identity.school_id)
        self.uow.record(
            PartnershipReminded(
                actor=identity,
                partnership=partnership,
                action="partnership.reminded",
                details={"invited_at": partnership.invited_at.isoformat()},
                notice=lazy_gettext(
                    "{school} reminds your school of its partnership invitation of {day}, "
                    "still unanswered: accept it or decline it with a reason (rule 9: every "
                    "request gets an answer).",
                    school=own.name if own else "",
                    day=partnership.invited_at,
                ),
                actor_school_name=own.name if own else "",
                notice_details={"respond_by": respond_by.isoformat()},
            )
        )
        await self.uow.commit()
        return (await self._views(identity, [partnership]))[0]

    async def update(
        self, identity: Identity, partnership_id: UUID, data: PartnershipUpdate
    ) -> PartnershipView:
        partnership = await self._load_for_move(partnership_id)
        side = require_partnership_move(identity, partnership, PartnershipMove.UPDATE)
        if partnership.status != PartnershipStatus.ACTIVE:
            raise Conflict(
                _(
                    "This partnership is {status}: only an active partnership's goals, "
                    "characteristics and coordinators can be changed.",
                    status=STATUS_WORDS.get(partnership.status, partnership.status),
                ),
                partnership_status=partnership.status,
            )
        changed: dict[str, Any] = {}
        if data.characteristics is not UNSET:
            characteristics = clean_characteristics(data.characteristics)
            if characteristics != partnership.characteristics:
                partnership.characteristics = changed["characteristics"] = characteristics
        if data.goals is not UNSET:
            goals = clean_goals(data.goals)
            if goals != partnership.goals:
                partnership.goals = changed["goals"] = goals
        if data.coordinator_id is not UNSET:
            coordinator = await self._coordinator(identity.school_id, data.coordinator_id)
            coordinator_id = coordinator.id if coordinator else None
            current = (
                partnership.inviting_coordinator_id
                if side is PartnershipSide.INVITING
                else partnership.invited_coordinator_id
            )
            if coordinator_id != current:
                if side is PartnershipSide.INVITING:
                    partnership.inviting_coordinator_id = coordinator_id
                else:
                    partnership.invited_coordinator_id = coordinator_id
                changed[f"{side}_coordinator_id"] = str(coordinator_id) if coordinator_id else None
        if changed:
            own = await self.session.get(School, identity.school_id)
            self.uow.record(
                PartnershipUpdated(
                    actor=identity,
                    partnership=partnership,
                    action="partnership.updated",
                    details={"changed": changed},
                    notice=lazy_gettext(
                        "{school} changed the partnership: {changes}.",
                        school=own.name if own else "",
                        changes=[_CHANGED.get(name, name) for name in changed],
                    ),
                    actor_school_name=own.name if own else "",
                    notice_details={"changed": sorted(changed)},
                )
            )
            await self.uow.commit()
        return (await self._views(identity, [partnership]))[0]

    async def _move(
        self,
        identity: Identity,
        partnership_id: UUID,
        move: PartnershipMove,
        *,
        note: str | None = None,
        coordinator_id: UUID | None = None,
    ) -> PartnershipView:
        partnership = await self._load_for_move(partnership_id)
        require_partnership_move(identity, partnership, move)
        transition = TRANSITIONS[move]
        if partnership.status != transition.source:
            raise Conflict(
                transition.wrong_state.with_params(
                    status=STATUS_WORDS.get(partnership.status, partnership.status)
                ),
                partnership_status=partnership.status,
            )
        coordinator = await self._coordinator(identity.school_id, coordinator_id)
        now = self.clock.now()
        details: dict[str, Any] = {"from": partnership.status, "to": transition.target}
        note = (note or "").strip() or None
        if note:
            details["note"] = note
        partnership.status = transition.target
        if move is PartnershipMove.ACCEPT:
            conduct = await self.conduct.in_force()
            partnership.accepted_by_id = identity.member_id
            partnership.accepter_conduct_version = conduct.version
            partnership.accepted_at = now
            if coordinator is not None:
                partnership.invited_coordinator_id = coordinator.id
            details["conduct_version"] = conduct.version
        else:
            partnership.open_pair = None
            partnership.closed_by_id = identity.member_id
            partnership.closed_at = now
            partnership.closed_reason = note
        await self.session.flush()
        own = await self.session.get(School, identity.school_id)
        self.uow.record(
            transition.event(
                actor=identity,
                partnership=partnership,
                action=transition.action,
                details=details,
                notice=transition.message.with_params(school=own.name if own else ""),
                actor_school_name=own.name if own else "",
                notice_details={"note": note} if note else {},
            )
        )
        await self.uow.commit()
        return (await self._views(identity, [partnership]))[0]

    # --- the parts ---------------------------------------------------------------------

    async def _load_for_move(self, partnership_id: UUID) -> Partnership:
        # The row lock (PostgreSQL) makes a second, concurrent move wait and then see
        # the new status, so it gets a 409 instead of overwriting the first.
        partnership = await self.session.scalar(
            select(Partnership)
            .where(Partnership.id == partnership_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if partnership is None:
            raise NotFound(refusals.NO_SUCH_PARTNERSHIP)
        return partnership

    async def _refuse_if_open(self, school_id: UUID, partner: School) -> None:
        existing = await self.session.scalar(
            select(Partnership).where(
                Partnership.open_pair == pair_key(school_id, partner.id),
            )
        )
        if existing is None:
            return
        if existing.status == PartnershipStatus.ACTIVE:
            detail = _("Your school and {school} are already partners.", school=partner.name)
        elif existing.inviting_school_id == school_id:
            detail = _(
                "Your school has already invited {school}; wait for their answer or withdraw "
                "that invitation first.",
                school=partner.name,
            )
        else:
            detail = _(
                "{school} has already invited your school: accept or decline their invitation "
                "instead.",
                school=partner.name,
            )
        raise Conflict(detail, partnership_id=str(existing.id), partnership_status=existing.status)

    async def _coordinator(self, school_id: UUID, member_id: UUID | None) -> Member | None:
        if member_id is None:
            return None
        member = await self.session.get(Member, member_id)
        if member is None or member.school_id != school_id or not member.is_active:
            raise InvalidInput(_("The coordinator must be an active member of your own school."))
        return member

    async def _views(
        self, identity: Identity, partnerships: Iterable[Partnership]
    ) -> list[PartnershipView]:
        partnerships = list(partnerships)
        now = self.clock.now()
        school_ids = {
            school_id
            for p in partnerships
            for school_id in (p.inviting_school_id, p.invited_school_id)
        }
        member_ids = {
            member_id
            for p in partnerships
            for member_id in (
                p.inviting_coordinator_id,
                p.invited_coordinator_id,
                p.invited_by_id,
                p.accepted_by_id,
                p.closed_by_id,
                p.reminded_by_id,
            )
            if member_id is not None
        }
        schools = {
            school.id: school
            for school in await self.session.scalars(
                select(School).where(School.id.in_(school_ids))
            )
        }
        members: dict[UUID, Member] = {}
        if member_ids:
            members = {
                member.id: member
                for member in await self.session.scalars(
                    select(Member).where(Member.id.in_(member_ids))
                )
            }
        return [
            PartnershipView(
                partnership=p,
                side=require_partnership_visible(identity, p),
                schools=schools,
                members=members,
                now=now,
            )
            for p in partnerships
        ]
