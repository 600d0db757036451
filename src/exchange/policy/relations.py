"""Relations: the ways a caller stands to an object, each with its Python check and its
one SQL form.

A relation is checked against an object in hand (`check`) or written as a condition on
the object's table (`sql`), for lists and searches. The table of who may do what
(`exchange.policy.table`) combines them with `any_of` and `all_of`.

Some relations rest on other rows (an active partnership, `shared_with`, a standing
forward): their SQL form asks `Who.terms` for those facts, so one form serves the plain
rule (correlated, for any school) and the variants tuned for one known caller
(`exchange.policy.tuned`). Their truth for a loaded object is what the database says:
such objects are loaded through the condition (`exchange.policy.where`), never checked
afterwards in Python.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from exchange.accounts.identity import Identity
from exchange.models import ResourceAuthor, Visibility


class Terms(Protocol):
    """How a relation's SQL form names the facts that live in other rows."""

    def partners(self, a: Any, b: Any) -> ColumnElement[bool]:
        """Schools `a` and `b` are in an active partnership."""
        ...

    def listed(self, resource: Any, school: Any) -> ColumnElement[bool]:
        """The resource names the school in `shared_with`."""
        ...

    def forwarded(self, resource: Any, who: Who) -> ColumnElement[bool]:
        """A standing forward reaches the school with the resource."""
        ...


@dataclass(frozen=True)
class Who:
    """The caller in SQL: its school (an id, a column or a bound parameter), its member and
    role when known, the time a rule is judged at, and how facts in other rows are read."""

    school: Any
    terms: Terms
    now: Any = None
    member: Any = None
    is_admin: bool = False

    @classmethod
    def of(cls, identity: Identity, terms: Terms, now: Any = None) -> Who:
        return cls(
            school=identity.school_id,
            terms=terms,
            now=now,
            member=identity.member_id,
            is_admin=identity.is_admin,
        )


class DecidedInSql(TypeError):
    """A relation resting on other rows has no check in Python: load through `where`."""


@dataclass(frozen=True)
class Target:
    """What a check looks at: the object and, for what belongs to a resource (a request,
    a grant, a forward), that resource."""

    obj: Any
    resource: Any = None


class Relation:
    """One way to stand to an object."""

    # Rests on other rows (itself or any of its parts): checked only in SQL.
    in_sql_only = False

    def check(self, identity: Identity, target: Target) -> bool:
        raise DecidedInSql(type(self).__name__)

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        raise NotImplementedError

    def relations(self) -> Iterable[Relation]:
        yield self


@dataclass(frozen=True)
class _Combined(Relation):
    parts: tuple[Relation, ...]

    @property
    def in_sql_only(self) -> bool:  # type: ignore[override]
        return any(part.in_sql_only for part in self.parts)

    def relations(self) -> Iterable[Relation]:
        for part in self.parts:
            yield from part.relations()


@dataclass(frozen=True)
class AnyOf(_Combined):
    def check(self, identity: Identity, target: Target) -> bool:
        return any(part.check(identity, target) for part in self.parts)

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return or_(*(part.sql(model, who) for part in self.parts))

    def without(self, kind: type[Relation]) -> AnyOf:
        return AnyOf(tuple(part for part in self.parts if not isinstance(part, kind)))


@dataclass(frozen=True)
class AllOf(_Combined):
    def check(self, identity: Identity, target: Target) -> bool:
        return all(part.check(identity, target) for part in self.parts)

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return and_(*(part.sql(model, who) for part in self.parts))


def any_of(*parts: Relation) -> AnyOf:
    return AnyOf(parts)


def all_of(*parts: Relation) -> AllOf:
    return AllOf(parts)


# --- the caller's school and member ---------------------------------------------------------


@dataclass(frozen=True)
class School(Relation):
    """The caller's school is the object's `column` school (owner, requester, holder...)."""

    column: str

    def check(self, identity: Identity, target: Target) -> bool:
        return bool(getattr(target.obj, self.column) == identity.school_id)

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return getattr(model, self.column) == who.school  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Member(Relation):
    """The caller is the object's `column` member (who asked, who is told)."""

    column: str

    def check(self, identity: Identity, target: Target) -> bool:
        return bool(getattr(target.obj, self.column) == identity.member_id)

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return getattr(model, self.column) == who.member  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Admin(Relation):
    """The caller is an admin of their school (director, deputy head, coordinator)."""

    def check(self, identity: Identity, target: Target) -> bool:
        return identity.is_admin

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return true() if who.is_admin else false()


@dataclass(frozen=True)
class Responsible(Relation):
    """The caller is among the members responsible for the object (an activity): `target.obj`
    is the collection of their ids as text."""

    def check(self, identity: Identity, target: Target) -> bool:
        members: Collection[str] = target.obj
        return str(identity.member_id) in members


# --- a resource and what belongs to it --------------------------------------------------------


@dataclass(frozen=True)
class Author(Relation):
    """The caller is an author of the resource (in its owner school)."""

    def check(self, identity: Identity, target: Target) -> bool:
        resource = target.obj
        return resource.owner_school_id == identity.school_id and any(
            author.member_id == identity.member_id for author in resource.authors
        )

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return and_(
            model.owner_school_id == who.school,
            exists(
                select(ResourceAuthor.id).where(
                    ResourceAuthor.resource_id == model.id, ResourceAuthor.member_id == who.member
                )
            ),
        )


@dataclass(frozen=True)
class OfResource(Relation):
    """`relation` holds for the resource the object belongs to (a request, a grant...). In
    SQL the resource is joined to the object's statement."""

    relation: Relation

    @property
    def in_sql_only(self) -> bool:  # type: ignore[override]
        return self.relation.in_sql_only

    def check(self, identity: Identity, target: Target) -> bool:
        return self.relation.check(identity, Target(target.resource))

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        from exchange.models import Resource

        return self.relation.sql(Resource, who)


# --- reading a resource (rules 1 and 6): facts in other rows ---------------------------------


@dataclass(frozen=True)
class Partner(Relation):
    """The owner is an active partner of the caller's school, and the resource's visibility
    lets every partner read it."""

    visibility: str = Visibility.PARTNERS.value
    in_sql_only = True

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return and_(
            model.visibility == self.visibility,
            who.terms.partners(model.owner_school_id, who.school),
        )


@dataclass(frozen=True)
class Listed(Relation):
    """The owner is an active partner, and names the caller's school in `shared_with`
    (visibility `selected`)."""

    in_sql_only = True

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return and_(
            model.visibility == Visibility.SELECTED.value,
            who.terms.partners(model.owner_school_id, who.school),
            who.terms.listed(model, who.school),
        )


@dataclass(frozen=True)
class ForwardedTo(Relation):
    """A school that may pass the resource on forwarded it to the caller's school, and the
    forward stands (`exchange.policy.forms.forward_carries`), hop by hop."""

    in_sql_only = True

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return who.terms.forwarded(model, who)


@dataclass(frozen=True)
class Always(Relation):
    """Everyone signed in (a school's public profile)."""

    parts: tuple[()] = field(default=())

    def check(self, identity: Identity, target: Target) -> bool:
        return True

    def sql(self, model: Any, who: Who) -> ColumnElement[bool]:
        return true()
