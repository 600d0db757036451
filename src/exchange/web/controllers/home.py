"""The home page: what waits for me, what partners shared, my inbox."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency

from exchange.web.page import Page


class HomeController(Controller):
    tags = ["pages"]
    include_in_schema = False

    @get("/")
    async def home(self, page: NamedDependency[Page]) -> Any:
        page.require_member()
        return page.render("home.html")
