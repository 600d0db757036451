"""What a JSON request body must be before any route reads it.

Litestar decodes a route's JSON body whatever its `Content-Type` says, and msgspec
decodes nesting as deep as Python's stack allows, then fails with a `RecursionError`.
Both are settled here, once for every route: a route whose body is declared as JSON
(`JSONBody[...]`, or a plain `data` parameter) takes only `application/json` or a
`+json` type, so a form posted by a web page or a cross-site request labelled
`text/plain` never reaches it (415); and no body nests deeper than `MAX_JSON_DEPTH`,
far beyond any shape of the API, so a hostile one gets a 400 instead of a 500.
Routes with a form body (uploads, pages) are not touched.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import BodyKwarg

from exchange.errors import BodyNotJson, UnreadableBody
from exchange.i18n import lazy_gettext

# The deepest shape of the API is an object holding a list of objects holding lists;
# nothing a client sends honestly comes near this.
MAX_JSON_DEPTH = 32

TOO_DEEP = lazy_gettext(
    "The request body nests lists or objects more than {limit} levels deep. "
    "Send the fields the API documents, without extra nesting."
)
NOT_JSON = lazy_gettext(
    "This address takes a JSON body, and the request says it sends {content_type}. "
    "Send the body as JSON with 'Content-Type: application/json'."
)
UNLABELLED = lazy_gettext(
    "This address takes a JSON body, and the request does not say what it sends. "
    "Send the body as JSON with 'Content-Type: application/json'."
)

_OPENING = frozenset(b"[{")
_CLOSING = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_SIGNIFICANT = re.compile(rb'[\[\]{}"\\]')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `limit`.

    Brackets inside strings do not count. A body with no more opening brackets than the
    limit cannot exceed it, so ordinary bodies are never scanned.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped_at = -1
    # One pass over the characters that matter: brackets, quotes and backslashes.
    for match in _SIGNIFICANT.finditer(body):
        position = match.start()
        character = body[position]
        if in_string:
            if position == escaped_at:
                continue
            if character == _BACKSLASH:
                escaped_at = position + 1
            elif character == _QUOTE:
                in_string = False
        elif character == _QUOTE:
            in_string = True
        elif character in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif character in _CLOSING:
            depth -= 1
    return False


class ExchangeRequest(Request[Any, Any, Any]):
    """Litestar's request, whose JSON decoding refuses bodies nested too deeply."""

    async def json(self) -> Any:
        body = await self.body()
        if json_depth_exceeds(body, MAX_JSON_DEPTH):
            raise UnreadableBody(TOO_DEEP.with_params(limit=MAX_JSON_DEPTH))
        try:
            return await super().json()
        except RecursionError:  # a limit lower than ours, e.g. a small thread stack
            raise UnreadableBody(TOO_DEEP.with_params(limit=sys.getrecursionlimit())) from None


_MEDIA_TYPE = re.compile(r"^\s*([a-z0-9!#$&^_.+-]+)/([a-z0-9!#$&^_.+-]+)\s*(?:;|$)")


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a structured `+json` type, parameters allowed."""
    match = _MEDIA_TYPE.match(content_type.lower())
    if match is None:
        return False
    kind, subtype = match.groups()
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def takes_json_body(handler: BaseRouteHandler) -> bool:
    """Whether the route declares a body that Litestar will decode as JSON."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    kwarg = data.kwarg_definition
    if isinstance(kwarg, BodyKwarg):
        return kwarg.media_type == RequestEncodingType.JSON
    return True


def _has_body(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    length = connection.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in connection.headers


async def require_json_content_type(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A guard for every route: a body sent to a JSON route must say it is JSON.

    It is a coroutine function although it awaits nothing: Litestar runs a plain
    function guard in a worker thread, a hand-off to the thread and back on every
    request for a check of two headers."""
    if not takes_json_body(handler) or not _has_body(connection):
        return
    content_type = connection.headers.get("content-type", "")
    if is_json_media_type(content_type):
        return
    if content_type:
        raise BodyNotJson(NOT_JSON.with_params(content_type=content_type.split(";")[0].strip()))
    raise BodyNotJson(UNLABELLED)


__all__ = [
    "MAX_JSON_DEPTH",
    "ExchangeRequest",
    "is_json_media_type",
    "json_depth_exceeds",
    "require_json_content_type",
    "takes_json_body",
]
