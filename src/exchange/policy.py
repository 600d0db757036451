"""The one door for every rule of the code of conduct and every role check.

Services ask this module before they touch anything; controllers never decide access.
Lists and searches use the SQL clauses here, so what a school may not read is never
counted, shown or paged over.

Who may do what with a resource (rule 1 of the contract, rules 6 and 7 of the code):

- read: the owner school; an active partner when visibility is `partners`; an active
  partner named in `shared_with` when visibility is `selected`; a school a holder of a
  `share` grant forwarded it to, while that forward stands (see `forward_stands`).
  Anyone else is told 404, never 403.
- edit, delete, decide its reuse requests, revoke its grants: an author, or an admin
  of the owner school.
- request reuse: a school that can read it and does not own it; never `share` or
  `publish` for a confidential resource (rule 6).
- forward: a school holding a valid `share` grant (or an open licence), only to one of
  its own active partners, never a confidential resource.
- derive (upload with `derived_from`): an `adapt` grant or an open licence; a
  visibility wider than `school` also needs `share`.
- read the audit trail: the owner school's admins.
- a student's work leaves its school (visibility beyond `school`, forward, `share`,
  `publish`) only with students' consent on file; see `student_work_visibility`.

Questions between partners (rule 9): members of the partnership's two schools read
them, also after it ended; while it is active either school's members ask, and any
member of the school that was asked answers; anyone else is told 404. See
`require_can_ask` and `require_can_answer`.

Who may read a school's self-assessment (rule 6): the school itself and the schools it
has an open invitation with (either way) or an active partnership with; see
`reads_self_assessment`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    or_,
    select,
    union_all,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import CTE, TableClause

from exchange.accounts.identity import Identity
from exchange.clock import SystemClock
from exchange.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleRefusal
from exchange.i18n import LazyText, _, lazy_gettext
from exchange.models import (
    Activity,
    Forward,
    Grant,
    Licence,
    Notification,
    PartnerQuestion,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceKind,
    ResourceShare,
    ReuseScope,
    StudentConsent,
    Visibility,
)

ARR = Licence.ALL_RIGHTS_RESERVED.value


def _at(now: datetime | None) -> datetime:
    # Services pass their injected clock's time; the fallback serves callers that have
    # none (a script), never tests of expiry.
    return now if now is not None else SystemClock().now()


# --- roles within the caller's own school -------------------------------------------------


def require_admin(identity: Identity, refusal: str | LazyText) -> None:
    """Only the school's admins (director, deputy head, partnership coordinator) may do
    this; `refusal` says so in a whole sentence ("Only an admin of your school can ...")."""
    if not identity.is_admin:
        raise Forbidden(refusal)


def same_school(identity: Identity, school_id: UUID) -> bool:
    return identity.school_id == school_id


# --- partnerships -------------------------------------------------------------------------


def active_partnership_between(school_a: Any, school_b: Any) -> ColumnElement[bool]:
    """SQL condition: the two schools (ids or id columns) are in an active partnership."""
    p = aliased(Partnership)
    return exists(
        select(p.id).where(
            p.status == PartnershipStatus.ACTIVE.value,
            or_(
                and_(p.inviting_school_id == school_a, p.invited_school_id == school_b),
                and_(p.inviting_school_id == school_b, p.invited_school_id == school_a),
            ),
        )
    )


async def are_active_partners(session: AsyncSession, school_a: UUID, school_b: UUID) -> bool:
    return bool(await session.scalar(select(active_partnership_between(school_a, school_b))))


class PartnershipSide(StrEnum):
    INVITING = "inviting"
    INVITED = "invited"


class PartnershipMove(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    END = "end"
    UPDATE = "update"


# Which side's admins may make each move on an existing partnership. Inviting is asked
# through `require_admin`: before the invitation exists there is no side to be on.
PARTNERSHIP_MOVE_SIDES: Mapping[PartnershipMove, frozenset[PartnershipSide]] = {
    PartnershipMove.ACCEPT: frozenset({PartnershipSide.INVITED}),
    PartnershipMove.DECLINE: frozenset({PartnershipSide.INVITED}),
    PartnershipMove.WITHDRAW: frozenset({PartnershipSide.INVITING}),
    PartnershipMove.END: frozenset(PartnershipSide),
    PartnershipMove.UPDATE: frozenset(PartnershipSide),
}
_MOVE_WORDING: Mapping[PartnershipMove, LazyText] = {
    PartnershipMove.ACCEPT: lazy_gettext(
        "Only an admin of your school can accept a partnership invitation. Ask your school's admin."
    ),
    PartnershipMove.DECLINE: lazy_gettext(
        "Only an admin of your school can decline a partnership invitation. Ask your "
        "school's admin."
    ),
    PartnershipMove.WITHDRAW: lazy_gettext(
        "Only an admin of your school can withdraw a partnership invitation. Ask your "
        "school's admin."
    ),
    PartnershipMove.END: lazy_gettext(
        "Only an admin of your school can end a partnership. Ask your school's admin."
    ),
    PartnershipMove.UPDATE: lazy_gettext(
        "Only an admin of your school can change a partnership's goals, characteristics or "
        "coordinator. Ask your school's admin."
    ),
}
_WRONG_SIDE: Mapping[PartnershipMove, LazyText] = {
    PartnershipMove.ACCEPT: lazy_gettext(
        "Only the invited school's admin can accept this invitation."
    ),
    PartnershipMove.DECLINE: lazy_gettext(
        "Only the invited school's admin can decline this invitation."
    ),
    PartnershipMove.WITHDRAW: lazy_gettext(
        "Only the inviting school's admin can withdraw this invitation; your school can "
        "decline it instead."
    ),
}


def partnership_side(identity: Identity, partnership: Partnership) -> PartnershipSide | None:
    """The caller's side of the partnership, or None when the caller's school is a third."""
    if partnership.inviting_school_id == identity.school_id:
        return PartnershipSide.INVITING
    if partnership.invited_school_id == identity.school_id:
        return PartnershipSide.INVITED
    return None


def partnerships_visible_to(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: the partnership is one of the caller's school's (either side)."""
    return or_(
        Partnership.inviting_school_id == identity.school_id,
        Partnership.invited_school_id == identity.school_id,
    )


