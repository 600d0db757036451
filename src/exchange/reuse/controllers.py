"""HTTP routes of reuse requests, grants and forwards: thin, they parse and call services."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from exchange.accounts.identity import Identity
from exchange.kernel import paging
from exchange.openapi import problems
from exchange.reuse.forwards import ForwardService
from exchange.reuse.grants import GrantService
from exchange.reuse.requests import ReuseRequestService
from exchange.reuse.schemas import (
    DecisionIn,
    ForwardChain,
    ForwardIn,
    ForwardOut,
    GrantOut,
    GrantPage,
    ReuseRequestCreate,
    ReuseRequestList,
    ReuseRequestOut,
)

RequestStatus = Literal["pending", "approved", "denied", "withdrawn", "closed"]


class ResourceReuseController(Controller):
    """Reuse of one resource: asking, its grants, forwarding it and the forward chain."""

    path = "/api/resources/{resource_id:uuid}"
    tags = ["reuse"]
    dependencies = {
        "requests": Provide(ReuseRequestService, sync_to_thread=False),
        "grants": Provide(GrantService, sync_to_thread=False),
        "forwards": Provide(ForwardService, sync_to_thread=False),
    }

    @post(
        "/reuse-requests",
        operation_id="createReuseRequest",
        responses=problems(409),
        summary="Ask the authors for permission to adapt, share or publish",
        status_code=HTTP_201_CREATED,
    )
    async def create_request(
        self,
        requests: NamedDependency[ReuseRequestService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
        data: JSONBody[ReuseRequestCreate],
    ) -> ReuseRequestOut:
        return await requests.create(identity, resource_id, data)

    @get(
        "/grants",
        operation_id="listGrants",
        summary="Who may do what with this resource, and why (request or licence)",
    )
    async def list_grants(
        self,
        grants: NamedDependency[GrantService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> GrantPage:
        return await grants.list(identity, resource_id, limit=limit, cursor=cursor)

    @post(
        "/grants/{grant_id:uuid}/revoke",
        operation_id="revokeGrant",
        responses=problems(409),
        summary="Withdraw a permission; a share permission's forwards are cut",
        status_code=HTTP_200_OK,
    )
    async def revoke_grant(
        self,
        grants: NamedDependency[GrantService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
        grant_id: FromPath[UUID],
    ) -> GrantOut:
        return await grants.revoke(identity, resource_id, grant_id)

    @post(
        "/forward",
        operation_id="forwardResource",
        responses=problems(409),
        summary="Pass a partner's resource on to one of your partners (needs a share grant)",
        status_code=HTTP_201_CREATED,
    )
    async def forward(
        self,
        forwards: NamedDependency[ForwardService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
        data: JSONBody[ForwardIn],
    ) -> ForwardOut:
        return await forwards.forward(identity, resource_id, data)

    @get(
        "/forwards",
        operation_id="listForwards",
        summary="The forward chain: owner → school → school",
    )
    async def list_forwards(
        self,
        forwards: NamedDependency[ForwardService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
    ) -> ForwardChain:
        return await forwards.chain(identity, resource_id)


class ReuseRequestController(Controller):
    path = "/api/reuse-requests"
    tags = ["reuse"]
    dependencies = {"requests": Provide(ReuseRequestService, sync_to_thread=False)}

    @get(
        operation_id="listReuseRequests",
        summary="Requests to answer (incoming) or awaiting an answer (outgoing)",
    )
    async def list(
        self,
        requests: NamedDependency[ReuseRequestService],
        identity: NamedDependency[Identity],
        direction: FromQuery[Literal["incoming", "outgoing"]] = "incoming",
        status: FromQuery[RequestStatus | None] = None,
        overdue: FromQuery[bool] = False,
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> ReuseRequestList:
        return await requests.list(
            identity,
            direction=direction,
            status=status,
            overdue_only=overdue,
            limit=limit,
            cursor=cursor,
        )

    @get("/{request_id:uuid}", operation_id="getReuseRequest", summary="One reuse request")
    async def get(
        self,
        requests: NamedDependency[ReuseRequestService],
        identity: NamedDependency[Identity],
        request_id: FromPath[UUID],
    ) -> ReuseRequestOut:
        return await requests.get(identity, request_id)

    @post(
        "/{request_id:uuid}/decision",
        operation_id="decideReuseRequest",
        responses=problems(409),
        summary="Approve or decline (authors and the owner school's admins)",
        status_code=HTTP_200_OK,
    )
    async def decide(
        self,
        requests: NamedDependency[ReuseRequestService],
        identity: NamedDependency[Identity],
        request_id: FromPath[UUID],
        data: JSONBody[DecisionIn],
    ) -> ReuseRequestOut:
        return await requests.decide(identity, request_id, data)

    @post(
        "/{request_id:uuid}/withdraw",
        operation_id="withdrawReuseRequest",
        responses=problems(409),
        summary="Withdraw a pending request (the requesting school)",
        status_code=HTTP_200_OK,
    )
    async def withdraw(
        self,
        requests: NamedDependency[ReuseRequestService],
        identity: NamedDependency[Identity],
        request_id: FromPath[UUID],
    ) -> ReuseRequestOut:
        return await requests.withdraw(identity, request_id)
