"""What a page shows when something goes wrong: a page in the reader's language, never
JSON. A page for members only sends a visitor to sign in first; something that does not
exist, or that the reader's school may not read, is the same plain 404."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.exc import OperationalError

from exchange.errors import DomainError, NotFound
from exchange.problems import handle_exception, request_id_of
from exchange.web.language import page_language, use_page_language
from exchange.web.page import PAGE_HEADERS
from exchange.web.sessions import SignInRequired

logger = structlog.get_logger("exchange.web")

# The kinds of trouble a page explains; the words themselves are in `error.html`.
_KINDS = {400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large"}


def handle_page_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, SignInRequired):
        return Redirect(
            f"/sign-in?{urlencode({'next': exc.next_path})}", status_code=HTTP_303_SEE_OTHER
        )
    language = page_language(request)
    use_page_language(request, language)
    status = 500
    kind = "server"
    detail: str | None = None
    if isinstance(exc, NotFound | NotFoundException):
        status, kind = 404, "not_found"
    elif isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        status, kind = 403, "form_expired"
    elif isinstance(exc, DomainError):
        status = exc.status_code
        kind = _KINDS.get(status, "invalid" if status < 500 else "server")
        detail = str(exc.detail)
    elif isinstance(exc, OperationalError):
        status, kind = 503, "busy"
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code
        kind = _KINDS.get(status, "invalid")
    if status >= 500 and kind == "server":
        logger.error("page failed", path=request.url.path, exc_info=exc)
    return Template(
        template_name="error.html",
        media_type=MediaType.HTML,
        context={
            "page": None,
            "language": language,
            "status": status,
            "kind": kind,
            "detail": detail,
            "reference": request_id_of(request),
        },
        status_code=status,
        headers={"Cache-Control": "no-store", **PAGE_HEADERS},
    )


# Paths whose answers are for programs: their errors stay problem details.
_MACHINE_PREFIXES = ("/api", "/schema", "/health")


def handle_app_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """What reaches the app itself (no route matched, a method a path does not take): a
    problem document under `/api`, `/schema` and `/health`, a page in the reader's language
    anywhere else, so a mistyped address in a browser gets words, not JSON."""
    path = request.url.path
    if any(path == prefix or path.startswith(prefix + "/") for prefix in _MACHINE_PREFIXES):
        return handle_exception(request, exc)
    return handle_page_exception(request, exc)
