"""A process may build many apps (the tests build one per test): each app's database
configuration must not depend on how many were built before it, and none keeps what it
froze for the garbage collector once it has stopped."""

from __future__ import annotations

import gc
from pathlib import Path

from litestar.testing import AsyncTestClient

from exchange.app import create_app
from exchange.config import Settings
from exchange.database import create_alchemy_config, create_engine


async def test_a_process_builds_more_database_configs_than_the_recursion_limit(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({}).with_changes(data_dir=tmp_path)
    engine = create_engine(settings)
    try:
        configs = [create_alchemy_config(settings, engine) for _ in range(1100)]
    finally:
        await engine.dispose()

    assert len({config.session_scope_key for config in configs}) == len(configs)
    assert len({config.engine_app_state_key for config in configs}) == len(configs)


async def test_an_app_leaves_its_start_out_of_garbage_collection_until_it_stops(
    tmp_path: Path,
) -> None:
    # What exists once the app has started is frozen (full collections would walk it all
    # on every request they land on), and given back when it stops.
    app = create_app(Settings.from_env({}).with_changes(data_dir=tmp_path))
    gc.unfreeze()
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
