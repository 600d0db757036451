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
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from defusedxml import DefusedXmlException

from exchange.files.sandbox import SandboxEnd, SandboxLimits, run_sandboxed
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


def _read_for_child(path: str, media_type: str, limits: ExtractionLimits) -> dict[str, object]:
    """What a sandboxed child runs: the extraction, as JSON can carry it."""
    return dataclasses.asdict(extract_text(Path(path), media_type, limits))


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


def extract_text_isolated(
    path: Path, media_type: str, limits: ExtractionLimits = ExtractionLimits()
) -> Extraction:
    """Extracts text in a child process limited to `limits.max_memory_bytes` of address
    space, killed if it runs past `limits.timeout_seconds` (plus a small grace for the
    cooperative deadline inside it to report partial text first)
    (`exchange.files.sandbox`).

    Blocks the calling thread; call it from a worker thread, not the event loop.
    """
    reader = _reader_for(media_type)
    if isinstance(reader, Extraction):
        return reader
    payload = run_sandboxed(
        _read_for_child,
        (str(path), media_type, limits),
        SandboxLimits(limits.timeout_seconds, limits.max_memory_bytes),
        largest_message=limits.max_output_chars * 6 + 64 * 1024,
        out_of_memory=dataclasses.asdict(_empty("failed", Reasons.OUT_OF_MEMORY)),
        name="text-extraction",
        path=str(path),
    )
    if payload is SandboxEnd.TOO_SLOW:
        return _empty("failed", Reasons.TOO_SLOW)
    extraction = _extraction_from(payload)
    if extraction is None:
        return _empty("failed", Reasons.CRASHED)
    return extraction
