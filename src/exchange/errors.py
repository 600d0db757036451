"""Domain errors: what services raise when they refuse something.

Services never speak HTTP. Each error carries the status it maps to and a `detail` a
teacher can act on; `exchange.problems` turns them into RFC 9457 problem details in one
place. A refusal that comes from the code of conduct names its rule.

Titles and details are written in the language of the request (`exchange.i18n`): a
detail is a whole sentence passed through `_()` with named placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from exchange.i18n import LazyText, lazy_gettext


class DomainError(Exception):
    """Base of every refusal a user may see."""

    status_code: ClassVar[int] = 400
    title: ClassVar[LazyText] = lazy_gettext("Bad request")
    type_slug: ClassVar[str] = "bad-request"

    def __init__(
        self,
        detail: str | LazyText,
        *,
        code_of_conduct_rule: int | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self._detail = detail
        self.code_of_conduct_rule = code_of_conduct_rule
        self.headers = dict(headers or {})
        self.extra = extra

    @property
    def detail(self) -> str:
        """The detail in the current language (a lazy one is translated when read)."""
        return str(self._detail)


class InvalidInput(DomainError):
    """The request is well formed but a value is not acceptable (422)."""

    status_code = 422
    title = lazy_gettext("Invalid input")
    type_slug = "invalid-input"


class NotAuthenticated(DomainError):
    status_code = 401
    title = lazy_gettext("Sign-in required")
    type_slug = "not-authenticated"

    def __init__(
        self,
        detail: str | LazyText = lazy_gettext(
            "Sign in first: send 'Authorization: Bearer <token>'."
        ),
    ) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="exchange"'})


class Forbidden(DomainError):
    """The caller can see the thing but its role may not do this (403)."""

    status_code = 403
    title = lazy_gettext("Not allowed")
    type_slug = "forbidden"


class NotFound(DomainError):
    """Missing, or not readable by the caller: the two are never told apart (404)."""

    status_code = 404
    title = lazy_gettext("Not found")
    type_slug = "not-found"


class Conflict(DomainError):
    """The thing is in a state that does not allow this move (409)."""

    status_code = 409
    title = lazy_gettext("Conflict")
    type_slug = "conflict"


class RuleRefusal(DomainError):
    """The code of conduct forbids this; `code_of_conduct_rule` says which rule (403)."""

    status_code = 403
    title = lazy_gettext("Refused by the code of conduct")
    type_slug = "code-of-conduct"

    def __init__(self, detail: str | LazyText, *, rule: int, **extra: Any) -> None:
        super().__init__(detail, code_of_conduct_rule=rule, **extra)


class PayloadTooLarge(DomainError):
    status_code = 413
    title = lazy_gettext("Too large")
    type_slug = "payload-too-large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    title = lazy_gettext("File type not accepted")
    type_slug = "unsupported-media-type"


class UnreadableBody(DomainError):
    """The request body cannot be read as what the route takes (400)."""

    status_code = 400
    title = lazy_gettext("Bad request")
    type_slug = "unreadable-body"


class BodyNotJson(DomainError):
    """A route that takes JSON was sent something labelled otherwise (415)."""

    status_code = 415
    title = lazy_gettext("Unsupported media type")
    type_slug = "json-required"


class RangeNotSatisfiable(DomainError):
    status_code = 416
    title = lazy_gettext("Range not satisfiable")
    type_slug = "range-not-satisfiable"


class QuotaExceeded(DomainError):
    status_code = 507
    title = lazy_gettext("School storage quota reached")
    type_slug = "quota-exceeded"


class TooManyAttempts(DomainError):
    status_code = 429
    title = lazy_gettext("Too many attempts")
    type_slug = "too-many-attempts"

    def __init__(self, detail: str | LazyText, *, retry_after_seconds: int) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after_seconds)},
            retry_after_seconds=retry_after_seconds,
        )


class StoreUnavailable(DomainError):
    """The file store cannot be reached; the client may retry later (503)."""

    status_code = 503
    title = lazy_gettext("File store unavailable")
    type_slug = "store-unavailable"

    def __init__(
        self,
        detail: str | LazyText = lazy_gettext(
            "The file store is not answering. Try again in a minute."
        ),
    ) -> None:
        super().__init__(detail, headers={"Retry-After": "30"})


class RequestTimeout(DomainError):
    status_code = 408
    title = lazy_gettext("Upload stalled")
    type_slug = "request-timeout"


class RequestTooSlow(DomainError):
    """A request body arrives more slowly than the exchange waits for (408); the
    connection is closed with the answer, since the rest of the body is not read."""

    status_code = 408
    title = lazy_gettext("Too slow")
    type_slug = "request-too-slow"

    def __init__(self, detail: str | LazyText) -> None:
        super().__init__(detail, headers={"Connection": "close"})
