"""Text of Office Open XML (DOCX, PPTX, XLSX) and OpenDocument (ODT, ODP, ODS) files.

Both are zip archives of XML parts. Nothing an archive says about itself is trusted: the
entry count is read from the end record before `zipfile` builds its index, every part is
decompressed through a stream that counts the bytes it really yields (against a per-part
and a total cap), and the XML is parsed incrementally by defusedxml's expat reader with
DTDs, entities and external references forbidden, so a billion-laughs part stops at its
first declaration. Text goes straight from the parser into the budget: no tree is built,
and a part larger than memory is read only as far as the caps allow.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl

from defusedxml.expatreader import create_parser

from exchange.files.containers import zip_declared_entry_count, zip_end_records
from exchange.text.budget import ExtractionBudget, TooManyParts, TooMuchData

OfficeFormat = Literal["docx", "pptx", "xlsx", "odf"]

_CHUNK_BYTES = 64 * 1024


class NotAnOfficeFile(Exception):
    """The archive is none of the office formats (a plain zip, say)."""


class DamagedParts(Exception):
    """Some parts were not well-formed XML; the text of the others was kept."""


@dataclass(frozen=True)
class _TextRules:
    """Which elements, by local name, carry text and which mark its layout."""

    text: frozenset[str]
    """Character data inside these elements (at any depth) is text."""
    line_after: frozenset[str]
    line_before: frozenset[str] = frozenset()
    tab: frozenset[str] = frozenset()
    space: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()
    """Whole subtrees to ignore: formatting, deleted text, duplicate fallbacks."""
    only_inside: frozenset[str] | None = None
    """If set, text is taken only inside these elements."""


# mc:Fallback repeats the content of mc:Choice for old readers; pPr/rPr hold tab stops.
_OOXML_SKIPPED = frozenset({"Fallback", "pPr", "rPr", "rPh", "delText", "instrText"})
_WORD_RULES = _TextRules(
    text=frozenset({"t"}),
    line_after=frozenset({"p"}),
    line_before=frozenset({"br", "cr"}),
    tab=frozenset({"tab", "ptab"}),
    skipped=_OOXML_SKIPPED,
)
_SLIDE_RULES = _TextRules(
    text=frozenset({"t"}),
    line_after=frozenset({"p"}),
    line_before=frozenset({"br"}),
    skipped=_OOXML_SKIPPED,
)
_SHARED_STRINGS_RULES = _TextRules(
    text=frozenset({"t"}), line_after=frozenset({"si"}), skipped=_OOXML_SKIPPED
)
_WORKSHEET_RULES = _TextRules(
    text=frozenset({"t"}),
    line_after=frozenset({"is"}),
    skipped=_OOXML_SKIPPED,
    only_inside=frozenset({"is"}),
)
_ODF_RULES = _TextRules(
    text=frozenset({"p", "h"}),
    line_after=frozenset({"p", "h"}),
    line_before=frozenset({"line-break"}),
    tab=frozenset({"tab"}),
    space=frozenset({"s"}),
    skipped=frozenset({"tracked-changes", "annotation", "note-citation"}),
)


class _TextCollector(ContentHandler):
    """SAX handler writing the text of one part into the budget as it is parsed."""

    def __init__(self, budget: ExtractionBudget, rules: _TextRules) -> None:
        super().__init__()
        self.budget = budget
        self._rules = rules
        self._text_depth = 0
        self._skipped_depth = 0
        self._inside_depth = 0 if rules.only_inside is not None else 1

    @staticmethod
    def _local(name: str) -> str:
        return name.rpartition(":")[2]

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        local = self._local(name)
        if self._skipped_depth or local in self._rules.skipped:
            self._skipped_depth += 1
            return
        if self._rules.only_inside is not None and local in self._rules.only_inside:
            self._inside_depth += 1
        if not self._inside_depth:
            return
        if local in self._rules.text:
            self._text_depth += 1
        if local in self._rules.line_before:
            self.budget.write("\n")
        elif local in self._rules.tab:
            self.budget.write("\t")
        elif local in self._rules.space:
            self.budget.write(" ")

    def endElement(self, name: str) -> None:
        if self._skipped_depth:
            self._skipped_depth -= 1
            return
        local = self._local(name)
        if not self._inside_depth:
            return
        if local in self._rules.text:
            self._text_depth -= 1
        if local in self._rules.line_after:
            self.budget.write("\n")
        if self._rules.only_inside is not None and local in self._rules.only_inside:
            self._inside_depth -= 1

    def characters(self, content: str) -> None:
        if self._text_depth and not self._skipped_depth and self._inside_depth:
            self.budget.write(content)


class _RelationshipCollector(ContentHandler):
    """Reads an OOXML `.rels` part: relationship id -> (type, target)."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: dict[str, tuple[str, str]] = {}

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        if name.rpartition(":")[2] == "Relationship":
            self.targets[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))


