"""The code of conduct as published versions: read by anyone, published by the operator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from exchange.cli import main
from exchange.config import Settings
from exchange.partnerships.content import LANGUAGES
from tests.migration_modules import code_of_conduct_v1
from tests.problems import assert_problem
from tests.settings import settings_env


def _document(rules: int = 10, **changes: Any) -> dict[str, Any]:
    v1 = code_of_conduct_v1()
    numbered = [{"number": r.number, "text": dict(r.text)} for r in v1.rules]
    while len(numbered) < rules:
        number = len(numbered) + 1
        numbered.append(
            {"number": number, "text": {"ky": f"Эреже {number}.", "ru": "Правило.", "en": "Rule."}}
        )
    return {
        "title": dict(v1.title),
        "preamble": dict(v1.preamble),
        "rules": numbered[:rules],
        **changes,
    }


def _publish(settings: Settings, tmp_path: Path, document: object) -> Any:
    path = tmp_path / "code.json"
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    return CliRunner().invoke(
        main, ["conduct", "publish", "--file", str(path)], env=settings_env(settings)
    )


async def test_anyone_reads_the_code_in_force_in_three_languages_without_signing_in(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/api/code-of-conduct")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1
    assert [rule["number"] for rule in body["rules"]] == list(range(1, 10))
    v1 = code_of_conduct_v1()
    assert body["title"] == v1.title
    for rule, expected in zip(body["rules"], v1.rules, strict=True):
        assert set(rule["text"]) == set(LANGUAGES)
        assert rule["text"] == expected.text
    assert "купуя" in body["rules"][5]["text"]["ky"]


async def test_an_unpublished_version_is_404(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.get("/api/code-of-conduct/7"), 404)


async def test_the_operator_publishes_a_version_that_comes_into_force_and_keeps_the_old(
    settings: Settings, tmp_path: Path, client: AsyncTestClient[Litestar]
) -> None:
    # The CLI runs its own event loop, as it does from a shell.
    result = await anyio.to_thread.run_sync(_publish, settings, tmp_path, _document(rules=10))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"version": 2}

    in_force = (await client.get("/api/code-of-conduct")).json()
    first = (await client.get("/api/code-of-conduct/1")).json()

    assert in_force["version"] == 2
    assert len(in_force["rules"]) == 10
    assert first["version"] == 1
    assert len(first["rules"]) == 9


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (_document(rules=8), "at least 9 rules"),
        (_document(title={"ky": "Кодекс", "ru": "Кодекс"}), "languages"),
        (_document(rules=9, version=1), "already published"),
        ({"rules": "none"}, "rules"),
    ],
)
def test_an_incomplete_code_is_refused_and_nothing_is_published(
    settings: Settings, tmp_path: Path, document: dict[str, Any], words: str
) -> None:
    result = _publish(settings, tmp_path, document)

    assert result.exit_code == 1
    assert words in result.stderr
    again = _publish(settings, tmp_path, _document(rules=9))
    assert json.loads(again.stdout) == {"version": 2}


def test_a_file_that_is_not_json_is_a_usage_error(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "code.json"
    path.write_text("rules: nine", "utf-8")

    result = CliRunner().invoke(
        main, ["conduct", "publish", "--file", str(path)], env=settings_env(settings)
    )

    assert result.exit_code == 2
    assert "not UTF-8 JSON" in result.stderr
