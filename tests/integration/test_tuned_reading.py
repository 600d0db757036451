"""Every tuned variant of the read rule reads what the plain rule reads, on both databases.

The read rule is written once, as relations (`exchange.policy.table.READ`) whose facts in
other rows have one SQL form each (`exchange.policy.forms`). Lists and searches run it in
forms tuned for one known caller (`exchange.policy.tuned`). Hypothesis generates small
worlds of schools, partnerships in every status, resources of every visibility, names in
`shared_with`, grants in force, expired or withdrawn, and chains of forwards (on grants
or licences, cut or standing, in cycles), and each variant is compared with the plain
rule in each world, and what searches key their kept estimates on (`reach_of_caller`)
with the partners and forwards the plain forms find.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from exchange.accounts.identity import Identity
from exchange.config import Settings
from exchange.database import create_engine, create_session_factory
from exchange.models import (
    CodeOfConductVersion,
    Forward,
    Grant,
    Licence,
    MemberRole,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceShare,
    School,
    Visibility,
)
from exchange.policy import forms
from exchange.policy.reading import PLAIN, readable_by_school
from exchange.policy.relations import ForwardedTo, Who
from exchange.policy.tuned import (
    caller_and_partner_schools,
    forwarded_to_caller,
    reach_of_caller,
    readable_by_caller,
    readable_from_others_by_caller,
    readable_resources,
    reading_parameters,
)

# The subject is SQL: both databases.
pytestmark = pytest.mark.every_database

SCHOOLS = 4
NOW = datetime(2026, 3, 1, tzinfo=UTC)
LICENCES = [Licence.ALL_RIGHTS_RESERVED.value, Licence.CC_BY.value]
# A grant's end: none, past or future.
ENDS = [None, NOW - timedelta(days=1), NOW + timedelta(days=1)]


@dataclass(frozen=True)
class World:
    partnerships: dict[tuple[int, int], str]
    resources: list[tuple[int, str, bool, str]]
    shares: set[tuple[int, int]]
    grants: list[tuple[int, int, int, bool]]
    forwards: list[tuple[int, int, int, int | None, bool]]


def _pair(a: int, b: int) -> tuple[int, int]:
    return (min(a, b), max(a, b))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    school = st.integers(0, SCHOOLS - 1)
    pairs = [(a, b) for a in range(SCHOOLS) for b in range(a + 1, SCHOOLS)]
    partnerships = draw(
        st.dictionaries(st.sampled_from(pairs), st.sampled_from(list(PartnershipStatus)))
    )
    resources = draw(
        st.lists(
            st.tuples(
                school,
                st.sampled_from([v.value for v in Visibility]),
                st.booleans(),
                st.sampled_from(LICENCES),
            ),
            min_size=1,
            max_size=5,
        )
    )
    resource = st.integers(0, len(resources) - 1)
    shares = draw(st.sets(st.tuples(resource, school), max_size=6))
    grants = draw(
        st.lists(
            st.tuples(resource, school, st.integers(0, len(ENDS) - 1), st.booleans()), max_size=5
        )
    )
    grant = st.none() | st.integers(0, max(len(grants) - 1, 0)) if grants else st.none()
    forwards = draw(st.lists(st.tuples(resource, school, school, grant, st.booleans()), max_size=6))
    return World(
        {pair: status.value for pair, status in partnerships.items()},
        resources,
        shares,
        grants,
        forwards,
    )


def _identity(school_id: uuid.UUID) -> Identity:
    return Identity(
        member_id=uuid.uuid4(),
        school_id=school_id,
        role=MemberRole.TEACHER,
        email="t@school.kg",
        full_name="T",
        token_id=uuid.uuid4(),
    )


async def _store(session: AsyncSession, world: World) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    version = await session.scalar(select(func.min(CodeOfConductVersion.version)))
    if version is None:
        session.add(
            CodeOfConductVersion(
                version=1, title={}, preamble={}, rules=[], published_at=NOW - timedelta(days=9)
            )
        )
        version = 1
    schools = [School(id=uuid.uuid4(), name=f"School {n}") for n in range(SCHOOLS)]
    session.add_all(schools)
    await session.flush()
    for (a, b), status in world.partnerships.items():
        session.add(
            Partnership(
                inviting_school_id=schools[a].id,
                invited_school_id=schools[b].id,
                status=status,
                language="en",
                inviter_conduct_version=version,
                invited_at=NOW - timedelta(days=5),
            )
        )
    resources = [
        Resource(
            id=uuid.uuid4(),
            owner_school_id=schools[owner].id,
            kind="lesson_plan",
            title=f"R{n}",
            visibility=visibility,
            confidential=confidential,
            licence=licence,
        )
        for n, (owner, visibility, confidential, licence) in enumerate(world.resources)
    ]
    session.add_all(resources)
    await session.flush()
    session.add_all(
        ResourceShare(resource_id=resources[r].id, school_id=schools[s].id) for r, s in world.shares
    )
    grants = [
        Grant(
            id=uuid.uuid4(),
            resource_id=resources[r].id,
            school_id=schools[s].id,
            scope="share",
            expires_at=ENDS[end],
            revoked_at=NOW - timedelta(hours=1) if revoked else None,
        )
        for r, s, end, revoked in world.grants
    ]
    session.add_all(grants)
    await session.flush()
    session.add_all(
        Forward(
            resource_id=resources[r].id,
            from_school_id=schools[a].id,
            to_school_id=schools[b].id,
            grant_id=grants[g].id if g is not None else None,
            cut_at=NOW - timedelta(hours=2) if cut else None,
        )
        for r, a, b, g, cut in world.forwards
    )
    await session.flush()
    return [s.id for s in schools], [r.id for r in resources]


# What the generated worlds exercised, so that a generator that stopped making forwards
# that stand or `selected` reads fails rather than passes vacuously.
SEEN: Counter[str] = Counter()


async def _compare(session: AsyncSession, world: World) -> None:
    schools, resources = await _store(session, world)
    ours = School.id.in_(schools)
    plain = {
        (row[0], row[1])
        for row in await session.execute(
            select(School.id, Resource.id).where(ours, readable_by_school(School.id, NOW))
        )
    }
    plain_forwarded = {
        (row[0], row[1])
        for row in await session.execute(
            select(School.id, Resource.id).where(
                ours, ForwardedTo().sql(Resource, Who(school=School.id, terms=PLAIN, now=NOW))
            )
        )
    }
    other = aliased(School)
    plain_partners = {
        (row[0], row[1])
        for row in await session.execute(
            select(School.id, other.id).where(
                ours, other.id.in_(schools), forms.active_partnership(School.id, other.id)
            )
        )
    }
    for school_id in schools:
        identity = _identity(school_id)
        wanted = {r for s, r in plain if s == school_id}
        values = reading_parameters(identity, NOW)
        by_values = set(
            await session.scalars(select(Resource.id).where(readable_resources(identity, NOW)))
        )
        by_parameters = set(
            await session.scalars(select(Resource.id).where(readable_by_caller()), values)
        )
        assert by_values == wanted, (world, school_id)
        assert by_parameters == wanted, (world, school_id)
        forwarded = set(await session.scalars(forwarded_to_caller(), values))
        assert forwarded == {r for s, r in plain_forwarded if s == school_id}, (world, school_id)
        own = {
            resources[n]
            for n, (owner, *_rest) in enumerate(world.resources)
            if schools[owner] == school_id
        }
        SEEN["forwarded"] += bool(forwarded - own)
        SEEN["partner reads"] += bool(wanted - own - forwarded)
        # What searches key their kept estimates on: the active partners and the
        # forwards that reach the caller, exactly.
        reach = {tuple(row) for row in await session.execute(reach_of_caller(), values)}
        assert reach == {("partner", b) for a, b in plain_partners if a == school_id} | {
            ("forward", r) for r in forwarded
        }, (world, school_id)
        owners = set(await session.scalars(select(caller_and_partner_schools().subquery()), values))
        assert owners == {school_id} | {b for a, b in plain_partners if a == school_id}
        # The search's shortcut: every resource the caller reads is owned by one of these
        # schools or forwarded to it.
        owned_by = dict(
            (row[0], row[1])
            for row in await session.execute(
                select(Resource.id, Resource.owner_school_id).where(Resource.id.in_(wanted))
            )
        )
        assert all(owned_by[r] in owners or r in forwarded for r in wanted)
        # The dashboard's: what other schools shared that the caller may read.
        from_others = set(
            await session.scalars(
                select(Resource.id).where(readable_from_others_by_caller()), values
            )
        )
        assert from_others == {r for r in wanted if owned_by[r] != school_id}, (world, school_id)
        SEEN["read from others"] += bool(from_others)


def test_every_tuned_variant_reads_what_the_plain_rule_reads(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = create_session_factory(engine, settings)
    loop = asyncio.new_event_loop()

    async def one(world: World) -> None:
        async with sessions() as session:
            try:
                await _compare(session, world)
            finally:
                await session.rollback()

    @hypothesis_settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(worlds())
    def check(world: World) -> None:
        loop.run_until_complete(one(world))

    SEEN.clear()
    try:
        check()
        assert SEEN["forwarded"] > 0 and SEEN["partner reads"] > 0, SEEN
        assert SEEN["read from others"] > 0, SEEN
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
