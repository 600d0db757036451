"""How the resource routes whose bodies Litestar does not see describe themselves.

Uploads read the multipart form from the request stream and downloads stream the
stored file, so neither has a body type Litestar could document. Their operations say
it here: the upload form's parts with the limits `exchange.resources.metadata` checks,
and a download's answers (the file's bytes with their headers, a part of them for a
`Range`, nothing new for `If-None-Match`, a presigned redirect) for GET and HEAD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from exchange.models.enums import Licence, ResourceKind, Visibility
from exchange.openapi import ExchangeOperation
from exchange.resources.metadata import (
    MAX_CHANGE_NOTE_CHARS,
    MAX_CO_AUTHOR_CHARS,
    MAX_CO_AUTHORS,
    MAX_DESCRIPTION_CHARS,
    MAX_LISTED,
    MAX_SUBJECT_CHARS,
    MAX_TITLE_CHARS,
)

_STRING = OpenAPIType.STRING
_INTEGER = OpenAPIType.INTEGER
_TEXT_WITH_A_LETTER = r"\S"  # what is left once spaces and control characters are cleaned


def _text(description: str, max_length: int, **more: Any) -> Schema:
    return Schema(type=_STRING, max_length=max_length, description=description, **more)


def _ids(description: str) -> Schema:
    return Schema(
        type=OpenAPIType.ARRAY,
        items=Schema(type=_STRING, format="uuid"),  # type: ignore[arg-type]
        max_items=MAX_LISTED,
        description=description,
    )


FILE_PART = Schema(
    type=_STRING,
    content_media_type="application/octet-stream",
    description="The file. It is checked by its content: PDF, Office and OpenDocument "
    "files, RTF, plain text, Markdown, CSV, images, audio and video are shared; programs, "
    "scripts, web pages, SVG and archives are not (415).",
)

RESOURCE_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["file", "kind", "title"],
    properties={
        "file": FILE_PART,
        "title": _text("The title.", MAX_TITLE_CHARS, min_length=1, pattern=_TEXT_WITH_A_LETTER),
        "kind": Schema(type=_STRING, enum=[kind.value for kind in ResourceKind]),
        "subject": _text("The subject, e.g. Mathematics.", MAX_SUBJECT_CHARS),
        "grades": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=11),
            description="School grades, 1 to 11: one per field, or comma-separated.",
        ),
        "language": Schema(
            type=_STRING, description="An ISO 639-1 code: ky, ru, en, ...", pattern="^[a-z]{2}$"
        ),
        "description": _text("What it is and how it was used.", MAX_DESCRIPTION_CHARS),
        "visibility": Schema(
            type=_STRING,
            enum=[visibility.value for visibility in Visibility],
            default=Visibility.PARTNERS.value,
        ),
        "shared_with": _ids("The partner schools that may read it, with visibility `selected`."),
        "confidential": Schema(type=OpenAPIType.BOOLEAN, default=False),
        "licence": Schema(
            type=_STRING,
            enum=[licence.value for licence in Licence],
            default=Licence.ALL_RIGHTS_RESERVED.value,
        ),
        "derived_from": Schema(
            type=_STRING,
            format="uuid",  # type: ignore[arg-type]
            description="The resource this one adapts (needs an `adapt` grant, rule 7).",
        ),
        "author_ids": _ids("Members of your school who wrote it; you by default."),
        "co_authors": Schema(
            type=OpenAPIType.ARRAY,
            items=_text("A co-author's name.", MAX_CO_AUTHOR_CHARS),
            max_items=MAX_CO_AUTHORS,
            description="Other authors, one name per field.",
        ),
    },
    additional_properties=False,
)

VERSION_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["file"],
    properties={
        "file": FILE_PART,
        "change_note": _text(
            "What changed from the version before, shown in the history.",
            MAX_CHANGE_NOTE_CHARS,
        ),
    },
    additional_properties=False,
)


def _form(schema: Schema) -> RequestBody:
    return RequestBody(
        required=True,
        content={
            "multipart/form-data": OpenAPIMediaType(
                schema=schema,
                encoding={"file": {"contentType": "application/octet-stream"}},  # type: ignore[dict-item]
            )
        },
    )


@dataclass
class ResourceUploadOperation(ExchangeOperation):
    """`POST /api/resources`: a multipart form with the file and the resource's fields."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = _form(RESOURCE_FORM)


