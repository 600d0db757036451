"""Signing in on the pages: a session cookie that carries a server-side sign-in.

The cookie holds a random token whose SHA-256 is a row of `access_tokens`, the same
table the API's bearer tokens live in: so a page session is checked, expires, is ended
by signing out, and is cut when the member is disabled exactly as an API sign-in is, on
every instance that shares the database. The API never reads this cookie: `/api` takes
bearer tokens only, so a cookie can never authorise an API call (nor a forged one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie

from exchange.accounts.identity import Identity, identity_for_token
from exchange.config import Settings

SESSION_COOKIE: Final = "exchange_session"
_LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class SignInRequired(Exception):
    """A page for members only was asked for without a valid session."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def cookies_secure(settings: Settings, request: Request[Any, Any, Any]) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    url = request.url
    return not (url.scheme == "http" and (url.hostname or "") in _LOCAL_HOSTS)


def session_cookie(
    settings: Settings, request: Request[Any, Any, Any], token: str, expires_at: datetime
) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        expires=int(expires_at.timestamp()),
        httponly=True,
        samesite="lax",
        secure=cookies_secure(settings, request),
    )


def ending_session_cookie(settings: Settings, request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(settings, request),
    )


async def session_identity(request: Request[Any, Any, Any]) -> Identity | None:
    """The signed-in member of the session cookie, resolved as the API resolves a bearer
    token (the same statement, on SQLite's reader connection)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await identity_for_token(request, token)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target
