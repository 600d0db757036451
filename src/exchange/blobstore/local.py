"""Blobs as files in a local folder (`file://`), the default store.

A blob is written to a temporary file in its own folder (so on the same file system),
flushed to disk, renamed into place atomically and the folder flushed too: after a
crash a key holds either nothing or the whole file. Files are 0600 and folders 0700,
readable by the service's user only. Temporary files start with `TEMP_PREFIX`, so those
an interrupted write leaves behind are found and cleared.

The process writing a temporary file holds an exclusive `flock` on it until the file is
renamed into place or removed. The kernel lets go of the lock when the process dies,
however it dies (`kill -9`, a power cut of a machine that shares the folder), so a
temporary file nobody holds is a leftover, cleared at once whatever its age, and one
that is held is never touched: several app instances (and `exchange store gc`) may
share the folder.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import fcntl
import logging
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar

from exchange.blobstore.contract import (
    BLOB_KEY,
    DEFAULT_READ_CHUNK_BYTES,
    BlobNotFound,
    BlobStream,
    check_blob_key,
    resolve_range,
)
from exchange.blobstore.threads import BlockingCalls, ignore_outcome
from exchange.blobstore.writeback import start_writeback
from exchange.errors import StoreUnavailable

TEMP_PREFIX: Final = ".upload-"
FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700
# Chunks are handed to a thread in batches of about this size: one thread hop per
# 64 KiB network chunk would cost more than the write. One batch is written while the
# next gathers, so about two are held.
WRITE_BATCH_BYTES: Final = 512 * 1024

# Written data is handed to the disk in steps of this size while the upload goes on
# (see `writeback`), so the `fsync` before the commit finds little left to write.
WRITEBACK_BYTES: Final = 8 * 1024 * 1024

_log = logging.getLogger(__name__)
T = TypeVar("T")
_HEX2: Final = frozenset(f"{n:02x}" for n in range(256))


class LocalBlobStore:
    """A `BlobStore` over the folder `root` (created, mode 0700, when first needed)."""

    def __init__(
        self,
        root: Path,
        *,
        threads: int = 16,
        read_chunk_bytes: int = DEFAULT_READ_CHUNK_BYTES,
    ) -> None:
        self.root = root
        self._read_chunk_bytes = read_chunk_bytes
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="blobstore-file"
        )

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        target = self._path(key)
        calls = BlockingCalls(self._executor)
        pending = await calls.run(_store_io, _PendingFile.create, self.root, target)
        written = 0
        # One batch is written in a thread while the next one gathers: the disk and the
        # upload's parsing and hashing work at the same time, and at most two batches
        # are held.
        writing: asyncio.Future[None] | None = None
        try:
            batch: list[bytes] = []
            batch_bytes = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                batch.append(chunk)
                batch_bytes += len(chunk)
                if batch_bytes >= WRITE_BATCH_BYTES:
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(calls.run(_store_io, pending.write, batch))
                    written += batch_bytes
                    batch, batch_bytes = [], 0
            if writing is not None:
                await writing
            if batch:
                await calls.run(_store_io, pending.write, batch)
                written += batch_bytes
            await calls.run(_store_io, pending.commit)
        except BaseException:
            if writing is not None and not writing.done():
                # Only the waiting is cancelled: the cleanup below waits for the write.
                writing.cancel()
                writing.add_done_callback(ignore_outcome)
            await calls.run_cleanup(pending.discard)
            raise
        return written

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> BlobStream:
        path = self._path(key)
        try:
            reader, length = await BlockingCalls(self._executor).run(_open_range, path, start, end)
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise _unavailable(exc) from exc
        return BlobStream(
            key, reader, length, executor=self._executor, chunk_bytes=self._read_chunk_bytes
        )

    async def delete(self, key: str) -> None:
        await BlockingCalls(self._executor).run(_store_io, _unlink_if_present, self._path(key))

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def size(self, key: str) -> int | None:
        return await BlockingCalls(self._executor).run(_store_io, _size_if_present, self._path(key))

    async def iter_keys(self) -> AsyncIterator[tuple[str, datetime]]:
        async for key, modified in self._walk(temporary=False):
            yield key, modified

    async def clear_incomplete(self, older_than: datetime) -> int:
        """Remove the temporary files no living writer holds, whatever their age (the
        lock, not `older_than`, tells a leftover here)."""
        calls = BlockingCalls(self._executor)
        removed = 0
        async for path, _modified in self._walk(temporary=True):
            if await calls.run(_store_io, _remove_if_abandoned, self.root / path):
                removed += 1
        return removed

    async def check(self) -> None:
        await BlockingCalls(self._executor).run(_store_io, _probe_writable, self.root)

    async def presigned_get_url(
        self, key: str, *, filename: str, media_type: str, expires_seconds: int
    ) -> str | None:
        check_blob_key(key)
        return None

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=False)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_blob_key(key).split("/"))

    async def _walk(self, *, temporary: bool) -> AsyncIterator[tuple[str, datetime]]:
        """Stored keys (or, with `temporary`, leftover temporary files) under the two
        levels of hex folders, listed one folder at a time in a thread."""
        calls = BlockingCalls(self._executor)
        try:
            for first in await calls.run(_subfolders, self.root):
                for second in await calls.run(_subfolders, self.root / first):
                    folder = f"{first}/{second}"
                    for name, modified in await calls.run(_files, self.root / folder):
                        path = f"{folder}/{name}"
                        wanted = (
                            name.startswith(TEMP_PREFIX) if temporary else BLOB_KEY.fullmatch(path)
                        )
                        if wanted:
                            yield path, modified
        except OSError as exc:
            raise _unavailable(exc) from exc


class _PendingFile:
    """A blob being written: a temporary file beside its final place. Its methods run in
    worker threads, one at a time."""

    def __init__(self, fd: int, temporary: Path, target: Path) -> None:
        self._fd: int | None = fd
        self._temporary = temporary
        self._target = target
        self._committed = False
        self._written = 0
        self._written_back = 0

    @classmethod
    def create(cls, root: Path, target: Path) -> _PendingFile:
        _make_folders(root, target.parent)
        while True:
            # mkstemp creates the file 0600 and with O_EXCL, in the target's own folder.
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
            if _held_for_writing(fd, Path(name)):
                return cls(fd, Path(name), target)
            os.close(fd)  # a clean-up took it between its creation and the lock

    def write(self, chunks: Iterable[bytes]) -> None:
        assert self._fd is not None
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view) :]
            self._written += len(chunk)
        if self._written - self._written_back >= WRITEBACK_BYTES:
            start_writeback(self._fd, self._written_back, self._written - self._written_back)
            self._written_back = self._written

    def commit(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        self._temporary.replace(self._target)
        self._committed = True
        _fsync_folder(self._target.parent)

    def discard(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        for path in (self._temporary, self._target) if self._committed else (self._temporary,):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                _log.warning("could not remove %s after a failed write", path, exc_info=True)


def _make_folders(root: Path, folder: Path) -> None:
    root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            current.mkdir(mode=FOLDER_MODE)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_range(path: Path, start: int, end: int | None) -> tuple[BinaryIO, int]:
    reader = path.open("rb")
    try:
        first, length = resolve_range(start, end, os.fstat(reader.fileno()).st_size)
        reader.seek(first)
    except BaseException:
        reader.close()
        raise
    return reader, length


def _held_for_writing(fd: int, path: Path) -> bool:
    """Lock a new temporary file for its writer. False when a clean-up got to it first
    (it holds the lock, or has already removed the file)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    try:
        return path.stat().st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _remove_if_abandoned(path: Path) -> bool:
    """Remove a temporary file unless a living process holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # being written
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _unlink_if_present(path: Path) -> None:
    path.unlink(missing_ok=True)


def _size_if_present(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _probe_writable(root: Path) -> None:
    root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + "probe-", dir=root)
    os.close(fd)
    Path(name).unlink()


def _subfolders(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(
                e.name for e in entries if e.name in _HEX2 and e.is_dir(follow_symlinks=False)
            )
    except FileNotFoundError:
        return []


def _files(folder: Path) -> list[tuple[str, datetime]]:
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        modified = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                        found.append((entry.name, modified))
    except FileNotFoundError:
        return []
    return sorted(found)


def _store_io(fn: Callable[..., T], *args: Any) -> T:
    """Call `fn`, turning a file-system failure into `StoreUnavailable`."""
    try:
        return fn(*args)
    except OSError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: OSError) -> StoreUnavailable:
    _log.error("file store failure: %s", exc)
    if exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        return StoreUnavailable("The file store is full. Tell the exchange's administrator.")
    return StoreUnavailable()
