"""Partnerships and resources put straight into the database, for the code-of-conduct
tests: what the partnership and upload endpoints create, without going through them."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from exchange.accounts import passwords
from exchange.accounts.identity import Identity, new_token, token_digest
from exchange.clock import Clock
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import (
    AccessToken,
    Member,
    MemberRole,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ResourceVersion,
    ReuseRequest,
    School,
)
from exchange.reuse.partnership_end import end_what_rested_on_the_partnership
from exchange.unit_of_work import unit_of_work
from tests.actors import PASSWORD, Actor, SchoolHandle
from tests.background import run_escalation


@cache
def _password_hash(hasher: PasswordHasher) -> str:
    """One hash of `PASSWORD` for every member made here, by the hasher in use (the tests'
    cheap one): a hash with production parameters costs a fifth of a second of CPU at each
    sign-in and each password change that checks it."""
    return hasher.hash(PASSWORD)


_numbers = itertools.count(1)


@dataclass
class QuickSchool:
    """A school made straight in the database, with its admin signed in."""

    ground: Ground
    id: UUID
    name: str
    admin: Actor

    async def teacher(self, full_name: str | None = None) -> Actor:
        return await self.ground.member(self, "teacher", full_name=full_name)

    async def add_member(self, role: str = "teacher") -> Actor:
        return await self.ground.member(self, role)


SchoolLike = SchoolHandle | QuickSchool | Actor | UUID


def school_id_of(school: SchoolLike) -> UUID:
    if isinstance(school, UUID):
        return school
    if isinstance(school, SchoolHandle | QuickSchool):
        return school.id
    return school.school_id


class Ground:
    def __init__(self, settings: Settings, clock: Clock, client: AsyncTestClient[Litestar]) -> None:
        self.settings = settings
        self.clock = clock
        self.client = client
        self.engine: AsyncEngine = create_engine(settings)
        self.sessions = create_session_factory(
            self.engine, settings, consequences=build_consequences()
        )

    async def run_escalation(self) -> int:
        """Run the periodic jobs as a worker does when they are due (the escalation of
        overdue requests and questions); returns how many jobs ran."""
        return await run_escalation(self.client.app)

    async def school(self, name: str | None = None) -> QuickSchool:
        number = next(_numbers)
        name = name or f"School {number}"
        async with self.session() as session:
            # Their mail and notices are written in English unless a test says otherwise
            # (a school's first language is its members' default).
            school = School(name=name, region="Chui", languages=["en"], search_text=name.casefold())
            session.add(school)
            await session.commit()
            school_id = school.id
        quick = QuickSchool(self, school_id, name, admin=None)  # type: ignore[arg-type]
        quick.admin = await self.member(quick, "admin", full_name=f"Director of {name}")
        return quick

    async def member(self, school: SchoolLike, role: str, *, full_name: str | None = None) -> Actor:
        """A member with a bearer token that lasts as long as any test moves the clock."""
        number = next(_numbers)
        email = f"{role}{number}@quick{number}.kg"
        token = new_token()
        async with self.session() as session:
            member = Member(
                school_id=school_id_of(school),
                email=email,
                full_name=full_name or f"{role.title()} {number}",
                role=role,
                password_hash=_password_hash(passwords.hasher),
            )
            session.add(member)
            await session.flush()
            session.add(
                AccessToken(
                    member_id=member.id,
                    token_hash=token_digest(token),
                    expires_at=self.clock.now() + timedelta(days=3650),
                )
            )
            await session.commit()
            return Actor(
                client=self.client,
                school_id=member.school_id,
                member_id=member.id,
                email=email,
                role=role,
                token=token,
            )

    async def close(self) -> None:
        await self.engine.dispose()

    def session(self) -> AsyncSession:
        return self.sessions()  # type: ignore[no-any-return]

    async def partnership(
        self, inviting: SchoolLike, invited: SchoolLike, status: str = "active"
    ) -> UUID:
        a, b = school_id_of(inviting), school_id_of(invited)
        now = self.clock.now()
        open_pair = ":".join(sorted([str(a), str(b)]))
        async with self.session() as session:
            partnership = Partnership(
                inviting_school_id=a,
                invited_school_id=b,
                status=status,
                open_pair=open_pair if status in {"invited", "active"} else None,
                language="en",
                inviter_conduct_version=1,
                invited_at=now,
                accepter_conduct_version=1 if status in {"active", "ended"} else None,
                accepted_at=now if status in {"active", "ended"} else None,
                closed_at=now if status == "ended" else None,
            )
            session.add(partnership)
            await session.commit()
            return partnership.id

    async def end_partnership(self, partnership_id: UUID) -> int:
        """End it as the partnership service does: what rests on it ends in the
        same transaction. Returns how many requests they closed."""
        async with self.session() as session:
            partnership = await session.get_one(Partnership, partnership_id)
            partnership.status = PartnershipStatus.ENDED.value
            partnership.open_pair = None
            partnership.closed_at = self.clock.now()
            closed = select(func.count()).where(ReuseRequest.status == "closed")
            before = await session.scalar(closed)
            await end_what_rested_on_the_partnership(session, self.clock, partnership)
            after = await session.scalar(closed)
            await unit_of_work(session, self.clock).commit()
            return int(after or 0) - int(before or 0)

    async def resource(
        self,
        owner: SchoolLike,
        author: Actor | None = None,
        *,
        title: str = "Fractions for grade 5",
        visibility: str = "partners",
        shared_with: Iterable[SchoolLike] = (),
        confidential: bool = False,
        licence: str = "all_rights_reserved",
        kind: str = "lesson_plan",
        derived_from: UUID | None = None,
        derived_from_version: int | None = None,
        created_at: datetime | None = None,
        versions: int = 1,
    ) -> UUID:
        owner_id = school_id_of(owner)
        async with self.session() as session:
            moment = created_at or self.clock.now()
            resource = Resource(
                owner_school_id=owner_id,
                created_by_id=author.member_id if author else None,
                kind=kind,
                title=title,
                visibility=visibility,
                confidential=confidential,
                licence=licence,
                derived_from_id=derived_from,
                derived_from_version=derived_from_version,
                current_version_number=versions,
                created_at=moment,
                updated_at=moment,
            )
            if author is not None:
                resource.authors.append(ResourceAuthor(member_id=author.member_id))
            for school in shared_with:
                resource.shares.append(ResourceShare(school_id=school_id_of(school)))
            session.add(resource)
            await session.flush()
            for number in range(1, versions + 1):
                body = f"{title} v{number}".encode()
                session.add(
                    ResourceVersion(
                        resource_id=resource.id,
                        number=number,
                        blob_key=uuid.uuid4().hex,
                        original_name=f"{title}.txt",
                        media_type="text/plain",
                        size=len(body),
                        sha256=hashlib.sha256(body).hexdigest(),
                    )
                )
            await session.commit()
            return resource.id

    async def set_resource(self, resource_id: UUID, **values: object) -> None:
        async with self.session() as session:
            resource = await session.get_one(Resource, resource_id)
            for key, value in values.items():
                setattr(resource, key, value)
            await session.commit()

    async def scalar(self, statement: object) -> object:
        async with self.session() as session:
            return await session.scalar(statement)  # type: ignore[call-overload]

    async def all(self, statement: object) -> list[object]:
        async with self.session() as session:
            return list(await session.scalars(statement))  # type: ignore[call-overload]


@pytest.fixture
async def ground(
    settings: Settings, clock: Clock, client: AsyncTestClient[Litestar]
) -> AsyncIterator[Ground]:
    g = Ground(settings, clock, client)
    try:
        yield g
    finally:
        await g.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


__all__ = ["Ground", "ground", "school_id_of", "select", "utc"]


class Cast:
    """Owner school A (admin, an author, another teacher), its active partner B (admin,
    teacher) and a stranger school S, with one partners-visible resource of A."""

    def __init__(
        self,
        a: QuickSchool,
        author: Actor,
        colleague: Actor,
        b: QuickSchool,
        b_teacher: Actor,
        s: QuickSchool,
        partnership_id: UUID,
        resource_id: UUID,
    ) -> None:
        self.a = a
        self.author = author
        self.colleague = colleague
        self.b = b
        self.b_teacher = b_teacher
        self.s = s
        self.partnership_id = partnership_id
        self.resource_id = resource_id


async def sister_schools(ground: Ground, **resource: object) -> Cast:
    a = await ground.school("Osh School 5")
    author = await a.teacher("Aida Author")
    colleague = await a.teacher()
    b = await ground.school("Naryn Village School")
    b_teacher = await b.teacher()
    s = await ground.school("Stranger Lyceum")
    partnership_id = await ground.partnership(a, b)
    resource_id = await ground.resource(a, author, **resource)  # type: ignore[arg-type]
    return Cast(a, author, colleague, b, b_teacher, s, partnership_id, resource_id)


async def can_read(ground: Ground, school: SchoolLike, resource_id: UUID) -> bool:
    """What the policy says, at the ground's clock: the oracle every read endpoint uses."""
    from exchange.policy import school_can_read

    async with ground.session() as session:
        return await school_can_read(session, school_id_of(school), resource_id, ground.clock.now())


