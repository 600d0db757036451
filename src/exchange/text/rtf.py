"""Rich Text Format to plain text.

Written here rather than taken from `striprtf` (the one maintained RTF-to-text package)
because striprtf decodes `\\'hh` bytes under a `\\fcharset0` font as Windows-1252 even when
the document declares `\\ansicpg1251`, which turns Russian text from many generators into
mojibake, and it leaves `\\uN` surrogate pairs unpaired. This reader follows the RTF 1.9.1
rules that matter for text: the document code page (`\\ansicpg`) and per-font code pages
(`\\fcharset`, `\\cpg`) for `\\'hh` escapes, `\\uN` with its `\\ucN` fallback skipping,
`\\binN` raw data, and the destinations that hold no body text (font, colour and style
tables, document info, pictures, objects, field instructions and every `{\\*...}` group).

It streams the file in chunks, so memory stays small whatever the file's size, and it is
linear in the input.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from exchange.text.budget import ExtractionBudget

_CHUNK_BYTES = 1024 * 1024
# A control word is at most a backslash, 32 letters, a sign, 10 digits and a space, so a
# token that starts this far from the end of the buffer is complete.
_LONGEST_CONTROL_TOKEN = 48
_MAX_GROUP_DEPTH = 10_000
_FLUSH_CHARS = 64 * 1024

_TOKEN = re.compile(
    rb"""
      \\(?P<word>[a-zA-Z]{1,32})(?P<param>-?[0-9]{1,10})?\x20?
    | \\'(?P<hex>[0-9a-fA-F]{2})
    | \\(?P<symbol>.)
    | (?P<brace>[{}])
    | [\r\n]+
    | (?P<text>[^\\{}\r\n]+)
    | \\
    """,
    re.VERBOSE | re.DOTALL,
)

# Destinations whose content is not body text. Every `{\*\...}` group is skipped as well.
_SKIPPED_DESTINATIONS = frozenset(
    {
        "author", "bkmkend", "bkmkstart", "buptim", "colortbl", "comment", "company",
        "creatim", "datafield", "datastore", "do", "doccomm", "docvar", "falt", "ffdeftext",
        "ffentrymcr", "ffexitmcr", "ffformat", "ffhelptext", "ffl", "ffname", "ffstattext",
        "file", "filetbl", "fldinst", "fonttbl", "footer", "footerf",
        "footerl", "footerr", "generator", "header", "headerf", "headerl", "headerr", "info",
        "keywords", "latentstyles", "listoverridetable", "listtable", "manager", "nonshppict",
        "objdata", "operator", "pgptbl", "pict", "pntext", "pntxta", "pntxtb",
        "printim", "private", "revtbl", "revtim", "rsidtbl", "stylesheet", "subject",
        "template", "themedata", "title", "userprops", "xmlnstbl",
    }
)  # fmt: skip

_CHARACTERS_OF_WORDS = {
    "par": "\n",
    "line": "\n",
    "sect": "\n\n",
    "page": "\n\n",
    "row": "\n",
    "tab": "\t",
    "cell": "\t",
    "nestcell": "\t",
    "emdash": "\u2014",
    "endash": "\u2013",
    "emspace": "\u2003",
    "enspace": "\u2002",
    "qmspace": "\u2005",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
}
_CHARACTERS_OF_SYMBOLS = {
    "\\": "\\",
    "{": "{",
    "}": "}",
    "~": "\u00a0",
    "_": "\u2011",
    "-": "",
    "\n": "\n",
    "\r": "\n",
}
_CODE_PAGES_OF_CHARSETS = {
    77: "mac_roman",
    128: "cp932",
    129: "cp949",
    130: "johab",
    134: "gbk",
    136: "cp950",
    161: "cp1253",
    162: "cp1254",
    163: "cp1258",
    177: "cp1255",
    178: "cp1256",
    186: "cp1257",
    204: "cp1251",
    222: "cp874",
    238: "cp1250",
    254: "cp437",
    255: "cp437",
}
_CODE_PAGES_OF_CHARACTER_SETS = {
    "ansi": "cp1252",
    "mac": "mac_roman",
    "pc": "cp437",
    "pca": "cp850",
}


def _code_page(number: int) -> str | None:
    name = f"cp{number}"
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


class _RtfReader:
    """The reading state: group stack, code pages and pending output."""

    def __init__(self, budget: ExtractionBudget) -> None:
        self._budget = budget
        self._document_code_page = "cp1252"
        self._font_code_pages: dict[int, str] = {}
        self._default_font: int | None = None
        # Per group: (skipped, in font table, chars to skip after \uN, current font).
        self._skipped = False
        self._in_font_table = False
        self._unicode_skip = 1
        self._font: int | None = None
        self._stack: list[tuple[bool, bool, int, int | None]] = []
        self._overflow_depth = 0
        self._font_being_defined: int | None = None
        self._fallback_left = 0
        self._hex_bytes = bytearray()
        self._hex_code_page = "cp1252"
        self._out: list[str] = []
        self._out_chars = 0
        self._binary_left = 0

    def _current_code_page(self) -> str:
        if self._font is not None:
            code_page = self._font_code_pages.get(self._font)
            if code_page is not None:
                return code_page
        return self._document_code_page

    def _emit(self, text: str) -> None:
        self._out.append(text)
        self._out_chars += len(text)
        if self._out_chars >= _FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        self._flush_hex()
        if self._out:
            pending = "".join(self._out)
            self._out.clear()
            self._out_chars = 0
            self._budget.write(pending)

    def _flush_hex(self) -> None:
        if self._hex_bytes:
            decoded = bytes(self._hex_bytes).decode(self._hex_code_page, errors="replace")
            self._hex_bytes.clear()
            self._out.append(decoded)
            self._out_chars += len(decoded)

    def _skips_fallback(self) -> bool:
        """True if this token is the ANSI stand-in for the `\\uN` just read."""
        if self._fallback_left > 0:
            self._fallback_left -= 1
            return True
        return False

    def feed(self, buffer: bytes, *, final: bool) -> int:
        """Reads tokens from `buffer`; returns where the unread tail starts."""
        position = min(self._binary_left, len(buffer))
        self._binary_left -= position
        stop = len(buffer) if final else len(buffer) - _LONGEST_CONTROL_TOKEN
        while position < stop:
            match = _TOKEN.match(buffer, position)
            if match is None:  # pragma: no cover - the last alternative matches any byte
                break
            position = match.end()
            hex_digits = match["hex"]
            if hex_digits is not None:
                if self._skips_fallback() or self._skipped:
                    continue
                if not self._hex_bytes:
                    self._hex_code_page = self._current_code_page()
                self._hex_bytes.append(int(hex_digits, 16))
                continue
            if self._hex_bytes:
                self._flush_hex()
            if match["text"] is not None:
                self._text(match["text"])
            elif match["brace"] is not None:
                self._brace(match["brace"])
            elif match["word"] is not None:
                param = match["param"]
                binary_bytes = self._word(
                    match["word"].decode("ascii"), int(param) if param is not None else None
                )
                if binary_bytes:
                    jump = min(binary_bytes, len(buffer) - position)
                    position += jump
                    self._binary_left = binary_bytes - jump
            elif match["symbol"] is not None:
                self._symbol(match["symbol"].decode("latin-1"))
        return position

    def _text(self, raw: bytes) -> None:
        if self._fallback_left:
            dropped = min(self._fallback_left, len(raw))
            self._fallback_left -= dropped
            raw = raw[dropped:]
        if raw and not self._skipped:
            self._emit(raw.decode(self._current_code_page(), errors="replace"))

    def _brace(self, brace: bytes) -> None:
        self._fallback_left = 0
        if brace == b"{":
            if len(self._stack) >= _MAX_GROUP_DEPTH:
                self._overflow_depth += 1
                return
            self._stack.append((self._skipped, self._in_font_table, self._unicode_skip, self._font))
        elif self._overflow_depth:
            self._overflow_depth -= 1
        elif self._stack:
            self._skipped, self._in_font_table, self._unicode_skip, self._font = self._stack.pop()

    def _symbol(self, symbol: str) -> None:
        if self._skips_fallback():
            return
        if symbol == "*":
            self._skipped = True
        elif not self._skipped and symbol in _CHARACTERS_OF_SYMBOLS:
            self._emit(_CHARACTERS_OF_SYMBOLS[symbol])

    def _word(self, word: str, param: int | None) -> int:
        """Acts on one control word; returns how many raw bytes follow it (`\\binN`)."""
        if word == "bin":
            self._skips_fallback()
            return max(param or 0, 0)
        if self._skips_fallback():
            return 0
        if self._in_font_table:
            self._font_table_word(word, param)
            return 0
        if word in _SKIPPED_DESTINATIONS:
            self._skipped = True
            if word == "fonttbl":
                self._in_font_table = True
            return 0
        if word == "ansicpg" and param is not None:
            self._document_code_page = _code_page(param) or self._document_code_page
        elif word in _CODE_PAGES_OF_CHARACTER_SETS:
            self._document_code_page = _CODE_PAGES_OF_CHARACTER_SETS[word]
        elif word == "deff":
            self._default_font = param
        elif word == "f":
            self._font = param
        elif word == "plain":
            self._font = self._default_font
        elif word == "uc" and param is not None:
            self._unicode_skip = max(param, 0)
        elif word == "u" and param is not None:
            if not self._skipped:
                self._emit(chr(param % 0x10000))
            self._fallback_left = self._unicode_skip
        elif not self._skipped and word in _CHARACTERS_OF_WORDS:
            self._emit(_CHARACTERS_OF_WORDS[word])
        return 0

    def _font_table_word(self, word: str, param: int | None) -> None:
        if word == "f":
            self._font_being_defined = param
        elif self._font_being_defined is None or param is None:
            return
        elif word == "fcharset":
            # Charsets 0 (ANSI) and 1 (default) mean the document's own code page.
            code_page = _CODE_PAGES_OF_CHARSETS.get(param)
            if code_page is not None:
                self._font_code_pages.setdefault(self._font_being_defined, code_page)
        elif word == "cpg":
            code_page = _code_page(param)
            if code_page is not None:
                self._font_code_pages[self._font_being_defined] = code_page


def read_rtf(path: Path, budget: ExtractionBudget) -> None:
    reader = _RtfReader(budget)
    tail = b""
    try:
        with path.open("rb") as file:
            while True:
                budget.check_time()
                chunk = file.read(_CHUNK_BYTES)
                if chunk:
                    budget.count_bytes(len(chunk))
                buffer = tail + chunk
                final = not chunk
                consumed = reader.feed(buffer, final=final)
                tail = buffer[consumed:]
                if final:
                    break
    finally:
        # Whatever cap stopped the reading, the text read so far is kept.
        reader.flush()
