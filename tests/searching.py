"""Searching through the API, as the search tests do."""

from __future__ import annotations

from typing import Any

from tests.actors import Actor


async def search(actor: Actor, **params: Any) -> dict[str, Any]:
    """`GET /api/resources` with these parameters; the page, which must be a 200."""
    response = await actor.get("/api/resources", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def titles(page: dict[str, Any]) -> list[str]:
    """The titles of a page's items, in their order."""
    return [item["title"] for item in page["items"]]


def title_set(page: dict[str, Any]) -> set[str]:
    """The titles of a page's items, where their order does not matter."""
    return set(titles(page))
