"""Migrations read as modules: the data they carry and the functions they run."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from exchange.partnerships.content import CodeOfConductText, parse_code_of_conduct
from exchange.schema import migrations_dir


def migration(name: str) -> ModuleType:
    path = migrations_dir() / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_of_conduct_v1() -> CodeOfConductText:
    """Version 1 of the code of conduct as migration 0003 puts it in force."""
    document = migration("0003_code_of_conduct_v1").CODE_OF_CONDUCT_V1
    return parse_code_of_conduct({"version": 1, **document})
