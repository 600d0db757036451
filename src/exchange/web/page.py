"""What every page handler is given: who is looking, in which language, and `render`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import urlencode

from litestar import MediaType, Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.accounts.schemas import Language, MemberUpdate
from exchange.accounts.services import AccountService
from exchange.clock import Clock
from exchange.config import Settings
from exchange.database import PreparedRead
from exchange.models import Member, School
from exchange.web.language import (
    LANGUAGE_COOKIE,
    explicit_choice,
    page_language,
    use_page_language,
)
from exchange.web.sessions import SignInRequired, cookies_secure, session_identity

ONE_YEAR_SECONDS = 365 * 24 * 3600
# No page is shown inside another site's frame (a form clicked through a disguise), no
# page's address leaves the site in a Referer header (it may name a resource), and a page
# runs only the scripts and styles the exchange serves itself: should a title or a
# snippet ever slip through unescaped, it cannot run as code.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def language_cookie(settings: Settings, request: Request[Any, Any, Any], language: str) -> Cookie:
    """The remembered language switch."""
    return Cookie(
        key=LANGUAGE_COOKIE,
        value=language,
        path="/",
        max_age=ONE_YEAR_SECONDS,
        samesite="lax",
        httponly=True,
        secure=cookies_secure(settings, request),
    )


@dataclass(frozen=True)
class SchoolView:
    name: str


@dataclass(frozen=True)
class MemberView:
    """Who is signed in, as the pages show them: read once, so that a page rendered
    after its transaction ended (committed or rolled back) never goes back to the
    database for a name."""

    email: str
    full_name: str
    position: str | None
    language: str | None
    school: SchoolView

    @classmethod
    async def of(cls, session: AsyncSession, viewer: Identity) -> MemberView | None:
        """What the identity does not hold, read by key in one statement compiled once."""
        row = await _SHOWN_MEMBER.first(session, {"member_id": viewer.member_id})
        if row is None:  # the member left between the sign-in's lookup and this one
            return None
        position, school_name = row
        return cls(
            email=viewer.email,
            full_name=viewer.full_name,
            position=position,
            language=viewer.language,
            school=SchoolView(name=school_name),
        )


_SHOWN_MEMBER = PreparedRead(
    select(Member.position, School.name)
    .join(School, School.id == Member.school_id)
    .where(Member.id == bindparam("member_id", type_=Member.__table__.c.id.type))
)


@dataclass
class Page:
    request: Request[Any, Any, Any]
    settings: Settings
    language: str
    viewer: Identity | None
    member: MemberView | None
    cookies: list[Cookie] = field(default_factory=list)

    def speak(self) -> None:
        """Make the page's language the request's, for what the handler does next.

        Needed in the handler itself: Litestar may resolve dependencies in tasks of their
        own, whose context variables the handler does not see.
        """
        use_page_language(self.request, self.language)

    def require_member(self) -> Identity:
        """The signed-in member; anyone else is sent to the sign-in page and back."""
        self.speak()
        if self.viewer is None:
            target = self.request.url.path
            if self.request.url.query:
                target += "?" + self.request.url.query
            raise SignInRequired(target)
        return self.viewer

    @property
    def can_read_audit(self) -> bool:
        """Whether the school's audit trail is the reader's to read (the page's link)."""
        viewer = self.viewer
        return viewer is not None and policy.permits(
            viewer, policy.Action.READ_AUDIT, policy.Trail(viewer.school_id)
        )

    def language_url(self, language: str) -> str:
        """This page in another language (the choice is remembered)."""
        query = [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        query.append(("lang", language))
        return f"{self.request.url.path}?{urlencode(query)}"

    def page_url(self, **changes: str | None) -> str:
        """This page with some query values changed (None drops one): the next page of a
        list keeps the list's filters and names its cursor."""
        query = [
            (k, v)
            for k, v in self.request.query_params.multi_items()
            if k not in changes and k != "lang"
        ]
        query += [(k, v) for k, v in changes.items() if v is not None]
        return self.request.url.path + (f"?{urlencode(query)}" if query else "")

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> Template:
        self.speak()
        cookies = list(self.cookies)
        if explicit_choice(self.request):
            cookies.append(language_cookie(self.settings, self.request, self.language))
        return Template(
            template_name=template,
            media_type=MediaType.HTML,
            context={"page": self, **context},
            status_code=status_code,
            cookies=cookies,
            headers={
                "Cache-Control": "private, no-cache",
                "Vary": "Cookie",
                "Content-Language": self.language,
                **PAGE_HEADERS,
            },
        )


async def provide_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> Page:
    viewer = await session_identity(request)
    shown = await MemberView.of(db_session, viewer) if viewer else None
    if shown is None:
        viewer = None
    language = page_language(
        request,
        member_language=shown.language if shown else None,
        school_languages=list(viewer.school_languages) if viewer else None,
    )
    switched = explicit_choice(request)
    if viewer is not None and shown is not None and switched not in (None, shown.language):
        # The switch is the member's choice from now on, on every device.
        await AccountService(db_session, settings, clock).update_me(
            viewer, MemberUpdate(language=cast(Language, language))
        )
        shown = replace(shown, language=language)
    use_page_language(request, language)
    return Page(request=request, settings=settings, language=language, viewer=viewer, member=shown)
