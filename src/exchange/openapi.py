"""The OpenAPI document at `/schema`, true to what the exchange answers.

Litestar writes each operation from its handler: parameters with their constraints,
the JSON body's shape (msgspec `Meta` constraints, `forbid_unknown_fields`) and the
success answer. What it cannot know is added here, in one pass over the routes when the
app is made:

- every error is a problem document (`application/problem+json`, `ProblemDetails`), and
  an operation lists the errors it can give: those that follow from what the route takes
  (a token: 401; ids in the path: 404; query parameters or a JSON body: 400, 413, 415,
  422; anything reaching the database: 503) and those a route declares itself with
  `responses=problems(...)` (403, 409, 429, ...);
- only the routes that need a token say so (`BearerToken`); the public ones (signing
  in, the code of conduct, health) have no security requirement.

Uploads and downloads, whose bodies Litestar does not see, describe themselves with an
`operation_class` (see `exchange.resources.openapi`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Litestar, Router
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.datastructures import CacheControlHeader
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.openapi.spec import (
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityRequirement,
)
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition
from msgspec import UNSET, UnsetType

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

from exchange.request_bodies import takes_json_body

API_DESCRIPTION = (
    "Partner schools share lesson plans, assessments, policies, lesson videos and "
    "students' work under a code of conduct that protects them.\n\n"
    '**Lists.** Every list answers `{"items": [...], "next_cursor": ...}` (some add '
    "`total` or counts beside them) and takes `limit` and `cursor`: pass `next_cursor` "
    "back as `cursor` for the next page; it is `null` on the last page. A cursor holds "
    "where the page ended, so pages neither skip nor repeat items added meanwhile; it "
    "belongs to the list and filters it came from, and any other use is refused (422)."
)
PROBLEM_JSON = "application/problem+json"
BEARER: list[SecurityRequirement] = [{"BearerToken": []}]

# Paths the bearer-token middleware does not guard (see `exchange.app`).
PUBLIC_PATH_PREFIXES = ("/health", "/schema")

# The document's viewer, Redoc, is served from the package: `/schema` works offline.
VIEWER_FILES = Path(__file__).parent / "openapi_viewer"
VIEWER_PATH = "/schema/viewer"
REDOC_VERSION = "2.5.4"


def viewer_render_plugin() -> RedocRenderPlugin:
    return RedocRenderPlugin(
        js_url=f"{VIEWER_PATH}/redoc.standalone.js?v={REDOC_VERSION}",
        google_fonts=False,
        favicon="<link rel='icon' href='data:,'>",  # no icon rather than one from a CDN
        path="/",
    )


def viewer_routes() -> Router:
    """The viewer's script, cached by browsers for a month (its address names its version)."""
    return create_static_files_router(
        path=VIEWER_PATH,
        directories=[VIEWER_FILES],
        name="openapi-viewer",
        cache_control=CacheControlHeader(max_age=30 * 24 * 3600, public=True),
        include_in_schema=False,
    )


class FieldProblem(msgspec.Struct, kw_only=True):
    """One value that was not acceptable."""

    field: str
    message: str
    source: str | UnsetType = UNSET


