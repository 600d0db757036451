"""`pip install -e .` (the README's first command) installs only the package's own
dependencies, not the test extras: every module the product imports must come from a
distribution named in `[project] dependencies`, or `exchange serve` fails on a fresh
machine while the tests, which install more, still pass."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "exchange"


def _top_level_imports() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for block in ast.walk(tree):
            # Imports for the type checker only (stubs) are not needed at run time.
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
                block.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def _normalised(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras})


def _declared_with_their_dependencies() -> set[str]:
    """The declared distributions, and what they in turn require (installed with them)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pending = [Requirement(spec) for spec in project["dependencies"]]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        if not _applies(requirement, set()):
            continue
        name = _normalised(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        children = (Requirement(spec) for spec in requires(requirement.name) or [])
        pending.extend(child for child in children if _applies(child, set(requirement.extras)))
    return seen


def test_every_module_the_product_imports_comes_with_its_declared_dependencies() -> None:
    declared = _declared_with_their_dependencies()
    owners = packages_distributions()
    missing = {}
    for module, where in _top_level_imports().items():
        if module in sys.stdlib_module_names or module == "exchange":
            continue
        distributions = {_normalised(name) for name in owners.get(module, [])}
        assert distributions, f"{module} (imported by {where}) is not installed at all"
        if not distributions & declared:
            missing[module] = where.relative_to(ROOT)
    assert not missing, (
        f"imported by the product but not installed by `pip install -e .`: {missing}"
    )