class _SlideListCollector(ContentHandler):
    """Reads the relationship ids of `p:sldId` entries in presentation order."""

    def __init__(self) -> None:
        super().__init__()
        self.relationship_ids: list[str] = []

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        if name.rpartition(":")[2] == "sldId":
            for attribute in attrs.getNames():
                if attribute.endswith(":id"):
                    self.relationship_ids.append(attrs.getValue(attribute))


def _declared_entry_count(file: IO[bytes]) -> int | None:
    """The entry count in the zip's end record (the last one, as `zipfile` reads it), or
    None if there is no readable one."""
    record = next(zip_end_records(file), None)
    return None if record is None else zip_declared_entry_count(file, record)


class _Archive:
    """A zip opened under the budget: parts are read through counted, capped streams."""

    def __init__(self, zip_file: zipfile.ZipFile, budget: ExtractionBudget) -> None:
        self._zip = zip_file
        self.budget = budget
        self.names = frozenset(zip_file.namelist())
        self.damaged = False

    def chunks(self, name: str) -> Iterator[bytes]:
        self.budget.count_entry()
        read_from_part = 0
        with self._zip.open(name) as stream:
            while True:
                self.budget.check_time()
                chunk = stream.read(_CHUNK_BYTES)
                if not chunk:
                    return
                read_from_part += len(chunk)
                if read_from_part > self.budget.max_entry_bytes:
                    raise TooMuchData
                self.budget.count_bytes(len(chunk))
                yield chunk

    def parse(self, name: str, handler: ContentHandler) -> None:
        parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        parser.setContentHandler(handler)
        for chunk in self.chunks(name):
            parser.feed(chunk)
        parser.close()

    def collect_text(self, names: Iterable[str], rules: _TextRules) -> None:
        for name in names:
            if name not in self.names:
                continue
            try:
                self.parse(name, _TextCollector(self.budget, rules))
            except (SAXParseException, zipfile.BadZipFile, zlib.error, EOFError):
                # A damaged slide or sheet should not hide the text of the others.
                self.damaged = True
                self.budget.write("\n")

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """The relationships of `part`, with targets resolved to archive names."""
        folder, _, file_name = part.rpartition("/")
        rels_name = posixpath.join(folder, "_rels", f"{file_name}.rels")
        if rels_name not in self.names:
            return {}
        collector = _RelationshipCollector()
        self.parse(rels_name, collector)
        resolved: dict[str, tuple[str, str]] = {}
        for relationship_id, (kind, target) in collector.targets.items():
            if target.startswith("/"):
                name = target.lstrip("/")
            else:
                name = posixpath.normpath(posixpath.join(folder, target))
            resolved[relationship_id] = (kind, name)
        return resolved

    def main_part(self, usual_name: str) -> str | None:
        if usual_name in self.names:
            return usual_name
        # The package's own relationships live in `_rels/.rels`, the part named "".
        for kind, target in self.relationships("").values():
            if kind.endswith("/officeDocument") and target in self.names:
                return target
        return None


def _numbered(names: Iterable[str], pattern: str) -> list[str]:
    """Names matching `pattern` (one number group), in numeric order."""
    compiled = re.compile(pattern)
    numbered = []
    for name in names:
        match = compiled.fullmatch(name)
        if match:
            numbered.append((int(match[1]), name))
    return [name for _, name in sorted(numbered)]


def _word_text(archive: _Archive) -> None:
    main = archive.main_part("word/document.xml")
    if main is None:
        return
    folder = posixpath.dirname(main)
    archive.collect_text([main], _WORD_RULES)
    notes = [f"{folder}/footnotes.xml", f"{folder}/endnotes.xml"]
    archive.collect_text(notes, _WORD_RULES)
    for kind in ("header", "footer"):
        parts = _numbered(archive.names, rf"{re.escape(folder)}/{kind}(\d+)\.xml")
        archive.collect_text(parts, _WORD_RULES)


def _slide_names(archive: _Archive, presentation: str) -> list[str]:
    relationships = archive.relationships(presentation)
    order = _SlideListCollector()
    archive.parse(presentation, order)
    in_order = [relationships[rid][1] for rid in order.relationship_ids if rid in relationships]
    listed = [name for name in in_order if name in archive.names]
    if listed:
        return listed
    folder = posixpath.dirname(presentation)
    return _numbered(archive.names, rf"{re.escape(folder)}/slides/slide(\d+)\.xml")


def _presentation_text(archive: _Archive) -> None:
    presentation = archive.main_part("ppt/presentation.xml")
    if presentation is None:
        return
    for slide in _slide_names(archive, presentation):
        archive.collect_text([slide], _SLIDE_RULES)
        archive.budget.write("\n")
    folder = posixpath.dirname(presentation)
    notes = _numbered(archive.names, rf"{re.escape(folder)}/notesSlides/notesSlide(\d+)\.xml")
    archive.collect_text(notes, _SLIDE_RULES)


