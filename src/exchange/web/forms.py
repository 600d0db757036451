"""Forms on the pages: what was sent, and what was refused, field by field.

Refusals follow the GOV.UK pattern: a summary at the top that links to each field, and
the same message next to the field. A refusal the services raise is placed next to the
field it names (`errors=[{"field": ...}]`), or at the top when it names none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from exchange.web.language import _


@dataclass
class FormErrors:
    by_field: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str | None, message: str) -> None:
        if name and name not in self.by_field:
            self.by_field[name] = message
        elif not name:
            self.general.append(message)

    def refuse_shape(self, exc: msgspec.ValidationError, fields: Sequence[str]) -> None:
        """A value the API's shape refuses (too long, not a date...), said in the reader's
        words next to the first of `fields` it names, or at the top."""
        text = str(exc)
        name = next((f for f in fields if f"$.{f}" in text), None)
        self.add(name, _("Check this answer: it is too long, or not what is asked here."))

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)


def see_other(path: str) -> Redirect:
    """303 See Other: where a form that was taken sends the browser (post, redirect,
    get), or where a page that is not for this visitor sends them."""
    return Redirect(path, status_code=HTTP_303_SEE_OTHER)


async def form_values(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """An url-encoded form as lists of values per name (checkboxes repeat a name)."""
    form = await request.form()
    values: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(name, []).append(value)
    return values


def first(values: dict[str, list[str]], name: str, default: str = "") -> str:
    found = values.get(name)
    return found[0].strip() if found else default
