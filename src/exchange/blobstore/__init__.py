"""Where uploaded files live: one small interface, a local-folder and an S3 backend.

Nothing else in the exchange opens stored files. Pick the backend with
`open_blob_store(EXCHANGE_STORAGE_URL, s3_endpoint_url=EXCHANGE_S3_ENDPOINT_URL)`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from exchange.blobstore.contract import (
    BlobNotFound,
    BlobStore,
    BlobStream,
    check_blob_key,
    is_blob_key,
    new_blob_key,
)
from exchange.blobstore.local import LocalBlobStore

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "BlobStream",
    "LocalBlobStore",
    "check_blob_key",
    "copy_to_file",
    "is_blob_key",
    "new_blob_key",
    "open_blob_store",
]


def open_blob_store(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    **options: Any,
) -> BlobStore:
    """The store named by `url`.

    - `file:///absolute/path` or `file:relative/path` (relative to the working
      folder; `file://storage` is read as `storage` too): a `LocalBlobStore`.
    - `s3://bucket/optional/prefix`: an `S3BlobStore`; `s3_endpoint_url` points it at
      MinIO or another S3-compatible store.

    `options` go to the backend's constructor (e.g. `threads`, `part_bytes`,
    `connect_timeout`). Raises ValueError for any other URL.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        location = (
            unquote(parts.netloc + parts.path)
            if parts.netloc != "localhost"
            else unquote(parts.path)
        )
        if not location:
            raise ValueError(f"storage URL {url!r} names no folder")
        return LocalBlobStore(Path(location), **options)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket")
        from exchange.blobstore.s3 import S3BlobStore  # boto3 is slow to import

        return S3BlobStore(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=s3_endpoint_url or None,
            region_name=s3_region,
            **options,
        )
    raise ValueError(f"storage URL {url!r} is neither file:// nor s3://")


async def copy_to_file(store: BlobStore, key: str, target: Path) -> None:
    """Streams the blob under `key` into the local file `target` (for a reader that needs
    a whole file: text extraction, previews, the PDF check), writing off the event loop.
    Raises `BlobNotFound` before anything is written when there is no such blob."""
    stream = await store.open_range(key)
    with target.open("wb") as out:
        async with stream:
            async for chunk in stream:
                await asyncio.to_thread(out.write, chunk)