class ProblemDetails(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details: what went wrong, in words a teacher can act on."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldProblem] | UnsetType = UNSET
    code_of_conduct_rule: int | UnsetType = UNSET


DESCRIPTIONS = {
    400: "The request cannot be read (malformed JSON, a form without its parts, nesting "
    "too deep, a missing parameter).",
    401: "No valid sign-in: the token is missing, expired or revoked, or the e-mail and "
    "password do not match.",
    403: "The caller's role does not allow this, or the code of conduct refuses it "
    "(`code_of_conduct_rule` says which rule).",
    404: "Nothing here, or nothing the caller's school may see: the two are never told apart.",
    408: "The upload stalled: no data arrived for too long.",
    409: "The thing is in a state that does not allow this.",
    413: "The request body is larger than the exchange accepts.",
    415: "The body is not of a type this address takes (JSON routes take "
    "`application/json`; uploads take `multipart/form-data` with a file the exchange shares).",
    412: "The client does not speak this version of tus (send `Tus-Resumable: 1.0.0`).",
    416: "The range asked for lies outside the file.",
    422: "A value is not acceptable; `errors` names each field.",
    423: "Another request is appending to this upload right now: ask where it stands "
    "(HEAD) and go on from there.",
    429: "Too many attempts: wait as long as `Retry-After` says.",
    503: "The database or the file store is unavailable; nothing was changed. Try again.",
    460: "The piece does not match its `Upload-Checksum`; it was dropped.",
    507: "The school's storage quota is reached.",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` of a route: the problem documents it may answer with."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            media_type=PROBLEM_JSON,
            description=DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }


UNSAFE_METHODS = frozenset({HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE})


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """msgspec shapes as Litestar describes them, plus `additionalProperties: false` for
    those that refuse unknown fields (`forbid_unknown_fields=True`), as the API does."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if not isinstance(info, msgspec.inspect.StructType):
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _describe_contents(prop, field.type)
        return schema


def _describe_contents(prop: Schema, field_type: msgspec.inspect.Type) -> None:
    """What Litestar leaves out of a list's or a mapping's schema: the limits of its items
    (`list[Annotated[str, Meta(min_length=1)]]`) and a mapping's fixed keys
    (`dict[Literal[...], ...]`)."""
    options = (
        field_type.types if isinstance(field_type, msgspec.inspect.UnionType) else (field_type,)
    )
    schemas = [prop, *(s for s in (prop.one_of or []) if isinstance(s, Schema))]
    for option in options:
        if isinstance(option, msgspec.inspect.Metadata) and not isinstance(
            option.type, msgspec.inspect.ListType | msgspec.inspect.DictType
        ):
            for text in schemas:
                if text.type == OpenAPIType.STRING or text is prop:
                    _add_limits(text, option)
            continue
        if isinstance(option, msgspec.inspect.Metadata):
            option = option.type
        if isinstance(option, msgspec.inspect.ListType | msgspec.inspect.SetType):
            for container in schemas:
                if isinstance(container.items, Schema):
                    _add_limits(container.items, option.item_type)
        elif isinstance(option, msgspec.inspect.DictType):
            for container in schemas:
                if isinstance(option.key_type, msgspec.inspect.LiteralType):
                    container.property_names = Schema(enum=list(option.key_type.values))
                if isinstance(container.additional_properties, Schema):
                    _add_limits(container.additional_properties, option.value_type)


# A display text that must not be empty needs a character that stays once spaces and
# hidden characters are removed (`exchange.display_text`): one outside the controls,
# spaces, format and separator characters written out here (regular-expression dialects
# disagree on `\s`, and Python's has no `\p{...}`). Unassigned code points are dropped
# too: the large unassigned ranges are listed, the small gaps between assigned blocks
# cannot be, and a text of nothing but those is still refused (422).
VISIBLE_CHARACTER = (
    "[^\x00-\x20\x7f-\xa0\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffb"
    # the wholly unassigned ranges of planes 3 to 14 (Unicode 14), and plane 14's tags
    "\U0003134b-\U0003ffff\U00040000-\U000dffff\U000e0000-\U000e00ff\U000e01f0-\U000effff]"
)
_DISPLAY_TEXT_MARK = "display_text"


def _add_limits(schema: Schema, item_type: msgspec.inspect.Type) -> None:
    if isinstance(item_type, msgspec.inspect.Metadata):
        if _DISPLAY_TEXT_MARK in (item_type.extra or {}) and schema.pattern is None:
            inner = item_type.type
            if isinstance(inner, msgspec.inspect.StrType) and (inner.min_length or 0) >= 1:
                schema.pattern = VISIBLE_CHARACTER
        item_type = item_type.type
    limits = {
        "min_length": getattr(item_type, "min_length", None),
        "max_length": getattr(item_type, "max_length", None),
        "pattern": getattr(item_type, "pattern", None),
        "minimum": getattr(item_type, "ge", None),
        "maximum": getattr(item_type, "le", None),
    }
    for name, value in limits.items():
        if value is not None and getattr(schema, name) is None:
            setattr(schema, name, value)


@dataclass
class ExchangeOperation(Operation):
    """An operation as Litestar writes it, with a JSON body that may be left out (its
    shape allows `null`) documented as optional: Litestar marks every body required."""

    def __post_init__(self) -> None:
        body = self.request_body
        if isinstance(body, RequestBody) and body.content and _accepts_null(body):
            body.required = False


def _accepts_null(body: RequestBody) -> bool:
    for media_type in body.content.values():
        schema = media_type.schema
        if isinstance(schema, Schema) and any(
            isinstance(option, Schema) and option.type == "null"
            for option in (schema.one_of or schema.any_of or [])
        ):
            return True
    return False


def is_public(handler: HTTPRouteHandler, path: str) -> bool:
    return bool(handler.opt.get("exclude_from_auth")) or path.startswith(PUBLIC_PATH_PREFIXES)


def _statuses_from_what_the_route_takes(
    handler: HTTPRouteHandler, kwargs_model: Any, path: str
) -> set[int]:
    statuses = {503}
    if not is_public(handler, path):
        statuses.add(401)
    if kwargs_model.expected_path_params:
        statuses |= {400, 404}
    if kwargs_model.expected_query_params or kwargs_model.expected_header_params:
        statuses |= {400, 422}
    if takes_json_body(handler):
        statuses |= {400, 413, 415, 422}
    if not is_public(handler, path) and handler.http_methods & UNSAFE_METHODS:
        statuses.add(403)  # a role that may not do this, or a rule of the code of conduct
    return statuses


def document_routes(app: Litestar) -> None:
    """Completes each operation's errors and security before the document is built."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            # (Litestar's own OPTIONS handlers stay out; a route's declared one is in.)
            if not handler.resolve_include_in_schema():
                continue
            declared = dict(handler.responses or {})
            statuses = _statuses_from_what_the_route_takes(handler, kwargs_model, route.path)
            handler.responses = {**problems(*sorted(statuses - set(declared))), **declared}
            handler.security = None if is_public(handler, route.path) else BEARER
            if not issubclass(handler.operation_class, ExchangeOperation):
                handler.operation_class = ExchangeOperation


__all__ = [
    "BEARER",
    "PROBLEM_JSON",
    "ClosedStructSchemaPlugin",
    "ExchangeOperation",
    "FieldProblem",
    "ProblemDetails",
    "document_routes",
    "problems",
]
