"""Starting a file's write to disk while it is still being written (Linux only).

An upload's file is flushed (`fsync`) before its row is committed. Left to the kernel,
the dirty pages of a 200 MB file mostly wait for that `fsync`, and the client waits for
all of them at the end. `sync_file_range(SYNC_FILE_RANGE_WRITE)` asks the kernel to
start writing a range back now, without waiting for it, so the disk works while the
rest of the file arrives and the final `fsync` has little left to do: the way
PostgreSQL's `backend_flush_after` spreads its writes. The call is a hint: where it is
missing (not Linux) or fails, nothing changes but the timing, and the `fsync` at the
end is what makes the file durable either way.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Final

SYNC_FILE_RANGE_WRITE: Final = 2


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE: Final = _sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to start writing `length` bytes at `offset` of `fd` to disk, without
    waiting. True if the hint was given."""
    if _SYNC_FILE_RANGE is None or length <= 0:
        return False
    return _SYNC_FILE_RANGE(fd, offset, length, SYNC_FILE_RANGE_WRITE) == 0
