"""Every error leaves the exchange as RFC 9457 problem details (application/problem+json).

This is the one place where domain errors and framework errors become HTTP answers.
A 500 never carries a stack trace or SQL: it names the request id the logs hold.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import OperationalError

from exchange.errors import DomainError

PROBLEM_JSON = "application/problem+json"
logger = structlog.get_logger("exchange.errors")

_TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

_DETAILS = {
    400: "The request could not be read. Check that it is well-formed JSON or form data.",
    401: "Sign in first: send 'Authorization: Bearer <token>'.",
    403: "Your role in your school does not allow this. Ask your school's admin.",
    404: "Nothing here. Check the address, or ask whoever gave it to you whether your "
    "school can see it.",
    413: "The request is larger than the exchange accepts.",
    429: "Too many requests. Wait a little and try again.",
    503: "The service is not ready. Try again in a minute.",
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
    title: str,
    detail: str,
    slug: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
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
            detail="The database is busy or unreachable and nothing was changed. "
            "Try again in a moment.",
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
        detail="Something went wrong on our side and nothing was changed. Try again; if it "
        f"keeps happening, give your school's IT contact this reference: {request_id}.",
        slug="internal-error",
    )


def _validation_problem(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                errors.append(
                    {
                        "field": item.get("key") or "",
                        "source": item.get("source") or "body",
                        "message": str(item.get("message", "")),
                    }
                )
    if errors:
        parts = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
        )
        return problem_response(
            request,
            status=422,
            title=_TITLES[422],
            detail=f"Some values are not acceptable. {parts}",
            slug="invalid-input",
            extra={"errors": errors},
        )
    message = str(exc.detail or "")
    detail = _DETAILS[400]
    if message and "Validation failed" not in message:
        detail = f"{detail} ({message})"
    return problem_response(
        request, status=400, title=_TITLES[400], detail=detail, slug="bad-request"
    )


def _http_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    detail = _DETAILS.get(status) or str(exc.detail or _TITLES.get(status, "Error"))
    if status == 405:
        allowed = headers.get("Allow") or headers.get("allow")
        detail = f"This address does not accept {request.method}."
        if allowed:
            detail += f" It accepts: {allowed}."
    elif status == 413:
        detail = (
            "The request body is larger than the exchange accepts. Make the file smaller "
            "or split it, or ask your administrator about the upload limit."
        )
    title = _TITLES.get(status, "Error")
    slug = title.lower().replace(" ", "-")
    return problem_response(
        request, status=status, title=title, detail=detail, slug=slug, headers=headers or None
    )


__all__ = ["PROBLEM_JSON", "handle_exception", "problem_response"]
