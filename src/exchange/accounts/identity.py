"""Who is calling: the bearer token resolved to a member of one school.

Every request under `/api` is authenticated here except the handlers that opt out
(signing in). The caller's school always comes from the token, never from the request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.database import PreparedRead, sqlite_reader
from exchange.errors import NotAuthenticated
from exchange.i18n import _, resolve_language, use_language
from exchange.i18n.middleware import accept_language_of
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


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
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


async def resolve_identity(session: AsyncSession, token: str, clock: Clock) -> Identity | None:
    return _identity(await _IDENTITY_BY_TOKEN.first(session, _lookup(token, clock)))


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
    the pages' session cookie, which hold the same kind of token."""
    state = connection.app.state
    alchemy = cast(SQLAlchemyAsyncConfig, state["alchemy_config"])
    engine = alchemy.get_engine()
    if engine.dialect.name == "sqlite":
        # One lookup by key on a reader connection, in this thread: no hand-off to the
        # async driver's thread for each step of the statement and of the request's
        # transaction (see `database.run_read`).
        reader = sqlite_reader(engine.sync_engine)
        return _identity(_IDENTITY_BY_TOKEN.first_on_reader(reader, _lookup(token, state["clock"])))
    session = alchemy.provide_session(state, connection.scope)
    return await resolve_identity(session, token, state["clock"])


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise NotAuthenticated()
        identity = await identity_for_token(connection, token)
        if identity is None:
            raise NotAuthenticated(
                _(
                    "Your sign-in is not valid any more (it expired, you signed out, or "
                    "the account was disabled). Sign in again."
                )
            )
        use_language(
            connection.scope,
            resolve_language(
                member_choice=identity.language,
                accept_language=accept_language_of(connection.scope),
                school_languages=identity.school_languages,
            ),
        )
        return AuthenticationResult(user=identity, auth=token)


def provide_identity(request: Request[Any, Any, Any]) -> Identity:
    """Dependency: the authenticated caller (set by the middleware)."""
    return cast(Identity, request.user)
