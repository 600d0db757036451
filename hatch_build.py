"""Compiles the translation catalogs (`.po` to `.mo`) whenever the package is built,
including `pip install -e .`, so a fresh clone installs with working catalogs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        for po in sorted((root / "src/exchange/locale").glob("*/LC_MESSAGES/messages.po")):
            language = po.parent.parent.name
            with po.open("rb") as source:
                catalog = read_po(source, locale=language)
            mo = po.with_suffix(".mo")
            with mo.open("wb") as compiled:
                write_mo(compiled, catalog, use_fuzzy=False)
            build_data.setdefault("artifacts", []).append(mo.relative_to(root).as_posix())
