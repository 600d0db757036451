"""Reading what a container file holds from the bytes kept while it streamed past.

An upload is never held whole: `ContentInspector` keeps its first bytes (the head) and
its last bytes (the tail). That is enough to read a ZIP's central directory, which sits
at the end, and so to tell a Word document from a spreadsheet or from any other zip,
without extracting or decompressing anything; and to spot a ZIP appended to another
file. For legacy OLE2 Office files the directory may sit anywhere, so only what the
kept bytes show is used.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

from exchange.files import media_types
from exchange.files.active_content import ActiveContent, in_ooxml, in_open_document

ZIP_LOCAL_HEADER: Final = b"PK\x03\x04"
_ZIP_END_OF_DIRECTORY: Final = b"PK\x05\x06"
_ZIP_DIRECTORY_ENTRY: Final = b"PK\x01\x02"
_ZIP64_END_LOCATOR: Final = b"PK\x06\x07"
_ZIP64_END_OF_DIRECTORY: Final = b"PK\x06\x06"
_ZIP_END_RECORD: Final = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR: Final = struct.Struct("<4sLQL")
_ZIP64_END_RECORD: Final = struct.Struct("<4sQ2H2L4Q")
_ZIP_END_SIZE: Final = _ZIP_END_RECORD.size
_ZIP_MAX_COMMENT: Final = 0xFFFF
_ZIP64_MARK: Final = 0xFFFF

_OLE_DIRECTORY_ENTRY_SIZE: Final = 128
_OLE_STREAM: Final = 2

_ODF_TYPES: Final = frozenset({media_types.ODT, media_types.ODS, media_types.ODP})
_OOXML_PARTS: Final = {"word/": media_types.DOCX, "xl/": media_types.XLSX, "ppt/": media_types.PPTX}
_OLE_STREAMS: Final = {
    "WordDocument": media_types.DOC,
    "Workbook": media_types.XLS,
    "Book": media_types.XLS,
    "PowerPoint Document": media_types.PPT,
}


class OutsideKeptBytes(Exception):
    """Reading the container needs bytes that were not kept (neither head nor tail)."""


class KeptBytes(io.RawIOBase):
    """A read-only, seekable view of a file of which only the head and tail are known.

    When the file is no longer than the tail, the tail is the whole file. Reads that
    touch the unknown middle raise `OutsideKeptBytes`, so a parser working over this view
    either sees true bytes or stops.
    """

    def __init__(self, head: bytes, tail: bytes, size: int) -> None:
        super().__init__()
        self._head = head
        self._tail = tail
        self._size = size
        self._tail_start = size - len(tail)
        self._position = 0

    @property
    def head(self) -> bytes:
        return self._head

    @property
    def tail(self) -> bytes:
        return self._tail

    @property
    def tail_start(self) -> int:
        return self._tail_start

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        start = min(self._position, self._size)
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        data = self.slice(start, end)
        self._position = end
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def slice(self, start: int, end: int) -> bytes:
        if start < 0:
            raise OutsideKeptBytes(f"byte {start} is before the start of the file")
        if end <= start:
            return b""
        if start >= self._tail_start:
            return self._tail[start - self._tail_start : end - self._tail_start]
        if end <= len(self._head):
            return self._head[start:end]
        raise OutsideKeptBytes(f"bytes {start}-{end} of {self._size} were not kept")


@dataclass(frozen=True, slots=True)
class ZipReading:
    """What a ZIP's central directory says, or why it could not be read."""

    media_type: str | None  # an accepted document type, or None for any other zip
    entry_count: int
    declared_size: int  # sum of the uncompressed sizes the directory declares
    active_content: ActiveContent | None  # macros, scripts or embedded objects it names
    leading_bytes: int  # bytes before the first entry: > 0 means something was prepended


class DamagedZip(Exception):
    pass


class SeekableBytes(Protocol):
    """An open file, or the kept bytes of one."""

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ZipEndRecord:
    """A ZIP's end-of-central-directory record, as it stands in the file."""

    position: int  # of the record's first byte in the file
    disk: int
    directory_disk: int
    entries_on_disk: int
    entries: int  # 0xFFFF when the count is in the ZIP64 record instead
    directory_size: int
    directory_offset: int
    comment_length: int

    def ends(self, size: int) -> bool:
        """Whether the record and its comment end a file of `size` bytes exactly."""
        return self.position + _ZIP_END_SIZE + self.comment_length == size


def zip_end_records(file: SeekableBytes) -> Iterator[ZipEndRecord]:
    """The end-of-central-directory records within the last 64 KiB of `file` (where unzip
    tools look, a comment being at most that long), the last one first.

    Every caller has its own idea of which one counts: `zipfile` and the text extraction
    take the last, an upload must end exactly with one. Reads through a `KeptBytes` view
    raise `OutsideKeptBytes` when the window was not kept.
    """
    size = file.seek(0, io.SEEK_END)
    search_from = max(0, size - _ZIP_END_SIZE - _ZIP_MAX_COMMENT)
    file.seek(search_from)
    window = file.read(size - search_from)
    position = window.rfind(_ZIP_END_OF_DIRECTORY)
    while position >= 0:
        if position + _ZIP_END_SIZE <= len(window):
            fields = _ZIP_END_RECORD.unpack_from(window, position)[1:]
            yield ZipEndRecord(search_from + position, *fields)
        position = window.rfind(_ZIP_END_OF_DIRECTORY, 0, position)


