"""The language a text is written in right now, and the functions that write it.

A request's language is kept in a context variable (set by `exchange.i18n.middleware`
and refined once the caller is known), so services and problem rendering translate
without passing a language around. Notices and e-mails are written for their recipient
inside `using_language(recipient_language)` instead.

Messages are whole English sentences with named placeholders, translated first and
filled in after: `gettext("The file is larger than {limit}.", limit=size)`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from exchange.clock import local_day
from exchange.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE, translations

# Outside a request (the command line sets its own, jobs write for each recipient) the
# sentences stay in the language they are written in.
_current: ContextVar[str] = ContextVar("exchange_language", default=SOURCE_LANGUAGE)


def current_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """Make `language` the current one for the rest of this task (a request)."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of the exchange's languages {LANGUAGES}.")
    _current.set(language)


@contextlib.contextmanager
def using_language(language: str) -> Iterator[str]:
    """Write in `language` inside the block (a notice or e-mail for its recipient)."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of the exchange's languages {LANGUAGES}.")
    token = _current.set(language)
    try:
        yield language
    finally:
        _current.reset(token)


def gettext(message: str, /, **params: Any) -> str:
    """`message` in the current language, its `{placeholders}` filled from `params`."""
    text = translations(current_language()).gettext(message)
    return text.format(**_shown(params)) if params else text


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The form of the sentence for the number `n` (CLDR plural rules of the language);
    `{n}` (written with the language's digit grouping) and the other placeholders are
    filled in."""
    language = current_language()
    text = translations(language).ngettext(singular, plural, n)
    return text.format(n=format_decimal(n, locale=language), **_shown(params))


_ = gettext


def N_(message: str, /) -> str:
    """Marks a sentence for the catalogs without translating it: for English kept as
    data (stored, compared) and translated with `gettext` where it is shown."""
    return message


def _shown(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _show(value) for name, value in params.items()}


def _show(value: Any) -> Any:
    if isinstance(value, LazyText):
        return value.render()
    if isinstance(value, list | tuple):
        return ", ".join(str(_show(item)) for item in value)
    if isinstance(value, dt.datetime):
        return format_date(local_day(value), format="long", locale=current_language())
    if isinstance(value, dt.date):
        return format_date(value, format="long", locale=current_language())
    return value


@dataclass(frozen=True, slots=True)
class LazyText:
    """A sentence translated when it is shown, not when it is written.

    For module constants (read at import, shown later in a request's language) and for
    inbox notices, which are stored as their English `message_id` and parameters and
    shown in the language of whoever reads them (`to_json`, `from_json`). Parameters may
    be text, numbers, dates and moments (shown the way the language writes dates; a
    moment as its day in the exchange's time zone), other `LazyText`, or lists of these
    (shown separated by commas).
    """

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    n: int | None = None

    def render(self, language: str | None = None) -> str:
        if language is not None:
            with using_language(language):
                return self.render()
        if self.plural is not None and self.n is not None:
            return ngettext(self.message, self.plural, self.n, **self.params)
        return gettext(self.message, **self.params)

    def __str__(self) -> str:
        return self.render()

    def with_params(self, **params: Any) -> LazyText:
        """The same sentence with (more) values for its placeholders."""
        return LazyText(self.message, {**self.params, **params}, self.plural, self.n)

    def to_json(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "message_id": self.message,
            "params": {name: _encode(value) for name, value in self.params.items()},
        }
        if self.plural is not None:
            shape["plural"] = self.plural
            shape["n"] = self.n
        return shape

    @classmethod
    def from_json(cls, shape: Mapping[str, Any]) -> LazyText:
        params = shape.get("params") or {}
        return cls(
            message=str(shape["message_id"]),
            params={name: _decode(value) for name, value in params.items()},
            plural=shape.get("plural"),
            n=shape.get("n"),
        )


def lazy_gettext(message: str, /, **params: Any) -> LazyText:
    return LazyText(message, params)


def lazy_ngettext(singular: str, plural: str, n: int, /, **params: Any) -> LazyText:
    return LazyText(singular, params, plural=plural, n=n)


def _encode(value: Any) -> Any:
    if isinstance(value, LazyText):
        return {"text": value.to_json()}
    if isinstance(value, list | tuple):
        return {"list": [_encode(item) for item in value]}
    if isinstance(value, dt.datetime):  # shown as its day where the reader lives
        return {"moment": value.astimezone(dt.UTC).isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"text"}:
        return LazyText.from_json(value["text"])
    if isinstance(value, dict) and set(value) == {"list"}:
        return [_decode(item) for item in value["list"]]
    if isinstance(value, dict) and set(value) == {"date"}:
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, dict) and set(value) == {"moment"}:
        return dt.datetime.fromisoformat(value["moment"])
    return value