@dataclass
class VersionUploadOperation(ExchangeOperation):
    """`POST /api/resources/{id}/versions`: a multipart form with the file alone."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = _form(VERSION_FORM)


def _header(description: str, **schema: Any) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=_STRING, **schema), description=description)


FILE_HEADERS: dict[str, OpenAPIHeader | Reference] = {
    "Content-Type": _header("The media type the file was found to be by its content."),
    "Content-Length": _header("The size in bytes of what is sent."),
    "Content-Disposition": _header(
        "`attachment` with the file's name (RFC 6266); `inline` when `disposition=inline` "
        "was asked for a PDF or a picture."
    ),
    "ETag": _header("The quoted SHA-256 of the file."),
    "Last-Modified": _header("When this version was stored."),
    "Accept-Ranges": _header("`bytes`: a broken download resumes with `Range`.", enum=["bytes"]),
    "Cache-Control": _header("`no-store` for a confidential resource (rule 6), else private."),
    "X-Content-Type-Options": _header("Always `nosniff`.", enum=["nosniff"]),
    "Content-Security-Policy": _header(
        "Always `sandbox`: the file never runs as a page of the exchange, inline or not.",
        enum=["sandbox"],
    ),
}
RANGE_HEADER: dict[str, OpenAPIHeader | Reference] = {
    "Content-Range": _header("Which bytes of the file are sent: `bytes a-b/size`.")
}
VALIDATOR_PARAMETERS = [
    Parameter(
        name=name,
        param_in="header",
        required=False,
        schema=Schema(type=_STRING),
        description=description,
    )
    for name, description in (
        ("Range", "One byte range, e.g. `bytes=1048576-`: answered with 206."),
        ("If-Range", "The ETag or date the range is valid for; otherwise the whole file."),
        ("If-None-Match", "ETags the client holds: 304 when one is current."),
    )
]


DISPOSITION_PARAMETER = Parameter(
    name="disposition",
    param_in="query",
    required=False,
    schema=Schema(type=_STRING, enum=["attachment", "inline"], default="attachment"),
    description="`inline` opens a PDF or a picture (PNG, JPEG, GIF, WebP) in the browser; "
    "asked for any other type it is refused with 422. With presigned S3 downloads the "
    "address at `Location` carries the same disposition.",
)


def _download_responses(with_body: bool) -> dict[str, OpenAPIResponse]:
    def content() -> dict[str, OpenAPIMediaType] | None:
        if not with_body:
            return None
        return {
            "application/octet-stream": OpenAPIMediaType(
                schema=Schema(type=_STRING, content_media_type="application/octet-stream")
            ),
            "*/*": OpenAPIMediaType(schema=Schema(type=_STRING)),
        }

    return {
        "200": OpenAPIResponse(
            description="The file, in its own media type.", headers=FILE_HEADERS, content=content()
        ),
        "206": OpenAPIResponse(
            description="The part of the file the `Range` asked for.",
            headers={**FILE_HEADERS, **RANGE_HEADER},
            content=content(),
        ),
        "304": OpenAPIResponse(
            description="The client's copy (`If-None-Match`) is current.",
            headers={"ETag": FILE_HEADERS["ETag"]},
        ),
        "307": OpenAPIResponse(
            description="With presigned downloads on S3: the file is at `Location` for a "
            "few minutes.",
            headers={"Location": _header("A short-lived address of the file.")},
        ),
    }


@dataclass
class DownloadOperation(ExchangeOperation):
    """`GET .../content`: the stored file's bytes, whole or a range, with its headers."""

    with_body = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.responses = {**(self.responses or {}), **_download_responses(self.with_body)}
        self.parameters = [
            *(self.parameters or []),
            DISPOSITION_PARAMETER,
            *VALIDATOR_PARAMETERS,
        ]


@dataclass
class DownloadHeadOperation(DownloadOperation):
    """`HEAD .../content`: what the download would answer, without the file."""

    with_body = False


PREVIEW_HEADERS: dict[str, OpenAPIHeader | Reference] = {
    "Content-Type": _header("`image/webp`.", enum=["image/webp"]),
    "ETag": _header("The quoted tag of the preview image."),
    "Cache-Control": _header(
        "`no-store` for a confidential resource (rule 6); else private, a year for a "
        "numbered version's preview, five minutes for the current one's."
    ),
    "X-Content-Type-Options": _header("Always `nosniff`.", enum=["nosniff"]),
}


