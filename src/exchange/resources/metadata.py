"""What describes a resource, checked field by field with answers a teacher can act on.

The same checks serve the upload form (every value a string, lists as repeated fields or
comma-separated) and `PATCH` (typed JSON). Every problem in a request is reported at
once, each naming its field, so a form can be fixed in one go. Rules that need the
database (authors, partners in `shared_with`, the original of `derived_from`) and the
rules of the code of conduct are the policy's, asked by the service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final
from uuid import UUID

from msgspec import UNSET

from exchange import policy
from exchange.display_text import clean_line as clean_text
from exchange.display_text import clean_paragraphs
from exchange.errors import InvalidInput
from exchange.i18n import _
from exchange.kernel.languages import EXCHANGE_LANGUAGES, is_language_code
from exchange.models import Licence, ResourceKind, Visibility
from exchange.resources.schemas import ResourceUpdate

MAX_TITLE_CHARS: Final = 300
MAX_SUBJECT_CHARS: Final = 100
MAX_DESCRIPTION_CHARS: Final = 20_000
MAX_CO_AUTHORS: Final = 20
MAX_CO_AUTHOR_CHARS: Final = 200
MAX_LISTED: Final = 100
MAX_CHANGE_NOTE_CHARS: Final = 2_000
GRADES: Final = range(1, 12)

KINDS: Final = tuple(kind.value for kind in ResourceKind)
VISIBILITIES: Final = tuple(v.value for v in Visibility)
LICENCES: Final = tuple(licence.value for licence in Licence)

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off", ""})
# Form fields that may be sent several times (or once, comma-separated).
_LIST_FIELDS: Final = frozenset({"grades", "shared_with", "author_ids", "co_authors"})
FORM_FIELDS: Final = (
    "title",
    "kind",
    "subject",
    "grades",
    "language",
    "description",
    "visibility",
    "shared_with",
    "confidential",
    "licence",
    "derived_from",
    "author_ids",
    "co_authors",
    "student_consent",
)
# A new version is a file, with what changed in it and, for a student's work, the
# students' consent restated for the new file.
VERSION_FORM_FIELDS: Final = ("change_note", "student_consent")


@dataclass(frozen=True)
class ResourceMetadata:
    """The checked description of a resource (its file is described by its versions)."""

    title: str
    kind: str
    subject: str | None = None
    grades: tuple[int, ...] = ()
    language: str | None = None
    description: str = ""
    visibility: str = Visibility.PARTNERS.value
    shared_with: tuple[UUID, ...] = ()
    confidential: bool = False
    licence: str = Licence.ALL_RIGHTS_RESERVED.value
    # Members of the owner school credited as authors; empty means "the uploader".
    author_ids: tuple[UUID, ...] = ()
    co_authors: tuple[str, ...] = ()
    # For a student's work: the consent on file that lets it leave the school, or None.
    student_consent: str | None = None

    def changed(self, **changes: Any) -> ResourceMetadata:
        return replace(self, **changes)


@dataclass(frozen=True)
class NewResource:
    """A checked upload form: the metadata and the resource it is adapted from, if any."""

    metadata: ResourceMetadata
    derived_from: UUID | None = None


@dataclass(frozen=True)
class NewVersion:
    """A checked new-version form: what changed, and the consent restated (or None)."""

    change_note: str | None = None
    student_consent: str | None = None


@dataclass
class Problems:
    """The problems found in one request, reported together."""

    errors: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.append({"field": name, "message": message})

    def has(self, name: str) -> bool:
        return any(error["field"] == name for error in self.errors)

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        listed = "; ".join(f"{e['field']}: {e['message']}" for e in self.errors)
        raise InvalidInput(
            _("Some values are not acceptable. {listed}", listed=listed), errors=list(self.errors)
        )


# --- one field at a time ------------------------------------------------------------------


def check_title(value: str, problems: Problems) -> str:
    title = clean_text(value)
    if not title:
        problems.add("title", _("Give the resource a title."))
    elif len(title) > MAX_TITLE_CHARS:
        problems.add(
            "title",
            _(
                "The title has {count} characters; keep it to {limit}.",
                count=len(title),
                limit=MAX_TITLE_CHARS,
            ),
        )
    return title


def check_kind(value: str, problems: Problems) -> str:
    kind = value.strip().lower()
    if kind not in KINDS:
        problems.add(
            "kind",
            _(
                "{value} is not a kind of resource; use one of {kinds}.",
                value=repr(value),
                kinds=", ".join(KINDS),
            ),
        )
    return kind


def check_subject(value: str | None, problems: Problems) -> str | None:
    subject = clean_text(value or "")
    if len(subject) > MAX_SUBJECT_CHARS:
        problems.add(
            "subject", _("Keep the subject to {limit} characters.", limit=MAX_SUBJECT_CHARS)
        )
    return subject or None


def check_grades(values: Iterable[int], problems: Problems) -> tuple[int, ...]:
    grades = sorted(set(values))
    wrong = [g for g in grades if g not in GRADES]
    if wrong:
        problems.add(
            "grades",
            _(
                "Grades go from 1 to 11; {grades} is not a school grade.",
                grades=", ".join(map(str, wrong)),
            ),
        )
    return tuple(g for g in grades if g in GRADES)


def check_language(value: str | None, problems: Problems) -> str | None:
    language = (value or "").strip().lower()
    if not language:
        return None
    if not is_language_code(language):
        problems.add(
            "language",
            _(
                "{value} is not a two-letter ISO 639-1 language code; use {codes}, or another "
                "such code (uz, tg, de...).",
                value=repr(value),
                codes=", ".join(EXCHANGE_LANGUAGES),
            ),
        )
    return language


def check_description(value: str | None, problems: Problems) -> str:
    description = clean_paragraphs(value or "")
    if len(description) > MAX_DESCRIPTION_CHARS:
        problems.add(
            "description",
            _(
                "The description has {count} characters; keep it to {limit}.",
                count=len(description),
                limit=MAX_DESCRIPTION_CHARS,
            ),
        )
    return description


def check_visibility(value: str, problems: Problems) -> str:
    visibility = value.strip().lower()
    if visibility not in VISIBILITIES:
        problems.add(
            "visibility",
            _(
                "{value} is not a visibility; use 'school' (your school only), 'partners' "
                "(every active partner) or 'selected' (the partners named in shared_with).",
                value=repr(value),
            ),
        )
    return visibility


def check_licence(value: str, problems: Problems) -> str:
    licence = value.strip().lower()
    if licence not in LICENCES:
        problems.add(
            "licence",
            _(
                "{value} is not a licence; use one of {licences}.",
                value=repr(value),
                licences=", ".join(LICENCES),
            ),
        )
    return licence


def check_student_consent(value: str | None, problems: Problems) -> str | None:
    consent = (value or "").strip().lower()
    if not consent:
        return None
    if consent not in policy.STUDENT_CONSENTS:
        problems.add(
            "student_consent",
            _(
                "{value} is not a consent on file; use 'parents' (the parents agreed, and "
                "your school keeps their consent) or 'not_needed_anonymous' (the work shows no "
                "student's name or face), or leave it empty when there is none.",
                value=repr(value),
            ),
        )
        return None
    return consent


def check_ids(name: str, values: Iterable[UUID], problems: Problems) -> tuple[UUID, ...]:
    ids = tuple(dict.fromkeys(values))
    if len(ids) > MAX_LISTED:
        problems.add(name, _("Name at most {limit}.", limit=MAX_LISTED))
    return ids


def check_co_authors(values: Iterable[str], problems: Problems) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name for name in (clean_text(v) for v in values) if name))
    if len(names) > MAX_CO_AUTHORS:
        problems.add("co_authors", _("Name at most {limit} co-authors.", limit=MAX_CO_AUTHORS))
    if any(len(name) > MAX_CO_AUTHOR_CHARS for name in names):
        problems.add(
            "co_authors",
            _("Keep each co-author's name to {limit} characters.", limit=MAX_CO_AUTHOR_CHARS),
        )
    return names


# --- the upload form ----------------------------------------------------------------------


def read_form(fields: Sequence[tuple[str, str]], *, complete: bool = True) -> NewResource:
    """Check the metadata fields of an upload form.

    With `complete=False` (the file part has begun and more fields may follow it),
    only the values present are checked, so an upload with a wrong value is refused
    before its file is read; missing fields are not reported yet.
    """
    problems = Problems()
    values: dict[str, list[str]] = {}
    for name, value in fields:
        if name not in FORM_FIELDS:
            if not problems.has(name):
                problems.add(
                    name,
                    _(
                        "The form has a field {name} the exchange does not know; the fields "
                        "are 'file' and {fields}.",
                        name=repr(name),
                        fields=", ".join(FORM_FIELDS),
                    ),
                )
            continue
        if name in values and name not in _LIST_FIELDS:
            if not problems.has(name):
                problems.add(name, _("Send this field once."))
            continue
        values.setdefault(name, []).append(value)

    def one(name: str) -> str | None:
        found = values.get(name)
        return found[0] if found else None

    def items(name: str) -> list[str]:
        return [item.strip() for raw in values.get(name, []) for item in raw.split(",")]

    title = one("title")
    if title is None and complete:
        problems.add("title", _("Give the resource a title."))
    kind = one("kind")
    if kind is None and complete:
        problems.add(
            "kind", _("Say what kind of resource this is: one of {kinds}.", kinds=", ".join(KINDS))
        )
    checked_kind = check_kind(kind, problems) if kind is not None else ""
    consent = check_student_consent(one("student_consent"), problems)
    metadata = ResourceMetadata(
        title=check_title(title, problems) if title is not None else "",
        kind=checked_kind,
        subject=check_subject(one("subject"), problems),
        grades=check_grades(_integers("grades", items("grades"), problems), problems),
        language=check_language(one("language"), problems),
        description=check_description(one("description"), problems),
        visibility=check_visibility(
            one("visibility") or policy.default_visibility(checked_kind, consent), problems
        ),
        shared_with=check_ids(
            "shared_with", _uuids("shared_with", items("shared_with"), problems), problems
        ),
        confidential=_boolean("confidential", one("confidential"), problems),
        licence=check_licence(one("licence") or Licence.ALL_RIGHTS_RESERVED.value, problems),
        author_ids=check_ids(
            "author_ids", _uuids("author_ids", items("author_ids"), problems), problems
        ),
        # Names may hold commas ("Asanova, A."): one co-author per field.
        co_authors=check_co_authors(values.get("co_authors", []), problems),
        student_consent=consent,
    )
    derived = _uuids("derived_from", [one("derived_from") or ""], problems)
    problems.raise_if_any()
    return NewResource(metadata=metadata, derived_from=derived[0] if derived else None)


def _integers(name: str, raw: list[str], problems: Problems) -> list[int]:
    numbers = []
    for item in raw:
        if not item:
            continue
        try:
            numbers.append(int(item))
        except ValueError:
            problems.add(
                name, _("{value} is not a number; send grades like 5 or 5,6,7.", value=repr(item))
            )
    return numbers


def _uuids(name: str, raw: list[str], problems: Problems) -> list[UUID]:
    ids = []
    for item in raw:
        if not item.strip():
            continue
        try:
            ids.append(UUID(item.strip()))
        except ValueError:
            problems.add(
                name, _("{value} is not an id (ids look like 0192f0c4-...).", value=repr(item))
            )
    return ids


def _boolean(name: str, raw: str | None, problems: Problems) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        problems.add(name, _("{value} is not yes or no; send true or false.", value=repr(raw)))
    return False


# --- a change (PATCH) ---------------------------------------------------------------------


def apply_update(current: ResourceMetadata, update: ResourceUpdate) -> ResourceMetadata:
    """`current` with the fields `update` sends, each checked like on upload.

    Moving away from visibility 'selected' forgets `shared_with`; moving to it keeps the
    partners already named unless new ones are sent.
    """
    problems = Problems()
    changes: dict[str, Any] = {}
    if update.title is not UNSET:
        changes["title"] = check_title(update.title, problems)
    if update.kind is not UNSET:
        changes["kind"] = check_kind(update.kind, problems)
    if update.subject is not UNSET:
        changes["subject"] = check_subject(update.subject, problems)
    if update.grades is not UNSET:
        changes["grades"] = check_grades(update.grades, problems)
    if update.language is not UNSET:
        changes["language"] = check_language(update.language, problems)
    if update.description is not UNSET:
        changes["description"] = check_description(update.description, problems)
    if update.visibility is not UNSET:
        changes["visibility"] = check_visibility(update.visibility, problems)
        if changes["visibility"] != Visibility.SELECTED.value and update.shared_with is UNSET:
            changes["shared_with"] = ()
    if update.shared_with is not UNSET:
        changes["shared_with"] = check_ids("shared_with", update.shared_with, problems)
    if update.confidential is not UNSET:
        changes["confidential"] = update.confidential
    if update.licence is not UNSET:
        changes["licence"] = check_licence(update.licence, problems)
    if update.author_ids is not UNSET:
        changes["author_ids"] = check_ids("author_ids", update.author_ids, problems)
        if not changes["author_ids"]:
            problems.add("author_ids", _("A resource needs at least one author from your school."))
    if update.co_authors is not UNSET:
        changes["co_authors"] = check_co_authors(update.co_authors, problems)
    if update.student_consent is not UNSET:
        changes["student_consent"] = check_student_consent(update.student_consent, problems)
    problems.raise_if_any()
    return current.changed(**changes)


def read_version_form(fields: Sequence[tuple[str, str]]) -> NewVersion:
    """The fields a new version may carry: its change note, and `student_consent`
    restated for the new file (None when not sent)."""
    problems = Problems()
    sent: dict[str, list[str]] = {}
    for name, value in fields:
        sent.setdefault(name, []).append(value)
    for name, values in sent.items():
        if len(values) > 1:
            problems.add(name, _("Send this field once."))
    consent_sent = sent.get("student_consent")
    consent = check_student_consent(consent_sent[0], problems) if consent_sent else None
    note_sent = sent.get("change_note")
    note = check_change_note(note_sent[0], problems) if note_sent else None
    problems.raise_if_any()
    return NewVersion(change_note=note, student_consent=consent)


def check_change_note(value: str, problems: Problems) -> str | None:
    note = clean_paragraphs(value)
    if len(note) > MAX_CHANGE_NOTE_CHARS:
        problems.add(
            "change_note",
            _(
                "The change note has {count} characters; keep it to {limit}.",
                count=len(note),
                limit=MAX_CHANGE_NOTE_CHARS,
            ),
        )
    return note or None


def changed_fields(before: ResourceMetadata, after: ResourceMetadata) -> list[str]:
    return [
        name
        for name in before.__dataclass_fields__
        if getattr(before, name) != getattr(after, name)
    ]
