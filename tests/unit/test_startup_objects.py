"""What exists once the app has started (modules, routes, models, the engine) is left out
of the garbage collector's full collections, which would walk it all on every request
they land on."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

from litestar.testing import AsyncTestClient

from exchange.app import create_app
from exchange.config import Settings


async def test_an_app_leaves_its_start_out_of_garbage_collection(tmp_path: Path) -> None:
    app = create_app(replace(Settings.from_env({}), data_dir=tmp_path))
    gc.unfreeze()
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 10_000
