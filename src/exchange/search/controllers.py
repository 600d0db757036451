"""HTTP route of search: `GET /api/resources` with words, filters, facets and a cursor."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.models import Licence, ResourceKind
from exchange.search.schemas import SearchPage, SortOrder
from exchange.search.services import DEFAULT_LIMIT, MAX_LIMIT, SearchParams, SearchService


async def provide_search_service(
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> SearchService:
    return SearchService(db_session, settings, clock)


class SearchController(Controller):
    path = "/api/resources"
    tags = ["search"]
    dependencies = {"searches": Provide(provide_search_service)}

    @get(
        "/",
        operation_id="searchResources",
        summary="Search the resources your school may read",
        description=(
            "Words are all required and each matches the start of a word (`өнөктөш` finds "
            "`өнөктөштүктү`); text in double quotes matches as an exact phrase; case and "
            "ё/е do not matter. Repeat a filter for alternatives (`grade=7&grade=8`). "
            "`sort=newest&school_id=<partner>` lists what a partner shared recently. "
            "Follow `next_cursor` for the next page."
        ),
    )
    async def search(
        self,
        identity: NamedDependency[Identity],
        searches: NamedDependency[SearchService],
        q: Annotated[
            str | None, QueryParameter(description="Search words; quote a phrase.")
        ] = None,
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
    ) -> SearchPage:
        return await searches.search(
            identity,
            SearchParams(
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
            ),
        )
