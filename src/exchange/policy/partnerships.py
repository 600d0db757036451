"""Partnerships under the table's rules: which side the caller is on and the moves it may
make, a partnership's life (activities, questions), what the directory shows of a school
(rule 6), and a member's inbox."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.errors import Conflict, Forbidden, NotFound
from exchange.i18n import LazyText
from exchange.models import (
    Activity,
    PartnerQuestion,
    Partnership,
    PartnershipStatus,
)
from exchange.policy import forms, refusals
from exchange.policy.gate import require, where
from exchange.policy.relations import Target
from exchange.policy.table import INVITED, INVITING, Action


def require_admin(identity: Identity, refusal: str | LazyText) -> None:
    """Only the school's admins (director, deputy head, partnership coordinator) may do
    this; `refusal` says so in a whole sentence ("Only an admin of your school can ...")."""
    if not identity.is_admin:
        raise Forbidden(refusal)


def active_partnership_between(school_a: Any, school_b: Any) -> ColumnElement[bool]:
    """SQL condition: the two schools (ids or id columns) are in an active partnership."""
    return forms.active_partnership(school_a, school_b)


async def are_active_partners(session: AsyncSession, school_a: UUID, school_b: UUID) -> bool:
    return bool(await session.scalar(select(forms.active_partnership(school_a, school_b))))


class PartnershipSide(StrEnum):
    INVITING = "inviting"
    INVITED = "invited"


class PartnershipMove(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    REMIND = "remind"
    END = "end"
    UPDATE = "update"


MOVE_ACTIONS: Mapping[PartnershipMove, Action] = {
    PartnershipMove.ACCEPT: Action.ACCEPT_INVITATION,
    PartnershipMove.DECLINE: Action.DECLINE_INVITATION,
    PartnershipMove.WITHDRAW: Action.WITHDRAW_INVITATION,
    PartnershipMove.REMIND: Action.REMIND_INVITATION,
    PartnershipMove.END: Action.END_PARTNERSHIP,
    PartnershipMove.UPDATE: Action.UPDATE_PARTNERSHIP,
}


def partnership_side(identity: Identity, partnership: Partnership) -> PartnershipSide | None:
    """The caller's side of the partnership, or None when the caller's school is a third."""
    if INVITING.check(identity, Target(partnership)):
        return PartnershipSide.INVITING
    if INVITED.check(identity, Target(partnership)):
        return PartnershipSide.INVITED
    return None


def partnerships_visible_to(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: the partnership is one of the caller's school's (either side)."""
    return where(identity, Action.READ_PARTNERSHIP)


def require_partnership_visible(identity: Identity, partnership: Partnership) -> PartnershipSide:
    require(identity, Action.READ_PARTNERSHIP, partnership)
    side = partnership_side(identity, partnership)
    assert side is not None
    return side


def require_partnership_move(
    identity: Identity, partnership: Partnership, move: PartnershipMove
) -> PartnershipSide:
    """A third school gets 404; a teacher 403; an admin of the wrong side 403."""
    side = require_partnership_visible(identity, partnership)
    require(identity, MOVE_ACTIONS[move], partnership)
    return side


# --- partnership life: activities and their evaluations ----------------------------------

# Everything about a partnership (its activities, their tasks and evaluations) is read by
# the members of its two schools only; any other school is told 404. Within the two:
#
# - plan an activity, change its shared fields, mark it done or cancel it: an admin of
#   either school, or a member responsible for the activity (a teacher plans one by naming
#   themselves among its responsible members);
# - each school writes only its own parts: the responsible members it names and the tasks
#   it owns are its own members and its own tasks; it evaluates once, for itself, by an
#   admin or one of its members responsible for the activity;
# - only an active partnership takes new activities or changes; an ended one keeps them
#   readable to both as a record (409 on any change).


def require_activity_planner(identity: Identity, responsible_member_ids: Collection[str]) -> None:
    """The caller may plan or change the activity: an admin of either school, or one of
    its responsible members (the caller already reads the partnership)."""
    require(identity, Action.PLAN_ACTIVITY, responsible_member_ids)


def require_activity_evaluator(identity: Identity, responsible_member_ids: Collection[str]) -> None:
    """The caller may evaluate the activity for their school."""
    require(identity, Action.EVALUATE_ACTIVITY, responsible_member_ids)


