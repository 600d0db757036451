"""Every request gets a language before anything else runs, and every answer says which.

The outer middleware sets the language from `Accept-Language` alone (the caller is not
known yet, so an error before sign-in is still in the asked language); authentication
refines it with the member's choice and their school's languages (`use_language`). The
answer's `Content-Language` is the language the request ended in, unless the handler
set one itself.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from exchange.i18n.current import current_language, set_language
from exchange.i18n.negotiation import resolve_language

# The language of a request that asks for none (`resolve_language`'s last choice).
DEFAULT = resolve_language()

_STATE_KEY = "language"


def use_language(scope: Any, language: str) -> None:
    """Make `language` the request's language: texts, problems and `Content-Language`."""
    set_language(language)
    scope.setdefault("state", {})[_STATE_KEY] = language


def request_language(scope: Any) -> str:
    return str(scope.get("state", {}).get(_STATE_KEY) or current_language())


def accept_language_of(scope: Any) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"accept-language":
            return bytes(value).decode("latin-1")
    return None


class LanguageMiddleware:
    def __init__(self, app: ASGIApp, *, without_header: tuple[str, ...] = ("/schema",)) -> None:
        self.app = app
        self.without_header = without_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        accept_language = accept_language_of(scope)
        use_language(
            scope,
            resolve_language(accept_language=accept_language) if accept_language else DEFAULT,
        )
        if scope["path"].startswith(self.without_header):
            await self.app(scope, receive, send)
            return

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                # A page that says its own language (the pages' switch) keeps it.
                for name, _value in headers:
                    if name.lower() == b"content-language":
                        break
                else:
                    language = scope["state"].get(_STATE_KEY) or current_language()
                    headers.append((b"content-language", language.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_language)
