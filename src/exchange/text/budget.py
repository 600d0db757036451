"""The caps one text extraction works within: output size, expanded bytes and time.

Readers call into an `ExtractionBudget` as they go and stop by exception the moment a cap
is reached, so no reader needs to know which cap applies to which format.
"""

from __future__ import annotations

import time


class BudgetExceeded(Exception):
    """A cap was reached; what was gathered so far is still in the sink."""


class OutputFull(BudgetExceeded):
    """The text reached the largest size the index keeps."""


class TooSlow(BudgetExceeded):
    """The extraction ran past its time."""


class TooMuchData(BudgetExceeded):
    """More bytes than the caps allow: a zip bomb, or simply a very large file."""


class TooManyParts(BudgetExceeded):
    """An archive holds more entries than an honest office file needs."""


class ExtractionBudget:
    """Collects text under a character cap and keeps the clock and the byte counts."""

    def __init__(
        self,
        *,
        max_output_chars: int,
        max_entry_bytes: int,
        max_total_bytes: int,
        max_entries: int,
        timeout_seconds: float,
    ) -> None:
        self.max_output_chars = max_output_chars
        self.max_entry_bytes = max_entry_bytes
        self.max_total_bytes = max_total_bytes
        self.max_entries = max_entries
        self._deadline = time.monotonic() + timeout_seconds
        self._pieces: list[str] = []
        self._chars = 0
        self._total_bytes = 0
        self._entries = 0
        self.truncated = False

    @property
    def text(self) -> str:
        return "".join(self._pieces)

    def write(self, piece: str) -> None:
        room = self.max_output_chars - self._chars
        if len(piece) > room:
            self._pieces.append(piece[:room])
            self._chars = self.max_output_chars
            self.truncated = True
            raise OutputFull
        self._pieces.append(piece)
        self._chars += len(piece)

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise TooSlow

    def count_bytes(self, amount: int) -> None:
        """Counts bytes really produced by decompression, whatever the archive declared."""
        self._total_bytes += amount
        if self._total_bytes > self.max_total_bytes:
            raise TooMuchData

    def count_entry(self) -> None:
        self._entries += 1
        if self._entries > self.max_entries:
            raise TooManyParts
