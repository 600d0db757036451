"""Alembic environment: runs the migrations on the database the settings name."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from exchange.config import Settings
from exchange.database import create_engine
from exchange.models import metadata
from exchange.schema import compare_type, include_name

config = context.config
settings: Settings = config.attributes.get("settings") or Settings.from_env()


def run_migrations_offline() -> None:
    context.configure(
        url=settings.database_url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=compare_type,
        include_name=include_name,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=compare_type,
        include_name=include_name,
        user_module_prefix="advanced_alchemy.types.",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
