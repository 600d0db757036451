"""The command line speaks the console's language, Click's own words included.

Help pages, usage lines, "Error: Missing option", refused values and the hint to ask
for help are read in Kyrgyz and Russian under a Kyrgyz or Russian locale, with no
English phrase left; `LANG=C` keeps English. One run goes through the installed
`exchange` program in a process of its own, the rest through Click's runner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exchange.cli import main
from tests.english_left import english_in
from tests.live_server import run_exchange

SUBCOMMANDS = [
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["db", "revision"],
    ["jobs"],
    ["jobs", "run"],
    ["school"],
    ["school", "create"],
    ["demo"],
    ["conduct"],
    ["conduct", "publish"],
    ["store"],
    ["store", "gc"],
    ["store", "verify"],
    ["search"],
    ["search", "reindex"],
    ["requests"],
    ["requests", "escalate"],
]


def console(locale: str) -> dict[str, str | None]:
    return {"LANG": locale, "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}


def invoke(locale: str, *args: str) -> Result:
    return CliRunner().invoke(
        main,
        list(args),
        env=console(locale),  # type: ignore[arg-type]
        prog_name="exchange",
    )


# A command as a person types it ("exchange store gc", "python -m exchange"), which the
# usage line and the hint to ask for help name as it is.
COMMAND_WORDS = "|".join(sorted({word for command in SUBCOMMANDS for word in command}))
COMMAND_LINE = re.compile(rf"(?:python -m )?exchange(?: (?:{COMMAND_WORDS}))*")


def english_outside_commands(text: str) -> list[str]:
    return english_in(COMMAND_LINE.sub(" ", text))


def test_the_help_of_the_exchange_is_kyrgyz_in_a_kyrgyz_console_in_its_own_process(
    tmp_path: Path,
) -> None:
    done = run_exchange("--help", cwd=tmp_path, env={"LANG": "ky_KG.UTF-8", "LANGUAGE": ""})
    assert done.returncode == 0, done.stderr
    usage = done.stdout.splitlines()[0]
    assert usage.startswith("Колдонулушу: ")
    assert usage.endswith("exchange [ПАРАМЕТРЛЕР] БУЙРУК [АРГУМЕНТТЕР]...")
    assert "Буйруктар:" in done.stdout
    assert "Ушул жардамды көрсөтүп, чыгуу." in done.stdout
    assert english_outside_commands(done.stdout) == []


@pytest.mark.parametrize("locale", ["ky_KG.UTF-8", "ru_RU.UTF-8"])
@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_commands_help_is_in_the_consoles_language(locale: str, command: list[str]) -> None:
    result = invoke(locale, *command, "--help")
    assert result.exit_code == 0, result.output
    assert english_outside_commands(result.output) == [], result.output
    assert ("Колдонулушу:" if locale.startswith("ky") else "Использование:") in result.output


def test_a_missing_option_is_explained_in_kyrgyz_and_in_russian() -> None:
    kyrgyz = invoke("ky_KG.UTF-8", "school", "create", "--admin-email", "a@b.kg")
    assert kyrgyz.exit_code == 2
    assert kyrgyz.stderr.splitlines() == [
        "Колдонулушу: exchange school create [ПАРАМЕТРЛЕР]",
        "Жардам алуу үчүн 'exchange school create --help' деп териңиз.",
        "",
        "Ката: Параметр көрсөтүлгөн жок: '--name'.",
    ]
    assert english_outside_commands(kyrgyz.stderr) == []

    russian = invoke("ru_RU.UTF-8", "school", "create", "--name", "Школа")
    assert russian.exit_code == 2
    assert "Ошибка: Не указан параметр '--admin-email'." in russian.stderr
    assert "Справка: 'exchange school create --help'." in russian.stderr
    assert english_outside_commands(russian.stderr) == []


@pytest.mark.parametrize(
    ("args", "kyrgyz", "russian"),
    [
        (
            ["serve", "--port", "abc"],
            "Ката: '--port' үчүн маани туура эмес: 'abc' — жарактуу бүтүн сан эмес.",
            "Ошибка: Неверное значение для '--port': 'abc' — не целое число.",
        ),
        (
            ["store", "gc", "--grace-hours", "-1"],
            "Ката: '--grace-hours' үчүн маани туура эмес: -1.0 x>=0 аралыгында эмес.",
            "Ошибка: Неверное значение для '--grace-hours': -1.0 не входит в диапазон x>=0.",
        ),
        (
            ["search", "reindex", "--school", "nope"],
            "Ката: '--school' үчүн маани туура эмес: 'nope' — жарактуу идентификатор (UUID) эмес.",
            "Ошибка: Неверное значение для '--school': 'nope' — некорректный идентификатор (UUID).",
        ),
        (
            ["conduct", "publish", "--file", "/no/such.json"],
            "Ката: '--file' үчүн маани туура эмес: Файл '/no/such.json' табылган жок.",
            "Ошибка: Неверное значение для '--file': Файл '/no/such.json' не существует.",
        ),
        (["nope"], "Ката: 'nope' деген буйрук жок.", "Ошибка: Команды 'nope' нет."),
        (
            ["store", "gc", "--dry"],
            "Ката: '--dry' деген параметр жок. '--dry-run' дегиңиз келдиби?",
            "Ошибка: Параметра '--dry' нет. Вы имели в виду '--dry-run'?",
        ),
        (
            ["store", "gc", "--grace-hours"],
            "Ката: '--grace-hours' параметрине маани керек.",
            "Ошибка: Параметру '--grace-hours' нужно значение.",
        ),
    ],
    ids=["integer", "range", "identifier", "file", "command", "option", "value"],
)
def test_a_refused_value_is_explained_in_the_consoles_language(
    args: list[str], kyrgyz: str, russian: str
) -> None:
    for locale, expected in (("ky_KG.UTF-8", kyrgyz), ("ru_RU.UTF-8", russian)):
        result = invoke(locale, *args)
        assert result.exit_code == 2, result.output
        assert expected in result.stderr, result.stderr
        assert english_outside_commands(result.stderr) == [], result.stderr


def test_a_console_in_the_c_locale_keeps_english() -> None:
    help_page = invoke("C", "school", "create", "--help")
    assert help_page.output.startswith("Usage: exchange school create [OPTIONS]")
    assert "--name TEXT" in help_page.output
    assert "The school's name.  [required]" in help_page.output
    refused = invoke("C.UTF-8", "school", "create")
    assert "Error: Missing option '--name'." in refused.stderr
    assert "Try 'exchange school create --help' for help." in refused.stderr
    # The language follows each run's console, not the one before it.
    assert "Колдонулушу:" in invoke("ky_KG.UTF-8", "--help").output
    assert invoke("C", "--help").output.startswith("Usage: exchange [OPTIONS] COMMAND [ARGS]...")


def test_the_value_names_of_the_help_are_words_of_the_language() -> None:
    kyrgyz = invoke("ky_KG.UTF-8", "search", "reindex", "--help").output
    assert "--school ИДЕНТИФИКАТОР" in kyrgyz
    assert "--batch-size БҮТҮН САН" in kyrgyz
    assert "[демейки: 200; 1<=x<=5000]" in kyrgyz
    russian = invoke("ru_RU.UTF-8", "serve", "--help").output
    assert "--port ЦЕЛОЕ ЧИСЛО" in russian
    assert "[по умолчанию: 8000]" in russian
