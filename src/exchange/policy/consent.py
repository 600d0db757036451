"""Students' work (the handbook's safeguarding): a student's work leaves its school only
while consent is on file."""

from __future__ import annotations

from collections.abc import Mapping

from exchange.accounts.identity import Identity
from exchange.errors import InvalidInput
from exchange.i18n import LazyText
from exchange.models import Resource, ResourceKind, ReuseScope, StudentConsent, Visibility
from exchange.policy import refusals
from exchange.policy.resources import is_owner_school

# A student's work is children's work and often carries their names: it leaves its school
# (visibility `partners` or `selected`, a forward, a `share` or `publish` permission) only
# while its school has recorded that consent is on file (`StudentConsent`). Without it the
# work stays at visibility `school`; withdrawing the consent narrows it back there.
STUDENT_WORK = ResourceKind.STUDENT_WORK.value
STUDENT_CONSENTS: tuple[str, ...] = tuple(consent.value for consent in StudentConsent)
ASK_FOR_CONSENT = refusals.ASK_FOR_CONSENT


def consent_on_file(kind: str, student_consent: str | None) -> bool:
    """May this resource leave its school as far as students' consent goes?"""
    return kind != STUDENT_WORK or student_consent in STUDENT_CONSENTS


def default_visibility(kind: str, student_consent: str | None) -> str:
    """The visibility of an upload that names none: `partners`, but `school` for a
    student's work without consent on file."""
    if consent_on_file(kind, student_consent):
        return Visibility.PARTNERS.value
    return Visibility.SCHOOL.value


def _consent_needed(detail: str | LazyText) -> InvalidInput:
    """The refusal: the request for consent, then what to do about it (whole sentences)."""
    return InvalidInput(
        f"{ASK_FOR_CONSENT} {detail}",
        errors=[{"field": "student_consent", "message": str(ASK_FOR_CONSENT)}],
    )


def student_work_visibility(
    kind: str, visibility: str, student_consent: str | None, *, consent_withdrawn: bool = False
) -> str:
    """The visibility a resource may have, given its students' consent.

    Unchanged while it stays in the school or consent is on file. When the change at
    hand withdraws the consent (and does not itself ask for a wider visibility), the
    work is narrowed to `school`: the parents' wish takes effect at once, in one step.
    Any other attempt to widen a student's work without consent is refused.
    """
    if visibility == Visibility.SCHOOL.value or consent_on_file(kind, student_consent):
        return visibility
    if consent_withdrawn:
        return Visibility.SCHOOL.value
    raise _consent_needed(refusals.CONSENT_TO_WIDEN)


def require_anonymous_restated(resource: Resource, restated: str | None) -> None:
    """A new file of a student's work shared as anonymous must be anonymous too: the
    uploader says so again (or that parents agreed), or narrows the work first."""
    if (
        resource.kind == STUDENT_WORK
        and resource.visibility != Visibility.SCHOOL.value
        and resource.student_consent == StudentConsent.NOT_NEEDED_ANONYMOUS.value
        and restated is None
    ):
        raise _consent_needed(refusals.ANONYMOUS_RESTATED)


def require_consent_to_leave(
    identity: Identity, resource: Resource, scope: ReuseScope | None = None
) -> None:
    """A student's work is never forwarded, shared or published without consent on file.
    `scope` None is a forward; `adapt` stays inside the receiving school and needs none
    beyond what reading it needs."""
    if scope is ReuseScope.ADAPT or consent_on_file(resource.kind, resource.student_consent):
        return
    key = "forward" if scope is None else scope.value
    if is_owner_school(identity, resource):
        raise _consent_needed(str(_NO_CONSENT_HERE[key]))
    raise _consent_needed(str(_NO_CONSENT_THERE[key]))


_NO_CONSENT_HERE: Mapping[str, LazyText] = {
    "share": refusals.NO_CONSENT_HERE_SHARE,
    "publish": refusals.NO_CONSENT_HERE_PUBLISH,
    "forward": refusals.NO_CONSENT_HERE_FORWARD,
}
_NO_CONSENT_THERE: Mapping[str, LazyText] = {
    "share": refusals.NO_CONSENT_THERE_SHARE,
    "publish": refusals.NO_CONSENT_THERE_PUBLISH,
    "forward": refusals.NO_CONSENT_THERE_FORWARD,
}