def zip64_locator_before(file: SeekableBytes, record: ZipEndRecord) -> int | None:
    """Where the ZIP64 end record is, if a ZIP64 locator sits right before `record`."""
    at = record.position - _ZIP64_LOCATOR.size
    locator = _record_at(file, at, _ZIP64_LOCATOR, _ZIP64_END_LOCATOR)
    return None if locator is None else int(locator[2])


def zip_declared_entry_count(file: SeekableBytes, record: ZipEndRecord) -> int | None:
    """How many entries `record` says the central directory holds, read from the ZIP64
    end record when the classic count overflows; None when that record is unreadable."""
    if record.entries != _ZIP64_MARK:
        return record.entries
    record_offset = zip64_locator_before(file, record)
    if record_offset is None:
        return None
    zip64 = _record_at(file, record_offset, _ZIP64_END_RECORD, _ZIP64_END_OF_DIRECTORY)
    return None if zip64 is None else int(zip64[7])


def _record_at(
    file: SeekableBytes, at: int, layout: struct.Struct, signature: bytes
) -> tuple[Any, ...] | None:
    """The fields of the record of `layout` at `at`, if it is there with its signature."""
    if at < 0:
        return None
    file.seek(at)
    data = file.read(layout.size)
    if len(data) != layout.size or data[:4] != signature:
        return None
    return layout.unpack(data)


def find_appended_zip(view: KeptBytes) -> bool:
    """Whether a ZIP ends this file: an end-of-central-directory record whose central
    directory sits right before it, within the last 64 KiB (where unzip tools look).

    The structural check (not just the 4-byte signature) keeps compressed media, whose
    bytes are random-looking, from being mistaken for a polyglot.
    """
    try:
        return any(_is_plausible_end_record(record, view) for record in zip_end_records(view))
    except OutsideKeptBytes:
        return False


def _is_plausible_end_record(record: ZipEndRecord, view: KeptBytes) -> bool:
    try:
        if zip64_locator_before(view, record) is not None:
            return True
    except OutsideKeptBytes:
        pass
    if (
        record.disk != 0
        or record.directory_disk != 0
        or record.entries_on_disk != record.entries
        or record.entries == 0
        or record.directory_size < 46
    ):
        return False
    cd_start = record.position - record.directory_size
    if cd_start < 0:
        return False
    try:
        return view.slice(cd_start, cd_start + 4) == _ZIP_DIRECTORY_ENTRY
    except OutsideKeptBytes:
        return False


def read_zip(view: KeptBytes) -> ZipReading:
    """Read the central directory through `view` and say which document it is, if any.

    Raises `DamagedZip` when the directory cannot be parsed and `OutsideKeptBytes` when
    it is larger than the kept tail.
    """
    if not any(record.ends(view.size) for record in zip_end_records(view)):
        raise DamagedZip("no end-of-archive record at the end of the file")
    try:
        with zipfile.ZipFile(view) as archive:
            entries = archive.infolist()
            media_type = _document_type(archive, entries)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        struct.error,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise DamagedZip(str(exc)) from exc
    if not entries:
        return ZipReading(None, 0, 0, None, 0)
    names = [info.filename for info in entries]
    return ZipReading(
        media_type=media_type,
        entry_count=len(entries),
        declared_size=sum(info.file_size for info in entries),
        active_content=in_open_document(names) if media_type in _ODF_TYPES else in_ooxml(names),
        leading_bytes=min(info.header_offset for info in entries),
    )


def _document_type(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> str | None:
    names = [info.filename for info in entries]
    first = min(entries, key=lambda info: info.header_offset, default=None)
    if first is not None and first.filename == "mimetype":
        return _odf_type(archive, first)
    if "[Content_Types].xml" in names:
        kinds = {
            kind
            for prefix, kind in _OOXML_PARTS.items()
            if any(n.startswith(prefix) for n in names)
        }
        if len(kinds) == 1:
            return kinds.pop()
    return None


def _odf_type(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> str | None:
    # ODF requires `mimetype` first and stored; its few bytes sit in the head.
    if entry.compress_type != zipfile.ZIP_STORED or entry.file_size > 100:
        return None
    declared = archive.read(entry).decode("ascii", "replace").strip()
    return declared if declared in _ODF_TYPES else None


def ole_streams_seen(view: KeptBytes) -> set[str]:
    """Legacy Office document types whose main stream's directory entry is in the kept
    bytes (head or tail), found at 128-byte aligned positions with a matching name
    length and the stream type, so text that merely contains the word does not count.
    """
    found: set[str] = set()
    regions = [(view.tail_start, view.tail)]
    if view.tail_start > 0:
        regions.append((0, view.head))
    for stream_name, media_type in _OLE_STREAMS.items():
        encoded = stream_name.encode("utf-16-le") + b"\0\0"
        for base, data in regions:
            if _has_directory_entry(data, base, encoded):
                found.add(media_type)
                break
    return found


def _has_directory_entry(data: bytes, base: int, encoded_name: bytes) -> bool:
    position = data.find(encoded_name)
    while position >= 0:
        absolute = base + position
        entry = data[position : position + 68]
        if (
            absolute % _OLE_DIRECTORY_ENTRY_SIZE == 0
            and len(entry) == 68
            and struct.unpack("<H", entry[64:66])[0] == len(encoded_name)
            and entry[66] == _OLE_STREAM
        ):
            return True
        position = data.find(encoded_name, position + 1)
    return False
