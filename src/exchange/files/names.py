"""The original names of uploaded files: kept for display only, cleaned before anyone sees them.

A name comes from the uploader's computer and is shown to partner schools, put in
`Content-Disposition` and used by their computers when they save a download. It never
names anything in the store (storage keys are random), but it must still be safe to
show and to save: no hidden characters that reverse how it reads (U+202E turns
`fdp.exe` into something that looks like `exe.pdf`), no directories, nothing that
Windows refuses as a file name, and a sane length.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from exchange.display_text import DROPPED_CATEGORIES

MAX_DISPLAY_NAME_CHARS = 200
# Long "extensions" are really parts of the name ("Report.final version of plan").
_MAX_EXTENSION_CHARS = 16

# Control (Cc), format (Cf: bidi embeddings and isolates, LRM/RLM, ALM, zero-width
# characters, BOM, soft hyphen), surrogate (Cs), unassigned (Cn) and line/paragraph
# separator (Zl/Zp) characters have no business in a file name: the same ones every
# display text loses.
_DROPPED_CATEGORIES = DROPPED_CATEGORIES
# Characters Windows refuses in file names; quotes also break header quoting.
_REPLACED_CHARACTERS = str.maketrans({c: "_" for c in "<>:|?*"})
_WINDOWS_RESERVED_STEMS = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{n}" for n in "123456789¹²³"}
    | {f"LPT{n}" for n in "123456789¹²³"}
)
_WHITESPACE_RUN = re.compile(r"\s+")
# RFC 5987 attr-char: what may stay unescaped in `filename*`.
_ATTR_CHARS = "!#$&+-.^_`|~"


def clean_display_name(original: str, *, fallback: str = "file") -> str:
    """Return `original` made safe to show and to offer as a download name.

    NFC-normalised; control, format (bidi) and separator characters dropped; any
    directory part removed (`../../etc/passwd` -> `passwd`, `C:\\x\\a.pdf` -> `a.pdf`);
    quotes dropped and the characters Windows forbids replaced by `_`; leading dots,
    dashes and spaces and trailing dots and spaces stripped (`.htaccess` -> `htaccess`,
    `-rf.txt` -> `rf.txt`); Windows device names defused (`CON.pdf` -> `CON_.pdf`); at
    most `MAX_DISPLAY_NAME_CHARS` characters, keeping the extension. Letters of any
    script (Kyrgyz, Russian) are kept as they are. `fallback` is returned when nothing
    is left.
    """
    name = unicodedata.normalize("NFC", original)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = name.replace('"', "").translate(_REPLACED_CHARACTERS)
    name = _WHITESPACE_RUN.sub(" ", name)
    name = _strip_edges(name)
    name = _defuse_device_name(name)
    name = _cap_length(name, MAX_DISPLAY_NAME_CHARS)
    return name or fallback


def extension_of(name: str) -> str:
    """The extension of `name`, lowercase and without the dot; `""` when there is none.

    A leading dot does not start an extension (`.bashrc` has none), and neither does a
    "suffix" too long or too spaced to be one.
    """
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem.strip(". ") or not _looks_like_extension(extension):
        return ""
    return extension.lower()


def content_disposition(display_name: str, *, disposition: str = "attachment") -> str:
    """A `Content-Disposition` value carrying `display_name` per RFC 6266.

    `filename*` carries the exact name in UTF-8; `filename` is an ASCII stand-in for
    old clients (accents folded, other letters as `_`, extension kept).
    """
    name = clean_display_name(display_name)
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"{disposition}; filename=\"{_ascii_stand_in(name)}\"; filename*=UTF-8''{encoded}"


def _strip_edges(name: str) -> str:
    return name.lstrip(" .-").rstrip(" .")


def _defuse_device_name(name: str) -> str:
    # Windows treats `CON`, `con.pdf` and `con .txt` alike: the part before the first
    # dot, trailing spaces ignored, names the device.
    stem, dot, rest = name.partition(".")
    if stem.rstrip(" ").upper() in _WINDOWS_RESERVED_STEMS:
        return f"{stem.rstrip(' ')}_{dot}{rest}"
    return name


def _cap_length(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    extension = extension_of(name)
    if not extension:
        return _strip_edges(name[:limit])
    stem = name[: -(len(extension) + 1)]
    stem = _strip_edges(stem[: limit - len(extension) - 1])
    return f"{stem}.{name[-len(extension) :]}" if stem else name[:limit]


def _looks_like_extension(extension: str) -> bool:
    return 0 < len(extension) <= _MAX_EXTENSION_CHARS and not any(c.isspace() for c in extension)


def _ascii_stand_in(name: str) -> str:
    folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)
    )
    ascii_only = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in folded)
    ascii_only = re.sub(r"_{2,}", "_", ascii_only)
    stem, dot, extension = ascii_only.rpartition(".")
    if dot and stem.strip("_ ") == "":
        return f"file.{extension}"
    return ascii_only if ascii_only.strip("_ .") else "file"
