"""Plain text, Markdown and CSV in whatever encoding a school's computer saved them.

Order of evidence: a byte-order mark, then strict UTF-8, then a statistical guess among
the single-byte encodings Cyrillic text is found in (Windows-1251, KOI8-R, DOS 866) and
Windows-1252 for Western text. The guess is charset-normalizer's, made on a sample.
Decoding never fails: undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from exchange.text.budget import ExtractionBudget, TooMuchData

# UTF-32 first: its little-endian mark begins with UTF-16's.
_BYTE_ORDER_MARKS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SINGLE_BYTE_CANDIDATES = ["cp1251", "koi8_r", "cp866", "cp1252"]
_FALLBACK_ENCODING = "cp1251"
_DETECTION_SAMPLE_BYTES = 64 * 1024
# Four bytes is the longest a character takes in UTF-8, UTF-16 and UTF-32 alike.
_MAX_BYTES_PER_CHAR = 4


def detect_encoding(data: bytes, *, complete: bool = True) -> str:
    """The Python codec name to decode `data` with.

    `complete=False` says `data` is the start of a longer file, so a multi-byte UTF-8
    character cut at its end is not evidence against UTF-8.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    guess = from_bytes(
        data[:_DETECTION_SAMPLE_BYTES],
        cp_isolation=_SINGLE_BYTE_CANDIDATES,
        preemptive_behaviour=False,
    ).best()
    return guess.encoding if guess is not None else _FALLBACK_ENCODING


def read_plain_text(path: Path, budget: ExtractionBudget) -> None:
    # Only as many bytes as can become the largest text kept are ever read.
    wanted = min(budget.max_total_bytes, budget.max_output_chars * _MAX_BYTES_PER_CHAR + 4)
    with path.open("rb") as file:
        data = file.read(wanted + 1)
    cut = len(data) > wanted
    data = data[:wanted]
    encoding = detect_encoding(data, complete=not cut)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    budget.write(decoder.decode(data, final=not cut))
    if cut:
        raise TooMuchData
