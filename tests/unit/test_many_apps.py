"""A process may build many apps (the tests build one per test): each app's database
configuration must not depend on how many were built before it."""

from __future__ import annotations

from pathlib import Path

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
