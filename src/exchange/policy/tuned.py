"""The read rule tuned for one known caller, derived from the relations' SQL forms.

Lists and searches ask what one school may read among thousands of resources. The plain
rule (`exchange.policy.reading`) looks up partnerships for every row; here the same
relations (`exchange.policy.table.READ`) are written with their facts as sets keyed by the
caller, which a database builds once per statement and probes: the school's active
partners (an uncorrelated IN) and the resources forwarded to it, while `shared_with`
stays a lookup by key for the few `selected` resources a statement meets (rather than
every resource shared with the caller gathered first, thousands for a well-connected
school, in every statement).

Statements run on every request use `readable_by_caller`: the condition with the caller's
school and the time as bound parameters, built once per process (a recursive query in
part, it costs more to build and to walk for SQLAlchemy's cache key than to run), valued
at execution by `reading_parameters`.

The search's shortcuts rest on the same facts: `caller_and_partner_schools` holds every
owner whose resources the caller may read without a forward, `forwarded_to_caller` the
rest. `readable_from_others_by_caller` starts from them for what other schools shared
(the dashboard's new partner resources). `tests/integration/test_tuned_reading.py`
compares every variant with the plain rule over generated data, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    and_,
    bindparam,
    literal,
    or_,
    select,
    union_all,
)

from exchange.accounts.identity import Identity
from exchange.clock import SystemClock
from exchange.models import Grant, Member, Resource
from exchange.policy import forms
from exchange.policy.reading import forward_reach
from exchange.policy.relations import Who
from exchange.policy.table import POLICY, READ, Action


def at(now: datetime | None) -> datetime:
    # Services pass their injected clock's time; the fallback serves callers that have
    # none (a script), never tests of expiry.
    return now if now is not None else SystemClock().now()


def active_partner_ids(school: Any) -> CompoundSelect[tuple[UUID]]:
    """SQL: the ids of the schools in an active partnership with `school`: the form of
    `forms.active_partnership` solved for the other school.

    Not correlated with any outer row, so a database computes it once per statement and
    probes the result, where a correlated EXISTS would look up partnerships again for
    every candidate resource (a search weighs tens of thousands).
    """
    p = forms.PARTNERSHIPS
    return union_all(
        *(
            select(other).where(p.c.status == forms.ACTIVE, one == school)
            for one, other in forms.partnership_sides(p)
        )
    )


class CallerTerms:
    """Facts in other rows as sets keyed by the caller (`Who.school`)."""

    def partners(self, a: Any, b: Any) -> ColumnElement[bool]:
        return a.in_(active_partner_ids(b))  # type: ignore[no-any-return]

    def listed(self, resource: Any, school: Any) -> ColumnElement[bool]:
        return forms.listed(resource, school)

    def forwarded(self, resource: Any, who: Who) -> ColumnElement[bool]:
        return resource.id.in_(_forwarded_to(who.school, who.now))  # type: ignore[no-any-return]


CALLER = CallerTerms()


def _forwarded_to(school: Any, now: forms.Moment) -> Select[tuple[UUID]]:
    reach = forward_reach(now)
    return select(reach.c.resource_id).where(reach.c.school_id == school)


def readable_resources(identity: Identity, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL condition on Resource: the caller's school may read it, with its school and the
    time as values (pass the injected clock's `now`: grants expire by it)."""
    return READ.sql(Resource, Who(school=identity.school_id, terms=CALLER, now=at(now)))


# The caller's school and the time a reading is judged at, as bound parameters of
# `readable_by_caller`, valued by `reading_parameters`.
READER = "readable_by_school"
READ_AT = "readable_at"


def _reader() -> Any:
    return bindparam(READER, type_=Resource.__table__.c.owner_school_id.type)


def _read_at() -> Any:
    return bindparam(READ_AT, type_=Grant.__table__.c.expires_at.type)


@cache
def readable_by_caller() -> ColumnElement[bool]:
    """`readable_resources` with the caller's school and the time as bound parameters:
    execute every statement that uses it with `reading_parameters(identity, now)` (a
    statement run without them fails; it never reads more)."""
    return READ.sql(Resource, Who(school=_reader(), terms=CALLER, now=_read_at()))


