"""Resources: uploads, versions, metadata changes, deletion and the reads behind downloads.

Every method takes the acting identity first and asks the policy before it touches
anything: what the caller's school may not read is NotFound. Files and rows keep each
other honest: a file is written first and the row that points at it committed after
(the upload receiver removes the file if the row is refused); a delete commits first
and removes the files after. A failure in between leaves at most a file no row points
at, which `exchange store gc` removes; never a row pointing at a missing file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from uuid import UUID

from msgspec import UNSET
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.blobstore import BlobNotFound, BlobStore, BlobStream
from exchange.clock import Clock
from exchange.config import Settings
from exchange.database import run_read
from exchange.errors import InvalidInput, NotFound
from exchange.events import (
    ConfidentialResourceRead,
    GrantRevoked,
    ResourceCreated,
    ResourceDeleted,
    ResourceDownloaded,
    ResourceUpdated,
    StudentConsentRecorded,
    VersionAdded,
)
from exchange.i18n import _
from exchange.kernel import paging
from exchange.kernel.refs import Names
from exchange.models import (
    Forward,
    Grant,
    GrantRevocation,
    Licence,
    Member,
    Resource,
    ResourceAuthor,
    ResourceKind,
    ResourceShare,
    ResourceVersion,
    ReuseScope,
    StudentConsent,
    Visibility,
)
from exchange.previews import preview_state
from exchange.resources import quota
from exchange.resources.metadata import (
    VERSION_FORM_FIELDS,
    NewResource,
    NewVersion,
    ResourceMetadata,
    apply_update,
    changed_fields,
    read_form,
    read_version_form,
)
from exchange.resources.schemas import (
    OriginalOut,
    ResourceOut,
    ResourceUpdate,
    VersionOut,
    VersionPage,
)
from exchange.resources.upload import StoredFile, UploadReceiver
from exchange.resources.view import Viewed, view_resource, with_provenance
from exchange.reuse.reasons import ForwardCut
from exchange.search.index import text_extraction_in
from exchange.unit_of_work import unit_of_work

VERSION_ORDER = (paging.SortKey(ResourceVersion.number, int, descending=True),)

# A chain of adaptations longer than this is shown cut (it cannot loop: an original
# exists before what is derived from it, but rows can be edited by hand).
MAX_PROVENANCE_DEPTH = 32

CREATED = "resource.created"
UPDATED = "resource.updated"
DELETED = "resource.deleted"
VERSION_ADDED = "resource.version_added"
# The fields whose change may widen a student's work beyond its school.
_CONSENT_FIELDS = frozenset({"kind", "visibility", "shared_with", "student_consent"})

_log = logging.getLogger(__name__)


def _check_early(fields: Sequence[tuple[str, str]]) -> None:
    read_form(fields, complete=False)


def _check_version_early(fields: Sequence[tuple[str, str]]) -> None:
    read_version_form(fields)


# Built once: every read of a resource asks for it.
_CURRENT_VERSION = select(ResourceVersion).where(
    ResourceVersion.resource_id == bindparam("resource_id"),
    ResourceVersion.number == bindparam("number"),
)


class ResourceService:
    def __init__(
        self, session: AsyncSession, settings: Settings, clock: Clock, store: BlobStore
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.store = store

    # --- reading ---------------------------------------------------------------------

    async def get(self, identity: Identity, resource_id: UUID) -> Resource:
        return await policy.readable_resource(
            self.session, identity, resource_id, now=self.clock.now()
        )

    async def versions(
        self,
        identity: Identity,
        resource_id: UUID,
        *,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> tuple[Resource, VersionPage]:
        resource = await self.get(identity, resource_id)
        await self.record_read(identity, resource, "versions")
        return resource, await self.history(resource, limit=limit, cursor=cursor)

    async def history(
        self, resource: Resource, *, limit: int = paging.DEFAULT_LIMIT, cursor: str | None = None
    ) -> VersionPage:
        """The versions of a resource the caller has already read (`get`), newest first:
        the resource page shows them with its metadata, read and audited once."""
        page = await paging.fetch(
            self.session,
            select(ResourceVersion).where(ResourceVersion.resource_id == resource.id),
            VERSION_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("versions", resource.id),
        )
        versions: list[ResourceVersion] = page.rows
        names = await Names.load(self.session, members=[v.uploaded_by_id for v in versions])
        return VersionPage(
            items=[self._version_out(v, names) for v in versions], next_cursor=page.next_cursor
        )

    async def version_to_download(
        self, identity: Identity, resource_id: UUID, number: int | None = None
    ) -> tuple[Resource, ResourceVersion]:
        """The resource and its version `number` (None: the current one), if readable.

        Read in one go (`run_read`): a download writes nothing before it, and on SQLite
        its two statements then cost no turns of the event loop."""
        now = self.clock.now()

        def read(db: Session) -> tuple[Resource, int, ResourceVersion | None]:
            resource = policy.readable_resource_in(db, identity, resource_id, now=now)
            wanted = resource.current_version_number if number is None else number
            version = db.scalar(
                select(ResourceVersion).where(
                    ResourceVersion.resource_id == resource.id, ResourceVersion.number == wanted
                )
            )
            return resource, wanted, version

        resource, wanted, version = await run_read(self.session, read)
        if version is None:
            raise NotFound(
                _(
                    "This resource has no version {wanted}; its page lists its versions.",
                    wanted=wanted,
                )
            )
        return resource, version

    async def open_content(
        self, version: ResourceVersion, start: int = 0, end: int | None = None
    ) -> BlobStream:
        try:
            return await self.store.open_range(version.blob_key, start, end)
        except BlobNotFound as exc:
            # A row whose file is gone: the store was changed behind the exchange's back.
            _log.error("stored file missing for version %s (%s)", version.id, version.blob_key)
            raise NotFound(
                _(
                    "The file of this version is missing from the store. Tell your school's IT "
                    "contact: 'exchange store verify' lists what is missing."
                )
            ) from exc

    async def record_download(
        self,
        identity: Identity,
        resource: Resource,
        version: ResourceVersion,
        *,
        range_start: int = 0,
        presigned: bool = False,
    ) -> None:
        """Record a download by another school ("who downloaded my resource").

        A download is a read: the GET that serves it commits its unit of work here, whose
        only write is the owner school's audit entry (`ResourceDownloaded`). A resumed
        download (a Range not starting at byte 0) continues one already counted, and the
        owner school's own downloads are not counted: neither records anything."""
        if identity.school_id == resource.owner_school_id or range_start > 0:
            return
        uow = unit_of_work(self.session, self.clock)
        uow.record(ResourceDownloaded(identity, resource, version.number, presigned=presigned))
        await uow.commit()

    async def record_read(self, identity: Identity, resource: Resource, what: str) -> None:
        """Rule 6: a read of a confidential resource by another school is audited.

        The GET that reads it commits its unit of work here, whose only write is the
        owner school's audit entry (`ConfidentialResourceRead`); other reads record
        nothing and commit nothing."""
        if not policy.audits_reads_by(identity, resource):
            return
        uow = unit_of_work(self.session, self.clock)
        uow.record(ConfidentialResourceRead(identity, resource, what))
        await uow.commit()

    # --- uploading -------------------------------------------------------------------

    async def create(self, identity: Identity, receiver: UploadReceiver) -> Resource:
        school_quota = await self._quota(identity.school_id)
        # No transaction stays open while the file arrives, however long that takes: the
        # unit of work ends the reads (nothing is recorded yet).
        await unit_of_work(self.session, self.clock).commit()
        school_quota.refuse_if_full()
        async with receiver.receive(quota=school_quota, check_fields=_check_early) as upload:
            new = read_form(upload.fields)
            return await self.keep_new_resource(
                identity, new, upload.file, committing=lambda _resource: upload.committing()
            )

    async def keep_new_resource(
        self,
        identity: Identity,
        new: NewResource,
        stored: StoredFile,
        *,
        committing: Callable[[Resource], None],
        reserved: bool = False,
    ) -> Resource:
        """Commit the resource of a received file (`reserved`: its bytes already count
        against the quota). `committing` is called with it right before the commit."""
        resource = await self._insert_resource(identity, new, stored, reserved=reserved)
        uow = unit_of_work(self.session, self.clock)
        await uow.publish()  # indexed and its text queued before the file is kept
        committing(resource)
        await uow.commit()
        return resource

    async def editable_for_version(self, identity: Identity, resource_id: UUID) -> Resource:
        """The resource the caller may add a version to."""
        resource = await self.get(identity, resource_id)
        policy.require_can_edit(identity, resource, policy.EditAction.ADD_VERSION)
        return resource

    async def add_version(
        self, identity: Identity, resource_id: UUID, receiver: UploadReceiver
    ) -> Resource:
        resource = await self.editable_for_version(identity, resource_id)
        school_quota = await self._quota(resource.owner_school_id)
        await unit_of_work(self.session, self.clock).commit()
        school_quota.refuse_if_full()
        async with receiver.receive(
            quota=school_quota,
            fields_allowed=False,
            check_fields=_check_version_early,
            allowed_fields=VERSION_FORM_FIELDS,
        ) as upload:
            new = read_version_form(upload.fields)
            await self.keep_version(
                identity, resource, new, upload.file, committing=upload.committing
            )
        await self.session.refresh(resource)
        return resource

    async def keep_version(
        self,
        identity: Identity,
        resource: Resource,
        new: NewVersion,
        stored: StoredFile,
        *,
        committing: Callable[[], None],
        reserved: bool = False,
    ) -> None:
        """Commit a received file as the resource's next version (`reserved`: its bytes
        already count against the quota)."""
        await self.session.refresh(resource)
        policy.require_anonymous_restated(resource, new.student_consent)
        if new.student_consent is not None:
            self._record_consent(identity, resource, new.student_consent)
        # The number is taken atomically: two versions uploaded at once get two numbers.
        number = await self.session.scalar(
            update(Resource)
            .where(Resource.id == resource.id)
            .values(
                current_version_number=Resource.current_version_number + 1,
                updated_at=self.clock.now(),
            )
            .returning(Resource.current_version_number),
            execution_options={"synchronize_session": False},
        )
        if number is None:
            raise NotFound(_("This resource was deleted while the file was being uploaded."))
        if not reserved:
            await quota.reserve(
                self.session,
                resource.owner_school_id,
                stored.size,
                self.settings.school_quota_bytes,
            )
        self._add_version(resource, number, stored, identity, change_note=new.change_note)
        uow = unit_of_work(self.session, self.clock)
        uow.record(
            VersionAdded(
                actor=identity,
                resource=resource,
                action=VERSION_ADDED,
                details={"version": number, "size": stored.size},
                version=number,
            )
        )
        await uow.publish()  # its text queued before the file is kept
        committing()
        await uow.commit()

    async def check_new_resource(
        self, identity: Identity, new: NewResource
    ) -> tuple[list[UUID], Resource | None, int | None]:
        """The rules a new resource's metadata must meet that need the database (the
        code of conduct's, the authors, the original it is adapted from): its authors,
        and its original and that original's version, if any."""
        meta = new.metadata
        policy.check_confidential_licence(meta.confidential, meta.licence)
        policy.student_work_visibility(meta.kind, meta.visibility, meta.student_consent)
        await policy.check_shared_with(
            self.session, identity, meta.visibility, list(meta.shared_with)
        )
        author_ids = list(meta.author_ids) or [identity.member_id]
        await self._check_authors(identity.school_id, author_ids)
        original: Resource | None = None
        original_version: int | None = None
        if new.derived_from is not None:
            original, original_version = await policy.check_derivation(
                self.session, identity, new.derived_from, meta.visibility, now=self.clock.now()
            )
        return author_ids, original, original_version

    async def _insert_resource(
        self, identity: Identity, new: NewResource, stored: StoredFile, *, reserved: bool = False
    ) -> Resource:
        meta = new.metadata
        author_ids, original, original_version = await self.check_new_resource(identity, new)
        if not reserved:
            await quota.reserve(
                self.session, identity.school_id, stored.size, self.settings.school_quota_bytes
            )
        resource = Resource(
            owner_school_id=identity.school_id,
            created_by_id=identity.member_id,
            kind=meta.kind,
            title=meta.title,
            description=meta.description,
            subject=meta.subject,
            grades=list(meta.grades),
            language=meta.language,
            licence=meta.licence,
            visibility=meta.visibility,
            confidential=meta.confidential,
            co_authors=list(meta.co_authors),
            derived_from_id=original.id if original else None,
            derived_from_version=original_version,
            current_version_number=1,
            authors=[ResourceAuthor(member_id=member_id) for member_id in author_ids],
            shares=[ResourceShare(school_id=school_id) for school_id in meta.shared_with],
        )
        self.session.add(resource)
        await self.session.flush()
        if meta.student_consent is not None:
            self._record_consent(identity, resource, meta.student_consent)
        self._add_version(resource, 1, stored, identity)
        unit_of_work(self.session, self.clock).record(
            ResourceCreated(
                actor=identity,
                resource=resource,
                action=CREATED,
                details={
                    "title": resource.title,
                    "size": stored.size,
                    "media_type": stored.media_type,
                    **({"derived_from": str(original.id)} if original else {}),
                },
                version=1,
            )
        )
        return resource

    def _add_version(
        self,
        resource: Resource,
        number: int,
        stored: StoredFile,
        identity: Identity,
        *,
        change_note: str | None = None,
    ) -> None:
        self.session.add(
            ResourceVersion(
                resource_id=resource.id,
                number=number,
                blob_key=stored.key,
                original_name=stored.original_name,
                media_type=stored.media_type,
                charset=stored.charset,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_by_id=identity.member_id,
                change_note=change_note,
            )
        )

    def _record_consent(
        self,
        identity: Identity,
        resource: Resource,
        consent: str | None,
        *,
        narrowed: bool = False,
    ) -> None:
        """Record (or withdraw) the students' consent on file: who, when, and in the
        audit trail, with what it was before."""
        previous = resource.student_consent
        resource.student_consent = StudentConsent(consent) if consent else None
        resource.student_consent_recorded_by_id = identity.member_id
        resource.student_consent_recorded_at = self.clock.now()
        unit_of_work(self.session, self.clock).record(
            StudentConsentRecorded(
                actor=identity,
                resource=resource,
                consent=consent,
                previous=previous,
                visibility=resource.visibility if narrowed else None,
            )
        )

    async def _stop_passing_on(self, identity: Identity, resource: Resource) -> None:
        """The consent for a student's work was withdrawn: its `share` and `publish`
        permissions are revoked and what was forwarded is cut, for good (recording the
        consent again brings neither back); the schools that held them are told."""
        now = self.clock.now()
        grants = list(
            await self.session.scalars(
                select(Grant)
                .where(
                    Grant.resource_id == resource.id,
                    Grant.scope.in_([ReuseScope.SHARE, ReuseScope.PUBLISH]),
                    policy.grant_in_force(Grant, now),
                )
                .order_by(Grant.created_at, Grant.id)
            )
        )
        if grants:
            await self.session.execute(
                update(Grant)
                .where(Grant.id.in_([g.id for g in grants]), Grant.revoked_at.is_(None))
                .values(
                    revoked_at=now,
                    revoked_by_id=identity.member_id,
                    revoked_reason=GrantRevocation.STUDENT_CONSENT_WITHDRAWN,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        cut = list(
            await self.session.scalars(
                select(Forward).where(Forward.resource_id == resource.id, Forward.cut_at.is_(None))
            )
        )
        if cut:
            await self.session.execute(
                update(Forward)
                .where(Forward.id.in_([f.id for f in cut]), Forward.cut_at.is_(None))
                .values(
                    cut_at=now,
                    cut_reason=ForwardCut.CONSENT_WITHDRAWN.value,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        unit_of_work(self.session, self.clock).record(
            *(
                GrantRevoked(
                    grant=grant,
                    resource=resource,
                    reason=GrantRevocation.STUDENT_CONSENT_WITHDRAWN,
                    forwards_cut=sum(1 for f in cut if f.grant_id == grant.id),
                    actor=identity,
                )
                for grant in grants
            )
        )

    async def _quota(self, school_id: UUID) -> quota.SchoolQuota:
        return await quota.quota_of(self.session, school_id, self.settings.school_quota_bytes)

    async def _check_authors(self, school_id: UUID, author_ids: list[UUID]) -> None:
        found = set(
            await self.session.scalars(
                select(Member.id).where(
                    Member.id.in_(author_ids),
                    Member.school_id == school_id,
                    Member.is_active.is_(True),
                )
            )
        )
        strangers = [str(member_id) for member_id in author_ids if member_id not in found]
        if strangers:
            raise InvalidInput(
                _(
                    "Authors must be members of your school ({value} is not). Name people from "
                    "other schools in `co_authors`.",
                    value=", ".join(strangers),
                ),
                errors=[{"field": "author_ids", "message": "not a member of your school"}],
            )

    # --- changing and deleting -------------------------------------------------------

    async def update(self, identity: Identity, resource_id: UUID, data: ResourceUpdate) -> Resource:
        resource = await self.get(identity, resource_id)
        policy.require_can_edit(identity, resource)
        before = self._metadata_of(resource)
        after = apply_update(before, data)
        changed = changed_fields(before, after)
        if not changed:
            return resource
        withdrawn = before.student_consent is not None and after.student_consent is None
        if _CONSENT_FIELDS & set(changed):
            visibility = policy.student_work_visibility(
                after.kind,
                after.visibility,
                after.student_consent,
                consent_withdrawn=withdrawn and data.visibility is UNSET,
            )
            if visibility != after.visibility:
                after = after.changed(visibility=visibility, shared_with=())
                changed = changed_fields(before, after)
        policy.check_confidential_licence(after.confidential, after.licence)
        if {"visibility", "shared_with"} & set(changed):
            await policy.check_shared_with(
                self.session, identity, after.visibility, list(after.shared_with)
            )
        if "author_ids" in changed:
            await self._check_authors(resource.owner_school_id, list(after.author_ids))
            keep = {a.member_id: a for a in resource.authors if a.member_id in after.author_ids}
            resource.authors = [
                keep.get(member_id) or ResourceAuthor(member_id=member_id)
                for member_id in after.author_ids
            ]
        if "shared_with" in changed:
            kept = {s.school_id: s for s in resource.shares if s.school_id in after.shared_with}
            resource.shares = [
                kept.get(school_id) or ResourceShare(school_id=school_id)
                for school_id in after.shared_with
            ]
        resource.title = after.title
        resource.kind = ResourceKind(after.kind)
        resource.subject = after.subject
        resource.grades = list(after.grades)
        resource.language = after.language
        resource.description = after.description
        resource.visibility = Visibility(after.visibility)
        resource.confidential = after.confidential
        resource.licence = Licence(after.licence)
        resource.co_authors = list(after.co_authors)
        resource.updated_at = self.clock.now()
        if "student_consent" in changed:
            narrowed = "visibility" in changed and after.visibility == "school"
            self._record_consent(identity, resource, after.student_consent, narrowed=narrowed)
            if withdrawn:
                await self._stop_passing_on(identity, resource)
        uow = unit_of_work(self.session, self.clock)
        uow.record(
            ResourceUpdated(
                actor=identity, resource=resource, action=UPDATED, details={"fields": changed}
            )
        )
        await uow.commit()
        await self.session.refresh(resource)
        return resource

    async def delete(self, identity: Identity, resource_id: UUID) -> None:
        resource = await self.get(identity, resource_id)
        policy.require_can_edit(identity, resource, policy.EditAction.DELETE)
        rows = await self.session.execute(
            select(
                ResourceVersion.blob_key, ResourceVersion.size, ResourceVersion.preview_blob_key
            ).where(ResourceVersion.resource_id == resource.id)
        )
        rows_read = list(rows)
        stored = [(key, size) for key, size, _preview in rows_read]
        previews = [preview for _key, _size, preview in rows_read if preview is not None]
        unit_of_work(self.session, self.clock).record(
            ResourceDeleted(
                actor=identity,
                resource=resource,
                action=DELETED,
                details={"title": resource.title, "versions": len(stored)},
            )
        )
        await quota.release(self.session, resource.owner_school_id, sum(s for _, s in stored))
        await self.session.delete(resource)
        await unit_of_work(self.session, self.clock).commit()
        # Only now that no row points at them: a failure here leaves files for gc.
        for key in [key for key, _size in stored] + previews:
            try:
                await self.store.delete(key)
            except Exception:
                _log.warning("could not remove %s of a deleted resource; gc will", key)

    # --- what the API shows ------------------------------------------------------------

    async def describe(self, identity: Identity, resource: Resource) -> ResourceOut:
        """What the API shows of a resource the caller may read, its statements run in
        one go (`AsyncSession.run_sync`)."""
        return await self.session.run_sync(self.describe_in, identity, resource)

    async def view(self, identity: Identity, resource_id: UUID) -> Viewed:
        """What the API shows of a resource the caller may read, read as columns
        (`exchange.resources.view`); a derived resource's originals are read after."""
        viewed = await view_resource(self.session, identity, resource_id, self.clock.now())
        if viewed.derived_from_id is None:
            return viewed
        start = (viewed.facts.id, viewed.derived_from_id, viewed.derived_from_version)
        chain = await run_read(self.session, lambda db: self._provenance(db, *start))
        return with_provenance(viewed, chain)

    async def record_view(self, identity: Identity, viewed: Viewed) -> None:
        """`record_read` of the metadata, for a resource read as columns: the resource is
        loaded only when its read is audited (rule 6)."""
        if policy.audits_reads_by(identity, viewed.facts):
            await self.record_read(identity, await self.get(identity, viewed.facts.id), "metadata")

    @classmethod
    def describe_in(cls, db: Session, identity: Identity, resource: Resource) -> ResourceOut:
        """`describe` in a synchronous session that holds `resource`."""
        current = db.scalar(
            _CURRENT_VERSION,
            {"resource_id": resource.id, "number": resource.current_version_number},
        )
        if current is None:  # pragma: no cover - every committed resource has a version
            raise NotFound(_("This resource has no stored file."))
        chain = cls._provenance(
            db, resource.id, resource.derived_from_id, resource.derived_from_version
        )
        recorder = resource.student_consent_recorded_by_id
        names = Names.load_in(
            db,
            schools=[resource.owner_school_id],
            members=[a.member_id for a in resource.authors] + [current.uploaded_by_id, recorder],
        )
        owner = policy.is_owner_school(identity, resource)
        text = text_extraction_in(db, resource.id)
        return ResourceOut(
            id=resource.id,
            title=resource.title,
            kind=resource.kind,
            subject=resource.subject,
            grades=list(resource.grades),
            language=resource.language,
            description=resource.description,
            visibility=resource.visibility,
            shared_with=sorted((s.school_id for s in resource.shares), key=str) if owner else [],
            confidential=resource.confidential,
            licence=resource.licence,
            school=names.school(resource.owner_school_id),
            authors=names.members_of(a.member_id for a in resource.authors),
            co_authors=list(resource.co_authors),
            media_type=current.media_type,
            size=current.size,
            sha256=current.sha256,
            current_version=cls._version_out(current, names),
            derived_from=chain[0] if chain else None,
            provenance=chain,
            student_consent=resource.student_consent,
            student_consent_recorded_by=names.member(recorder),
            student_consent_recorded_at=resource.student_consent_recorded_at,
            can_edit=policy.can_edit(identity, resource),
            created_at=resource.created_at,
            updated_at=resource.updated_at,
            extraction_status=text.status,
            extraction_reason=text.reason,
            extraction_label=text.label,
            preview=preview_state(current.preview_state),
            pages=current.pages,
            duration_seconds=current.duration_seconds,
        )

    @classmethod
    def _provenance(
        cls, db: Session, resource_id: UUID, derived_from_id: UUID | None, version: int | None
    ) -> list[OriginalOut]:
        """The originals a resource was adapted from, nearest first. Shown whether or
        not the reader may open them: the credit is due either way (rule 7)."""
        chain: list[OriginalOut] = []
        seen = {resource_id}
        next_id = derived_from_id
        while next_id is not None and len(chain) < MAX_PROVENANCE_DEPTH:
            original = db.get(Resource, next_id)
            if original is None or original.id in seen:
                break
            seen.add(original.id)
            names = Names.load_in(
                db,
                schools=[original.owner_school_id],
                members=[a.member_id for a in original.authors],
            )
            chain.append(
                OriginalOut(
                    id=original.id,
                    version=version,
                    title=original.title,
                    school=names.school(original.owner_school_id),
                    authors=names.members_of(a.member_id for a in original.authors),
                    co_authors=list(original.co_authors),
                    licence=original.licence,
                )
            )
            next_id, version = original.derived_from_id, original.derived_from_version
        return chain

    @staticmethod
    def _version_out(version: ResourceVersion, names: Names) -> VersionOut:
        return VersionOut(
            number=version.number,
            original_name=version.original_name,
            media_type=version.media_type,
            size=version.size,
            sha256=version.sha256,
            created_at=version.created_at,
            uploaded_by=names.member(version.uploaded_by_id),
            change_note=version.change_note,
            preview=preview_state(version.preview_state),
            pages=version.pages,
            duration_seconds=version.duration_seconds,
        )

    @staticmethod
    def _metadata_of(resource: Resource) -> ResourceMetadata:
        return ResourceMetadata(
            title=resource.title,
            kind=resource.kind,
            subject=resource.subject,
            grades=tuple(resource.grades),
            language=resource.language,
            description=resource.description,
            visibility=resource.visibility,
            shared_with=tuple(s.school_id for s in resource.shares),
            confidential=resource.confidential,
            licence=resource.licence,
            author_ids=tuple(a.member_id for a in resource.authors),
            co_authors=tuple(resource.co_authors),
            student_consent=resource.student_consent,
        )
