"""What the search route depends on: the service, and the search parsed from the query.

The route itself is `GET /api/resources` on the resources controller (one controller per
path); its query parameters are declared here, where their meaning lives.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.config import Settings
from exchange.models import Licence, ResourceKind
from exchange.search.schemas import SortOrder
from exchange.search.services import DEFAULT_LIMIT, MAX_LIMIT, SearchParams, SearchService

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
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> SearchService:
    return SearchService(db_session, settings, clock)


def provide_search_params(
    q: Annotated[str | None, QueryParameter(description="Search words; quote a phrase.")] = None,
    kind: Annotated[list[ResourceKind] | None, QueryParameter()] = None,
    subject: Annotated[list[str] | None, QueryParameter()] = None,
    grade: Annotated[
        list[int] | None, QueryParameter(description="A school grade, 1 to 11.")
    ] = None,
    language: Annotated[
        list[str] | None, QueryParameter(description="A language code: ky, ru, en, ...")
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