def require_partnership_visible(identity: Identity, partnership: Partnership) -> PartnershipSide:
    side = partnership_side(identity, partnership)
    if side is None:
        raise NotFound(_("No such partnership among your school's partnerships."))
    return side


def require_partnership_move(
    identity: Identity, partnership: Partnership, move: PartnershipMove
) -> PartnershipSide:
    """A third school gets 404; a teacher 403; an admin of the wrong side 403."""
    side = require_partnership_visible(identity, partnership)
    require_admin(identity, _MOVE_WORDING[move])
    if side not in PARTNERSHIP_MOVE_SIDES[move]:
        raise Forbidden(_WRONG_SIDE[move])
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

_NOT_A_PLANNER = lazy_gettext(
    "Only an admin, or a member responsible for the activity, can plan or change it: a "
    "teacher plans an activity by naming themselves among its responsible members."
)
_NOT_AN_EVALUATOR = lazy_gettext(
    "Only an admin of your school, or one of your school's members responsible for this "
    "activity, can evaluate it for your school."
)


def require_activity_planner(identity: Identity, responsible_member_ids: Collection[str]) -> None:
    """The caller may plan or change the activity: an admin of either school, or one of
    its responsible members (the caller already reads the partnership)."""
    if not identity.is_admin and str(identity.member_id) not in responsible_member_ids:
        raise Forbidden(_NOT_A_PLANNER)


