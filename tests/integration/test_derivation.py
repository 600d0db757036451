"""Derived resources (rule 7): adapting needs an adapt grant or an open licence, showing
the adaptation beyond the school also needs share, and the provenance chain credits
every original, two levels deep and more."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchange.clock import ManualClock
from exchange.errors import NotFound, RuleRefusal
from exchange.models import Resource
from exchange.policy import check_derivation
from exchange.provenance import provenance_chain
from tests.conduct_fixtures import (
    Ground,
    grant_by_request,
    ground,
    identity_of,
    sister_schools,
)

__all__ = ["ground"]


async def test_adapting_needs_an_adapt_grant_and_sharing_the_adaptation_a_share_grant(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground, versions=3)
    b = identity_of(cast.b_teacher)
    async with ground.session() as session:
        with pytest.raises(RuleRefusal) as refused:
            await check_derivation(session, b, cast.resource_id, "school", now=clock.now())
        assert refused.value.code_of_conduct_rule == 7
        assert "scope 'adapt'" in refused.value.detail
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "adapt")
    async with ground.session() as session:
        original, version = await check_derivation(
            session, b, cast.resource_id, "school", now=clock.now()
        )
        assert (original.id, version) == (cast.resource_id, 3)
        with pytest.raises(RuleRefusal) as refused:
            await check_derivation(session, b, cast.resource_id, "partners", now=clock.now())
        assert refused.value.code_of_conduct_rule == 7
        assert "scope 'share'" in refused.value.detail
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    async with ground.session() as session:
        await check_derivation(session, b, cast.resource_id, "selected", now=clock.now())


async def test_an_open_licence_pre_grants_adapting_and_sharing(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground, licence="cc-by-nc")
    async with ground.session() as session:
        await check_derivation(
            session, identity_of(cast.b_teacher), cast.resource_id, "partners", now=clock.now()
        )


async def test_what_a_school_cannot_read_it_cannot_adapt(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground, licence="cc0")
    async with ground.session() as session:
        with pytest.raises(NotFound):
            await check_derivation(
                session, identity_of(cast.s.admin), cast.resource_id, "school", now=clock.now()
            )


async def test_an_adaptation_of_a_confidential_original_stays_inside_the_school(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground, kind="policy", confidential=True)
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "adapt")
    b = identity_of(cast.b_teacher)
    async with ground.session() as session:
        await check_derivation(session, b, cast.resource_id, "school", now=clock.now())
        with pytest.raises(RuleRefusal) as refused:
            await check_derivation(session, b, cast.resource_id, "partners", now=clock.now())
        assert refused.value.code_of_conduct_rule == 6


async def test_an_expired_adapt_grant_no_longer_allows_adapting(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    await grant_by_request(
        ground,
        cast.b_teacher,
        cast.author,
        cast.resource_id,
        "adapt",
        expires_at=clock.now() + timedelta(days=7),
    )
    clock.advance(timedelta(days=8))
    async with ground.session() as session:
        with pytest.raises(RuleRefusal):
            await check_derivation(
                session, identity_of(cast.b_teacher), cast.resource_id, "school", now=clock.now()
            )


async def test_the_owner_adapts_its_own_resource_freely(ground: Ground, clock: ManualClock) -> None:
    cast = await sister_schools(ground)
    async with ground.session() as session:
        await check_derivation(
            session, identity_of(cast.colleague), cast.resource_id, "partners", now=clock.now()
        )


async def test_provenance_credits_every_original_two_levels_deep(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground, title="Fractions, the original", versions=2)
    async with ground.session() as session:
        original = await session.get_one(Resource, cast.resource_id)
        original.co_authors = ["Gulnara (retired)"]
        await session.commit()
    # B adapts A's version 2 and keeps it inside B; C (B's partner) adapts B's version 1.
    adaptation = await ground.resource(
        cast.b,
        cast.b_teacher,
        title="Fractions in Kyrgyz",
        visibility="partners",
        licence="cc-by",
        derived_from=cast.resource_id,
        derived_from_version=2,
    )
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(cast.b, c)
    c_teacher = await c.teacher("Chyngyz")
    second = await ground.resource(
        c,
        c_teacher,
        title="Fractions with games",
        derived_from=adaptation,
        derived_from_version=1,
    )
    async with ground.session() as session:
        resource = await session.get_one(Resource, second)
        own_view = await provenance_chain(
            session, identity_of(c_teacher), resource, now=clock.now()
        )
        owner_view = await provenance_chain(
            session, identity_of(cast.a.admin), resource, now=clock.now()
        )
    assert [(s.depth, s.title, s.school.name, s.version) for s in own_view] == [
        (1, "Fractions in Kyrgyz", "Naryn Village School", 1),
        (2, "Fractions, the original", "Osh School 5", 2),
    ]
    assert own_view[1].authors == ["Aida Author", "Gulnara (retired)"]
    # C reads B's adaptation (B's partner) but not A's original: credit without a link.
    assert own_view[0].readable and own_view[0].resource_id == adaptation
    assert not own_view[1].readable and own_view[1].resource_id is None
    assert owner_view[1].readable and owner_view[1].resource_id == cast.resource_id


async def test_a_resource_that_adapts_nothing_has_no_provenance(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    async with ground.session() as session:
        resource = await session.get_one(Resource, cast.resource_id)
        assert await provenance_chain(session, identity_of(cast.b_teacher), resource) == []
