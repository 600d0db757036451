"""Uploads from the page: the same streaming pipeline as the API, with the form's token
checked before a byte of the file is stored.

The form token cannot be left to the CSRF middleware here: it reads a whole form into
memory to find the token. The upload form sends `_csrf_token` as its first field, so it
has arrived when the file begins, where the pipeline already checks the fields sent so
far; a form without a valid token is refused there and nothing is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from secrets import compare_digest
from typing import Any, Final

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.errors import (
    DomainError,
    PayloadTooLarge,
    QuotaExceeded,
    RuleRefusal,
    UnsupportedMediaType,
)
from exchange.models import Resource
from exchange.resources.controllers import incoming_form
from exchange.resources.metadata import FORM_FIELDS
from exchange.resources.quota import SchoolQuota
from exchange.resources.services import ResourceService
from exchange.resources.upload import FieldCheck, ReceivedUpload, UploadReceiver
from exchange.web.forms import FormErrors

TOKEN_FIELD: Final = "_csrf_token"
_SECRET_HEX_LENGTH: Final = 64
# Fields the page sends that the upload API does not know (yet): left out before the
# service reads the form. `student_consent` joins the API with its own change.
PAGE_ONLY_FIELDS: Final = frozenset({TOKEN_FIELD, "student_consent"} - set(FORM_FIELDS))


def _token_secret(token: str, secret: str) -> str | None:
    if len(token) <= _SECRET_HEX_LENGTH:
        return None
    value, signature = token[:_SECRET_HEX_LENGTH], token[_SECRET_HEX_LENGTH:]
    expected = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
    return value if compare_digest(signature, expected) else None


def form_token_matches(sent: str | None, cookie: str | None, secret: str) -> bool:
    """The check of Litestar's CSRF middleware: both tokens signed, and the same."""
    if not sent or not cookie:
        return False
    sent_value, cookie_value = _token_secret(sent, secret), _token_secret(cookie, secret)
    return sent_value is not None and cookie_value is not None and sent_value == cookie_value


class PageUploadReceiver(UploadReceiver):
    """An `UploadReceiver` that checks the form token first and keeps what was sent, so
    a refused form can be shown again with the reader's answers in place."""

    def __init__(self, *args: Any, request: Request[Any, Any, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        csrf = request.app.csrf_config
        assert csrf is not None
        self._secret = csrf.secret
        self._cookie = request.cookies.get(csrf.cookie_name)
        self._header = request.headers.get(csrf.header_name)
        self.sent: list[tuple[str, str]] = []

    @classmethod
    def reading(
        cls, request: Request[Any, Any, Any], resources: ResourceService
    ) -> PageUploadReceiver:
        """The receiver of a page's upload form, streamed as the API's uploads are."""
        return cls(incoming_form(request), resources.settings, resources.store, request=request)

    def sent_values(self) -> dict[str, list[str]]:
        """What the form sent, by field, to show a refused form again as it was."""
        values: dict[str, list[str]] = {}
        for name, value in self.sent:
            values.setdefault(name, []).append(value)
        return values

    def _check_token(self, fields: Sequence[tuple[str, str]]) -> None:
        sent = self._header or next((v for k, v in fields if k == TOKEN_FIELD), None)
        if not form_token_matches(sent, self._cookie, self._secret):
            raise PermissionDeniedException("CSRF token verification failed")

    @asynccontextmanager
    async def receive(
        self,
        *,
        quota: SchoolQuota,
        fields_allowed: bool = True,
        check_fields: FieldCheck | None = None,
        allowed_fields: Collection[str] = (),
    ) -> AsyncIterator[ReceivedUpload]:
        def checked(fields: Sequence[tuple[str, str]]) -> object:
            self.sent = list(fields)
            self._check_token(fields)
            return check_fields(_api_fields(fields)) if check_fields else None

        async with super().receive(
            quota=quota,
            fields_allowed=fields_allowed,
            check_fields=checked,
            # The form token comes with a new version's file too.
            allowed_fields=(*allowed_fields, TOKEN_FIELD),
        ) as upload:
            self.sent = list(upload.fields)
            upload.fields = _api_fields(upload.fields)
            yield upload


_RESOURCE_ID: Final = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)


def _api_fields(fields: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The fields the API reads. `derived_from` may be the original's page address as
    copied from the browser; the API takes its id."""
    kept = []
    for name, value in fields:
        if name in PAGE_ONLY_FIELDS:
            continue
        if name == "derived_from":
            found = _RESOURCE_ID.search(value)
            value = found.group(0) if found else value
        kept.append((name, value))
    return kept


# The fields of the upload form a refusal can stand next to.
UPLOAD_FIELDS: Final = frozenset({*FORM_FIELDS, "file", "student_consent"})


def place_upload_refusal(
    errors: FormErrors, exc: DomainError, fields: Collection[str] = UPLOAD_FIELDS
) -> None:
    """Put a refusal next to the field it concerns (GOV.UK: message by the field)."""
    if isinstance(exc, RuleRefusal):
        field = "confidential" if exc.code_of_conduct_rule == 6 else "derived_from"
        if "visibility" in str(exc.detail) and exc.code_of_conduct_rule == 7:
            field = "visibility"
        errors.add(field if field in fields else None, str(exc.detail))
        return
    named = [
        str(item.get("field"))
        for item in exc.extra.get("errors") or []
        if isinstance(item, dict) and item.get("field") in fields
    ]
    if named:
        for item in exc.extra.get("errors") or []:
            if isinstance(item, dict) and item.get("field") in fields:
                errors.add(str(item["field"]), str(item.get("message") or exc.detail))
        return
    if isinstance(exc, PayloadTooLarge | UnsupportedMediaType | QuotaExceeded) or exc.detail:
        errors.add("file", str(exc.detail))


@dataclass(frozen=True)
class RefusedUpload:
    """A form the pipeline refused: nothing of it is kept; it is shown again with the
    reader's answers and each refusal by its field."""

    values: dict[str, list[str]]
    errors: FormErrors
    status_code: int


async def take_upload_form(
    request: Request[Any, Any, Any],
    resources: ResourceService,
    db_session: AsyncSession,
    keep: Callable[[PageUploadReceiver], Awaitable[Resource]],
    fields: Collection[str] = UPLOAD_FIELDS,
) -> Resource | RefusedUpload:
    """Stream a page's upload form (a new resource or a new version) through `keep`,
    the service call that checks and stores it.

    What the reader may not do at all (another school's resource: 404; a role that may
    not: 403) is the error page, as everywhere; what is wrong with the form comes back
    as a `RefusedUpload`, after the session is rolled back.
    """
    receiver = PageUploadReceiver.reading(request, resources)
    try:
        return await keep(receiver)
    except DomainError as exc:
        if exc.status_code == 404 or (exc.status_code == 403 and not isinstance(exc, RuleRefusal)):
            raise
        await db_session.rollback()
        errors = FormErrors()
        place_upload_refusal(errors, exc, fields)
        return RefusedUpload(receiver.sent_values(), errors, exc.status_code)
