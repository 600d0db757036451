"""One-time links with which members set their password: when an admin adds them
without one, and when an admin issues a new one for a member who forgot theirs.

A link is `<EXCHANGE_PUBLIC_URL>/set-password?token=<token>`, the web page that asks
for the new password. The token carries 256 random bits and only its SHA-256 is
stored. A link works once, until it expires (`EXCHANGE_PASSWORD_LINK_TTL_HOURS`, 72 by
default), and only while it is the member's newest: a new link, or a change of
password, makes the earlier ones void. It is e-mailed to the member when SMTP is
configured, and the admin who asked for it gets it to pass on in any case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import quote
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import new_token, token_digest
from exchange.config import Settings
from exchange.i18n import _, format_day, format_time_of_day, lazy_gettext, using_language
from exchange.i18n.catalogs import SOURCE_LANGUAGE
from exchange.mail.notifications import SIGNATURE
from exchange.mail.outbox import compose, queue_mail
from exchange.models import Member, PasswordLink
from exchange.unit_of_work import unit_of_work

JOIN = "join"
RESET = "reset"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    url: str
    expires_at: datetime
    mailed: bool


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/set-password?token={quote(token, safe='')}"


async def void_links(session: AsyncSession, member_id: UUID, now: datetime) -> None:
    """Make the member's unused links void (a newer one, or a new password, replaces them)."""
    await session.execute(
        update(PasswordLink)
        .where(
            PasswordLink.member_id == member_id,
            PasswordLink.used_at.is_(None),
            PasswordLink.replaced_at.is_(None),
        )
        .values(replaced_at=now)
    )


async def issue_link(
    session: AsyncSession,
    settings: Settings,
    member: Member,
    *,
    school_name: str,
    purpose: str,
    issued_by: UUID | None,
    now: datetime,
    language: str = SOURCE_LANGUAGE,
) -> IssuedLink:
    """Add a new link for `member` (voiding earlier ones) and queue its e-mail; the
    caller commits, and the mail leaves with the commit."""
    await void_links(session, member.id, now)
    token = new_token()
    expires_at = now + timedelta(hours=settings.password_link_ttl_hours)
    session.add(
        PasswordLink(
            member_id=member.id,
            token_hash=token_digest(token),
            purpose=purpose,
            issued_by_member_id=issued_by,
            expires_at=expires_at,
        )
    )
    url = link_url(settings, token)
    mail = link_mail(settings, member, school_name, url, expires_at, purpose, language)
    mailed = queue_mail(unit_of_work(session), [mail]) > 0
    return IssuedLink(url=url, expires_at=expires_at, mailed=mailed)


JOIN_SUBJECT = lazy_gettext("Your account in the partner-school exchange")
RESET_SUBJECT = lazy_gettext("Set a new password for the partner-school exchange")
# Each paragraph one sentence (or two) of its own; the link stands alone between them.
JOIN_BODY = (
    lazy_gettext(
        "An admin of {school} has added you to the partner-school exchange, where partner "
        "schools share lesson plans and other resources."
    ),
    lazy_gettext("Open this link to choose your password; it works once, until {expires}:"),
    lazy_gettext("Then sign in with your e-mail address, {email}."),
)
RESET_BODY = (
    lazy_gettext(
        "An admin of {school} has asked for a new password link for your account in the "
        "partner-school exchange."
    ),
    lazy_gettext(
        "Open this link to choose a new password; it works once, until {expires}, and "
        "earlier links no longer work:"
    ),
    lazy_gettext(
        "If you did not ask for it, your current password still works; tell your school's admin."
    ),
)


def link_mail(
    settings: Settings,
    member: Member,
    school_name: str,
    url: str,
    expires_at: datetime,
    purpose: str,
    language: str = SOURCE_LANGUAGE,
) -> EmailMessage:
    """The e-mail with the link, in the member's language."""
    (before, ask, after), subject = (
        (JOIN_BODY, JOIN_SUBJECT) if purpose == JOIN else (RESET_BODY, RESET_SUBJECT)
    )
    with using_language(language):
        words = {
            "school": school_name,
            # the day and time on the reader's clocks (the exchange's time zone)
            "expires": f"{format_day(expires_at)}, {format_time_of_day(expires_at)}",
            "email": member.email,
        }
        paragraphs = [
            _("Dear {name},", name=member.full_name),
            before.with_params(**words).render(),
            ask.with_params(**words).render(),
            url,
            after.with_params(**words).render(),
            str(SIGNATURE),
        ]
        return compose(
            sender=settings.mail_from,
            to=member.email,
            subject=str(subject),
            body="\n\n".join(paragraphs) + "\n",
            language=language,
        )
