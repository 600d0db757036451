"""Derived resources (rule 7), the policy's side: adapting needs an adapt grant or an
open licence, and showing the adaptation beyond the school also needs share. The upload
endpoint and the provenance it shows are tested in test_conduct_through_uploads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exchange.errors import NotFound, RuleRefusal
from exchange.policy import check_derivation
from tests.clock import ManualClock
from tests.conduct_fixtures import (
    Ground,
    grant_by_request,
    ground,
    identity_of,
    sister_schools,
)

# On SQLite and PostgreSQL: provenance is read under the rules, in SQL.
pytestmark = pytest.mark.every_database

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
        assert "permission to adapt it" in refused.value.detail
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "adapt")
    async with ground.session() as session:
        original, version = await check_derivation(
            session, b, cast.resource_id, "school", now=clock.now()
        )
        assert (original.id, version) == (cast.resource_id, 3)
        with pytest.raises(RuleRefusal) as refused:
            await check_derivation(session, b, cast.resource_id, "partners", now=clock.now())
        assert refused.value.code_of_conduct_rule == 7
        assert "permission to share it" in refused.value.detail
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    async with ground.session() as session:
        original, version = await check_derivation(
            session, b, cast.resource_id, "selected", now=clock.now()
        )
    assert (original.id, version) == (cast.resource_id, 3)


async def test_an_open_licence_pre_grants_adapting_and_sharing(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground, licence="cc-by-nc")
    async with ground.session() as session:
        original, version = await check_derivation(
            session, identity_of(cast.b_teacher), cast.resource_id, "partners", now=clock.now()
        )
    assert (original.id, original.licence, version) == (cast.resource_id, "cc-by-nc", 1)


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
        original, version = await check_derivation(
            session, b, cast.resource_id, "school", now=clock.now()
        )
        assert (original.id, original.confidential, version) == (cast.resource_id, True, 1)
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
        original, version = await check_derivation(
            session, identity_of(cast.colleague), cast.resource_id, "partners", now=clock.now()
        )
    assert (original.id, original.owner_school_id, version) == (cast.resource_id, cast.a.id, 1)
