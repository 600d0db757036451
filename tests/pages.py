"""People using the pages in tests: each visitor is its own browser (its own cookies),
speaking to the same app over ASGI, with the form tokens a browser would send."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.actors import PASSWORD

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_token_in(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form token"
    return found.group(1)


class _OwnCookies:
    """The test client with this visitor's cookies in its jar for one request at a time
    (the app's test client runs it on the loop its database connections belong to)."""

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client
        self.cookies = httpx.Cookies()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kept = self.client.cookies
        self.client.cookies = self.cookies
        try:
            kwargs.setdefault("follow_redirects", False)
            # A browser that names no language, unless the test gives one (the API
            # tests' client asks for English by default).
            kwargs["headers"] = {"Accept-Language": "", **(kwargs.get("headers") or {})}
            return await self.client.request(method, url, **kwargs)
        finally:
            self.cookies = self.client.cookies
            self.client.cookies = kept

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)


class Visitor:
    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.http = _OwnCookies(client)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, **kwargs)

    async def post_form(
        self, url: str, data: dict[str, Any], *, token_from: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Post a form as a browser does: with the token of the page that holds it."""
        page = await self.http.get(token_from or url)
        return await self.http.post(
            url, data={"_csrf_token": csrf_token_in(page.text), **data}, **kwargs
        )

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        response = await self.post_form("/sign-in", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response


async def upload_page(
    visitor: Visitor, content: bytes, *, filename: str = "plan.pdf", **fields: Any
) -> httpx.Response:
    """Post the upload form as a browser does: the token first, the fields, the file."""
    form = await visitor.get("/resources/new")
    assert form.status_code == 200, form.text
    data: dict[str, Any] = {"_csrf_token": csrf_token_in(form.text), "kind": "lesson_plan"}
    data.update(fields)
    return await visitor.http.post(
        "/resources/new",
        data={k: v for k, v in data.items() if v is not None},
        files={"file": (filename, content, "application/octet-stream")},
    )
