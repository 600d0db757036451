"""Search (`/search`): one box, the facets as filters with their counts, results that
link to each resource. Without JavaScript it is a plain form; with htmx the results and
facets are replaced in place and the address follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency, Provide

from exchange.errors import InvalidInput
from exchange.models import ResourceKind
from exchange.search.deps import provide_search_service
from exchange.search.schemas import FacetCount, GradeCount, SchoolCount, SearchPage
from exchange.search.services import SearchParams, SearchService
from exchange.web.names import kind_name, language_name
from exchange.web.page import Page

FILTERS = ("kind", "subject", "grade", "language", "school_id")
_KINDS = {kind.value for kind in ResourceKind}


def _chosen(page: Page) -> dict[str, list[str]]:
    query = page.request.query_params
    chosen = {name: [v for v in query.getall(name, []) if v] for name in FILTERS}
    chosen["kind"] = [v for v in chosen["kind"] if v in _KINDS]
    chosen["grade"] = [v for v in chosen["grade"] if v.isdigit()]
    school_ids = []
    for value in chosen["school_id"]:
        try:
            school_ids.append(str(UUID(value)))
        except ValueError:
            continue
    chosen["school_id"] = school_ids
    return chosen


@dataclass(frozen=True, slots=True)
class Choice:
    """One value of a facet as a filter: its checkbox's value, its words, its count, and
    whether the search holds it."""

    number: int
    value: str
    label: Any
    count: int
    checked: bool


def _filters(
    results: SearchPage | None, chosen: dict[str, list[str]]
) -> list[tuple[str, list[Choice]]]:
    """The facets with values, as the page's filters: laid out here once rather than
    by the template for each of the dozens of values a search of many schools has."""
    if results is None:
        return []
    facets = results.facets
    shown: list[tuple[str, list[Choice]]] = []
    facet_entries: tuple[tuple[str, Sequence[FacetCount | GradeCount | SchoolCount]], ...] = (
        ("kind", facets.kind),
        ("subject", facets.subject),
        ("grade", facets.grade),
        ("language", facets.language),
        ("school_id", facets.school),
    )
    for facet, entries in facet_entries:
        choices = []
        for number, entry in enumerate(entries, start=1):
            value = str(entry.value)
            if facet == "kind":
                label: Any = kind_name(entry.value)
            elif facet == "language":
                label = language_name(entry.value)
            elif isinstance(entry, SchoolCount):
                label = entry.name
            else:
                label = entry.value
            choices.append(Choice(number, value, label, entry.count, value in chosen[facet]))
        if choices:
            shown.append((facet, choices))
    return shown


def _params(q: str, chosen: dict[str, list[str]], cursor: str | None) -> SearchParams:
    return SearchParams(
        q=q or None,
        kinds=chosen["kind"],
        subjects=chosen["subject"],
        grades=[int(g) for g in chosen["grade"]],
        languages=chosen["language"],
        school_ids=[UUID(s) for s in chosen["school_id"]],
        sort=None if q else "newest",
        cursor=cursor,
    )


class SearchPages(Controller):
    include_in_schema = False
    dependencies = {"searches": Provide(provide_search_service)}

    @get("/search")
    async def search(
        self, page: NamedDependency[Page], searches: NamedDependency[SearchService]
    ) -> Any:
        identity = page.require_member()
        query = page.request.query_params
        q = (query.get("q") or "").strip()
        chosen = _chosen(page)
        cursor = query.get("cursor") or None
        problem = None
        try:
            results = await searches.search(identity, _params(q, chosen, cursor))
        except InvalidInput as exc:
            problem = exc.detail
            results = None

        def link(**changes: Any) -> str:
            """This search with some values changed (a facet toggled, the next page)."""
            values: list[tuple[str, str]] = [("q", q)] if q else []
            for name in FILTERS:
                for value in chosen[name]:
                    values.append((name, value))
            for name, value in changes.items():
                if name == "toggle":
                    facet, wanted = value
                    if (facet, wanted) in values:
                        values.remove((facet, wanted))
                    else:
                        values.append((facet, wanted))
                elif value is not None:
                    values.append((name, value))
            return "/search" + ("?" + urlencode(values) if values else "")

        fragment = page.request.headers.get("hx-request") == "true"
        response = page.render(
            "search/results.html" if fragment else "search/page.html",
            q=q,
            chosen=chosen,
            results=results,
            filters=_filters(results, chosen),
            problem=problem,
            link=link,
            paged=cursor is not None,
        )
        response.headers["Vary"] = "Cookie, HX-Request"
        return response