async def grant_by_request(
    ground: Ground,
    requester: Actor,
    decider: Actor,
    resource_id: UUID,
    scope: str,
    expires_at: datetime | None = None,
) -> str:
    """A request of `scope` approved over HTTP; returns the grant id."""
    created = await requester.post(
        f"/api/resources/{resource_id}/reuse-requests",
        json={"scope": scope, "purpose": "For our partner school", "audience": "Its teachers"},
    )
    assert created.status_code == 201, created.text
    decision: dict[str, object] = {"decision": "approve", "note": "Yes"}
    if expires_at is not None:
        decision["expires_at"] = expires_at.isoformat()
    decided = await decider.post(
        f"/api/reuse-requests/{created.json()['id']}/decision", json=decision
    )
    assert decided.status_code == 200, decided.text
    return str(decided.json()["grant_id"])


def identity_of(actor: Actor) -> Identity:
    """The Identity a request by `actor` would carry, for calling services directly."""
    return Identity(
        member_id=actor.member_id,
        school_id=actor.school_id,
        role=MemberRole(actor.role),
        email=actor.email,
        full_name=actor.email,
        token_id=uuid.uuid4(),
    )


async def upload(
    actor: Actor,
    *,
    title: str = "Fractions for grade 5",
    visibility: str = "partners",
    derived_from: UUID | str | None = None,
    confidential: bool = False,
    licence: str = "all_rights_reserved",
    kind: str = "lesson_plan",
    body: bytes | None = None,
    shared_with: Iterable[SchoolLike] = (),
) -> Any:
    """Upload through the real endpoint; returns the response."""
    data: dict[str, Any] = {
        "title": title,
        "kind": kind,
        "visibility": visibility,
        "confidential": "true" if confidential else "false",
        "licence": licence,
    }
    if derived_from is not None:
        data["derived_from"] = str(derived_from)
    listed = [str(school_id_of(school)) for school in shared_with]
    if listed:
        data["shared_with"] = listed
    content = body or f"{title}: a lesson in three parts.\n".encode()
    return await actor.post(
        "/api/resources", data=data, files={"file": ("plan.txt", content, "text/plain")}
    )
