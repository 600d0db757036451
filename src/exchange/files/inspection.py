"""Checking an upload by its content while its bytes stream past, never holding it whole.

`ContentInspector` is fed every chunk on its way to the store. It hashes and counts
them and keeps two bounded windows: the first 8 KiB for libmagic (2 KiB is not enough
to tell an XLSX from a plain zip) and the last 1 MiB, where a ZIP keeps its central
directory and where anything appended to a document shows. `finish()` then decides
from the content, never from the name, what the file is, and refuses what schools do
not share; the name's extension must agree with the content.

What the content says decides:
- ZIP containers are documents only when their central directory says so: OOXML by
  `[Content_Types].xml` plus one of `word/`, `xl/`, `ppt/`; ODF by a first, stored
  `mimetype` entry naming the type. Any other zip is an archive. Nothing is extracted.
- Legacy Office files (OLE2) are told apart by their directory entries when those are
  within the kept bytes, and otherwise by the extension: the directory can sit
  anywhere in a large file, and refusing teachers' old .doc files for that would be
  wrong. libmagic names MSI installers and other OLE2 formats, which stay refused.
- Programs, scripts, web pages, SVG and other XML, archives, a ZIP hidden at the end
  of another file, data after a PDF's last `%%EOF`, and ZIPs declaring more than 1 GiB
  at over 100 times their size are refused.
- Documents carrying runnable content are refused by the one rule of
  `exchange.files.active_content`: Office macros and OLE/ActiveX objects (from the ZIP
  directory, or the OLE directory entries as they stream past), OpenDocument macros,
  scripts and OLE objects, RTF objects (control words as they stream past). PDFs are
  parsed once stored (`UploadReceiver` runs `active_content.in_pdf_isolated`).
"""

from __future__ import annotations

import codecs
import hashlib
from collections import deque
from dataclasses import dataclass
from typing import Final

import magic

from exchange.errors import InvalidInput, UnsupportedMediaType
from exchange.files import media_types
from exchange.files.active_content import (
    ActiveContent,
    Findings,
    OleMacroScanner,
    RtfObjectScanner,
)
from exchange.files.containers import (
    ZIP_LOCAL_HEADER,
    DamagedZip,
    KeptBytes,
    OutsideKeptBytes,
    find_appended_zip,
    ole_streams_seen,
    read_zip,
)
from exchange.files.media_types import ACCEPTED, describe
from exchange.files.names import extension_of
from exchange.i18n import LazyText, _, format_size, lazy_gettext
from exchange.text.plain_text import detect_encoding

HEAD_BYTES: Final = 8 * 1024
TAIL_BYTES: Final = 1024 * 1024
ZIP_BOMB_MIN_DECLARED: Final = 1024**3
ZIP_BOMB_MIN_RATIO: Final = 100
# Small chunks are gathered into pieces of this size before joining the tail, so a
# client sending one byte at a time cannot make the tail a million tiny objects.
_TAIL_PIECE_BYTES: Final = 64 * 1024
_CHARSET_SAMPLE_BYTES: Final = 64 * 1024
_RTF_START: Final = b"{\\rt"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PDF_END: Final = b"%%EOF"
_PDF_WHITESPACE: Final = b"\x00\t\n\x0c\r "
_UTF8_BOM: Final = b"\xef\xbb\xbf"

WHAT_TO_UPLOAD: Final = lazy_gettext(
    "Upload a PDF, Office/OpenDocument file, plain text, image (PNG, JPEG, GIF, WebP), "
    "audio (MP3, M4A, OGG, WAV) or video (MP4, WebM)."
)


@dataclass(frozen=True, slots=True)
class Inspection:
    """What an accepted upload is: its sniffed type, size, SHA-256 (hex) and extension."""

    media_type: str
    size: int
    sha256: str
    extension: str
    charset: str | None = None  # the IANA name of a text file's encoding; None for others


