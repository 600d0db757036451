"""Forwarding: a school holding a `share` grant passes a partner's resource on to one
of its own active partners (rule 7). The chain owner → B → C is recorded and shown."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, select

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.domain_service import DomainService
from exchange.errors import RuleRefusal
from exchange.events import ForwardRefused, ResourceForwarded
from exchange.i18n import _
from exchange.kernel.refs import Names, SchoolRef
from exchange.models import Forward, Grant, Resource
from exchange.reuse import reasons
from exchange.reuse.schemas import ForwardChain, ForwardIn, ForwardOut
from exchange.unit_of_work import unit_of_work


class ForwardService(DomainService):
    async def forward(self, identity: Identity, resource_id: UUID, data: ForwardIn) -> ForwardOut:
        now = self.clock.now()
        resource = await policy.readable_resource(self.session, identity, resource_id, now=now)
        try:
            grant = await policy.require_can_forward(
                self.session, identity, resource, data.school_id, now
            )
        except RuleRefusal as refusal:
            # The refusal is the answer, and is committed on its own before it is raised.
            uow = unit_of_work(self.session, self.clock)
            uow.record(
                ForwardRefused(identity, resource, data.school_id, refusal.code_of_conduct_rule)
            )
            await uow.commit()
            raise
        forward = Forward(
            resource_id=resource.id,
            from_school_id=identity.school_id,
            to_school_id=data.school_id,
            grant_id=grant.id if grant else None,
            forwarded_by_id=identity.member_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(forward)
        await self.session.flush()
        uow = unit_of_work(self.session, self.clock)
        uow.record(
            ResourceForwarded(
                actor=identity,
                forward=forward,
                resource=resource,
                details={
                    "forward_id": str(forward.id),
                    "from_school_id": str(identity.school_id),
                    "to_school_id": str(data.school_id),
                    "grant_id": str(grant.id) if grant else None,
                    "licence": resource.licence if grant is None else None,
                },
            )
        )
        await uow.commit()
        chain = await self._chain(identity, resource, now)
        return next(item for item in chain.forwards if item.id == forward.id)

    async def chain(self, identity: Identity, resource_id: UUID) -> ForwardChain:
        now = self.clock.now()
        resource = await policy.readable_resource(self.session, identity, resource_id, now=now)
        return await self._chain(identity, resource, now)

    async def _chain(self, identity: Identity, resource: Resource, now: datetime) -> ForwardChain:
        """Every forward for the owner school; for another school, the forwards it made
        or received."""
        carrying = and_(
            policy.forward_stands(Forward, Resource, now),
            policy.readable_by_school(Forward.from_school_id, now, Resource),
        )
        rows = (
            await self.session.execute(
                select(Forward, carrying.label("standing"))
                .join(Resource, Resource.id == Forward.resource_id)
                .where(Forward.resource_id == resource.id)
                .order_by(Forward.created_at, Forward.id)
            )
        ).all()
        forwards: list[tuple[Forward, bool]] = [(f, bool(standing)) for f, standing in rows]
        names = await Names.load(
            self.session,
            schools=[resource.owner_school_id]
            + [s for f, _ in forwards for s in (f.from_school_id, f.to_school_id)]
            + reasons.schools_named(f.cut_reason for f, _ in forwards),
            members=[f.forwarded_by_id for f, _ in forwards],
        )
        why_cut = {
            f.id: await self._cut_reason(f, resource, names, now) for f, ok in forwards if not ok
        }
        # Who passed it to each school: the standing forward if there is one.
        into: dict[UUID, Forward] = {}
        for f, ok in forwards:
            if ok or f.to_school_id not in into:
                into[f.to_school_id] = f

        def path_to(school_id: UUID, seen: frozenset[UUID]) -> list[SchoolRef]:
            hop = into.get(school_id)
            if school_id == resource.owner_school_id or hop is None or school_id in seen:
                if school_id == resource.owner_school_id:
                    return [names.school(school_id)]
                return [names.school(resource.owner_school_id), names.school(school_id)]
            return [*path_to(hop.from_school_id, seen | {school_id}), names.school(school_id)]

        items = [
            ForwardOut(
                id=f.id,
                from_school=names.school(f.from_school_id),
                to_school=names.school(f.to_school_id),
                forwarded_by=names.member(f.forwarded_by_id),
                created_at=f.created_at,
                grant_id=f.grant_id,
                standing=ok,
                cut_reason=why_cut.get(f.id),
                cut_at=f.cut_at,
                path=[*path_to(f.from_school_id, frozenset()), names.school(f.to_school_id)],
            )
            for f, ok in forwards
            if policy.permits(identity, policy.Action.READ_FORWARD, f, resource=resource)
        ]
        return ForwardChain(
            resource_id=resource.id,
            owner_school=names.school(resource.owner_school_id),
            forwards=items,
        )

    async def _cut_reason(
        self, forward: Forward, resource: Resource, names: Names, now: datetime
    ) -> str:
        """Why a forward no longer stands, in the reader's language: as stored when it was
        cut, else what took its footing away since."""
        if forward.cut_at is not None:
            return reasons.cut_in_words(forward.cut_reason, names) or _("It was stopped.")
        if resource.confidential:
            return _(
                "The resource is confidential now; confidential resources are never passed on."
            )
        if forward.grant_id is None:
            if not policy.licence_grants(resource):
                return _("The resource's open licence was withdrawn.")
        else:
            grant = await self.session.get(Grant, forward.grant_id)
            if grant is None or grant.revoked_at is not None:
                return _("The share permission was withdrawn.")
            if grant.expires_at is not None and grant.expires_at <= now:
                return _("The share permission expired on {day}.", day=grant.expires_at)
        from_school = names.school(forward.from_school_id).name
        if not await policy.are_active_partners(
            self.session, forward.from_school_id, forward.to_school_id
        ):
            return _(
                "{school_a} and {school_b} are no longer active partners.",
                school_a=from_school,
                school_b=names.school(forward.to_school_id).name,
            )
        return _("{school} can no longer read the resource.", school=from_school)
