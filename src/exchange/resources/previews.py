"""Reading a version's preview: under the read rule of its file, audited like a read.

The API's `GET /api/resources/{id}/preview` (and `.../versions/{n}/preview`) and the web
pages read previews here. A school that may not read the resource learns nothing (404,
as for its content); another school's look at a confidential resource's preview is in
the owner school's trail (`ConfidentialResourceRead`, what: "preview"). While there is
no preview (being made, or none for this file), the answer is a 404 that says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from uuid import UUID

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.blobstore import BlobNotFound
from exchange.errors import NotFound
from exchange.i18n import _
from exchange.models import Resource, ResourceVersion
from exchange.previews import PREVIEW_MEDIA_TYPE, preview_state
from exchange.resources.download import etag_matches
from exchange.resources.services import ResourceService

# A version's preview never changes: a browser may keep it for a year. The current
# version's preview changes with the next upload, so it is kept briefly.
VERSION_CACHE_CONTROL: Final = "private, max-age=31536000, immutable"
CURRENT_CACHE_CONTROL: Final = "private, max-age=300"
PREVIEW_READ: Final = "preview"


@dataclass(frozen=True)
class PreviewImage:
    """A preview to send: `content` is None when the caller's copy is current (the
    answer is 304). `cache_control` keeps a confidential resource's preview out of
    every cache (rule 6)."""

    resource: Resource
    version: ResourceVersion
    etag: str
    media_type: str
    cache_control: str
    content: bytes | None


async def read_preview(
    resources: ResourceService,
    identity: Identity,
    resource_id: UUID,
    version_number: int | None = None,
    *,
    if_none_match: str | None = None,
) -> PreviewImage:
    """The preview of version `version_number` (None: the current one) of a resource the
    caller may read, or NotFound: for what it may not read, exactly as for the file;
    and, in the reader's language, while the preview is being made or when the file has
    none. Commits the audit entry of a confidential read by another school when it is
    shown."""
    resource, version = await resources.version_to_download(identity, resource_id, version_number)
    state = preview_state(version.preview_state)
    if state != "ready" or version.preview_blob_key is None or version.preview_etag is None:
        raise NotFound(
            _("The preview of this file is being made; try again in a minute.")
            if state == "pending"
            else _("This file has no preview; download it to see it.")
        )
    # Only a preview shown is a read of the file's content.
    await resources.record_read(identity, resource, PREVIEW_READ)
    cache_control = policy.cache_control_for(resource) or (
        CURRENT_CACHE_CONTROL if version_number is None else VERSION_CACHE_CONTROL
    )
    etag = version.preview_etag
    content: bytes | None = None
    if not etag_matches(if_none_match, etag):
        content = await _stored(resources, version, version.preview_blob_key)
    return PreviewImage(
        resource=resource,
        version=version,
        etag=etag,
        media_type=PREVIEW_MEDIA_TYPE,
        cache_control=cache_control,
        content=content,
    )


async def _stored(resources: ResourceService, version: ResourceVersion, key: str) -> bytes:
    try:
        stream = await resources.store.open_range(key)
        async with stream:
            return b"".join([chunk async for chunk in stream])
    except BlobNotFound as exc:
        # The row says ready but the store lost the image: as if there were none.
        raise NotFound(_("This file has no preview; download it to see it.")) from exc
