"""What every blob store promises, and the pieces the backends share.

The service writes a file, then commits the row that points at it, and on any failure
after the write deletes the key again; on delete it commits first, then removes the
file. `gc` removes keys no row points at once they are older than a grace period, and
`clear_incomplete` removes what interrupted writes left behind. Keys are random
(`new_blob_key`) and never contain user text.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Collection
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Protocol, Self

from exchange.blobstore.threads import BlockingCalls, ignore_outcome

BLOB_KEY: Final = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
# Large enough that a download costs few thread hops and socket writes per second, small
# enough that a stream holds two of them (the one being sent, the one read ahead).
DEFAULT_READ_CHUNK_BYTES: Final = 1024 * 1024


class BlobNotFound(LookupError):
    """No blob is stored under this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no blob stored under {key!r}")
        self.key = key


def new_blob_key() -> str:
    """A fresh random key, `ab/cd/<32 hex>`: spread over folders, free of user text."""
    digits = uuid.uuid4().hex
    return f"{digits[:2]}/{digits[2:4]}/{digits}"


def is_blob_key(key: str) -> bool:
    return BLOB_KEY.fullmatch(key) is not None


def check_blob_key(key: str) -> str:
    """`key` itself, or ValueError when it is not shaped like `new_blob_key()`'s keys.

    Only such keys are written, read, listed or deleted, so a corrupt row can never
    reach outside the store and `gc` never touches anything the exchange did not write.
    """
    if not is_blob_key(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


def resolve_range(start: int, end: int | None, size: int) -> tuple[int, int]:
    """(`start`, byte count) for the inclusive range `start`-`end` of a blob of `size`.

    `end` past the last byte is clamped, as in HTTP; a range starting past the end is a
    ValueError (the HTTP layer answers 416 before asking the store).
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")
    if start >= size and not (start == 0 and size == 0):
        raise ValueError(f"byte range {start}-{end} starts past the end of a {size}-byte blob")
    last = size - 1 if end is None else min(end, size - 1)
    return start, max(0, last - start + 1)


class BlobReader(Protocol):
    """A blocking file-like source: an open file, a boto3 `StreamingBody`."""

    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


class BlobStream:
    """The bytes of a stored range, read in bounded chunks off the event loop.

    While one chunk is being sent, the next is read in a thread, so the disk (or the S3
    connection) and the client's socket work at the same time; at most two chunks are
    held. Iterate it, and close it (`aclose`, or `async with`) if you stop early; it
    closes itself when exhausted or when a read fails.
    """

    def __init__(
        self,
        key: str,
        reader: BlobReader,
        length: int,
        *,
        executor: concurrent.futures.Executor,
        chunk_bytes: int = DEFAULT_READ_CHUNK_BYTES,
    ) -> None:
        self.key = key
        self.length = length
        self._reader = reader
        self._remaining = length
        self._chunk_bytes = chunk_bytes
        self._calls = BlockingCalls(executor)
        self._ahead: asyncio.Future[bytes] | None = None
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        if self._closed or (self._remaining <= 0 and self._ahead is None):
            await self.aclose()
            raise StopAsyncIteration
        reading, self._ahead = self._ahead or self._read_next(), None
        try:
            data = await reading
        except BaseException:
            await self.aclose()
            raise
        if not data:
            await self.aclose()
            raise BlobNotFound(self.key)  # shorter than when it was opened: replaced or removed
        self._remaining -= len(data)
        if self._remaining > 0:
            self._ahead = self._read_next()
        return data

    def _read_next(self) -> asyncio.Future[bytes]:
        size = min(self._chunk_bytes, self._remaining)
        return asyncio.ensure_future(self._calls.run(self._reader.read, size))

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            ahead, self._ahead = self._ahead, None
            if ahead is not None:
                # The read itself goes on in its thread; `run_cleanup` closes the reader
                # once it is over. Only the waiting for it is dropped here.
                ahead.cancel()
                ahead.add_done_callback(ignore_outcome)
            await self._calls.run_cleanup(self._reader.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class BlobStore(Protocol):
    """A place for uploaded files: streamed in, streamed out by range, never in memory.

    Every method raises `exchange.errors.StoreUnavailable` when the store cannot be
    reached, and ValueError for a key not made by `new_blob_key()`.
    """

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Stream `chunks` into the store under `key`; return the bytes written.

        All or nothing: the blob appears under `key` only once complete, and when
        anything fails (the store, or `chunks` raising, e.g. an inspector refusing the
        file or a size limit) or the task is cancelled, nothing remains under `key`
        and the exception propagates. After a successful `put` the caller owns the key:
        it commits the row that points at it, and deletes the key if that fails.
        """
        ...

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> BlobStream:
        """Open bytes `start` to `end` (inclusive, clamped to the blob; `None`: to the
        end) for streaming. Raises `BlobNotFound` now, before any byte is sent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; removing a missing blob is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int | None:
        """The blob's size in bytes, or None when there is no blob under `key`."""
        ...

    def iter_keys(self) -> AsyncIterator[tuple[str, datetime]]:
        """Every stored key with its last-modified time (UTC), for `gc`."""
        ...

    async def clear_incomplete(self, older_than: datetime, keep: Collection[str] = ()) -> int:
        """Remove what interrupted writes left (temporary files, unfinished multipart
        uploads); return how many were removed. What the store can tell is abandoned
        (the folder store: a temporary file no living process holds) goes whatever its
        age; what it cannot (an S3 multipart upload) goes once started before
        `older_than`. Resumable files under a key of `keep` (uploads still alive) stay."""
        ...

    async def start_resumable(self, key: str) -> dict[str, Any]:
        """Begin a file that will arrive in pieces, maybe over days (a tus upload), to
        appear under `key` once finished. Returns the state to keep (JSON) and pass to
        the calls below; any app instance sharing the store may make them."""
        ...

    async def append_resumable(
        self, key: str, state: dict[str, Any], offset: int, chunks: AsyncIterable[bytes]
    ) -> tuple[int, dict[str, Any]]:
        """Write `chunks` after the first `offset` bytes (what was written past them
        before is dropped) and return the new offset and state once every byte counted
        in it is durable (on disk after `fsync`, or in the S3 store). When `chunks`
        raises, nothing is promised beyond `offset` and the exception propagates."""
        ...

    async def finish_resumable(self, key: str, state: dict[str, Any], length: int) -> None:
        """The file's `length` bytes are all in: make them the blob under `key`."""
        ...

    async def abort_resumable(self, key: str, state: dict[str, Any]) -> None:
        """Remove what an unfinished resumable file holds (abandoned or expired)."""
        ...

    async def check(self) -> None:
        """Readiness probe: return when the store can be written, else raise
        `StoreUnavailable`."""
        ...

    async def presigned_get_url(
        self,
        key: str,
        *,
        filename: str,
        media_type: str,
        expires_seconds: int,
        disposition: str = "attachment",
    ) -> str | None:
        """A short-lived URL from which a client downloads the blob directly, with the
        given download name, type and disposition (`attachment` or `inline`); None when
        the store cannot serve one."""
        ...

    async def close(self) -> None:
        """Release threads and connections (application shutdown)."""
        ...
