"""Reading an uploaded file in a child process with hard limits.

A hostile file may find a loop inside a parsing library that no cooperative check can
interrupt, or make a decoder ask for gigabytes. What reads uploads for the exchange's
own use (text for search, previews) runs its reader here: in a child process with an
address-space limit and a CPU-time backstop, killed once its wall-clock deadline has
passed. The child's answer is bounded JSON, never unpickled: at worst a compromised
child makes its own reading fail.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

logger = logging.getLogger(__name__)

# Time for a child process to start and report ready, on a slow, busy machine.
_CHILD_START_SECONDS = 20.0
_CHILD_EXIT_SECONDS = 5.0
_READY = b"ready"
# The readers a child runs, imported once by the fork server rather than by every child.
_PRELOADED = ["exchange.text.extraction", "exchange.previews.making"]

# A reader: called in the child with its arguments, returns what JSON can carry.
Reader = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class SandboxLimits:
    timeout_seconds: float
    max_memory_bytes: int


class SandboxEnd(Enum):
    """How a child ended without an answer."""

    TOO_SLOW = "too_slow"
    CRASHED = "crashed"


def _process_context() -> ForkServerContext | SpawnContext:
    # forkserver forks children from a small clean server, not from the app with its
    # threads and connections, and with the readers already imported; spawn is the
    # portable fallback.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOADED)
        return context
    return multiprocessing.get_context("spawn")


def _limit_child_resources(limits: SandboxLimits) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))
    # A backstop should the parent die: CPU time past the deadline ends the child.
    cpu_seconds = math.ceil(limits.timeout_seconds * 2) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _send(connection: Connection, payload: dict[str, Any]) -> None:
    connection.send_bytes(json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace"))


def _run_in_child(
    connection: Connection,
    reader: Reader,
    arguments: tuple[Any, ...],
    limits: SandboxLimits,
    out_of_memory: dict[str, Any],
) -> None:
    """Entry point of the child process: reports ready, reads, sends the outcome."""
    try:
        _limit_child_resources(limits)
        connection.send_bytes(_READY)
        try:
            outcome = reader(*arguments)
        except MemoryError:
            outcome = out_of_memory
        except OSError as error:
            _send(connection, {"errno": error.errno, "strerror": error.strerror})
            return
        _send(connection, outcome)
    finally:
        connection.close()


def _stop(process: BaseProcess) -> None:
    if process.is_alive():
        process.kill()
    process.join(_CHILD_EXIT_SECONDS)


def run_sandboxed(
    reader: Reader,
    arguments: tuple[Any, ...],
    limits: SandboxLimits,
    *,
    largest_message: int,
    out_of_memory: dict[str, Any],
    name: str,
    path: str,
) -> dict[str, Any] | SandboxEnd:
    """What `reader(*arguments)` returned in a child limited to `limits.max_memory_bytes`
    of address space, or how the child ended without an answer: killed past
    `limits.timeout_seconds` (plus a small grace for a cooperative deadline inside it to
    answer first), or dead without a word. A `MemoryError` in the child answers
    `out_of_memory`; an `OSError` opening `path` is raised here again.

    `reader` must be a module-level function (the child imports it by name). Blocks the
    calling thread; call it from a worker thread, not the event loop. As with any
    multiprocessing child, the program's main module must be safe to import.
    """
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_run_in_child,
        args=(sender, reader, arguments, limits, out_of_memory),
        name=name,
        daemon=True,
    )
    payload: object = None
    try:
        process.start()
        sender.close()
        if receiver.poll(_CHILD_START_SECONDS) and receiver.recv_bytes(len(_READY)) == _READY:
            if not receiver.poll(limits.timeout_seconds * 1.1 + 1.0):
                return SandboxEnd.TOO_SLOW
            payload = json.loads(receiver.recv_bytes(largest_message))
    except (EOFError, OSError, ValueError):
        pass  # the child died without a word (killed by the kernel, a crash in C code)
    finally:
        sender.close()
        if process.pid is not None:
            _stop(process)
        receiver.close()
    if not isinstance(payload, dict):
        logger.info("%s child ended early (exit code %s)", name, process.exitcode)
        return SandboxEnd.CRASHED
    if isinstance(payload.get("errno"), int):
        # OSError picks the subclass from errno (FileNotFoundError for ENOENT, ...).
        raise OSError(payload["errno"], str(payload.get("strerror")), path)
    return payload
