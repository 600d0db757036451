"""What the search route depends on: the service, and the search parsed from the query.

The route itself is `GET /api/resources` on the resources controller (one controller per
path); its query parameters are declared here, where their meaning lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Parameter, Schema
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.config import Settings
from exchange.kernel.languages import ISO_639_1
from exchange.models import Licence, ResourceKind
from exchange.openapi import ExchangeOperation
from exchange.search.schemas import SortOrder
from exchange.search.services import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SearchParams,
    SearchService,
)

SEARCH_DESCRIPTION = (
    "What your school may read, and only that, is searched, counted and faceted. Words "
    "are all required and each matches the start of a word (`өнөктөш` finds "
    "`өнөктөштүктү`); text in double quotes matches as an exact phrase; case and ё/е do "
    "not matter. Title matches rank first, then subject, authors and description, then "
    "the text inside the file; newest first within each. Repeat a filter for "
    "alternatives (`grade=7&grade=8`). `sort=newest&school_id=<partner>` lists what a "
    "partner shared recently. Follow `next_cursor` for the next page. When very many "
    "resources match, `total` and the facets are estimated from a sample and "
    "`total_is_estimate` is true. `snippet` is HTML: escaped text with the matches in "
    "`<mark>`."
)


async def provide_search_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> SearchService:
    return SearchService(db_session, settings, clock, request.app.state["search_engine"])


Grade = Annotated[int, msgspec.Meta(ge=1, le=11)]
# What the search takes, as the search checks it: a subject with something besides spaces,
# at most 100 characters once trimmed; a two-letter language code.
SUBJECT_PATTERN = r"^\s*\S(.{0,98}\S)?\s*$"
Subject = Annotated[str, msgspec.Meta(pattern=SUBJECT_PATTERN)]
if TYPE_CHECKING:
    LanguageCode = str
else:
    LanguageCode = Literal[tuple(sorted(ISO_639_1))]


@dataclass
class SearchOperation(ExchangeOperation):
    """Litestar leaves out the limits of a list parameter's items: say them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        items = {
            "grade": Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=11),
            "subject": Schema(type=OpenAPIType.STRING, pattern=SUBJECT_PATTERN),
        }
        for parameter in self.parameters or ():
            if isinstance(parameter, Parameter) and parameter.name in items:
                parameter.schema = Schema(
                    one_of=[
                        Schema(type=OpenAPIType.ARRAY, items=items[parameter.name]),
                        Schema(type=OpenAPIType.NULL),
                    ]
                )


def provide_search_params(
    q: Annotated[
        str | None,
        QueryParameter(description="Search words; quote a phrase.", max_length=MAX_QUERY_CHARS),
    ] = None,
    kind: Annotated[list[ResourceKind] | None, QueryParameter()] = None,
    subject: Annotated[list[Subject] | None, QueryParameter()] = None,
    grade: Annotated[
        list[Grade] | None, QueryParameter(description="A school grade, 1 to 11.")
    ] = None,
    language: Annotated[
        list[LanguageCode] | None,
        QueryParameter(description="A language code (ISO 639-1): ky, ru, en, ..."),
    ] = None,
    school_id: Annotated[
        list[UUID] | None, QueryParameter(description="The school that shares it.")
    ] = None,
    licence: Annotated[list[Licence] | None, QueryParameter()] = None,
    author: Annotated[
        str | None,
        QueryParameter(description="An author's member id, or words of an author's name."),
    ] = None,
    sort: Annotated[
        SortOrder | None,
        QueryParameter(description="`relevance` (the default with words) or `newest`."),
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, QueryParameter(description="`next_cursor` of the previous page.")
    ] = None,
) -> SearchParams:
    return SearchParams(
        q=q,
        kinds=[value.value for value in kind or ()],
        subjects=subject or (),
        grades=grade or (),
        languages=language or (),
        school_ids=school_id or (),
        licences=[value.value for value in licence or ()],
        author=author,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