def reading_parameters(identity: Identity, now: datetime | None = None) -> dict[str, Any]:
    """The values of `readable_by_caller`'s parameters for this caller. Pass the
    injected clock's `now`: grants expire by it."""
    return {READER: identity.school_id, READ_AT: at(now)}


@cache
def caller_and_partner_schools() -> CompoundSelect[tuple[UUID]]:
    """SQL: the caller's school and its active partners (`reading_parameters`' caller).
    The caller may read no resource of any other school except those forwarded to it
    (`forwarded_to_caller`): together they hold every resource `readable_by_caller`
    passes, and more (a partner's `school` resources), which lets a search start from
    these schools' resources when they are few."""
    caller = _reader()
    # One flat UNION ALL: SQLite takes no compound query in parentheses.
    return union_all(select(caller), *active_partner_ids(caller).selects)


@cache
def forwarded_to_caller() -> Select[tuple[UUID]]:
    """SQL: the resources forwarded to the caller's school, while the forwards stand."""
    return _forwarded_to(_reader(), _read_at())


@cache
def readable_from_others_by_caller() -> ColumnElement[bool]:
    """`readable_by_caller` for the resources of other schools than the caller's: owned
    by one of its active partners or forwarded to it (`caller_and_partner_schools`,
    `forwarded_to_caller`), and readable. The first two conditions hold for every
    resource of another school the rule passes; written out, they let a database start
    from the partners' resources (by the index of owner and time) instead of weighing
    the rule for every resource of every school."""
    caller = _reader()
    return and_(
        Resource.owner_school_id != caller,
        or_(
            Resource.owner_school_id.in_(active_partner_ids(caller)),
            Resource.id.in_(forwarded_to_caller()),
        ),
        readable_by_caller(),
    )


# The caller's member, for rules that name it (whose inbox, who asked), as a bound
# parameter of `caller_may`, valued by `caller_parameters`.
READING_MEMBER = "reading_member"


@cache
def caller_may(action: Action) -> ColumnElement[bool]:
    """`policy.where(identity, action)` with the caller's school, member and the time as
    bound parameters, built once per process: run every statement that uses it with
    `caller_parameters(identity, now)`. Only for a rule that does not ask the caller's
    role, which a bound parameter cannot carry into the rule's form."""
    rule = POLICY[action]

    def form(is_admin: bool) -> ColumnElement[bool]:
        who = Who(
            school=_reader(),
            terms=CALLER,
            now=_read_at(),
            member=bindparam(READING_MEMBER, type_=Member.__table__.c.id.type),
            is_admin=is_admin,
        )
        return rule.allowed.sql(rule.model, who)

    condition = form(False)
    if str(condition) != str(form(True)):
        raise ValueError(f"The rule of {action!r} depends on the caller's role.")
    return condition


def caller_parameters(identity: Identity, now: datetime | None = None) -> dict[str, Any]:
    """The values of `caller_may`'s (and `readable_by_caller`'s) parameters."""
    return {**reading_parameters(identity, now), READING_MEMBER: identity.member_id}


@cache
def reach_of_caller() -> CompoundSelect[tuple[str, UUID]]:
    """SQL: what decides whose resources the caller may read besides its own, as rows
    (what, id): its active partners (`partner`, their school) and the resources
    forwarded to it while the forwards stand (`forward`). While these rows stay the
    same, the caller reads no resource of a school that is neither its own nor named
    there (see `caller_and_partner_schools`); what it reads of those schools changes
    only with their resources themselves (a visibility, a name in `shared_with`, a
    grant's end). Searches key the estimates they keep on them (see
    `exchange.search.engines.run.Estimates`)."""
    partners = active_partner_ids(_reader()).subquery("partners")
    forwarded = forwarded_to_caller().subquery("forwarded")
    return union_all(
        select(literal("partner", String), partners.c[0]),
        select(literal("forward", String), forwarded.c.resource_id),
    )
