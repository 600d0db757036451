"""How an answer names a school or a member it mentions, and the one loader of those
names: every domain shows `{"id", "name"}` for a school and `{"id", "full_name"}` for
a member, fetched once per answer whatever the number of rows that mention them."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec
from sqlalchemy import Executable, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange.i18n import lazy_gettext
from exchange.models import Member, School

# Schools and members are never deleted (members are disabled), so these show only for
# an id that was never one: a row written by hand, or a database restored in part. They
# are written in the language of the answer that shows them.
FORMER_SCHOOL = lazy_gettext("(a former school)")
FORMER_MEMBER = lazy_gettext("(a former member)")


class SchoolRef(msgspec.Struct):
    """A school an answer mentions."""

    id: UUID
    name: str


class MemberRef(msgspec.Struct):
    """A member an answer mentions (an author, who asked, who decided...)."""

    id: UUID
    full_name: str


class Names:
    """School and member names, fetched once per answer."""

    def __init__(self, schools: dict[UUID, str], members: dict[UUID, str]) -> None:
        self.schools = schools
        self.members = members

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        *,
        schools: Iterable[UUID | None] = (),
        members: Iterable[UUID | None] = (),
    ) -> Names:
        school_names, member_names = [
            {row.id: row.name for row in await session.execute(*query)} if query else {}
            for query in _queries(schools, members)
        ]
        return cls(school_names, member_names)

    @classmethod
    def load_in(
        cls,
        db: Session,
        *,
        schools: Iterable[UUID | None] = (),
        members: Iterable[UUID | None] = (),
    ) -> Names:
        """`load` for code already running in `AsyncSession.run_sync`."""
        school_names, member_names = [
            {row.id: row.name for row in db.execute(*query)} if query else {}
            for query in _queries(schools, members)
        ]
        return cls(school_names, member_names)

    def school(self, school_id: UUID) -> SchoolRef:
        return SchoolRef(id=school_id, name=self.schools.get(school_id) or FORMER_SCHOOL.render())

    def member(self, member_id: UUID | None) -> MemberRef | None:
        if member_id is None:
            return None
        return MemberRef(
            id=member_id, full_name=self.members.get(member_id) or FORMER_MEMBER.render()
        )

    def members_of(self, member_ids: Iterable[UUID]) -> list[MemberRef]:
        """`member_ids` as refs, ordered by name (then id), as lists of people are shown."""
        refs = [
            MemberRef(id=member_id, full_name=self.members.get(member_id) or FORMER_MEMBER.render())
            for member_id in member_ids
        ]
        return sorted(refs, key=lambda ref: (ref.full_name.casefold(), str(ref.id)))


def _queries(
    schools: Iterable[UUID | None], members: Iterable[UUID | None]
) -> tuple[tuple[Executable, dict[str, list[UUID]]] | None, ...]:
    school_ids = list({s for s in schools if s is not None})
    member_ids = list({m for m in members if m is not None})
    return (
        (_SCHOOL_NAMES, {"ids": school_ids}) if school_ids else None,
        (_MEMBER_NAMES, {"ids": member_ids}) if member_ids else None,
    )


# Built once, the ids a parameter: an answer asks for names on every request.
_SCHOOL_NAMES = select(School.id, School.name.label("name")).where(
    School.id.in_(bindparam("ids", expanding=True))
)
_MEMBER_NAMES = select(Member.id, Member.full_name.label("name")).where(
    Member.id.in_(bindparam("ids", expanding=True))
)
