"""Text of PDF files, page by page, with pypdf.

pypdf refuses cyclic page trees and stops at circular cross-reference chains by itself;
what it cannot bound (one page whose content stream takes minutes) is bounded by running
the extraction in a child process, see `extraction.extract_text_isolated`.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from exchange.text.budget import ExtractionBudget


class PasswordProtected(Exception):
    """The PDF opens only with a password we do not have."""


def read_pdf(path: Path, budget: ExtractionBudget) -> None:
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        # Many PDFs are encrypted only against editing, with an empty password to open.
        try:
            opened = reader.decrypt("")
        except (DependencyError, NotImplementedError) as error:
            raise PasswordProtected from error
        if opened == PasswordType.NOT_DECRYPTED:
            raise PasswordProtected
    for page in reader.pages:
        budget.check_time()
        budget.write(page.extract_text())
        budget.write("\n\n")