def _spreadsheet_text(archive: _Archive) -> None:
    workbook = archive.main_part("xl/workbook.xml")
    if workbook is None:
        return
    folder = posixpath.dirname(workbook)
    archive.collect_text([f"{folder}/sharedStrings.xml"], _SHARED_STRINGS_RULES)
    sheets = _numbered(archive.names, rf"{re.escape(folder)}/worksheets/sheet(\d+)\.xml")
    archive.collect_text(sheets, _WORKSHEET_RULES)


def _open_document_text(archive: _Archive) -> None:
    archive.collect_text(["content.xml"], _ODF_RULES)


_READERS: dict[OfficeFormat, Callable[[_Archive], None]] = {
    "docx": _word_text,
    "pptx": _presentation_text,
    "xlsx": _spreadsheet_text,
    "odf": _open_document_text,
}


def _recognise(names: frozenset[str]) -> OfficeFormat:
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "odf"
    raise NotAnOfficeFile


@contextlib.contextmanager
def _opened(path: Path, budget: ExtractionBudget) -> Iterator[_Archive]:
    """The office file at `path` as an archive read under `budget`; an archive declaring
    more entries than the budget allows is refused before `zipfile` indexes it."""
    with path.open("rb") as file:
        declared = _declared_entry_count(file)
        if declared is not None and declared > budget.max_entries:
            raise TooManyParts
        file.seek(0)
        with zipfile.ZipFile(file) as zip_file:
            if len(zip_file.infolist()) > budget.max_entries:
                raise TooManyParts
            yield _Archive(zip_file, budget)


def read_office_document(
    path: Path, office_format: OfficeFormat | None, budget: ExtractionBudget
) -> None:
    """Writes the text of an office file into `budget`.

    `office_format=None` recognises the format from the archive's part names, for files
    that were sniffed only as `application/zip`.
    """
    with _opened(path, budget) as archive:
        _READERS[office_format or _recognise(archive.names)](archive)
        if archive.damaged:
            raise DamagedParts


@dataclass(frozen=True)
class OfficeCover:
    """What an office file says about itself for a preview: the thumbnail its program
    saved with it (PNG or JPEG bytes, not yet decoded), and its page (or slide) count."""

    thumbnail: bytes | None
    pages: int | None


# Where office programs save a document's thumbnail when the package's relationships do
# not name it: LibreOffice's `Thumbnails/`, Microsoft Office's `docProps/`.
_THUMBNAIL_PARTS = (
    "Thumbnails/thumbnail.png",
    "docProps/thumbnail.jpeg",
    "docProps/thumbnail.jpg",
    "docProps/thumbnail.png",
)
_THUMBNAIL_RELATIONSHIP = "/metadata/thumbnail"
# docProps/app.xml: `<Pages>` of a Word document, `<Slides>` of a presentation.
_PAGE_ELEMENTS = frozenset({"Pages", "Slides"})


class _PageCountCollector(ContentHandler):
    """The page count in docProps/app.xml (`<Pages>`, `<Slides>`) or in meta.xml
    (`meta:document-statistic meta:page-count`)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: int | None = None
        self._inside = False
        self._digits: list[str] = []

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        local = name.rpartition(":")[2]
        if local in _PAGE_ELEMENTS and self.pages is None:
            self._inside = True
            self._digits = []
        elif local == "document-statistic":
            for attribute in attrs.getNames():
                if attribute.rpartition(":")[2] == "page-count":
                    self.pages = _count(attrs.getValue(attribute))

    def endElement(self, name: str) -> None:
        if self._inside:
            self._inside = False
            self.pages = _count("".join(self._digits))

    def characters(self, content: str) -> None:
        if self._inside:
            self._digits.append(content)


def _count(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and 0 < len(text) <= 9 and int(text) > 0 else None


def read_office_cover(path: Path, budget: ExtractionBudget) -> OfficeCover:
    """The thumbnail and page count an office file carries, read under `budget` (the
    thumbnail's bytes against its per-part cap)."""
    with _opened(path, budget) as archive:
        pages: int | None = None
        for part in ("docProps/app.xml", "meta.xml"):
            if part in archive.names:
                collector = _PageCountCollector()
                try:
                    archive.parse(part, collector)
                except (SAXParseException, zipfile.BadZipFile, zlib.error, EOFError):
                    continue
                pages = pages or collector.pages
        thumbnail: bytes | None = None
        try:
            related = archive.relationships("")
        except (SAXParseException, zipfile.BadZipFile, zlib.error, EOFError):
            related = {}
        named = [
            target for kind, target in related.values() if kind.endswith(_THUMBNAIL_RELATIONSHIP)
        ]
        for part in (*named, *_THUMBNAIL_PARTS):
            if part in archive.names:
                try:
                    thumbnail = b"".join(archive.chunks(part))
                except (zipfile.BadZipFile, zlib.error, EOFError):
                    continue
                break
        return OfficeCover(thumbnail=thumbnail, pages=pages)
