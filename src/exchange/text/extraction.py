"""Text extraction from what schools upload, for the search index.

`extract_text` reads a stored file under cooperative caps (output size, expanded bytes,
archive entries, time). `extract_text_isolated` runs the same in a child process with an
address-space limit and a wall-clock deadline, and kills it past the deadline: it is what
a worker should call, because a hostile file may find a loop inside a parsing library
that no cooperative check can interrupt.

Every outcome is an `Extraction`; files that cannot be read do not raise. Only a path that
cannot be opened at all (missing, unreadable) raises `OSError`, since that is a fault of
the store, not of the document.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import multiprocessing
import re
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Literal

from defusedxml import DefusedXmlException

from exchange.i18n import N_
from exchange.text.budget import (
    ExtractionBudget,
    OutputFull,
    TooManyParts,
    TooMuchData,
    TooSlow,
)
from exchange.text.office_documents import (
    DamagedParts,
    NotAnOfficeFile,
    OfficeFormat,
    read_office_document,
)
from exchange.text.pdf_text import PasswordProtected, read_pdf
from exchange.text.plain_text import read_plain_text
from exchange.text.rtf import read_rtf

logger = logging.getLogger(__name__)

_MIB = 1024 * 1024

ExtractionStatus = Literal["done", "no_text", "unsupported", "failed"]


@dataclass(frozen=True)
class ExtractionLimits:
    """Caps on one extraction. Sizes are in characters or bytes, time in seconds."""

    max_output_chars: int = 2_000_000
    max_entry_bytes: int = 50 * _MIB
    max_total_bytes: int = 200 * _MIB
    max_entries: int = 5000
    timeout_seconds: float = 30.0
    max_memory_bytes: int = 512 * _MIB

    def __post_init__(self) -> None:
        for name in (
            "max_output_chars",
            "max_entry_bytes",
            "max_total_bytes",
            "max_entries",
            "timeout_seconds",
            "max_memory_bytes",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True)
class Extraction:
    """What extraction found. `reason` is a sentence for the resource page, or None."""

    status: ExtractionStatus
    text: str
    truncated: bool
    reason: str | None


class Reasons:
    """The sentences a teacher may read on a resource page, in one place. They are
    stored in English with the search document and translated when shown."""

    TEXT_TOO_LONG = N_(
        "The document's text is larger than the limit; only the first part is searchable."
    )
    TOO_SLOW_PARTIAL = N_(
        "Text extraction took too long; only the first part of the document is searchable."
    )
    TOO_SLOW = N_("Text extraction took too long; only the title and description are searchable.")
    TOO_MUCH_DATA_PARTIAL = N_(
        "The file holds more data than the limit allows; only the first part is searchable."
    )
    TOO_MUCH_DATA = N_(
        "The file expands to more data than the limit allows, so its text is not searchable."
    )
    TOO_MANY_PARTS = N_(
        "The file holds more parts than the limit allows, so its text is not searchable."
    )
    FORBIDDEN_XML = N_(
        "The file contains XML declarations that are not allowed, so its text is not searchable."
    )
    DAMAGED_PARTIAL = N_("Part of the file is damaged; the text of the rest is searchable.")
    DAMAGED = N_("The file could not be read; it may be damaged.")
    NO_TEXT = N_("No text was found in this file; a scan or a picture has no searchable text.")
    PASSWORD = N_("The PDF is protected by a password, so its text cannot be searched.")
    LEGACY_OFFICE = N_(
        "Text is not read from old Office files (.doc, .xls, .ppt); "
        "save the file as .docx, .xlsx or .pptx to make its text searchable."
    )
    MEDIA = N_("Pictures, sound and video have no searchable text.")
    ARCHIVE = N_("Text is not read from inside zip archives.")
    OTHER_KIND = N_("Text is not read from this kind of file.")
    OUT_OF_MEMORY = N_(
        "Text extraction needed more memory than allowed; "
        "only the title and description are searchable."
    )
    CRASHED = N_(
        "Text extraction stopped unexpectedly; only the title and description are searchable."
    )


_Reader = Callable[[Path, ExtractionBudget], None]


def _office(office_format: OfficeFormat | None) -> _Reader:
    def read(path: Path, budget: ExtractionBudget) -> None:
        read_office_document(path, office_format, budget)

    return read


_READERS_BY_MEDIA_TYPE: dict[str, _Reader] = {
    "application/pdf": read_pdf,
    "application/x-pdf": read_pdf,
    "application/rtf": read_rtf,
    "text/rtf": read_rtf,
    "application/zip": _office(None),
    **dict.fromkeys(
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
            "application/vnd.ms-word.document.macroenabled.12",
            "application/vnd.ms-word.template.macroenabled.12",
        ),
        _office("docx"),
    ),
    **dict.fromkeys(
        (
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
            "application/vnd.openxmlformats-officedocument.presentationml.template",
            "application/vnd.ms-powerpoint.presentation.macroenabled.12",
            "application/vnd.ms-powerpoint.slideshow.macroenabled.12",
        ),
        _office("pptx"),
    ),
    **dict.fromkeys(
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
            "application/vnd.ms-excel.sheet.macroenabled.12",
        ),
        _office("xlsx"),
    ),
}
_LEGACY_OFFICE_MEDIA_TYPES = frozenset(
    {
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-office",
        "application/cdfv2",
        "application/x-ole-storage",
    }
)
_OPEN_DOCUMENT_PREFIX = "application/vnd.oasis.opendocument."


def _reader_for(media_type: str) -> _Reader | Extraction:
    """The reader for a sniffed media type, or the `unsupported` outcome."""
    essence = media_type.partition(";")[0].strip().lower()
    reader = _READERS_BY_MEDIA_TYPE.get(essence)
    if reader is not None:
        return reader
    if essence.startswith(_OPEN_DOCUMENT_PREFIX):
        return _office("odf")
    if essence.startswith("text/"):
        # libmagic names plain text by its look (text/x-c, text/csv, text/html, ...).
        return read_plain_text
    if essence in _LEGACY_OFFICE_MEDIA_TYPES:
        return _unsupported(Reasons.LEGACY_OFFICE)
    if essence.partition("/")[0] in {"image", "audio", "video"}:
        return _unsupported(Reasons.MEDIA)
    return _unsupported(Reasons.OTHER_KIND)


def outcome_without_reading(media_type: str) -> Extraction | None:
    """The outcome for a media type whose files are never read (pictures, video, old
    Office formats...), or None when its files are read: a worker need not fetch them."""
    reader = _reader_for(media_type)
    return reader if isinstance(reader, Extraction) else None


def _unsupported(reason: str) -> Extraction:
    return Extraction(status="unsupported", text="", truncated=False, reason=reason)


_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_SPACES = re.compile(r" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
_ALPHANUMERIC = re.compile(r"[^\W_]")


def _tidy(text: str) -> str:
    """Text safe to store in either database and pleasant in a snippet."""
    if _SURROGATE.search(text):
        # Pairs halves that arrived separately (RTF \uN, PDF) and replaces lone ones.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL_CHARACTERS.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _outcome(text: str, *, partial_reason: str | None, empty: Extraction) -> Extraction:
    tidy = _tidy(text)
    if not _ALPHANUMERIC.search(tidy):
        return empty
    return Extraction(
        status="done", text=tidy, truncated=partial_reason is not None, reason=partial_reason
    )


def _empty(status: ExtractionStatus, reason: str) -> Extraction:
    return Extraction(status=status, text="", truncated=False, reason=reason)


def extract_text(
    path: Path, media_type: str, limits: ExtractionLimits = ExtractionLimits()
) -> Extraction:
    """Extracts the text of the file at `path`, sniffed as `media_type`, in this process.

    The caps are cooperative: they are checked between chunks, parts and pages. Prefer
    `extract_text_isolated` for files from users.
    """
    reader = _reader_for(media_type)
    if isinstance(reader, Extraction):
        return reader
    budget = ExtractionBudget(
        max_output_chars=limits.max_output_chars,
        max_entry_bytes=limits.max_entry_bytes,
        max_total_bytes=limits.max_total_bytes,
        max_entries=limits.max_entries,
        timeout_seconds=limits.timeout_seconds,
    )
    no_text = _empty("no_text", Reasons.NO_TEXT)
    try:
        reader(path, budget)
    except OutputFull:
        return _outcome(budget.text, partial_reason=Reasons.TEXT_TOO_LONG, empty=no_text)
    except TooSlow:
        return _outcome(
            budget.text,
            partial_reason=Reasons.TOO_SLOW_PARTIAL,
            empty=_empty("failed", Reasons.TOO_SLOW),
        )
    except TooMuchData:
        return _outcome(
            budget.text,
            partial_reason=Reasons.TOO_MUCH_DATA_PARTIAL,
            empty=_empty("no_text", Reasons.TOO_MUCH_DATA),
        )
    except TooManyParts:
        return _empty("no_text", Reasons.TOO_MANY_PARTS)
    except DefusedXmlException:
        return _empty("no_text", Reasons.FORBIDDEN_XML)
    except DamagedParts:
        return _outcome(
            budget.text,
            partial_reason=Reasons.DAMAGED_PARTIAL,
            empty=_empty("failed", Reasons.DAMAGED),
        )
    except NotAnOfficeFile:
        return _unsupported(Reasons.ARCHIVE)
    except PasswordProtected:
        return _unsupported(Reasons.PASSWORD)
    except MemoryError:
        return _empty("failed", Reasons.OUT_OF_MEMORY)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception:
        # Parsing libraries raise many kinds of errors on damaged files; all mean the same.
        logger.info("text extraction failed for %s (%s)", path, media_type, exc_info=True)
        return _empty("failed", Reasons.DAMAGED)
    return _outcome(budget.text, partial_reason=None, empty=no_text)


# Time for a child process to start and report ready, on a slow, busy machine.
_CHILD_START_SECONDS = 20.0
_CHILD_EXIT_SECONDS = 5.0
_READY = b"ready"


def _process_context() -> ForkServerContext | SpawnContext:
    # forkserver forks children from a small clean server, not from the app with its
    # threads and connections, and with the parsers already imported; spawn is the
    # portable fallback.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _limit_child_resources(limits: ExtractionLimits) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))
    # A backstop should the parent die: CPU time past the deadline ends the child.
    cpu_seconds = math.ceil(limits.timeout_seconds * 2) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _send(connection: Connection, payload: dict[str, object]) -> None:
    connection.send_bytes(json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace"))


def _run_in_child(
    connection: Connection, path: str, media_type: str, limits: ExtractionLimits
) -> None:
    """Entry point of the child process: reports ready, extracts, sends the outcome."""
    try:
        _limit_child_resources(limits)
        connection.send_bytes(_READY)
        try:
            outcome = extract_text(Path(path), media_type, limits)
        except MemoryError:
            outcome = _empty("failed", Reasons.OUT_OF_MEMORY)
        except OSError as error:
            _send(connection, {"errno": error.errno, "strerror": error.strerror})
            return
        _send(connection, dataclasses.asdict(outcome))
    finally:
        connection.close()


def _extraction_from(payload: object) -> Extraction | None:
    """The outcome a child sent, if it is well formed."""
    if not isinstance(payload, dict):
        return None
    status, text = payload.get("status"), payload.get("text")
    truncated, reason = payload.get("truncated"), payload.get("reason")
    if (
        status not in {"done", "no_text", "unsupported", "failed"}
        or not isinstance(text, str)
        or not isinstance(truncated, bool)
        or not (reason is None or isinstance(reason, str))
    ):
        return None
    return Extraction(status=status, text=text, truncated=truncated, reason=reason)


def _stop(process: BaseProcess) -> None:
    if process.is_alive():
        process.kill()
    process.join(_CHILD_EXIT_SECONDS)


def extract_text_isolated(
    path: Path, media_type: str, limits: ExtractionLimits = ExtractionLimits()
) -> Extraction:
    """Extracts text in a child process limited to `limits.max_memory_bytes` of address
    space, killed if it runs past `limits.timeout_seconds` (plus a small grace for the
    cooperative deadline inside it to report partial text first).

    Blocks the calling thread; call it from a worker thread, not the event loop. As with
    any multiprocessing child, the program's main module must be safe to import (its work
    under `if __name__ == "__main__":`).
    """
    reader = _reader_for(media_type)
    if isinstance(reader, Extraction):
        return reader
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_run_in_child,
        args=(sender, str(path), media_type, limits),
        name="text-extraction",
        daemon=True,
    )
    # The child parsed hostile input, so what it sends is read as bounded JSON, never
    # unpickled: at worst a compromised child makes its own extraction fail.
    largest_message = limits.max_output_chars * 6 + 64 * 1024
    payload: object = None
    try:
        process.start()
        sender.close()
        if receiver.poll(_CHILD_START_SECONDS) and receiver.recv_bytes(len(_READY)) == _READY:
            if not receiver.poll(limits.timeout_seconds * 1.1 + 1.0):
                return _empty("failed", Reasons.TOO_SLOW)
            payload = json.loads(receiver.recv_bytes(largest_message))
    except (EOFError, OSError, ValueError):
        pass  # the child died without a word (killed by the kernel, a crash in C code)
    finally:
        sender.close()
        if process.pid is not None:
            _stop(process)
        receiver.close()
    if isinstance(payload, dict) and isinstance(payload.get("errno"), int):
        # OSError picks the subclass from errno (FileNotFoundError for ENOENT, ...).
        raise OSError(payload["errno"], str(payload.get("strerror")), str(path))
    extraction = _extraction_from(payload)
    if extraction is None:
        logger.info("text extraction child ended early (exit code %s)", process.exitcode)
        return _empty("failed", Reasons.CRASHED)
    return extraction