def require_activity_evaluator(identity: Identity, responsible_member_ids: Collection[str]) -> None:
    """The caller may evaluate the activity for their school."""
    if not identity.is_admin and str(identity.member_id) not in responsible_member_ids:
        raise Forbidden(_NOT_AN_EVALUATOR)


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
            _(
                "This partnership has ended: its activities stay readable to both schools as a "
                "record, and nothing can be added or changed."
            ),
            partnership_status=partnership.status,
        )
    if partnership.status != PartnershipStatus.ACTIVE.value:
        raise Conflict(
            _(
                "Activities can be planned only in an active partnership: this invitation has "
                "not been accepted."
            ),
            partnership_status=partnership.status,
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

_PARTNERSHIP_OVER = lazy_gettext(
    "This partnership is no longer active: its questions stay readable to both schools, "
    "but nothing new can be asked or answered."
)


def questions_visible_to(identity: Identity) -> ColumnElement[bool]:
    """SQL condition on PartnerQuestion: asked by or of the caller's school."""
    return or_(
        PartnerQuestion.asking_school_id == identity.school_id,
        PartnerQuestion.answering_school_id == identity.school_id,
    )


def require_question_visible(identity: Identity, question: PartnerQuestion | None) -> None:
    if question is None or identity.school_id not in {
        question.asking_school_id,
        question.answering_school_id,
    }:
        raise NotFound(_("No question with this id is visible to your school."))


def require_can_ask(identity: Identity, partnership: Partnership) -> UUID:
    """The school the caller's question goes to: the other school of an active
    partnership of the caller's school (404 to a third school, 409 when not active)."""
    require_partnership_visible(identity, partnership)
    if partnership.status != PartnershipStatus.ACTIVE.value:
        raise Conflict(
            _PARTNERSHIP_OVER
            if partnership.status == PartnershipStatus.ENDED.value
            else _(
                "Questions can be asked once the partnership is active: the invited school "
                "accepts the invitation first."
            ),
            partnership_status=partnership.status,
        )
    return partnership.other_school_id(identity.school_id)


def require_can_answer(
    identity: Identity, question: PartnerQuestion, partnership: Partnership
) -> None:
    """Any member of the school that was asked, while the partnership is active."""
    require_question_visible(identity, question)
    if partnership.status != PartnershipStatus.ACTIVE.value:
        raise Conflict(_PARTNERSHIP_OVER, partnership_status=partnership.status)
    if identity.school_id != question.answering_school_id:
        raise Forbidden(
            _(
                "Only the partner school your school asked can answer this question. "
                "Add to it by asking a new question."
            )
        )


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
    return Notification.recipient_member_id == identity.member_id


# --- grants (rule 7) ----------------------------------------------------------------------


def grant_in_force(grant: Any, now: datetime) -> ColumnElement[bool]:
    """SQL condition on a Grant (or alias): neither revoked nor expired at `now`."""
    return and_(grant.revoked_at.is_(None), or_(grant.expires_at.is_(None), grant.expires_at > now))


def holds_grant(
    school: Any, scope: ReuseScope, now: datetime, resource: Any = Resource
) -> ColumnElement[bool]:
    """SQL condition: the school may use the resource with this scope.

    An open licence pre-grants every scope to every school that can read the resource;
    otherwise a stored grant from an approved request, still in force.
    """
    g = aliased(Grant)
    return or_(
        resource.licence != ARR,
        exists(
            select(g.id).where(
                g.resource_id == resource.id,
                g.school_id == school,
                g.scope == scope.value,
                grant_in_force(g, now),
            )
        ),
    )


async def grant_in_hand(
    session: AsyncSession, school_id: UUID, resource: Resource, scope: ReuseScope, now: datetime
) -> Grant | None:
    """The stored grant in force of this scope for the school, if any (licence not counted)."""
    result = await session.scalars(
        select(Grant)
        .where(
            Grant.resource_id == resource.id,
            Grant.school_id == school_id,
            Grant.scope == scope.value,
            grant_in_force(Grant, now),
        )
        .order_by(Grant.created_at.desc())
        .limit(1)
    )
    return result.first()


def licence_grants(resource: Resource) -> bool:
    """An open licence pre-grants adapt, share and publish (rule 7)."""
    return Licence(resource.licence).is_open


# --- reading (rule 1, rule 6) -------------------------------------------------------------


def directly_readable(resource: Any, school: Any) -> ColumnElement[bool]:
    """SQL condition: the school reads the resource by ownership or visibility alone."""
    listed = aliased(ResourceShare)
    partner = active_partnership_between(resource.owner_school_id, school)
    return or_(
        resource.owner_school_id == school,
        and_(resource.visibility == Visibility.PARTNERS.value, partner),
        and_(
            resource.visibility == Visibility.SELECTED.value,
            partner,
            exists(
                select(listed.id).where(
                    listed.resource_id == resource.id, listed.school_id == school
                )
            ),
        ),
    )


def forward_stands(forward: Any, resource: Any, now: datetime) -> ColumnElement[bool]:
    """SQL condition: a forward still carries access (to its target) at `now`.

    A forward is cut, at once and without anyone running a job, when: its `share` grant
    is revoked or expires (a licence forward: when the licence is no longer open); the
    resource becomes confidential (rule 6: never forwarded); the two schools stop being
    active partners. The forwarding school must also still read the resource itself,
    which `forward_reach` checks hop by hop.
    """
    g = aliased(Grant)
    by_grant = exists(select(g.id).where(g.id == forward.grant_id, grant_in_force(g, now)))
    by_licence = and_(forward.grant_id.is_(None), resource.licence != ARR)
    return and_(
        forward.cut_at.is_(None),
        resource.confidential.is_(False),
        or_(by_grant, by_licence),
        active_partnership_between(forward.from_school_id, forward.to_school_id),
    )


# The recursive CTE below is built for every statement that checks reading, so it is
# written against narrow table clauses naming only the columns it uses: aliasing a full
# `Table` (or an ORM entity) copies every one of its columns, which made building the
# CTE cost milliseconds. Each column keeps its table's type, so values bind as they do
# against the models.
def _narrow(table: Any, *names: str) -> TableClause:
    full: Table = table.__table__
    return sql_table(full.name, *(sql_column(name, full.c[name].type) for name in names))


_FORWARDS = _narrow(Forward, "resource_id", "grant_id", "from_school_id", "to_school_id", "cut_at")
_RESOURCES = _narrow(Resource, "id", "owner_school_id", "visibility", "confidential", "licence")
_GRANTS = _narrow(Grant, "id", "revoked_at", "expires_at")
_PARTNERSHIPS = _narrow(Partnership, "id", "status", "inviting_school_id", "invited_school_id")
_SHARES = _narrow(ResourceShare, "id", "resource_id", "school_id")


def _partners(a: Any, b: Any) -> ColumnElement[bool]:
    p = _PARTNERSHIPS.alias()
    # Correlated with every enclosing statement, not only the nearest: `a` and `b` may
    # come from two levels up (see `_forwarder_reads`).
    return exists(
        select(p.c.id)
        .where(
            p.c.status == PartnershipStatus.ACTIVE.value,
            or_(
                and_(p.c.inviting_school_id == a, p.c.invited_school_id == b),
                and_(p.c.inviting_school_id == b, p.c.invited_school_id == a),
            ),
        )
        .correlate_except(p)
    )


def _standing_forwards(
    now: datetime | BindParameter[datetime],
    reads: Callable[[Any, Any], ColumnElement[bool]] | None = None,
) -> tuple[Select[Any], Any]:
    """FROM forwards LEFT JOIN grants, WHERE the forward stands at `now` (the table form
    of `forward_stands`) and, when given, `reads(resource, forward)` holds; returns the
    select and the forwards alias.

    The resource is checked in an EXISTS rather than joined, so that every database
    starts from the forwards (few, often none): given a join, SQLite has no statistics
    for an empty forwards table and would scan every resource instead.
    """
    f = _FORWARDS.alias()
    r = _RESOURCES.alias()
    g = _GRANTS.alias()
    resource_allows = exists(
        select(r.c.id).where(
            r.c.id == f.c.resource_id,
            r.c.confidential.is_(False),
            or_(
                and_(
                    g.c.id.is_not(None),
                    g.c.revoked_at.is_(None),
                    or_(g.c.expires_at.is_(None), g.c.expires_at > now),
                ),
                and_(f.c.grant_id.is_(None), r.c.licence != ARR),
            ),
            *([reads(r, f)] if reads is not None else []),
        )
    )
    joined = (
        select(f.c.resource_id.label("resource_id"), f.c.to_school_id.label("school_id"))
        .select_from(f.outerjoin(g, g.c.id == f.c.grant_id))
        .where(
            f.c.cut_at.is_(None),
            resource_allows,
            _partners(f.c.from_school_id, f.c.to_school_id),
        )
    )
    return joined, f


def _forwarder_reads(r: Any, f: Any) -> ColumnElement[bool]:
    """The forwarding school reads the resource directly (the first hop's start)."""
    shares = _SHARES.alias()
    partner = _partners(r.c.owner_school_id, f.c.from_school_id)
    return or_(
        r.c.owner_school_id == f.c.from_school_id,
        and_(r.c.visibility == Visibility.PARTNERS.value, partner),
        and_(
            r.c.visibility == Visibility.SELECTED.value,
            partner,
            exists(
                select(shares.c.id)
                .where(shares.c.resource_id == r.c.id, shares.c.school_id == f.c.from_school_id)
                .correlate_except(shares)
            ),
        ),
    )


def forward_reach(now: datetime | BindParameter[datetime]) -> CTE:
    """Recursive CTE of (resource_id, school_id): who reads what through standing forwards.

    The first hop starts at a school that reads the resource directly (a partner); each
    further hop starts at a school reached by the one before. UNION (not UNION ALL)
    ends cycles.
    """
    anchor, _f = _standing_forwards(now, _forwarder_reads)
    reach = anchor.cte("forward_reach", recursive=True, nesting=True)
    step, f2 = _standing_forwards(now)
    step = step.join_from(
        f2,
        reach,
        and_(reach.c.resource_id == f2.c.resource_id, reach.c.school_id == f2.c.from_school_id),
    )
    return reach.union(step)


def reached_by_forward(school: Any, now: datetime, resource: Any = Resource) -> ColumnElement[bool]:
    reach = forward_reach(now)
    return exists(
        select(reach.c.school_id).where(
            reach.c.resource_id == resource.id, reach.c.school_id == school
        )
    )


def readable_by_school(school: Any, now: datetime, resource: Any = Resource) -> ColumnElement[bool]:
    """SQL condition: the school (an id or an id column) may read the resource."""
    return or_(directly_readable(resource, school), reached_by_forward(school, now, resource))


def active_partner_ids(school_id: Any) -> CompoundSelect[tuple[UUID]]:
    """SQL: the ids of the schools in an active partnership with `school_id`.

    Not correlated with any outer row, so a database computes it once per statement and
    probes the result, where a correlated EXISTS would look up partnerships again for
    every candidate resource (a search weighs tens of thousands).
    """
    active = PartnershipStatus.ACTIVE.value
    return union_all(
        select(Partnership.invited_school_id).where(
            Partnership.status == active, Partnership.inviting_school_id == school_id
        ),
        select(Partnership.inviting_school_id).where(
            Partnership.status == active, Partnership.invited_school_id == school_id
        ),
    )


def readable_resources(identity: Identity, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL condition on Resource: the caller's school may read it (metadata, versions, content).

    Own school always; an active partner when visibility is `partners`; an active partner
    named in `shared_with` when visibility is `selected`; a school a share-grant holder
    forwarded it to while the forward stands. `school` never leaves the owner. Pass the
    injected clock's `now`: grants expire by it.

    The same rule as `readable_by_school`, written for one known school: partners and
    forwards are sets keyed by the caller (uncorrelated IN), which the database builds
    once per statement, and `shared_with` is a lookup by key, so the condition costs a
    lookup or two per row however many resources a search weighs.

    Statements run on every request use `readable_by_caller` instead: the same
    condition, built once.
    """
    return _readable(identity.school_id, _at(now))


# The caller's school and the time a reading is judged at, as bound parameters of
# `readable_by_caller`, valued by `reading_parameters`.
_READER = "readable_by_school"
_READ_AT = "readable_at"


def readable_by_caller() -> ColumnElement[bool]:
    """`readable_resources` with the caller's school and the time as bound parameters:
    execute every statement that uses it with `reading_parameters(identity, now)` (a
    statement run without them fails; it never reads more). The condition, a recursive
    query in part, is then built once per process rather than once per statement."""
    return _readable_by_caller()


def reading_parameters(identity: Identity, now: datetime | None = None) -> dict[str, Any]:
    """The values of `readable_by_caller`'s parameters for this caller. Pass the
    injected clock's `now`: grants expire by it."""
    return {_READER: identity.school_id, _READ_AT: _at(now)}


@cache
def caller_and_partner_schools() -> CompoundSelect[tuple[UUID]]:
    """SQL: the caller's school and its active partners (`reading_parameters`' caller).
    The caller may read no resource of any other school except those forwarded to it
    (`forwarded_to_caller`): together they hold every resource `readable_by_caller`
    passes, and more (a partner's `school` resources), which lets a search start from
    these schools' resources when they are few."""
    caller = bindparam(_READER, type_=Resource.__table__.c.owner_school_id.type)
    # One flat UNION ALL: SQLite takes no compound query in parentheses.
    return union_all(select(caller), *active_partner_ids(caller).selects)


@cache
def forwarded_to_caller() -> Select[tuple[UUID]]:
    """SQL: the resources forwarded to the caller's school, while the forwards stand."""
    reach = forward_reach(bindparam(_READ_AT, type_=Grant.__table__.c.expires_at.type))
    caller = bindparam(_READER, type_=Resource.__table__.c.owner_school_id.type)
    return select(reach.c.resource_id).where(reach.c.school_id == caller)


@cache
def _readable_by_caller() -> ColumnElement[bool]:
    return _readable(
        bindparam(_READER, type_=Resource.__table__.c.owner_school_id.type),
        bindparam(_READ_AT, type_=Grant.__table__.c.expires_at.type),
    )


def _readable(
    caller: UUID | BindParameter[UUID], now: datetime | BindParameter[datetime]
) -> ColumnElement[bool]:
    partners = active_partner_ids(caller)
    # Named in `shared_with`: looked up by key for the few `selected` resources a
    # statement meets, rather than every resource shared with the caller gathered first
    # (thousands for a well-connected school, in every statement).
    listed = exists(
        select(ResourceShare.id).where(
            ResourceShare.resource_id == Resource.id, ResourceShare.school_id == caller
        )
    )
    reach = forward_reach(now)
    forwarded = select(reach.c.resource_id).where(reach.c.school_id == caller)
    return or_(
        Resource.owner_school_id == caller,
        and_(
            Resource.visibility == Visibility.PARTNERS.value,
            Resource.owner_school_id.in_(partners),
        ),
        and_(
            Resource.visibility == Visibility.SELECTED.value,
            Resource.owner_school_id.in_(partners),
            listed,
        ),
        Resource.id.in_(forwarded),
    )


async def readable_resource(
    session: AsyncSession, identity: Identity, resource_id: UUID, *, now: datetime | None = None
) -> Resource:
    """The resource, if the caller may read it; otherwise NotFound (existence never leaks)."""
    resource = (
        await session.scalars(_readable_resource(resource_id), reading_parameters(identity, now))
    ).first()
    return _found(resource)


def readable_resource_in(
    db: Session, identity: Identity, resource_id: UUID, *, now: datetime | None = None
) -> Resource:
    """`readable_resource` in a synchronous session (`exchange.database.run_read`)."""
    resource = db.scalars(
        _readable_resource(resource_id), reading_parameters(identity, now)
    ).first()
    return _found(resource)


def _readable_resource(resource_id: UUID) -> Select[Resource]:
    return select(Resource).where(Resource.id == resource_id, readable_by_caller())


def _found(resource: Resource | None) -> Resource:
    if resource is None:
        raise NotFound(
            _(
                "No resource with this id is visible to your school. It may have been deleted, or "
                "its owner has not shared it with your school."
            )
        )
    return resource


async def school_can_read(
    session: AsyncSession, school_id: UUID, resource_id: UUID, now: datetime
) -> bool:
    found = await session.scalar(
        select(Resource.id).where(Resource.id == resource_id, readable_by_school(school_id, now))
    )
    return found is not None


def cache_control_for(resource: Resource) -> str | None:
    """Rule 6: a confidential resource's metadata and content are never kept in a cache."""
    return "no-store" if resource.confidential else None


def audits_reads_by(identity: Identity, resource: Resource) -> bool:
    """Rule 6: every read of a confidential resource by another school is audited."""
    return resource.confidential and identity.school_id != resource.owner_school_id


# --- acting on a resource -----------------------------------------------------------------


def is_owner_school(identity: Identity, resource: Resource) -> bool:
    return identity.school_id == resource.owner_school_id


def is_author(identity: Identity, resource: Resource) -> bool:
    return is_owner_school(identity, resource) and any(
        author.member_id == identity.member_id for author in resource.authors
    )


def is_owner_admin(identity: Identity, resource: Resource) -> bool:
    return is_owner_school(identity, resource) and identity.is_admin


def can_edit(identity: Identity, resource: Resource) -> bool:
    """Change, delete, add versions: an author or an admin of the owner school."""
    return is_author(identity, resource) or is_owner_admin(identity, resource)


class EditAction(StrEnum):
    CHANGE = "change"
    ADD_VERSION = "add a version"
    DELETE = "delete"


# What an author or an owner-school admin may do: said to a colleague who is neither,
# and to another school (which may ask to adapt instead).
_NOT_AN_EDITOR: Mapping[EditAction, tuple[LazyText, LazyText]] = {
    EditAction.CHANGE: (
        lazy_gettext(
            "Only an author of this resource or an admin of your school can change it. Ask "
            "one of its authors or your school's admin."
        ),
        lazy_gettext(
            "Only the school that owns this resource can change it. To use it your own way, "
            "ask its authors for permission to adapt it."
        ),
    ),
    EditAction.ADD_VERSION: (
        lazy_gettext(
            "Only an author of this resource or an admin of your school can add a version. "
            "Ask one of its authors or your school's admin."
        ),
        lazy_gettext(
            "Only the school that owns this resource can add a version of it. To make your "
            "own version, ask its authors for permission to adapt it."
        ),
    ),
    EditAction.DELETE: (
        lazy_gettext(
            "Only an author of this resource or an admin of your school can delete it. Ask "
            "one of its authors or your school's admin."
        ),
        lazy_gettext("Only the school that owns this resource can delete it."),
    ),
}


def require_can_edit(
    identity: Identity, resource: Resource, action: EditAction = EditAction.CHANGE
) -> None:
    if not can_edit(identity, resource):
        colleague, other_school = _NOT_AN_EDITOR[action]
        raise Forbidden(colleague if is_owner_school(identity, resource) else other_school)


def can_decide(identity: Identity, resource: Resource) -> bool:
    """Decide reuse requests and revoke grants: an author or an admin of the owner school."""
    return can_edit(identity, resource)


class DecideAction(StrEnum):
    ANSWER = "answer"
    WITHDRAW_GRANT = "withdraw a permission"


_NOT_A_DECIDER: Mapping[DecideAction, LazyText] = {
    DecideAction.ANSWER: lazy_gettext(
        "Only an author of the resource or an admin of the school that owns it can answer "
        "its reuse requests."
    ),
    DecideAction.WITHDRAW_GRANT: lazy_gettext(
        "Only an author of the resource or an admin of the school that owns it can withdraw "
        "a permission."
    ),
}


def require_can_decide(identity: Identity, resource: Resource, action: DecideAction) -> None:
    if not can_decide(identity, resource):
        raise Forbidden(_NOT_A_DECIDER[action])


def can_see_grants_of(identity: Identity, resource: Resource) -> bool:
    """All of a resource's grants are shown to its owner school; others see their own."""
    return is_owner_school(identity, resource)


async def check_shared_with(
    session: AsyncSession, identity: Identity, visibility: str, school_ids: list[UUID]
) -> None:
    """Visibility `selected` must name schools in an active partnership with the owner."""
    if visibility != Visibility.SELECTED.value:
        if school_ids:
            raise InvalidInput(
                _(
                    "`shared_with` is only used with visibility 'selected'. Set visibility to "
                    "'selected', or leave `shared_with` empty."
                )
            )
        return
    if not school_ids:
        raise InvalidInput(
            _("Visibility 'selected' needs at least one partner school in `shared_with`.")
        )
    for school_id in dict.fromkeys(school_ids):
        if school_id == identity.school_id or not await are_active_partners(
            session, identity.school_id, school_id
        ):
            raise InvalidInput(
                _(
                    "School {school_id} in `shared_with` is not an active partner of your school. "
                    "Only schools in an active partnership with yours can be named.",
                    school_id=school_id,
                )
            )


def check_confidential_licence(confidential: bool, licence: str) -> None:
    """Rule 6: a confidential resource cannot carry an open licence."""
    if confidential and Licence(licence).is_open:
        raise InvalidInput(
            _(
                "A confidential resource cannot carry an open licence: an open licence lets "
                "anyone pass it on, and the code of conduct (rule 6) says confidential documents "
                "are never passed on. Choose 'all_rights_reserved', or do not mark it "
                "confidential."
            ),
            code_of_conduct_rule=6,
        )


# --- students' work ----------------------------------------------------------------------

# A student's work is children's work and often carries their names: it leaves its school
# (visibility `partners` or `selected`, a forward, a `share` or `publish` permission) only
# while its school has recorded that consent is on file (`StudentConsent`). Without it the
# work stays at visibility `school`; withdrawing the consent narrows it back there.
STUDENT_WORK = ResourceKind.STUDENT_WORK.value
STUDENT_CONSENTS: tuple[str, ...] = tuple(consent.value for consent in StudentConsent)
ASK_FOR_CONSENT = lazy_gettext(
    "Record that parents agreed, or that the work is anonymous, before sharing a student's "
    "work with partners."
)


def consent_on_file(kind: str, student_consent: str | None) -> bool:
    """May this resource leave its school as far as students' consent goes?"""
    return kind != STUDENT_WORK or student_consent in STUDENT_CONSENTS


def default_visibility(kind: str, student_consent: str | None) -> str:
    """The visibility of an upload that names none: `partners`, but `school` for a
    student's work without consent on file."""
    if consent_on_file(kind, student_consent):
        return Visibility.PARTNERS.value
    return Visibility.SCHOOL.value


def _consent_needed(detail: str) -> InvalidInput:
    """The refusal: the request for consent, then what to do about it (whole sentences)."""
    return InvalidInput(
        f"{ASK_FOR_CONSENT} {detail}",
        errors=[{"field": "student_consent", "message": str(ASK_FOR_CONSENT)}],
    )


def student_work_visibility(
    kind: str, visibility: str, student_consent: str | None, *, consent_withdrawn: bool = False
) -> str:
    """The visibility a resource may have, given its students' consent.

    Unchanged while it stays in the school or consent is on file. When the change at
    hand withdraws the consent (and does not itself ask for a wider visibility), the
    work is narrowed to `school`: the parents' wish takes effect at once, in one step.
    Any other attempt to widen a student's work without consent is refused.
    """
    if visibility == Visibility.SCHOOL.value or consent_on_file(kind, student_consent):
        return visibility
    if consent_withdrawn:
        return Visibility.SCHOOL.value
    raise _consent_needed(
        _(
            "Send `student_consent` 'parents' (the parents agreed, and your school keeps their "
            "consent) or 'not_needed_anonymous' (the work shows no student's name or face), or "
            "keep its visibility 'school' (your school only)."
        )
    )


def require_anonymous_restated(resource: Resource, restated: str | None) -> None:
    """A new file of a student's work shared as anonymous must be anonymous too: the
    uploader says so again (or that parents agreed), or narrows the work first."""
    if (
        resource.kind == STUDENT_WORK
        and resource.visibility != Visibility.SCHOOL.value
        and resource.student_consent == StudentConsent.NOT_NEEDED_ANONYMOUS.value
        and restated is None
    ):
        raise _consent_needed(
            _(
                "This student's work is shared as anonymous, and the "
                "new file will be shared the same way: send `student_consent` "
                "'not_needed_anonymous' with it if it shows no student's name or face "
                "either, or 'parents' if the parents agreed. Otherwise change its visibility "
                "to 'school' first."
            )
        )


def require_consent_to_leave(
    identity: Identity, resource: Resource, scope: ReuseScope | None = None
) -> None:
    """A student's work is never forwarded, shared or published without consent on file.
    `scope` None is a forward; `adapt` stays inside the receiving school and needs none
    beyond what reading it needs."""
    if scope is ReuseScope.ADAPT or consent_on_file(resource.kind, resource.student_consent):
        return
    key = "forward" if scope is None else scope.value
    if is_owner_school(identity, resource):
        raise _consent_needed(str(_NO_CONSENT_HERE[key]))
    raise _consent_needed(str(_NO_CONSENT_THERE[key]))


_NO_CONSENT_HERE: Mapping[str, LazyText] = {
    "share": lazy_gettext(
        "This student's work has no consent on file, so it cannot be shared. Record the "
        "consent (`student_consent` 'parents' or 'not_needed_anonymous') by editing the "
        "resource, then decide again."
    ),
    "publish": lazy_gettext(
        "This student's work has no consent on file, so it cannot be published. Record the "
        "consent (`student_consent` 'parents' or 'not_needed_anonymous') by editing the "
        "resource, then decide again."
    ),
    "forward": lazy_gettext(
        "This student's work has no consent on file, so it cannot be passed on. Record the "
        "consent (`student_consent` 'parents' or 'not_needed_anonymous') by editing the "
        "resource, then decide again."
    ),
}
_NO_CONSENT_THERE: Mapping[str, LazyText] = {
    "share": lazy_gettext(
        "This student's work has no consent on file at its school, so it cannot be shared: "
        "its school has to record that first."
    ),
    "publish": lazy_gettext(
        "This student's work has no consent on file at its school, so it cannot be "
        "published: its school has to record that first."
    ),
    "forward": lazy_gettext(
        "This student's work has no consent on file at its school, so it cannot be passed "
        "on: its school has to record that first."
    ),
}


# --- reuse requests (rules 6, 7, 9) -------------------------------------------------------


_CONFIDENTIAL: Mapping[ReuseScope, LazyText] = {
    ReuseScope.SHARE: lazy_gettext(
        "This resource is confidential and can never be shared further (code of conduct, "
        "rule 6): the schools it is shared with may read it, nothing more. You can still use "
        "it inside your school, or ask its authors for permission to adapt it. If you need "
        "something you can pass on, ask them for a version without the confidential content."
    ),
    ReuseScope.PUBLISH: lazy_gettext(
        "This resource is confidential and can never be published (code of conduct, rule "
        "6): the schools it is shared with may read it, nothing more. You can still use it "
        "inside your school, or ask its authors for permission to adapt it. If you need "
        "something you can publish, ask them for a version without the confidential content."
    ),
}


def _confidential_refusal(resource: Resource, scope: ReuseScope) -> RuleRefusal:
    return RuleRefusal(_CONFIDENTIAL.get(scope, _CONFIDENTIAL[ReuseScope.SHARE]), rule=6)


async def require_can_request(
    session: AsyncSession,
    identity: Identity,
    resource: Resource,
    scope: ReuseScope,
    now: datetime,
) -> None:
    """The caller (who can read the resource) may ask its authors for this scope."""
    if is_owner_school(identity, resource):
        raise InvalidInput(
            _(
                "Your school owns this resource: it needs no permission to use it. To share it "
                "with a partner, change its visibility or `shared_with`."
            )
        )
    if resource.confidential and scope is not ReuseScope.ADAPT:
        raise _confidential_refusal(resource, scope)
    require_consent_to_leave(identity, resource, scope)
    if licence_grants(resource):
        raise Conflict(
            _(
                "Its licence ({licence}) already lets every school that can read it adapt, share "
                "and publish it, with credit to its authors: no request is needed.",
                licence=resource.licence,
            )
        )
    grant = await grant_in_hand(session, identity.school_id, resource, scope, now)
    if grant is not None:
        held = str(_HELD[scope])
        if grant.expires_at:
            held += " " + _(
                "The permission lasts until {date}.", date=grant.expires_at.date().isoformat()
            )
        raise Conflict(held)


_HELD: Mapping[ReuseScope, LazyText] = {
    ReuseScope.ADAPT: lazy_gettext(
        "Your school already holds permission to adapt this resource; the resource's page "
        "lists the permissions."
    ),
    ReuseScope.SHARE: lazy_gettext(
        "Your school already holds permission to share this resource; the resource's page "
        "lists the permissions."
    ),
    ReuseScope.PUBLISH: lazy_gettext(
        "Your school already holds permission to publish this resource; the resource's page "
        "lists the permissions."
    ),
}


# --- forwarding (rules 6, 7) --------------------------------------------------------------


async def require_can_forward(
    session: AsyncSession,
    identity: Identity,
    resource: Resource,
    to_school_id: UUID,
    now: datetime,
) -> Grant | None:
    """The caller's school may pass the (readable) resource to `to_school_id`.

    Returns the `share` grant the forward rests on, or None when it rests on an open
    licence.
    """
    if is_owner_school(identity, resource):
        raise InvalidInput(
            _(
                "Your school owns this resource: share it by changing its visibility, or name the "
                "partner in `shared_with` with visibility 'selected'."
            )
        )
    if resource.confidential:
        raise _confidential_refusal(resource, ReuseScope.SHARE)
    require_consent_to_leave(identity, resource)
    grant = await grant_in_hand(session, identity.school_id, resource, ReuseScope.SHARE, now)
    if grant is None and not licence_grants(resource):
        raise RuleRefusal(
            _(
                "Your school may read this resource but not pass it on: the code of conduct "
                "(rule 7) asks for its authors' permission first. Ask the authors for "
                "permission to share it."
            ),
            rule=7,
        )
    if to_school_id == identity.school_id:
        raise InvalidInput(_("Your school already has this resource; name a partner school."))
    if not await are_active_partners(session, identity.school_id, to_school_id):
        raise RuleRefusal(
            _(
                "You can pass a resource on only to a school your school is in an active "
                "partnership with (code of conduct, rule 7). Invite the school to a partnership "
                "first if it is not your partner yet."
            ),
            rule=7,
        )
    if await school_can_read(session, to_school_id, resource.id, now):
        raise Conflict(_("That school can already read this resource; nothing to forward."))
    return grant


# --- derived resources (rule 7) -----------------------------------------------------------


async def check_derivation(
    session: AsyncSession,
    identity: Identity,
    original_id: UUID,
    visibility: str,
    *,
    now: datetime | None = None,
) -> tuple[Resource, int]:
    """May the caller upload a resource derived from `original_id` with this visibility?

    Returns the original and the number of its current version (the one adapted).
    NotFound when the caller cannot read the original; RuleRefusal (rule 7, or rule 6
    for a confidential original made visible beyond the school) otherwise.
    """
    at = _at(now)
    original = await readable_resource(session, identity, original_id, now=at)
    if not is_owner_school(identity, original):
        if not licence_grants(original) and (
            await grant_in_hand(session, identity.school_id, original, ReuseScope.ADAPT, at) is None
        ):
            raise RuleRefusal(
                _(
                    "Adapting a partner's resource needs its authors' permission (code of "
                    "conduct, rule 7). Ask the authors for permission to adapt it first."
                ),
                rule=7,
            )
        if visibility != Visibility.SCHOOL.value:
            if original.confidential:
                raise RuleRefusal(
                    _(
                        "The original is confidential (code of conduct, rule 6): what is adapted "
                        "from it stays inside your school. Upload it with visibility 'school'."
                    ),
                    rule=6,
                )
            if not licence_grants(original) and (
                await grant_in_hand(session, identity.school_id, original, ReuseScope.SHARE, at)
                is None
            ):
                raise RuleRefusal(
                    _(
                        "You may adapt this resource for your own school, but showing the "
                        "adaptation to other schools passes the original on, which needs its "
                        "authors' permission (code of conduct, rule 7). Upload it with visibility "
                        "'school', or ask the authors for permission to share it."
                    ),
                    rule=7,
                )
    if original.current_version_number < 1:
        raise InvalidInput(_("The original has no stored version yet; try again in a moment."))
    return original, original.current_version_number


# --- the audit trail ----------------------------------------------------------------------


def require_audit_reader(identity: Identity) -> None:
    require_admin(
        identity,
        _("Only an admin of your school can read the audit trail. Ask your school's admin."),
    )


def can_read_download_report(identity: Identity, resource: Resource) -> bool:
    """Who downloaded my resource: its authors and the owner school's admins."""
    return can_edit(identity, resource)


__all__ = [
    "active_partnership_between",
    "activities_of_active_partnerships",
    "are_active_partners",
    "audits_reads_by",
    "cache_control_for",
    "can_decide",
    "can_edit",
    "check_confidential_licence",
    "check_derivation",
    "check_shared_with",
    "consent_on_file",
    "default_visibility",
    "directly_readable",
    "forward_reach",
    "forward_stands",
    "grant_in_force",
    "grant_in_hand",
    "holds_grant",
    "is_author",
    "is_owner_admin",
    "is_owner_school",
    "readable_by_caller",
    "readable_by_school",
    "readable_resource",
    "readable_resources",
    "reading_parameters",
    "reads_self_assessment",
    "require_activity_evaluator",
    "require_activity_planner",
    "require_admin",
    "require_audit_reader",
    "require_can_decide",
    "require_can_edit",
    "require_can_forward",
    "require_can_request",
    "require_consent_to_leave",
    "require_partnership_takes_activities",
    "school_can_read",
    "self_assessment_partnerships",
    "student_work_visibility",
]
