"""Shapes of the reuse API: requests, decisions, grants and forwards."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from exchange.display_text import PARAGRAPHS, CleanedInput
from exchange.kernel.paging import Page
from exchange.kernel.refs import MemberRef, SchoolRef

Scope = Literal["adapt", "share", "publish"]
Words = Annotated[str, msgspec.Meta(min_length=1, max_length=4000, extra=PARAGRAPHS)]
Note = Annotated[str, msgspec.Meta(max_length=4000, extra=PARAGRAPHS)]


class ResourceRef(msgspec.Struct):
    """The resource a request is about. To a school that can no longer read it (its
    partnership with the owner ended) the title is not shown and `readable` is false."""

    id: UUID
    title: str
    owner_school: SchoolRef
    confidential: bool
    readable: bool = True


class ReuseRequestCreate(CleanedInput, forbid_unknown_fields=True):
    """Ask a partner resource's authors for permission (rule 7).

    `adapt`: make a derived version; `share`: pass it to a school outside yours;
    `publish`: use it outside the exchange (print run, web site, training).
    """

    scope: Scope
    purpose: Words
    audience: Words


class DecisionIn(CleanedInput, forbid_unknown_fields=True):
    """Answer a request. A refusal needs a note saying why (rule 9: every request is
    answered); an approval may end on `expires_at`."""

    decision: Literal["approve", "deny"]
    note: Note | None = None
    expires_at: datetime | None = None


class ReuseRequestOut(msgspec.Struct):
    id: UUID
    resource: ResourceRef
    requesting_school: SchoolRef
    requested_by: MemberRef | None
    scope: str
    purpose: str
    audience: str
    status: str
    created_at: datetime
    respond_by: datetime
    overdue: bool
    escalated_at: datetime | None
    decided_by: MemberRef | None
    decided_at: datetime | None
    decision_note: str | None
    grant_expires_at: datetime | None
    grant_id: UUID | None
    closed_at: datetime | None
    closed_reason: str | None


class ReuseRequestList(msgspec.Struct):
    """A page of requests, newest first, and how many of this direction are overdue."""

    items: list[ReuseRequestOut]
    next_cursor: str | None
    direction: str
    overdue: int


class GrantOut(msgspec.Struct):
    """Who may do what with a resource, since when, until when, and why.

    A licence grant (`source: "licence"`) has no id and no school: it applies to every
    school that can read the resource, for as long as the licence stays open.
    """

    id: UUID | None
    scope: str
    source: Literal["request", "licence"]
    school: SchoolRef | None
    status: Literal["active", "expired", "revoked"]
    since: datetime
    until: datetime | None
    why: str
    reuse_request_id: UUID | None
    granted_by: MemberRef | None
    revoked_at: datetime | None
    revoked_by: MemberRef | None
    # 'withdrawn' (by an author or the owner school's admin) or 'partnership_ended'.
    revoked_reason: str | None = None


class ForwardIn(msgspec.Struct, forbid_unknown_fields=True):
    school_id: UUID


class ForwardOut(msgspec.Struct):
    """One hop of the chain: `path` runs from the owner school to `to_school`."""

    id: UUID
    from_school: SchoolRef
    to_school: SchoolRef
    forwarded_by: MemberRef | None
    created_at: datetime
    grant_id: UUID | None
    standing: bool
    cut_reason: str | None
    # When the forward was cut for good (its grant revoked, or the partnership it was
    # made under ended); null while it stands or when it only lapsed (an expiry).
    cut_at: datetime | None
    path: list[SchoolRef]


class ForwardChain(msgspec.Struct):
    resource_id: UUID
    owner_school: SchoolRef
    forwards: list[ForwardOut]


class GrantPage(Page[GrantOut]):
    """One page of who may do what with a resource."""
