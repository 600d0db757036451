"""Settings handed to another process, as the `EXCHANGE_*` variables it reads."""

from __future__ import annotations

from dataclasses import fields

from exchange.config import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The `EXCHANGE_*` variables that reproduce `settings` in another process."""
    env: dict[str, str] = {}
    for spec in fields(settings):
        value = getattr(settings, spec.name)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[f"EXCHANGE_{spec.name.upper()}"] = str(value)
    return env
