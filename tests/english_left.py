"""How a test tells English left in a Kyrgyz or Russian text."""

from __future__ import annotations

import re

# Two or more Latin words in a row: a phrase left in English. Names of programs and
# formats a Kyrgyz sentence keeps ("PDF документи", "Word 97-2003", a list "PDF, Word,
# Excel") stand alone.
LATIN_PHRASE = re.compile(r"[A-Za-z]{2,}(?:[ :;]+[A-Za-z]{2,})+")
# What a Kyrgyz text may quote as it is: commands typed at the console, and the
# reader's own values.
QUOTED = re.compile(r"`[^`]*`|'[^']*'")


def english_in(text: str) -> list[str]:
    return LATIN_PHRASE.findall(QUOTED.sub(" ", text))
