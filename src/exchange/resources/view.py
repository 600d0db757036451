"""What `GET /api/resources/{id}` shows, read as columns straight into the answer.

A resource's page is read far more often than anything is written, so its read takes
the shortest path: one statement for the resource with its current version, school,
uploader, consent recorder and text extraction, behind the read rule; one for its
authors and, for the owner school, one for the schools it is shared with; each compiled
once (`database.PreparedRead`) and shaped into `ResourceOut` with no ORM object made.
Only a derived resource reads its originals' chain as objects (`ResourceService`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.database import PreparedRead
from exchange.errors import NotFound
from exchange.i18n import _
from exchange.kernel import paging
from exchange.kernel.refs import FORMER_MEMBER, FORMER_SCHOOL, MemberRef, SchoolRef
from exchange.models import (
    Grant,
    Member,
    Resource,
    ResourceAuthor,
    ResourceShare,
    ResourceVersion,
    ReuseRequest,
    School,
    SearchDocument,
)
from exchange.policy import AuthorFact, ResourceFacts, refusals
from exchange.policy.tuned import (
    caller_may,
    caller_parameters,
    readable_by_caller,
    reading_parameters,
)
from exchange.previews import preview_state
from exchange.resources.schemas import OriginalOut, ResourceOut, VersionOut
from exchange.reuse.grants import GRANT_ORDER, licence_grant_views, request_grant_view
from exchange.reuse.schemas import GrantOut
from exchange.search.index import extraction_of

_RESOURCE_ID = "viewed_resource_id"


def _resource_id() -> Any:
    return bindparam(_RESOURCE_ID, type_=Resource.__table__.c.id.type)


_UPLOADER = aliased(Member)
_RECORDER = aliased(Member)

_RESOURCE = PreparedRead(
    select(
        Resource.id,
        Resource.owner_school_id,
        Resource.title,
        Resource.kind,
        Resource.subject,
        Resource.grades,
        Resource.language,
        Resource.description,
        Resource.visibility,
        Resource.confidential,
        Resource.licence,
        Resource.co_authors,
        Resource.derived_from_id,
        Resource.derived_from_version,
        Resource.student_consent,
        Resource.student_consent_recorded_by_id,
        Resource.student_consent_recorded_at,
        Resource.created_at,
        Resource.updated_at,
        School.name,
        ResourceVersion.number,
        ResourceVersion.original_name,
        ResourceVersion.media_type,
        ResourceVersion.size,
        ResourceVersion.sha256,
        ResourceVersion.created_at,
        ResourceVersion.uploaded_by_id,
        ResourceVersion.change_note,
        ResourceVersion.preview_state,
        ResourceVersion.pages,
        ResourceVersion.duration_seconds,
        _UPLOADER.full_name,
        _RECORDER.full_name,
        SearchDocument.extraction_status,
        SearchDocument.extraction_reason,
        SearchDocument.extracted_version,
        SearchDocument.text_truncated,
    )
    .outerjoin(
        ResourceVersion,
        and_(
            ResourceVersion.resource_id == Resource.id,
            ResourceVersion.number == Resource.current_version_number,
        ),
    )
    .outerjoin(School, School.id == Resource.owner_school_id)
    .outerjoin(_UPLOADER, _UPLOADER.id == ResourceVersion.uploaded_by_id)
    .outerjoin(_RECORDER, _RECORDER.id == Resource.student_consent_recorded_by_id)
    .outerjoin(SearchDocument, SearchDocument.resource_id == Resource.id)
    .where(Resource.id == _resource_id(), readable_by_caller())
)

_AUTHORS = PreparedRead(
    select(ResourceAuthor.member_id, Member.full_name)
    .outerjoin(Member, Member.id == ResourceAuthor.member_id)
    .where(ResourceAuthor.resource_id == _resource_id())
)

_SHARES = PreparedRead(
    select(ResourceShare.school_id).where(ResourceShare.resource_id == _resource_id())
)


@dataclass(frozen=True, slots=True)
class Viewed:
    """A resource the caller may read, as the API shows it, with the facts the policy
    asks of it afterwards (`policy.audits_reads_by`, `policy.cache_control_for`)."""

    facts: ResourceFacts
    derived_from_id: UUID | None
    derived_from_version: int | None
    out: ResourceOut


def _member(member_id: UUID | None, name: str | None) -> MemberRef | None:
    if member_id is None:
        return None
    return MemberRef(id=member_id, full_name=name or FORMER_MEMBER.render())


def _version(
    number: int,
    original_name: str,
    media_type: str,
    size: int,
    sha256: str,
    created_at: datetime,
    uploader_id: UUID | None,
    uploader_name: str | None,
    change_note: str | None,
    preview: Any,
    pages: int | None,
    duration_seconds: float | None,
) -> VersionOut:
    """A version as the API answers it, from its columns in the order `_VERSIONS`
    selects them (the resource's own read selects its current version's the same way)."""
    return VersionOut(
        number=number,
        original_name=original_name,
        media_type=media_type,
        size=size,
        sha256=sha256,
        created_at=created_at,
        uploaded_by=_member(uploader_id, uploader_name),
        change_note=change_note,
        preview=preview_state(preview),
        pages=pages,
        duration_seconds=duration_seconds,
    )


async def view_resource(
    session: AsyncSession, identity: Identity, resource_id: UUID, now: datetime
) -> Viewed:
    """The resource as `identity` may read it at `now`, or NotFound as for any resource
    it may not read. The provenance chain is left empty: see `ResourceService.view`."""
    values = {**reading_parameters(identity, now), _RESOURCE_ID: resource_id}
    row = await _RESOURCE.first(session, values)
    if row is None:
        raise NotFound(refusals.NO_SUCH_RESOURCE)
    (
        _id,
        owner_school_id,
        title,
        kind,
        subject,
        grades,
        language,
        description,
        visibility,
        confidential,
        licence,
        co_authors,
        derived_from_id,
        derived_from_version,
        student_consent,
        recorder_id,
        recorded_at,
        created_at,
        updated_at,
        school_name,
        number,
        original_name,
        media_type,
        size,
        sha256,
        version_created_at,
        uploader_id,
        change_note,
        preview,
        pages,
        duration_seconds,
        uploader_name,
        recorder_name,
        *extraction,
    ) = row
    if number is None:  # pragma: no cover - every committed resource has a version
        raise NotFound(_("This resource has no stored file."))
    ids = {_RESOURCE_ID: resource_id}
    authored = await _AUTHORS.all(session, ids)
    authors = sorted(
        (
            MemberRef(id=member_id, full_name=name or FORMER_MEMBER.render())
            for member_id, name in authored
        ),
        key=lambda ref: (ref.full_name.casefold(), str(ref.id)),
    )
    facts = ResourceFacts(
        id=resource_id,
        owner_school_id=owner_school_id,
        confidential=confidential,
        authors=tuple(AuthorFact(member_id) for member_id, _name in authored),
    )
    shared_with: list[UUID] = []
    if policy.is_owner_school(identity, facts):
        shared_with = sorted((school for (school,) in await _SHARES.all(session, ids)), key=str)
    text = extraction_of(*extraction)
    out = ResourceOut(
        id=resource_id,
        title=title,
        kind=kind,
        subject=subject,
        grades=list(grades or ()),
        language=language,
        description=description,
        visibility=visibility,
        shared_with=shared_with,
        confidential=confidential,
        licence=licence,
        school=SchoolRef(id=owner_school_id, name=school_name or FORMER_SCHOOL.render()),
        authors=authors,
        co_authors=list(co_authors or ()),
        media_type=media_type,
        size=size,
        sha256=sha256,
        current_version=_version(
            number,
            original_name,
            media_type,
            size,
            sha256,
            version_created_at,
            uploader_id,
            uploader_name,
            change_note,
            preview,
            pages,
            duration_seconds,
        ),
        derived_from=None,
        provenance=[],
        student_consent=student_consent,
        student_consent_recorded_by=_member(recorder_id, recorder_name),
        student_consent_recorded_at=recorded_at,
        can_edit=policy.can_edit(identity, facts),
        created_at=created_at,
        updated_at=updated_at,
        extraction_status=text.status,
        extraction_reason=text.reason,
        extraction_label=text.label,
        preview=preview_state(preview),
        pages=pages,
        duration_seconds=duration_seconds,
    )
    return Viewed(
        facts=facts,
        derived_from_id=derived_from_id,
        derived_from_version=derived_from_version,
        out=out,
    )


def with_provenance(viewed: Viewed, chain: list[OriginalOut]) -> Viewed:
    out = viewed.out
    out.provenance = chain
    out.derived_from = chain[0] if chain else None
    return viewed


# --- what the resource page shows beside the API's answer ---------------------------------
# Read the same way (each statement compiled once, rows shaped straight into the API's
# own answers), after `view_resource` has passed the read rule for the same resource.

_VERSIONS = PreparedRead(
    select(
        ResourceVersion.number,
        ResourceVersion.original_name,
        ResourceVersion.media_type,
        ResourceVersion.size,
        ResourceVersion.sha256,
        ResourceVersion.created_at,
        ResourceVersion.uploaded_by_id,
        Member.full_name,
        ResourceVersion.change_note,
        ResourceVersion.preview_state,
        ResourceVersion.pages,
        ResourceVersion.duration_seconds,
    )
    .outerjoin(Member, Member.id == ResourceVersion.uploaded_by_id)
    .where(ResourceVersion.resource_id == _resource_id())
    .order_by(ResourceVersion.number.desc())
    .limit(paging.MAX_LIMIT)
)


async def versions_of(session: AsyncSession, viewed: Viewed) -> list[VersionOut]:
    """The first page of a viewed resource's versions, newest first, as
    `GET /api/resources/{id}/versions?limit=` the most a page holds answers them."""
    rows = await _VERSIONS.all(session, {_RESOURCE_ID: viewed.facts.id})
    return [_version(*row) for row in rows]


_GRANTEE = aliased(School)
_GRANTER = aliased(Member)
_REVOKER = aliased(Member)

_GRANTS = PreparedRead(
    select(
        Grant.id,
        Grant.scope,
        Grant.school_id,
        _GRANTEE.name,
        Grant.created_at,
        Grant.expires_at,
        Grant.reuse_request_id,
        ReuseRequest.purpose,
        Grant.granted_by_id,
        _GRANTER.full_name,
        Grant.revoked_at,
        Grant.revoked_by_id,
        _REVOKER.full_name,
        Grant.revoked_reason,
    )
    .join(Resource, Resource.id == Grant.resource_id)
    .outerjoin(_GRANTEE, _GRANTEE.id == Grant.school_id)
    .outerjoin(ReuseRequest, ReuseRequest.id == Grant.reuse_request_id)
    .outerjoin(_GRANTER, _GRANTER.id == Grant.granted_by_id)
    .outerjoin(_REVOKER, _REVOKER.id == Grant.revoked_by_id)
    .where(Grant.resource_id == _resource_id(), caller_may(policy.Action.READ_GRANT))
    .order_by(*(key.column for key in GRANT_ORDER))
    .limit(paging.MAX_LIMIT)
)


async def grants_of(
    session: AsyncSession, identity: Identity, viewed: Viewed, now: datetime
) -> list[GrantOut]:
    """The first page of `GET /api/resources/{id}/grants` for a viewed resource: the
    licence's grants, then those given on request that the caller may read
    (`policy.Action.READ_GRANT`), oldest first."""
    values = {**caller_parameters(identity, now), _RESOURCE_ID: viewed.facts.id}
    rows = await _GRANTS.all(session, values)
    return licence_grant_views(viewed.out) + [
        request_grant_view(
            id=grant_id,
            scope=scope,
            school=SchoolRef(id=school_id, name=school_name or FORMER_SCHOOL.render()),
            since=since,
            until=until,
            reuse_request_id=request_id,
            purpose=purpose,
            granted_by=_member(granter_id, granter_name),
            revoked_at=revoked_at,
            revoked_by=_member(revoker_id, revoker_name),
            revoked_reason=revoked_reason,
            now=now,
        )
        for (
            grant_id,
            scope,
            school_id,
            school_name,
            since,
            until,
            request_id,
            purpose,
            granter_id,
            granter_name,
            revoked_at,
            revoker_id,
            revoker_name,
            revoked_reason,
        ) in rows
    ]