def activities_of_active_partnerships(identity: Identity) -> ColumnElement[bool]:
    """SQL condition on Activity: one of the caller's school's active partnerships' (what
    can still be changed or evaluated, as dashboards count it)."""
    return Activity.partnership_id.in_(
        select(Partnership.id).where(
            partnerships_visible_to(identity),
            Partnership.status == PartnershipStatus.ACTIVE.value,
        )
    )


def require_partnership_takes_activities(partnership: Partnership) -> None:
    """New activities and every change need an active partnership; an ended one is a record."""
    if partnership.status == PartnershipStatus.ENDED.value:
        raise Conflict(
            refusals.PARTNERSHIP_ENDED_FOR_ACTIVITIES, partnership_status=partnership.status
        )
    if partnership.status != PartnershipStatus.ACTIVE.value:
        raise Conflict(
            refusals.PARTNERSHIP_NOT_YET_FOR_ACTIVITIES, partnership_status=partnership.status
        )


# --- questions between partners (rule 9) --------------------------------------------------
#
# A question belongs to a partnership: members of its two schools read it (any member,
# as they read the partnership), from the day it is asked, also after the partnership
# ended, as a record. While the partnership is active any member of either school asks
# the other school; any member of the school that was asked answers (the addressed
# member is who is told first, not the only one who may answer: the partner answers as
# a school). Once the partnership ended nothing is asked or answered (409). Any other
# school is told 404.


def questions_visible_to(identity: Identity) -> ColumnElement[bool]:
    """SQL condition on PartnerQuestion: asked by or of the caller's school."""
    return where(identity, Action.READ_QUESTION)


def require_question_visible(identity: Identity, question: PartnerQuestion | None) -> None:
    if question is None:
        raise NotFound(refusals.NO_SUCH_QUESTION)
    require(identity, Action.READ_QUESTION, question)


def require_can_ask(identity: Identity, partnership: Partnership) -> UUID:
    """The school the caller's question goes to: the other school of an active
    partnership of the caller's school (404 to a third school, 409 when not active)."""
    require(identity, Action.ASK_QUESTION, partnership)
    if partnership.status != PartnershipStatus.ACTIVE.value:
        raise Conflict(
            refusals.PARTNERSHIP_OVER
            if partnership.status == PartnershipStatus.ENDED.value
            else refusals.PARTNERSHIP_NOT_YET_FOR_QUESTIONS,
            partnership_status=partnership.status,
        )
    return partnership.other_school_id(identity.school_id)


def require_can_answer(
    identity: Identity, question: PartnerQuestion, partnership: Partnership
) -> None:
    """Any member of the school that was asked, while the partnership is active."""
    require_question_visible(identity, question)
    if partnership.status != PartnershipStatus.ACTIVE.value:
        raise Conflict(refusals.PARTNERSHIP_OVER, partnership_status=partnership.status)
    require(identity, Action.ANSWER_QUESTION, question)


# --- the directory (rule 6) ----------------------------------------------------------------

# A school's self-assessment (the handbook's appendix 2) names its weaknesses ("our
# internet is slow"): rule 6 keeps it between the school and the schools it is in touch
# with, an invitation not yet answered (either way) or an active partnership. A partnership
# that ended, an invitation declined or withdrawn, and every other school see the public
# profile only (name, region, kind, languages, offers and needs, published contact).
SELF_ASSESSMENT_STATUSES: frozenset[str] = frozenset(
    {PartnershipStatus.INVITED.value, PartnershipStatus.ACTIVE.value}
)


def self_assessment_partnerships(identity: Identity) -> ColumnElement[bool]:
    """SQL condition on Partnership: one that lets its other school read the caller's
    school's self-assessment, and the caller read the other school's."""
    return and_(
        partnerships_visible_to(identity),
        Partnership.status.in_(sorted(SELF_ASSESSMENT_STATUSES)),
    )


def reads_self_assessment(
    identity: Identity, school_id: UUID, schools_in_touch: Collection[UUID]
) -> bool:
    """May the caller read this school's self-assessment? `schools_in_touch`: the other
    schools of the caller's partnerships that `self_assessment_partnerships` selects."""
    return school_id == identity.school_id or school_id in schools_in_touch


# --- notifications ------------------------------------------------------------------------


def own_notifications(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: a member reads only their own inbox (others' notifications are 404)."""
    return where(identity, Action.READ_NOTIFICATION)
