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
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable
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
from exchange.i18n import lazy_gettext

TEMP_PREFIX: Final = ".upload-"
# A resumable (tus) upload's bytes wait beside their final place under this prefix.
RESUMABLE_PREFIX: Final = ".resumable-"
FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700
# Chunks are handed to a thread in batches of about this size: one thread hop per
# 64 KiB network chunk would cost more than the write. One batch is written while the
# next gathers, so about two are held.
WRITE_BATCH_BYTES: Final = 512 * 1024

# Written data is handed to the disk in steps of this size while the upload goes on
# (see `writeback`), so the `fsync` before the commit finds little left to write.
WRITEBACK_BYTES: Final = 8 * 1024 * 1024
RESUMABLE_WRITEBACK_BYTES: Final = 1024 * 1024

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
        try:
            written = await _write_in_batches(calls, pending.write, chunks)
            await calls.run(_store_io, pending.commit)
        except BaseException:
            await calls.run_cleanup(pending.discard)
            raise
        return written

    async def start_resumable(self, key: str) -> dict[str, Any]:
        calls = BlockingCalls(self._executor)
        await calls.run(_store_io, _create_resumable, self.root, self._resumable_path(key))
        return {}

    async def append_resumable(
        self, key: str, state: dict[str, Any], offset: int, chunks: AsyncIterable[bytes]
    ) -> tuple[int, dict[str, Any]]:
        calls = BlockingCalls(self._executor)
        path = self._resumable_path(key)
        try:
            appending = await calls.run(_store_io, _Appending.open, path, offset)
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                raise BlobNotFound(key) from exc
            raise
        try:
            await _write_in_batches(calls, appending.write, chunks)
            return await calls.run(_store_io, appending.make_durable), state
        finally:
            await calls.run_cleanup(appending.close)

    async def finish_resumable(self, key: str, state: dict[str, Any], length: int) -> None:
        await BlockingCalls(self._executor).run(
            _store_io, _finish_resumable, self._resumable_path(key), self._path(key), length
        )

    async def abort_resumable(self, key: str, state: dict[str, Any]) -> None:
        await BlockingCalls(self._executor).run(
            _store_io, _unlink_if_present, self._resumable_path(key)
        )

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

    async def clear_incomplete(self, older_than: datetime, keep: Collection[str] = ()) -> int:
        """Remove the temporary files no living writer holds, whatever their age (the
        lock, not `older_than`, tells a leftover here). Resumable files are not
        temporary files: they go when their upload is abandoned or expires."""
        calls = BlockingCalls(self._executor)
        removed = 0
        async for path, _modified in self._walk(temporary=True):
            if await calls.run(_store_io, _remove_if_abandoned, self.root / path):
                removed += 1
        return removed

    async def check(self) -> None:
        await BlockingCalls(self._executor).run(_store_io, _probe_writable, self.root)

    async def presigned_get_url(
        self,
        key: str,
        *,
        filename: str,
        media_type: str,
        expires_seconds: int,
        disposition: str = "attachment",
    ) -> str | None:
        check_blob_key(key)
        return None

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=False)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_blob_key(key).split("/"))

    def _resumable_path(self, key: str) -> Path:
        target = self._path(key)
        return target.with_name(RESUMABLE_PREFIX + target.name)

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


class _Writing:
    """A file being written from byte `start` on, handed to the disk as it grows (see
    `writeback`). Its methods run in worker threads, one at a time."""

    writeback_bytes = WRITEBACK_BYTES

    def __init__(self, fd: int, start: int = 0) -> None:
        self._fd: int | None = fd
        self._start = start
        self._written = 0
        self._written_back = 0

    def write(self, chunks: Iterable[bytes]) -> None:
        assert self._fd is not None
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view) :]
            self._written += len(chunk)
        if self._written - self._written_back >= self.writeback_bytes:
            start_writeback(
                self._fd, self._start + self._written_back, self._written - self._written_back
            )
            self._written_back = self._written


class _PendingFile(_Writing):
    """A blob being written: a temporary file beside its final place."""

    def __init__(self, fd: int, temporary: Path, target: Path) -> None:
        super().__init__(fd)
        self._temporary = temporary
        self._target = target
        self._committed = False

    @classmethod
    def create(cls, root: Path, target: Path) -> _PendingFile:
        _make_folders(root, target.parent)
        while True:
            # mkstemp creates the file 0600 and with O_EXCL, in the target's own folder.
            fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
            if _held_for_writing(fd, Path(name)):
                return cls(fd, Path(name), target)
            os.close(fd)  # a clean-up took it between its creation and the lock

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


async def _write_in_batches(
    calls: BlockingCalls, write: Callable[[list[bytes]], None], chunks: AsyncIterable[bytes]
) -> int:
    """Hand `chunks` to `write` in a thread, in batches of about `WRITE_BATCH_BYTES`; one
    batch is written while the next one gathers, so the disk and the upload's parsing and
    hashing work at the same time and at most two batches are held. Returns the bytes
    written. On failure the write in flight is left to finish: cleanup run through
    `calls.run_cleanup` waits for it."""
    written = 0
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
                writing = asyncio.ensure_future(calls.run(_store_io, write, batch))
                written += batch_bytes
                batch, batch_bytes = [], 0
        if writing is not None:
            await writing
        if batch:
            await calls.run(_store_io, write, batch)
            written += batch_bytes
    except BaseException:
        if writing is not None and not writing.done():
            # Only the waiting is cancelled: the caller's cleanup waits for the write.
            writing.cancel()
            writing.add_done_callback(ignore_outcome)
        raise
    return written


class _Appending(_Writing):
    """A resumable file opened to write after its first `offset` bytes."""

    # Each piece is flushed before it is answered, while the client waits to send the
    # next one: hand it to the disk in small steps, so the flush finds little to do.
    writeback_bytes = RESUMABLE_WRITEBACK_BYTES

    @classmethod
    def open(cls, path: Path, offset: int) -> _Appending:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
        try:
            size = os.fstat(fd).st_size
            if size < offset:
                # The offset recorded is never ahead of what was made durable.
                raise OSError(errno.EIO, f"{path} holds {size} bytes, fewer than {offset}")
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, offset)

    def make_durable(self) -> int:
        assert self._fd is not None
        os.fsync(self._fd)
        return self._start + self._written

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _create_resumable(root: Path, path: Path) -> None:
    _make_folders(root, path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    os.close(fd)
    _fsync_folder(path.parent)


def _finish_resumable(path: Path, target: Path, length: int) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if target.stat().st_size == length:
            return  # finished before, by a request that did not live to record it
        raise
    if size != length:
        raise OSError(errno.EIO, f"{path} holds {size} bytes, not {length}")
    path.replace(target)
    _fsync_folder(target.parent)


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
        return StoreUnavailable(
            lazy_gettext("The file store is full. Tell the exchange's administrator.")
        )
    return StoreUnavailable()
