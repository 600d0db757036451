"""The e-mails that carry a registration link: an invitation from a school on the
exchange, or the link a school asked for to claim its handbook entry. Each is written in
the language of the invitation's letter, or of the page the claim was asked from."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from exchange.config import Settings
from exchange.i18n import _, using_language
from exchange.mail.notifications import SIGNATURE
from exchange.mail.outbox import compose


def invitation_mail(
    settings: Settings,
    *,
    to: str,
    school_name: str,
    inviting_school: str,
    letter: str,
    url: str,
    expires_at: datetime,
    language: str,
) -> EmailMessage:
    with using_language(language):
        paragraphs = [
            _("Dear colleagues of {school},", school=school_name),
            _(
                "{inviting} invites your school to a partnership in the partner-school "
                "exchange, where partner schools share lesson plans and other resources and "
                'plan their work together under the code of conduct of the "Sister schools" '
                "handbook.",
                inviting=inviting_school,
            ),
            _(
                "Open this link to register your school: you choose your password, and the "
                "invitation waits for your answer. It works once, until {expires} (UTC):",
                expires=expires_at.strftime("%Y-%m-%d %H:%M"),
            ),
            url,
            _("If you do not want to register, you need not do anything."),
            str(SIGNATURE),
            _("Their invitation letter:"),
            letter,
        ]
        return compose(
            sender=settings.mail_from,
            to=to,
            subject=_("{inviting} invites your school to partner", inviting=inviting_school),
            body="\n\n".join(paragraphs) + "\n",
            language=language,
        )


def claim_mail(
    settings: Settings,
    *,
    to: str,
    school_name: str,
    url: str,
    expires_at: datetime,
    language: str,
    claiming_school: str | None = None,
) -> EmailMessage:
    """The link to register the school from its entry, or, when a school already on the
    exchange (`claiming_school`) asked, to confirm that the entry is that school's."""
    with using_language(language):
        if claiming_school:
            asked = _(
                "An admin of {claiming} in the partner-school exchange asked to make the "
                "\"Sister schools\" handbook's entry for {school} their school's, with this "
                "address. Open the link below only if {claiming} is your school.",
                claiming=claiming_school,
                school=school_name,
            )
            open_it = _(
                "Open this link to confirm it; it works once, until {expires} (UTC):",
                expires=expires_at.strftime("%Y-%m-%d %H:%M"),
            )
        else:
            asked = _(
                "Someone asked the partner-school exchange for a link to register {school} "
                'from its entry in the "Sister schools" handbook\'s list, with this address.',
                school=school_name,
            )
            open_it = _(
                "Open this link to register your school and become its first admin; it works "
                "once, until {expires} (UTC):",
                expires=expires_at.strftime("%Y-%m-%d %H:%M"),
            )
        paragraphs = [
            _("Dear colleagues of {school},", school=school_name),
            asked,
            open_it,
            url,
            _(
                "If you did not ask for it, do nothing: without the link nobody can claim the "
                "entry."
            ),
            str(SIGNATURE),
        ]
        return compose(
            sender=settings.mail_from,
            to=to,
            subject=_("Register {school} in the partner-school exchange", school=school_name),
            body="\n\n".join(paragraphs) + "\n",
            language=language,
        )
