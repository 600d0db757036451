"""The floors of the code: a module imports only from its own floor or those below.

Read from the bottom: the foundation (settings, errors, languages, the one text
normalisation) and the data (tables, stores, jobs, the kernel's refs, lists and
language codes) know no domain; identity and the policy sit on them; the trail, the
inbox and mail are what domains cause; then the domains, in the order in which one may
use another; the dashboard reads across domains; the pages, the app and the command
line are on top. An import that runs back up a floor makes a lower part depend on a
higher one and is refused here, unless it is listed in `ON_THEIR_WAY_OUT` with what
removes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import exchange

PACKAGE = Path(exchange.__file__).parent

# Each module's floor is its longest matching prefix's; lower numbers are lower floors.
FLOORS: dict[str, int] = {
    # the foundation
    "exchange": 0,
    "exchange.clock": 0,
    "exchange.config": 0,
    "exchange.errors": 0,
    "exchange.i18n": 0,
    "exchange.request_pace": 0,
    "exchange.request_bodies": 0,
    "exchange.display_text": 0,
    "exchange.problems": 0,
    "exchange.connections": 0,
    "exchange.observability": 0,
    "exchange.openapi": 0,
    "exchange.kernel.text": 0,
    # the data: tables, database, stores, files, jobs, and the kernel built on them
    "exchange.models": 1,
    "exchange.database": 1,
    "exchange.schema": 1,
    "exchange.health": 1,
    "exchange.files": 1,
    "exchange.blobstore": 1,
    "exchange.jobs": 1,
    "exchange.text": 1,
    # previews: made by a job from the stored file, in the same sandbox as text
    "exchange.previews": 1,
    "exchange.kernel": 1,
    # who is calling, and what they may do
    "exchange.accounts.identity": 2,
    "exchange.policy": 2,
    # what happened (domain events) and the unit of work that records and commits it
    "exchange.events": 2,
    "exchange.unit_of_work": 2,
    "exchange.domain_service": 2,
    # what the domains cause: the audit trail, the inbox, mail
    "exchange.audit": 3,
    "exchange.notifications": 3,
    "exchange.mail": 3,
    # the domains, each above those it uses
    "exchange.accounts": 4,
    "exchange.partnerships": 5,
    "exchange.schools": 5,
    "exchange.search": 6,
    # schools not on the exchange yet: registering one opens the invitation it was sent
    "exchange.directory": 6,
    # the job that reads a new version's text and puts it in the search index
    "exchange.text.extraction_job": 6,
    "exchange.reuse": 7,
    "exchange.resources": 8,
    "exchange.activities": 9,
    "exchange.questions": 9,
    # across domains, and on top
    "exchange.dashboard": 10,
    # rule 9's periodic job: escalates requests and questions
    "exchange.escalation": 10,
    # which consequences follow which event: wires the domains together
    "exchange.consequences": 10,
    "exchange.web": 11,
    "exchange.app": 12,
    "exchange.cli": 13,
    "exchange.demo": 13,
    "exchange.__main__": 14,
}

# Imports that still run up a floor, each with what takes it away.
ON_THEIR_WAY_OUT: dict[tuple[str, str], str] = {}


def floor_of(module: str) -> int:
    """The floor of `module`'s longest listed prefix (the package itself only by name, so
    a new top-level module must be given its floor)."""
    if module == "exchange":
        return FLOORS[module]
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        prefix = ".".join(parts[:end])
        if prefix in FLOORS:
            return FLOORS[prefix]
    raise AssertionError(f"{module} is on no floor: add it to FLOORS")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The `exchange` modules `path` imports, wherever in the file (lazy ones too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from exchange import policy` imports the module exchange.policy (and
            # `from exchange import __version__` only the package).
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if node.module != "exchange" or _is_module(alias.name)
            )
    return {name for name in found if name == "exchange" or name.startswith("exchange.")}


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()


def upward_imports() -> dict[tuple[str, str], tuple[int, int]]:
    upward: dict[tuple[str, str], tuple[int, int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        here = floor_of(importer)
        for imported in imports_of(path):
            there = floor_of(imported)
            if there > here:
                upward[(importer, imported)] = (here, there)
    return upward


def excused(importer: str, imported: str) -> bool:
    return any(
        importer == low and (imported == high or imported.startswith(high + "."))
        for low, high in ON_THEIR_WAY_OUT
    )


def test_no_module_imports_from_a_floor_above_its_own() -> None:
    refused = {
        f"{importer} (floor {here}) imports {imported} (floor {there})"
        for (importer, imported), (here, there) in upward_imports().items()
        if not excused(importer, imported)
    }
    assert not refused, "\n".join(sorted(refused))


def test_every_listed_exception_is_still_needed() -> None:
    """An exception whose import is gone is struck off, so the list only shrinks."""
    still_there = {
        (low, high)
        for low, high in ON_THEIR_WAY_OUT
        if any(
            importer == low and (imported == high or imported.startswith(high + "."))
            for importer, imported in upward_imports()
        )
    }
    assert still_there == set(ON_THEIR_WAY_OUT)


def test_an_import_inside_a_function_counts_too(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def later():\n    from exchange.search.index import SearchIndex\n")
    assert "exchange.search.index" in imports_of(module)
    assert floor_of("exchange.search.index") > floor_of("exchange.kernel.text")
    assert floor_of("exchange.accounts.identity") < floor_of("exchange.accounts.services")
