"""Who is calling: the bearer token resolved to a member of one school.

Every request under `/api` is authenticated here except the handlers that opt out
(signing in). The caller's school always comes from the token, never from the request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import bindparam, select

from exchange.clock import Clock
from exchange.database import PreparedRead
from exchange.errors import NotAuthenticated
from exchange.i18n import _, resolve_language, use_language
from exchange.models import AccessToken, Member, MemberRole, School

TOKEN_BYTES = 32  # 256 random bits


@dataclass(frozen=True, slots=True)
class Identity:
    member_id: UUID
    school_id: UUID
    role: MemberRole
    email: str
    full_name: str
    token_id: UUID
    # What the language of the member's requests is resolved from (`exchange.i18n`).
    language: str | None = None
    school_languages: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role is MemberRole.ADMIN


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# One statement, columns only, compiled once: it runs before every request under /api,
# and loading a whole `Member` into the session, or building and walking a new
# statement, costs more than the lookup itself.
_IDENTITY_BY_TOKEN = PreparedRead(
    select(
        AccessToken.id,
        Member.id,
        Member.school_id,
        Member.role,
        Member.email,
        Member.full_name,
        Member.language,
        School.languages,
    )
    .join(Member, Member.id == AccessToken.member_id)
    .join(School, School.id == Member.school_id)
    .where(
        AccessToken.token_hash
        == bindparam("token_hash", type_=AccessToken.__table__.c.token_hash.type),
        AccessToken.revoked_at.is_(None),
        AccessToken.expires_at > bindparam("now", type_=AccessToken.__table__.c.expires_at.type),
        Member.is_active.is_(True),
    )
)


def _lookup(token: str, clock: Clock) -> dict[str, Any]:
    return {"token_hash": token_digest(token), "now": clock.now()}


def _identity(row: Any) -> Identity | None:
    if row is None:
        return None
    token_id, member_id, school_id, role, email, full_name, language, school_languages = row
    return Identity(
        member_id=member_id,
        school_id=school_id,
        role=MemberRole(role),
        email=email,
        full_name=full_name,
        token_id=token_id,
        language=language,
        school_languages=tuple(school_languages or ()),
    )


async def identity_for_token(
    connection: ASGIConnection[Any, Any, Any, Any], token: str
) -> Identity | None:
    """The member a sign-in token stands for, if it is still valid: an API bearer token or
    the pages' session cookie, which hold the same kind of token.

    On SQLite it is one lookup by key on a reader connection, in this thread: no
    session for the request, and no hand-off to the async driver's thread for each step
    of the statement (see `database.PreparedRead`). Nothing is kept between requests: a
    token signed out or revoked on any instance is refused on the next request."""
    return await _identity_in(connection.scope, token)


async def _identity_in(scope: Scope, token: str) -> Identity | None:
    clock = scope["litestar_app"].state["clock"]
    return _identity(await _IDENTITY_BY_TOKEN.first_in_request(scope, _lookup(token, clock)))


_AUTHENTICATED_SCOPES = frozenset({"http", "websocket"})


class BearerTokenMiddleware:
    """Authenticates the requests of every route it wraps from `Authorization: Bearer`,
    with the rules of Litestar's `AbstractAuthenticationMiddleware`: a route opts out
    with `exclude_from_auth=True`, paths matching `exclude` and `OPTIONS` go through
    unauthenticated, and the caller is `request.user`.

    It reads the two headers it needs straight from the ASGI scope in one pass, where
    Litestar's base class builds a connection and its header mapping for every request.
    The caller's language is refined here (their choice, `Accept-Language`, their
    school's languages), so that errors from here on are written in it.
    """

    def __init__(
        self,
        app: ASGIApp,
        exclude: list[str] | None = None,
        exclude_from_auth_key: str = "exclude_from_auth",
    ) -> None:
        self.app = app
        self.exclude = re.compile("|".join(exclude)) if exclude else None
        self.exclude_opt_key = exclude_from_auth_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._bypassed(scope):
            identity, token = await self.authenticate(scope)
            scope["user"] = identity
            scope["auth"] = token
        await self.app(scope, receive, send)

    def _bypassed(self, scope: Scope) -> bool:
        if scope["type"] not in _AUTHENTICATED_SCOPES or scope.get("method") == "OPTIONS":
            return True
        handler: Any = scope.get("route_handler")
        if handler is not None and handler.opt.get(self.exclude_opt_key):
            return True
        if self.exclude is None:
            return False
        path = scope["raw_path"].decode() if getattr(handler, "is_mount", False) else scope["path"]
        return self.exclude.search(path) is not None

    async def authenticate(self, scope: Scope) -> tuple[Identity, str]:
        authorization = accept_language = None
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"accept-language" and accept_language is None:
                accept_language = value.decode("latin-1")
        token = bearer_token(authorization)
        if token is None:
            raise NotAuthenticated()
        identity = await _identity_in(scope, token)
        if identity is None:
            raise NotAuthenticated(
                _(
                    "Your sign-in is not valid any more (it expired, you signed out, or "
                    "the account was disabled). Sign in again."
                )
            )
        use_language(
            scope,
            resolve_language(
                member_choice=identity.language,
                accept_language=accept_language,
                school_languages=identity.school_languages,
            ),
        )
        return identity, token


def provide_identity(request: Request[Any, Any, Any]) -> Identity:
    """Dependency: the authenticated caller (set by the middleware)."""
    return cast(Identity, request.user)
