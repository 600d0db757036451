"""A migration means the same thing forever: it carries what it needs instead of reading
the application, whose models, texts and rules change from release to release."""

from __future__ import annotations

import ast

from exchange.schema import migrations_dir


def _imported_modules(tree: ast.AST) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_no_revision_imports_the_application() -> None:
    revisions = sorted((migrations_dir() / "versions").glob("*.py"))
    assert revisions
    for path in revisions:
        imported = _imported_modules(ast.parse(path.read_text("utf-8")))
        assert not {m for m in imported if m.split(".")[0] == "exchange"}, path.name
