"""Every error leaves the exchange as RFC 9457 problem details (application/problem+json).

This is the one place where domain errors and framework errors become HTTP answers.
A 500 never carries a stack trace or SQL: it names the request id the logs hold.
`title` and `detail` are in the request's language; `type`, `status` and the field
names are the same in every language.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import OperationalError

from exchange.errors import DomainError
from exchange.i18n import LazyText, _, current_language, lazy_gettext
from exchange.i18n.catalogs import SOURCE_LANGUAGE

PROBLEM_JSON = "application/problem+json"
logger = structlog.get_logger("exchange.errors")

_TITLES = {
    400: lazy_gettext("Bad request"),
    401: lazy_gettext("Sign-in required"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("Method not allowed"),
    408: lazy_gettext("Request timeout"),
    409: lazy_gettext("Conflict"),
    413: lazy_gettext("Too large"),
    415: lazy_gettext("Unsupported media type"),
    416: lazy_gettext("Range not satisfiable"),
    422: lazy_gettext("Invalid input"),
    429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Internal error"),
    503: lazy_gettext("Service unavailable"),
}

# The `type` of a framework error is named from its English title, whatever the language.
_SLUGS = {
    400: "bad-request",
    401: "sign-in-required",
    403: "not-allowed",
    404: "not-found",
    405: "method-not-allowed",
    408: "request-timeout",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    416: "range-not-satisfiable",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}

_DETAILS = {
    400: lazy_gettext(
        "The request could not be read. Check that it is well-formed JSON or form data."
    ),
    401: lazy_gettext("Sign in first: send 'Authorization: Bearer <token>'."),
    403: lazy_gettext("Your role in your school does not allow this. Ask your school's admin."),
    404: lazy_gettext(
        "Nothing here. Check the address, or ask whoever gave it to you whether your "
        "school can see it."
    ),
    413: lazy_gettext("The request is larger than the exchange accepts."),
    429: lazy_gettext("Too many requests. Wait a little and try again."),
    503: lazy_gettext("The service is not ready. Try again in a minute."),
}


def problem_type(slug: str) -> str:
    return f"urn:exchange:problem:{slug}"


def request_id_of(request: Request[Any, Any, Any]) -> str:
    state = request.scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex
    return str(state["request_id"])


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    title: str | LazyText,
    detail: str | LazyText,
    slug: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": str(title),
        "status": status,
        "detail": str(detail),
        "instance": request.url.path,
    }
    request_id = request_id_of(request)
    body["request_id"] = request_id
    headers = {**(headers or {}), "X-Request-ID": request_id}
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    if request.method == "HEAD":
        # The same status and headers as the GET would get, and no body (RFC 9110 §9.3.2).
        return Response(
            content=None,  # type: ignore[arg-type]
            status_code=status,
            headers={**headers, "Content-Type": PROBLEM_JSON},
        )
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, DomainError):
        extra = dict(exc.extra)
        if exc.code_of_conduct_rule is not None:
            extra["code_of_conduct_rule"] = exc.code_of_conduct_rule
        return problem_response(
            request,
            status=exc.status_code,
            title=exc.title,
            detail=exc.detail,
            slug=exc.type_slug,
            headers=exc.headers,
            extra=extra,
        )
    if isinstance(exc, ValidationException):
        return _validation_problem(request, exc)
    if isinstance(exc, OperationalError):
        # The database is unreachable or busy (SQLite's writer lock, a PostgreSQL
        # restart): nothing was changed and the same request may well work shortly.
        logger.warning("database unavailable", path=request.url.path, error=str(exc.orig))
        return problem_response(
            request,
            status=503,
            title=_TITLES[503],
            detail=_(
                "The database is busy or unreachable and nothing was changed. "
                "Try again in a moment."
            ),
            slug="database-unavailable",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return _http_problem(request, exc)
    if isinstance(exc, HTTPException) and exc.status_code != 500:
        return _http_problem(request, exc)
    logger.error("unhandled error", path=request.url.path, method=request.method, exc_info=exc)
    request_id = request_id_of(request)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        title=_TITLES[500],
        detail=_(
            "Something went wrong on our side and nothing was changed. Try again; if it "
            "keeps happening, give your school's IT contact this reference: {request_id}.",
            request_id=request_id,
        ),
        slug="internal-error",
    )


def _validation_problem(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    items = (
        [item for item in exc.extra if isinstance(item, dict)]
        if isinstance(exc.extra, list)
        else []
    )
    if any(_is_missing_body(item) for item in items):
        fields = _required_body_fields(request)
        if fields:
            detail = _say("no body, fields", fields=", ".join(f"'{field}'" for field in fields))
        else:
            detail = _say("no body")
        return problem_response(
            request,
            status=422,
            title=_TITLES[422],
            detail=detail,
            slug="invalid-input",
            extra={
                "errors": [
                    {"field": field, "source": "body", "message": _say("required", field=field)}
                    for field in fields
                ]
            },
        )
    errors = [_field_error(item) for item in items]
    if errors:
        return problem_response(
            request,
            status=422,
            title=_TITLES[422],
            detail=_say("some values", errors=" ".join(error["message"] for error in errors)),
            slug="invalid-input",
            extra={"errors": errors},
        )
    message = str(exc.detail or "")
    if missing := _MISSING_PARAMETER.match(message):
        kind, name = missing.groups()
        detail = _say(f"missing {kind} parameter", "missing parameter", name=name)
    else:
        detail = str(_DETAILS[400])
        # Litestar's reason is English: shown only to a reader of English.
        if message and "Validation failed" not in message and current_language() == SOURCE_LANGUAGE:
            detail = _(
                "The request could not be read. Check that it is well-formed JSON or form "
                "data. ({reason})",
                reason=message,
            )
    return problem_response(
        request, status=400, title=_TITLES[400], detail=detail, slug="bad-request"
    )


# Litestar's and msgspec's messages about a request's values, put into words a teacher
# (or a client's developer) can act on. Each sentence is whole, with named placeholders.
_SENTENCES = {
    "no body": lazy_gettext("The request has no body. Send a JSON object."),
    "no body, fields": lazy_gettext(
        "The request has no body. Send a JSON object with the fields {fields}."
    ),
    "some values": lazy_gettext("Some values are not acceptable. {errors}"),
    "missing query parameter": lazy_gettext("The query parameter '{name}' is required."),
    "missing header parameter": lazy_gettext("The header '{name}' is required."),
    "missing parameter": lazy_gettext("The parameter '{name}' is required."),
    "required": lazy_gettext("'{field}' is required."),
    "unknown": lazy_gettext("'{field}' is not a field this address accepts. Leave it out."),
    "wrong type": lazy_gettext("{field} must be {expected}, not {actual}."),
    ">=": lazy_gettext("{field} must be at least {limit}."),
    "<=": lazy_gettext("{field} must be at most {limit}."),
    ">": lazy_gettext("{field} must be more than {limit}."),
    "<": lazy_gettext("{field} must be less than {limit}."),
    "str >= 1": lazy_gettext("{field} must not be empty."),
    "str >=": lazy_gettext("{field} must be at least {limit} characters long."),
    "str <=": lazy_gettext("{field} must be at most {limit} characters long."),
    "bytes >=": lazy_gettext("{field} must be at least {limit} bytes long."),
    "bytes <=": lazy_gettext("{field} must be at most {limit} bytes long."),
    "array >=": lazy_gettext("{field} must list at least {limit} items."),
    "array <=": lazy_gettext("{field} may list at most {limit} items."),
    "object >=": lazy_gettext("{field} must hold at least {limit} entries."),
    "object <=": lazy_gettext("{field} may hold at most {limit} entries."),
    "pattern": lazy_gettext(
        "{field} is not written in the form it needs (see the API documentation)."
    ),
    "enum": lazy_gettext(
        "{field} cannot be {value}: see the API documentation for the values it takes."
    ),
    "Invalid UUID": lazy_gettext("{field} must be an id (a UUID)."),
    "Invalid RFC3339 encoded datetime": lazy_gettext(
        "{field} must be a date and time such as 2026-09-01T08:00:00Z."
    ),
    "Invalid RFC3339 encoded date": lazy_gettext("{field} must be a date such as 2026-09-01."),
    "Expected `datetime` with a timezone component": lazy_gettext(
        "{field} must be a date and time with its time zone, such as 2026-09-01T08:00:00Z."
    ),
    "Number out of range": lazy_gettext("{field} is a number too large for the exchange."),
    # msgspec's own sentence is English: a reader of another language is pointed to the
    # documentation instead of reading it.
    "other": lazy_gettext("{field} is not acceptable: {reason}."),
    "other, in words": lazy_gettext(
        "{field} is not acceptable: see the API documentation for the values it takes."
    ),
}

_KINDS = {
    "str": lazy_gettext("text"),
    "int": lazy_gettext("a whole number"),
    "float": lazy_gettext("a number"),
    "bool": lazy_gettext("true or false"),
    "array": lazy_gettext("a list"),
    "object": lazy_gettext("a JSON object"),
    "null": lazy_gettext("null"),
    "uuid": lazy_gettext("an id (a UUID)"),
    "datetime": lazy_gettext("a date and time"),
    "date": lazy_gettext("a date"),
}

_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']*)'")
_MISSING_FIELD = re.compile(r"Object missing required field `([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `([^`]*)`")
_WRONG_TYPE = re.compile(r"Expected `([^`]*)`, got `([^`]*)`")
_BOUND = re.compile(r"Expected `(?:int|float)` (>=|<=|>|<) (\S+)")
_LENGTH = re.compile(r"Expected `(str|array|object|bytes)` of length (>=|<=) (\d+)")
_PATTERN = re.compile(r"Expected `str` matching regex")
_ENUM = re.compile(r"Invalid enum value (.*)")


def _say(key: str, fallback: str | None = None, **values: str) -> str:
    template = _SENTENCES.get(key) or _SENTENCES[fallback or "other"]
    return str(template).format(**values)


def _is_missing_body(item: dict[str, Any]) -> bool:
    # Litestar reports an absent body as the key error of its `data` parameter.
    return item.get("key") == "data" and str(item.get("message", "")) == "'data'"


def _required_body_fields(request: Request[Any, Any, Any]) -> list[str]:
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return []
    shape = data.annotation
    for candidate in (shape, *getattr(shape, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return [
                field.encode_name for field in msgspec.structs.fields(candidate) if field.required
            ]
    return []


def _kind_in_words(expected: str) -> str:
    kinds = [str(_KINDS.get(part.strip(), part.strip())) for part in expected.split("|")]
    if len(kinds) == 1:
        return kinds[0]
    return _("{kinds} or {last}", kinds=", ".join(kinds[:-1]), last=kinds[-1])


def _field_error(item: dict[str, Any]) -> dict[str, str]:
    key = str(item.get("key") or "")
    source = str(getattr(item.get("source"), "value", item.get("source")) or "body")
    message = str(item.get("message", ""))
    parent = "" if key == "data" else key
    for pattern, sentence in ((_MISSING_FIELD, "required"), (_UNKNOWN_FIELD, "unknown")):
        if match := pattern.match(message):
            field = ".".join(part for part in (parent, match.group(1)) if part)
            return {"field": field, "source": source, "message": _say(sentence, field=field)}
    subject = f"'{parent}'" if parent else _("The request body")
    return {"field": parent, "source": source, "message": _value_in_words(subject, message)}


def _value_in_words(field: str, message: str) -> str:
    if match := _WRONG_TYPE.match(message):
        expected, actual = (_kind_in_words(kind) for kind in match.groups())
        return _say("wrong type", field=field, expected=expected, actual=actual)
    if match := _BOUND.match(message):
        bound, limit = match.groups()
        return _say(bound, field=field, limit=limit)
    if match := _LENGTH.match(message):
        kind, bound, limit = match.groups()
        if kind == "str" and bound == ">=" and limit == "1":
            return _say("str >= 1", field=field)
        return _say(f"{kind} {bound}", field=field, limit=limit)
    if _PATTERN.match(message):
        return _say("pattern", field=field)
    if match := _ENUM.match(message):
        return _say("enum", field=field, value=match.group(1))
    if message in _SENTENCES:
        return _say(message, field=field)
    if current_language() != SOURCE_LANGUAGE:
        return _say("other, in words", field=field)
    return _say("other", field=field, reason=message.rstrip("."))


def _http_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    detail: str | LazyText = _DETAILS.get(status) or str(
        exc.detail or _TITLES.get(status) or _("Error")
    )
    if status == 405:
        allowed = headers.get("Allow") or headers.get("allow")
        if allowed:
            detail = _(
                "This address does not accept {method}. It accepts: {allowed}.",
                method=request.method,
                allowed=allowed,
            )
        else:
            detail = _("This address does not accept {method}.", method=request.method)
    elif status == 413:
        detail = _(
            "The request body is larger than the exchange accepts. Make the file smaller "
            "or split it, or ask your administrator about the upload limit."
        )
    title = _TITLES.get(status) or _("Error")
    slug = _SLUGS.get(status, "error")
    return problem_response(
        request, status=status, title=title, detail=detail, slug=slug, headers=headers or None
    )


__all__ = ["PROBLEM_JSON", "handle_exception", "problem_response"]
