"""Provenance of a derived resource (rule 7): the chain of originals it adapts, each
with its title, school, authors and the exact version adapted, down to the first.

The credit is shown to whoever can read the derived resource, also for an original
they cannot read themselves (then without its id, so nothing links to a 404).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.clock import SystemClock
from exchange.models import Member, Resource, ResourceAuthor, School

MAX_DEPTH = 64


class ProvenanceSchool(msgspec.Struct):
    id: UUID
    name: str


class ProvenanceStep(msgspec.Struct):
    """One original up the chain; `version` is the version of it that was adapted."""

    depth: int
    resource_id: UUID | None
    readable: bool
    title: str
    school: ProvenanceSchool
    authors: list[str]
    version: int | None
    licence: str


async def provenance_chain(
    session: AsyncSession,
    identity: Identity,
    resource: Resource,
    *,
    now: datetime | None = None,
) -> list[ProvenanceStep]:
    """The originals of `resource`, nearest first; empty when it adapts nothing.

    Pass the injected clock's `now` (readability of each original depends on grants).
    """
    at = now if now is not None else SystemClock().now()
    steps: list[ProvenanceStep] = []
    seen = {resource.id}
    child = resource
    while child.derived_from_id is not None and len(steps) < MAX_DEPTH:
        original = await session.get(Resource, child.derived_from_id)
        if original is None or original.id in seen:
            break
        seen.add(original.id)
        readable = await policy.school_can_read(session, identity.school_id, original.id, at)
        school = await session.get(School, original.owner_school_id)
        names = list(
            await session.scalars(
                select(Member.full_name)
                .join(ResourceAuthor, ResourceAuthor.member_id == Member.id)
                .where(ResourceAuthor.resource_id == original.id)
                .order_by(ResourceAuthor.created_at, Member.full_name)
            )
        )
        steps.append(
            ProvenanceStep(
                depth=len(steps) + 1,
                resource_id=original.id if readable else None,
                readable=readable,
                title=original.title,
                school=ProvenanceSchool(
                    id=original.owner_school_id, name=school.name if school else "(a school)"
                ),
                authors=names + [name for name in original.co_authors if name not in names],
                version=child.derived_from_version,
                licence=original.licence,
            )
        )
        child = original
    return steps