class ContentInspector:
    """Fed an upload chunk by chunk (`feed`), then asked what it is (`finish`).

    Memory stays bounded whatever the size: the head, the tail and one piece being
    gathered. `feed` refuses early, once the first 8 KiB are in, anything that can
    never be accepted (a program, script, web page, SVG/XML, non-document archive), so
    a large bad upload stops before it is all sent. Each inspector owns its libmagic
    handle, as those are not safe to share between threads. Not thread-safe itself.
    """

    def __init__(self, *, tail_bytes: int = TAIL_BYTES) -> None:
        if tail_bytes < 64 * 1024 + 22:
            raise ValueError("the tail must hold at least a ZIP's end record search window")
        self._tail_limit = tail_bytes
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_kept = 0
        self._gathering = bytearray()
        self._sniffed: str | None = None
        self._finished = False
        # Whether every byte so far is UTF-8, checked while the file may still be text.
        self._utf8: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
        self._not_utf8: bytes = b""  # the bytes around where UTF-8 failed, to guess from
        # Fed every byte while the file may be RTF or a legacy Office file; dropped once
        # its first bytes say it is not.
        self._rtf: RtfObjectScanner | None = RtfObjectScanner()
        self._ole: OleMacroScanner | None = OleMacroScanner()

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk. Raises `UnsupportedMediaType` as soon as the head shows
        a file that can never be accepted."""
        if self._finished:
            raise RuntimeError("this inspector has already finished")
        if not chunk:
            return
        self._hash.update(chunk)
        self._size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
            if len(self._head) == HEAD_BYTES:
                sniffed = self._sniff()
                self._refuse_never_accepted(sniffed)
                if not _is_text(sniffed):
                    self._utf8 = None
        self._check_utf8(chunk, final=False)
        self._scan_for_active_content(chunk)
        self._keep_in_tail(chunk)

    def finish(self, display_name: str) -> Inspection:
        """Decide what the fed file is; `display_name` gives the extension to check.

        Raises `InvalidInput` (422) for empty, damaged or misnamed files and zip bombs,
        and `UnsupportedMediaType` (415) for every kind of file the exchange refuses.
        """
        self._finished = True
        if self._size == 0:
            raise InvalidInput(
                _("The file is empty (0 bytes). Choose the file again and upload it.")
            )
        sniffed = self._sniff()
        self._refuse_never_accepted(sniffed)
        view = KeptBytes(bytes(self._head), self._tail_bytes(), self._size)
        extension = extension_of(display_name)
        head = view.head
        if head.startswith(ZIP_LOCAL_HEADER) or _is_zip_name(sniffed):
            media_type = _zip_document(view, sniffed)
        elif sniffed in media_types.OLE_CONTAINERS:
            media_type = _ole_document(view, sniffed, extension)
        else:
            media_type = _plain_document(view, sniffed, extension)
        _check_extension(media_type, extension, display_name)
        self._refuse_active_content(media_type)
        return Inspection(
            media_type=media_type,
            size=self._size,
            sha256=self._hash.hexdigest(),
            extension=extension,
            charset=self._charset() if media_type.startswith("text/") else None,
        )

    def _scan_for_active_content(self, chunk: bytes) -> None:
        if len(self._head) >= len(_OLE_MAGIC):
            if self._rtf is not None and not self._head.startswith(_RTF_START):
                self._rtf = None
            if self._ole is not None and not self._head.startswith(_OLE_MAGIC):
                self._ole = None
        if self._rtf is not None:
            self._rtf.feed(chunk)
        if self._ole is not None:
            self._ole.feed(chunk)

    def _refuse_active_content(self, media_type: str) -> None:
        """Office macros, OLE objects and RTF objects seen while the file streamed past
        (ZIP containers are judged from their directory, PDFs once stored)."""
        if media_type == media_types.RTF and self._rtf is not None and self._rtf.found:
            raise active_content_refusal(Findings.RTF_OBJECTS, media_type)
        if self._ole is not None and self._ole.found:
            raise active_content_refusal(Findings.LEGACY_OFFICE_MACROS, media_type)

    def _check_utf8(self, chunk: bytes, *, final: bool) -> None:
        if self._utf8 is None:
            return
        try:
            self._utf8.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            self._utf8 = None
            around = max(0, exc.start - _CHARSET_SAMPLE_BYTES // 2)
            self._not_utf8 = bytes(chunk[around : around + _CHARSET_SAMPLE_BYTES])

    def _charset(self) -> str:
        """The encoding a text file was written in: UTF-8 when every byte decoded as
        UTF-8 (a byte-order mark says so too), else the guess the search's text
        extraction makes from the first bytes (Windows-1251, KOI8-R ...)."""
        self._check_utf8(b"", final=True)
        if self._utf8 is not None:
            return "utf-8"
        if self._head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return charset_of_text(bytes(self._head), complete=False)
        # The head may be plain ASCII (or look like UTF-8) while the file is not: the
        # bytes where UTF-8 failed tell the encoding.
        return charset_of_text(self._not_utf8 or bytes(self._head), complete=False)

    def _sniff(self) -> str:
        if self._sniffed is None:
            try:
                found = magic.Magic(mime=True).from_buffer(bytes(self._head))
            except magic.MagicException:
                found = "application/octet-stream"
            self._sniffed = str(found).split(";", 1)[0].strip().lower()
        return self._sniffed

    def _refuse_never_accepted(self, sniffed: str) -> None:
        if sniffed in media_types.PROGRAMS:
            raise _refusal(
                _(
                    "This file looks like a program ({sniffed}), not a document. Upload a PDF, "
                    "Office/OpenDocument file, image, audio or video.",
                    sniffed=sniffed,
                ),
                sniffed,
            )
        if sniffed in media_types.SCRIPTS or self._head.removeprefix(_UTF8_BOM).startswith(b"#!"):
            raise _refusal(
                _(
                    "This file is a script ({sniffed}) that a computer can run, not a document. "
                    "To share code with a class, put it in a PDF, or in a .txt file without the "
                    "first '#!' line.",
                    sniffed=sniffed,
                ),
                sniffed,
            )
        if sniffed in media_types.WEB_PAGES:
            raise _refusal(
                _(
                    "This file is a web page (HTML), which can run code in the reader's browser. "
                    "Print or save it as PDF and upload that."
                ),
                sniffed,
            )
        if media_types.is_markup(sniffed):
            raise _refusal(
                _(
                    "This file is SVG or XML ({sniffed}), which can carry scripts. Export "
                    "pictures as PNG or JPEG and documents as PDF, and upload that.",
                    sniffed=sniffed,
                ),
                sniffed,
            )
        if sniffed in media_types.ARCHIVES and not _is_zip_name(sniffed):
            raise _archive_refusal(sniffed)

    def _keep_in_tail(self, chunk: bytes) -> None:
        if len(chunk) >= _TAIL_PIECE_BYTES:
            self._flush_gathering()
            piece = bytes(chunk[-self._tail_limit :])
            self._tail.append(piece)
            self._tail_kept += len(piece)
        else:
            self._gathering += chunk
            if len(self._gathering) >= _TAIL_PIECE_BYTES:
                self._flush_gathering()
        # Drop whole pieces from the front while the rest still covers the limit.
        while self._tail and self._tail_kept + len(self._gathering) - len(self._tail[0]) >= (
            self._tail_limit
        ):
            self._tail_kept -= len(self._tail.popleft())

    def _flush_gathering(self) -> None:
        if self._gathering:
            self._tail.append(bytes(self._gathering))
            self._tail_kept += len(self._gathering)
            self._gathering.clear()

    def _tail_bytes(self) -> bytes:
        self._flush_gathering()
        return b"".join(self._tail)[-self._tail_limit :]


def _is_zip_name(sniffed: str) -> bool:
    return sniffed in {"application/zip", "application/x-zip-compressed"} or sniffed.startswith(
        ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
    )


def _zip_document(view: KeptBytes, sniffed: str) -> str:
    try:
        reading = read_zip(view)
    except OutsideKeptBytes as exc:
        raise InvalidInput(
            _(
                "This document has too many parts for the exchange to check (its table of "
                "contents is over {limit}). Save it as PDF, or split it, and upload again.",
                limit=format_size(TAIL_BYTES),
            ),
            detected_media_type=sniffed,
        ) from exc
    except DamagedZip as exc:
        raise InvalidInput(
            _(
                "This document is damaged: its ZIP structure cannot be read. Open it in your "
                "office program, save it again and upload the new copy."
            ),
            detected_media_type=sniffed,
        ) from exc
    if reading.leading_bytes > 0 or not view.head.startswith(ZIP_LOCAL_HEADER):
        raise _refusal(
            _(
                "This file has something else in front of the document inside it (for example a "
                "program). Save the document again from your office program and upload the new "
                "copy."
            ),
            sniffed,
        )
    if reading.media_type is None:
        raise _archive_refusal(sniffed)
    if reading.active_content is not None:
        raise active_content_refusal(reading.active_content, reading.media_type)
    if (
        reading.declared_size > ZIP_BOMB_MIN_DECLARED
        and reading.declared_size > ZIP_BOMB_MIN_RATIO * view.size
    ):
        raise InvalidInput(
            _(
                "This document says it unpacks to {declared_size} from {size}, far beyond any "
                "real document: it is damaged or made to overload computers. Save it again from "
                "your office program.",
                declared_size=format_size(reading.declared_size),
                size=format_size(view.size),
            ),
            detected_media_type=reading.media_type,
        )
    return reading.media_type


def _ole_document(view: KeptBytes, sniffed: str, extension: str) -> str:
    seen = ole_streams_seen(view)
    if sniffed in {media_types.DOC, media_types.XLS, media_types.PPT}:
        seen.add(sniffed)
    by_extension = _type_for_extension(
        extension, among=(media_types.DOC, media_types.XLS, media_types.PPT)
    )
    if by_extension is not None and (not seen or by_extension in seen):
        return by_extension
    if seen:
        # A Word file with an embedded spreadsheet shows both; libmagic's verdict, then
        # the main-stream order, picks the one the file is.
        for candidate in (sniffed, media_types.DOC, media_types.PPT, media_types.XLS):
            if candidate in seen:
                return candidate
    raise _refusal(
        _(
            "This is an old-style Office file (97-2003) of a kind the exchange could not "
            "recognise. Save it as .docx, .xlsx or .pptx (or PDF) and upload that."
        ),
        sniffed,
    )


def _plain_document(view: KeptBytes, sniffed: str, extension: str) -> str:
    canonical = media_types.ALIASES.get(sniffed, sniffed)
    if canonical in ACCEPTED and canonical != media_types.TEXT:
        media_type = canonical
    elif _is_text(sniffed):
        media_type = media_types.TEXT_BY_EXTENSION.get(extension, media_types.TEXT)
    else:
        raise _refusal(
            _("The exchange does not accept this kind of file ({sniffed}).", sniffed=sniffed)
            + " "
            + str(WHAT_TO_UPLOAD),
            sniffed,
        )
    if find_appended_zip(view):
        raise _refusal(
            _(
                "This file is {media_type} with a ZIP archive hidden at its end. Save or export "
                "the document again and upload the new copy.",
                media_type=describe(media_type),
            ),
            sniffed,
        )
    if media_type == media_types.PDF:
        _check_pdf_ends_cleanly(view)
    return media_type


_IANA_CHARSETS: Final = {
    "utf_8": "utf-8",
    "utf_8_sig": "utf-8",
    "utf_16": "utf-16",
    "utf_32": "utf-32",
    "cp1251": "windows-1251",
    "cp1252": "windows-1252",
    "koi8_r": "koi8-r",
    "cp866": "ibm866",
}


def charset_of_text(data: bytes, *, complete: bool) -> str:
    """The IANA charset name (for `Content-Type`) of text beginning with `data`;
    `complete` says `data` is the whole file."""
    codec = codecs.lookup(detect_encoding(data, complete=complete)).name.replace("-", "_")
    return _IANA_CHARSETS.get(codec, codec.replace("_", "-"))


def _is_text(sniffed: str) -> bool:
    # Teachers' text is often taken for source code (libmagic says text/x-c,
    # text/x-algol68, text/troff ...): that is still text. Scripts, HTML and XML were
    # refused before this point.
    return sniffed.startswith("text/") or sniffed in {"application/csv", "text/csv"}


def _check_pdf_ends_cleanly(view: KeptBytes) -> None:
    tail = view.tail
    end = tail.rfind(_PDF_END)
    if end < 0 or tail[end + len(_PDF_END) :].strip(_PDF_WHITESPACE):
        raise _refusal(
            _(
                "This PDF has other data after its end (%%EOF): it is damaged or has something "
                "hidden in it. Save or print it to PDF again and upload the new copy."
            ),
            media_types.PDF,
        )


def _check_extension(media_type: str, extension: str, display_name: str) -> None:
    if media_type in media_types.TEXT_BY_EXTENSION.values():
        accepted = ACCEPTED[media_types.TEXT]
    else:
        accepted = ACCEPTED[media_type]
    if extension in accepted.extensions:
        return
    suggestion = accepted.extensions[0]
    if not extension:
        raise InvalidInput(
            _(
                "The file name '{display_name}' has no extension, and the file is {label}. Rename "
                "it to end in .{suggestion} and upload it again.",
                display_name=display_name,
                label=accepted.label,
                suggestion=suggestion,
            ),
            detected_media_type=media_type,
        )
    raise InvalidInput(
        _(
            "The file is {label} but its name ends in .{extension}. Rename it to end in "
            ".{suggestion}, or choose the file you meant to upload.",
            label=accepted.label,
            extension=extension,
            suggestion=suggestion,
        ),
        detected_media_type=media_type,
    )


def _type_for_extension(extension: str, *, among: tuple[str, ...]) -> str | None:
    for media_type in among:
        if extension in ACCEPTED[media_type].extensions:
            return media_type
    return None


def active_content_refusal(found: ActiveContent, media_type: str) -> UnsupportedMediaType:
    """The refusal of a document that carries runnable content (see `active_content`)."""
    detail = _(found.detail)
    if found.advice:
        detail = f"{detail} {_(found.advice)}"
    return UnsupportedMediaType(detail, detected_media_type=media_type, active_content=found.kind)


def _refusal(detail: str | LazyText, sniffed: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(detail, detected_media_type=sniffed)


def _archive_refusal(sniffed: str) -> UnsupportedMediaType:
    return _refusal(
        _(
            "This file is an archive ({sniffed}), not a document the exchange can show. Unpack it "
            "and upload the documents inside one by one.",
            sniffed=sniffed,
        ),
        sniffed,
    )
