"""What schools may share: the allowlist of media types and the extensions each accepts.

The type sniffed from the content decides; the extension of the file's name must be one
that type is known by. Everything not listed here is refused, so the refusal sets below
only choose which explanation a teacher reads, never whether a file gets in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from exchange.i18n import LazyText, lazy_gettext

PDF: Final = "application/pdf"
DOC: Final = "application/msword"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLS: Final = "application/vnd.ms-excel"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPT: Final = "application/vnd.ms-powerpoint"
PPTX: Final = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT: Final = "application/vnd.oasis.opendocument.text"
ODS: Final = "application/vnd.oasis.opendocument.spreadsheet"
ODP: Final = "application/vnd.oasis.opendocument.presentation"
RTF: Final = "application/rtf"
TEXT: Final = "text/plain"
CSV: Final = "text/csv"
MARKDOWN: Final = "text/markdown"
PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
GIF: Final = "image/gif"
WEBP: Final = "image/webp"
MP4: Final = "video/mp4"
WEBM: Final = "video/webm"
MP3: Final = "audio/mpeg"
M4A: Final = "audio/mp4"
OGG: Final = "audio/ogg"
WAV: Final = "audio/wav"


@dataclass(frozen=True, slots=True)
class AcceptedType:
    media_type: str
    label: LazyText  # how a teacher would call it in a sentence: "The file is a PDF document."
    name: LazyText  # what a page shows beside the file: "PDF document"
    extensions: tuple[str, ...]  # the first is the one to suggest


ACCEPTED: Final[dict[str, AcceptedType]] = {
    t.media_type: t
    for t in (
        AcceptedType(PDF, lazy_gettext("a PDF document"), lazy_gettext("PDF document"), ("pdf",)),
        AcceptedType(
            DOC,
            lazy_gettext("a Word 97-2003 document"),
            lazy_gettext("Word 97-2003 document"),
            ("doc",),
        ),
        AcceptedType(
            DOCX, lazy_gettext("a Word document"), lazy_gettext("Word document"), ("docx",)
        ),
        AcceptedType(
            XLS,
            lazy_gettext("an Excel 97-2003 workbook"),
            lazy_gettext("Excel 97-2003 workbook"),
            ("xls",),
        ),
        AcceptedType(
            XLSX, lazy_gettext("an Excel workbook"), lazy_gettext("Excel workbook"), ("xlsx",)
        ),
        AcceptedType(
            PPT,
            lazy_gettext("a PowerPoint 97-2003 presentation"),
            lazy_gettext("PowerPoint 97-2003 presentation"),
            ("ppt",),
        ),
        AcceptedType(
            PPTX,
            lazy_gettext("a PowerPoint presentation"),
            lazy_gettext("PowerPoint presentation"),
            ("pptx",),
        ),
        AcceptedType(
            ODT, lazy_gettext("an OpenDocument text"), lazy_gettext("OpenDocument text"), ("odt",)
        ),
        AcceptedType(
            ODS,
            lazy_gettext("an OpenDocument spreadsheet"),
            lazy_gettext("OpenDocument spreadsheet"),
            ("ods",),
        ),
        AcceptedType(
            ODP,
            lazy_gettext("an OpenDocument presentation"),
            lazy_gettext("OpenDocument presentation"),
            ("odp",),
        ),
        AcceptedType(
            RTF,
            lazy_gettext("a rich text (RTF) document"),
            lazy_gettext("Rich text (RTF) document"),
            ("rtf",),
        ),
        AcceptedType(
            TEXT, lazy_gettext("plain text"), lazy_gettext("Plain text"), ("txt", "md", "csv")
        ),
        AcceptedType(PNG, lazy_gettext("a PNG image"), lazy_gettext("PNG image"), ("png",)),
        AcceptedType(
            JPEG, lazy_gettext("a JPEG image"), lazy_gettext("JPEG image"), ("jpg", "jpeg")
        ),
        AcceptedType(GIF, lazy_gettext("a GIF image"), lazy_gettext("GIF image"), ("gif",)),
        AcceptedType(WEBP, lazy_gettext("a WebP image"), lazy_gettext("WebP image"), ("webp",)),
        AcceptedType(MP4, lazy_gettext("an MP4 video"), lazy_gettext("MP4 video"), ("mp4", "m4v")),
        AcceptedType(WEBM, lazy_gettext("a WebM video"), lazy_gettext("WebM video"), ("webm",)),
        AcceptedType(
            MP3, lazy_gettext("an MP3 recording"), lazy_gettext("MP3 recording"), ("mp3",)
        ),
        AcceptedType(
            M4A, lazy_gettext("an M4A recording"), lazy_gettext("M4A recording"), ("m4a",)
        ),
        AcceptedType(
            OGG,
            lazy_gettext("an Ogg recording"),
            lazy_gettext("Ogg recording"),
            ("ogg", "oga", "opus"),
        ),
        AcceptedType(WAV, lazy_gettext("a WAV recording"), lazy_gettext("WAV recording"), ("wav",)),
    )
}

# libmagic's names for accepted types, where they differ from the canonical one.
ALIASES: Final[dict[str, str]] = {
    "text/rtf": RTF,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "video/x-m4v": MP4,
    "audio/mp3": MP3,
    "audio/x-mp3": MP3,
    "audio/x-m4a": M4A,
    "application/ogg": OGG,
    "audio/x-ogg": OGG,
    "audio/x-wav": WAV,
    "audio/wave": WAV,
    "audio/vnd.wave": WAV,
}

# Plain text as stored, by extension: libmagic calls the same CSV or Markdown file
# text/plain or text/csv depending on its first lines, so text is judged as one family
# and stored under the type its extension names.
TEXT_BY_EXTENSION: Final[dict[str, str]] = {"txt": TEXT, "md": MARKDOWN, "csv": CSV}

# Legacy Office files are OLE2 compound files; libmagic names the format only when the
# directory that says what is inside is within the bytes it saw.
OLE_CONTAINERS: Final = frozenset(
    {
        "application/x-ole-storage",
        "application/cdfv2",
        "application/cdfv2-corrupt",
        "application/vnd.ms-office",
        DOC,
        XLS,
        PPT,
    }
)

# Why-refused explanations, by family.
PROGRAMS: Final = frozenset(
    {
        "application/x-executable",
        "application/x-pie-executable",
        "application/x-sharedlib",
        "application/x-object",
        "application/x-coredump",
        "application/x-elf",
        "application/x-dosexec",
        "application/x-msdownload",
        "application/x-ms-installer",
        "application/x-msi",
        "application/vnd.microsoft.portable-executable",
        "application/x-mach-binary",
        "application/x-java-applet",
        "application/java-archive",
        "application/x-java-archive",
        "application/vnd.android.package-archive",
        "application/x-bytecode.python",
        "text/x-bytecode.python",
        "application/wasm",
    }
)
SCRIPTS: Final = frozenset(
    {
        "text/x-shellscript",
        "application/x-shellscript",
        "text/x-script.python",
        "text/x-python",
        "application/x-python",
        "text/x-perl",
        "application/x-perl",
        "text/x-ruby",
        "application/x-ruby",
        "text/x-php",
        "application/x-php",
        "text/x-lua",
        "text/x-tcl",
        "text/x-awk",
        "text/x-nawk",
        "text/x-gawk",
        "text/x-msdos-batch",
        "application/x-bat",
        "application/javascript",
        "text/javascript",
        "application/x-javascript",
        "text/x-powershell",
        "text/x-vbscript",
    }
)
WEB_PAGES: Final = frozenset({"text/html", "application/xhtml+xml"})
ARCHIVES: Final = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-lzma",
        "application/x-lzip",
        "application/zstd",
        "application/x-7z-compressed",
        "application/x-rar",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-tar",
        "application/x-cpio",
        "application/x-iso9660-image",
        "application/vnd.ms-cab-compressed",
        "application/x-archive",
        "application/x-compress",
    }
)


def is_markup(media_type: str) -> bool:
    """SVG and every other XML: they can carry scripts and external references."""
    return media_type in {"text/xml", "application/xml"} or media_type.endswith("+xml")


# What a browser shows by itself, without a program of the school's or a script of ours:
# only these may be answered `inline` (`?disposition=inline`). SVG is left out on purpose:
# it is a document that can carry scripts.
OPENS_IN_BROWSER: Final = frozenset({PDF, PNG, JPEG, GIF, WEBP})


def opens_in_browser(media_type: str) -> bool:
    """Whether a stored file of `media_type` may be opened in the browser (inline)."""
    return media_type in OPENS_IN_BROWSER


def describe(media_type: str) -> LazyText:
    """How a sentence names a file of `media_type` ("a PDF document")."""
    return _accepted(media_type).label


def type_name(media_type: str) -> LazyText:
    """What a page shows as a stored file's type ("PDF document"), in the reader's
    language; plain text, CSV and Markdown are all plain text to a teacher."""
    return _accepted(media_type).name


def _accepted(media_type: str) -> AcceptedType:
    if media_type in TEXT_BY_EXTENSION.values():
        return ACCEPTED[TEXT]
    return ACCEPTED.get(media_type) or _UNKNOWN


# A stored type no longer accepted (the list only ever grows; this is for safety).
_UNKNOWN: Final = AcceptedType(
    "application/octet-stream", lazy_gettext("a file"), lazy_gettext("File"), ()
)
