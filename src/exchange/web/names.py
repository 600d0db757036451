"""How the pages name a kind, a licence, a scope, a status, a visibility or a language,
in the reader's language; and the small pieces every form repeats (a value typed, a
field's error, the attributes that tie a control to them).

Plain functions that templates call (`macros.html` hands them out under the names the
templates import): a list of fifty requests or results names a kind, a scope and a
status on every row, and a Jinja macro call costs several times a function's.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from markupsafe import Markup, escape

from exchange.i18n import LazyText, lazy_gettext
from exchange.i18n.jinja import gettext as template_gettext

KINDS: Mapping[str, LazyText] = {
    "lesson_plan": lazy_gettext("Lesson plan"),
    "assessment": lazy_gettext("Assessment"),
    "policy": lazy_gettext("School policy"),
    "video": lazy_gettext("Video"),
    "student_work": lazy_gettext("Students' work"),
}
OTHER_KIND = lazy_gettext("Other")

LICENCES: Mapping[str, LazyText] = {
    "all_rights_reserved": lazy_gettext("All rights reserved"),
    "cc0": lazy_gettext("CC0: no rights reserved"),
}
LICENCE_HELP: Mapping[str, LazyText] = {
    "all_rights_reserved": lazy_gettext(
        "Partners may use it inside their school; anything more needs your permission."
    ),
    "cc-by": lazy_gettext("Anyone may copy, change and pass it on, naming you as the author."),
    "cc-by-sa": lazy_gettext(
        "Anyone may copy, change and pass it on, naming you, if they share their version "
        "the same way."
    ),
    "cc-by-nc": lazy_gettext(
        "Anyone may copy, change and pass it on, naming you, but not to earn money with it."
    ),
    "cc-by-nc-sa": lazy_gettext(
        "Anyone may copy, change and pass it on, naming you, not for money, and sharing "
        "their version the same way."
    ),
    "cc0": lazy_gettext("Anyone may do anything with it, without asking or naming you."),
}

SCOPES: Mapping[str, LazyText] = {
    "adapt": lazy_gettext("Adapt it (make our own version)"),
    "share": lazy_gettext("Share it with another school"),
}
PUBLISH_SCOPE = lazy_gettext("Publish it outside the exchange")

STATUSES: Mapping[str, LazyText] = {
    "pending": lazy_gettext("Waiting for an answer"),
    "approved": lazy_gettext("Approved"),
    "denied": lazy_gettext("Refused"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "closed": lazy_gettext("Closed"),
    "active": lazy_gettext("In force"),
    "expired": lazy_gettext("Expired"),
    "revoked": lazy_gettext("Withdrawn"),
}

VISIBILITIES: Mapping[str, LazyText] = {
    "school": lazy_gettext("Only our school"),
    "partners": lazy_gettext("All our partner schools"),
}
SELECTED_VISIBILITY = lazy_gettext("Selected partner schools")

LANGUAGES: Mapping[str, LazyText] = {
    "ky": lazy_gettext("Kyrgyz"),
    "ru": lazy_gettext("Russian"),
    "en": lazy_gettext("English"),
    "uz": lazy_gettext("Uzbek"),
}

ERROR = lazy_gettext("Error:")


def _key(value: Any) -> Any:
    """A stored choice as the tables name it: an enum by its value."""
    return value.value if isinstance(value, Enum) else value


def _said(text: LazyText) -> Markup:
    """The sentence as a template's `_()` writes it (the catalogs' text is markup)."""
    return template_gettext(text.message)


def kind_name(kind: Any) -> Markup:
    return _said(KINDS.get(_key(kind), OTHER_KIND))


def licence_name(licence: Any) -> Markup | str:
    named = LICENCES.get(_key(licence))
    return _said(named) if named else str(_key(licence)).upper()


def licence_help(licence: Any) -> Markup | str:
    helped = LICENCE_HELP.get(_key(licence))
    return _said(helped) if helped else ""


def scope_name(scope: Any) -> Markup:
    return _said(SCOPES.get(_key(scope), PUBLISH_SCOPE))


def status_name(status: Any) -> Markup | str:
    named = STATUSES.get(_key(status))
    return _said(named) if named else str(_key(status))


def visibility_name(visibility: Any) -> Markup:
    return _said(VISIBILITIES.get(_key(visibility), SELECTED_VISIBILITY))


def language_name(code: Any) -> Markup | str:
    named = LANGUAGES.get(_key(code))
    return _said(named) if named else str(_key(code))


def value(values: Mapping[str, list[str]], name: str, default: str = "") -> str:
    """What the reader typed into `name` (a form shown again), else `default`."""
    return (values.get(name) or [default])[0]


def field_state(errors: Any, name: str, hint: bool = False) -> Markup:
    """The attributes that tie a control to its hint and its error (WCAG 1.3.1, 3.3.1)."""
    ids = ([f"{name}-hint"] if hint else []) + (
        [f"{name}-error"] if errors.by_field.get(name) else []
    )
    attributes = ""
    if ids:
        attributes += f' aria-describedby="{escape(" ".join(ids))}"'
    if errors.by_field.get(name):
        attributes += ' aria-invalid="true"'
    return Markup(attributes)  # noqa: S704 - built from escaped ids only


def error_for(errors: Any, name: str) -> Markup:
    """A field's error, next to it, announced as an error to a screen reader."""
    error = errors.by_field.get(name)
    if not error:
        return Markup()
    return Markup(
        '<p class="field-error" id="{name}-error"><span class="visually-hidden">{label}</span>'
        " {error}</p>"
    ).format(name=name, label=_said(ERROR), error=error)


# What `macros.html` hands out to the templates, by the names they import.
TEMPLATE_FUNCTIONS = {
    "kind_name": kind_name,
    "licence_name": licence_name,
    "licence_help": licence_help,
    "scope_name": scope_name,
    "status_name": status_name,
    "visibility_name": visibility_name,
    "language_name": language_name,
    "value": value,
    "describedby": field_state,
    "error_for": error_for,
}