@dataclass
class PreviewOperation(ExchangeOperation):
    """`GET .../preview`: a small WebP image of the file, at most 20 KB."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.responses = {
            **(self.responses or {}),
            "200": OpenAPIResponse(
                description="The preview: a WebP image of at most 20 KB.",
                headers=PREVIEW_HEADERS,
                content={
                    "image/webp": OpenAPIMediaType(
                        schema=Schema(type=_STRING, content_media_type="image/webp")
                    )
                },
            ),
            "304": OpenAPIResponse(
                description="The client's copy (`If-None-Match`) is current.",
                headers={"ETag": PREVIEW_HEADERS["ETag"]},
            ),
        }
        self.parameters = [
            *(self.parameters or []),
            Parameter(
                name="If-None-Match",
                param_in="header",
                required=False,
                schema=Schema(type=_STRING),
                description="ETags the client holds: 304 when one is current.",
            ),
        ]


# --- resumable uploads (tus 1.0.0) ---------------------------------------------------------


def _tus_parameter(name: str, description: str, *, required: bool, **schema: Any) -> Parameter:
    return Parameter(
        name=name,
        param_in="header",
        required=required,
        schema=Schema(**schema),
        description=description,
    )


TUS_RESUMABLE = _tus_parameter(
    "Tus-Resumable",
    "The tus version the client speaks; other values are answered 412.",
    required=True,
    type=_STRING,
    enum=["1.0.0"],
)
_PIECE = RequestBody(
    content={
        "application/offset+octet-stream": OpenAPIMediaType(
            schema=Schema(type=_STRING, content_media_type="application/octet-stream")
        )
    },
    description="The file's bytes from `Upload-Offset` on.",
)
_TUS_ANSWER_HEADERS: dict[str, OpenAPIHeader | Reference] = {
    "Tus-Resumable": _header("`1.0.0`.", enum=["1.0.0"]),
    "Upload-Offset": _header("How many bytes of the file the exchange holds."),
    "Upload-Length": _header("The file's size, as announced."),
    "Upload-Expires": _header("When the upload expires unless a piece reaches it."),
}


@dataclass
class UploadCreationOperation(ExchangeOperation):
    """`POST /api/uploads`: tus creation, with the first piece or without."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [
            *(self.parameters or []),
            TUS_RESUMABLE,
            _tus_parameter(
                "Upload-Length",
                "The file's size in bytes.",
                required=True,
                type=_INTEGER,
                minimum=0,
            ),
            _tus_parameter(
                "Upload-Metadata",
                "Comma-separated `key base64value` pairs: `filename` and the upload form's "
                "fields, or `resource_id` for a new version.",
                required=False,
                type=_STRING,
            ),
        ]
        self.request_body = RequestBody(content=_PIECE.content, required=False)
        self.responses = {
            **(self.responses or {}),
            "201": OpenAPIResponse(
                description="The upload is begun: it is at `Location`.",
                headers={
                    **_TUS_ANSWER_HEADERS,
                    "Location": _header("The upload's address."),
                },
            ),
        }


@dataclass
class UploadPieceOperation(ExchangeOperation):
    """`PATCH /api/uploads/{id}`: the next piece."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [
            *(self.parameters or []),
            TUS_RESUMABLE,
            _tus_parameter(
                "Upload-Offset",
                "Where this piece starts; 409 when the upload stands elsewhere.",
                required=True,
                type=_INTEGER,
                minimum=0,
            ),
            _tus_parameter(
                "Upload-Checksum",
                "`sha1` or `sha256`, a space, and the piece's digest in base64.",
                required=False,
                type=_STRING,
            ),
        ]
        self.request_body = RequestBody(content=_PIECE.content, required=True)
        self.responses = {
            **(self.responses or {}),
            "204": OpenAPIResponse(
                description="The piece is kept. The piece that completes the file also "
                "carries `Exchange-Resource-Id`.",
                headers={
                    **_TUS_ANSWER_HEADERS,
                    "Exchange-Resource-Id": _header("The resource the upload made or added to."),
                },
            ),
        }


@dataclass
class UploadOffsetOperation(ExchangeOperation):
    """`HEAD /api/uploads/{id}`: where the upload stands."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [*(self.parameters or []), TUS_RESUMABLE]
        self.responses = {
            **(self.responses or {}),
            "200": OpenAPIResponse(
                description="Where the upload stands.", headers=_TUS_ANSWER_HEADERS
            ),
        }


@dataclass
class UploadTerminationOperation(ExchangeOperation):
    """`DELETE /api/uploads/{id}`: tus termination."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [*(self.parameters or []), TUS_RESUMABLE]


@dataclass
class UploadOptionsOperation(ExchangeOperation):
    """`OPTIONS /api/uploads`: what the server speaks, in headers."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.responses = {
            **(self.responses or {}),
            "204": OpenAPIResponse(
                description="What the resumable uploads speak.",
                headers={
                    "Tus-Version": _header("`1.0.0`."),
                    "Tus-Extension": _header("The tus extensions supported."),
                    "Tus-Max-Size": _header("The largest file, in bytes."),
                    "Tus-Checksum-Algorithm": _header("`sha1,sha256`."),
                },
            ),
        }
