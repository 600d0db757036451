"""The command line in the console's language, Click's own words included.

Click writes its sentences ("Usage:", "Error: Missing option '--name'.", "Try 'exchange
--help' for help.", "'abc' is not a valid integer.") through the standard library's
`gettext.gettext`, the default domain, which reads the `.mo` files bound to that domain in
the language of `LANGUAGE`, `LC_ALL`, `LC_MESSAGES` or `LANG`. Those sentences are in the
exchange's own catalogs (`CLICK_SENTENCES` marks them for `pybabel extract`), and
`speak_console_language()` binds the domain to them when the command line starts, so
Click and the exchange's sentences answer in the same language.

The help of the exchange's commands and options is written as catalog sentences too and
translated when it is shown: commands, groups and options are made with the classes here
(`Command`, `Group`, `Option`), whose `help` is stored in English and read in the current
language, and whose values are named in words of that language ("БҮТҮН САН" for an
integer) by the parameter types here.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from typing import Any, Final

import click
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from exchange.i18n.catalogs import DOMAIN, LANGUAGES, LOCALE_DIR, catalog_path
from exchange.i18n.current import N_, gettext, lazy_ngettext
from exchange.i18n.negotiation import console_language

# Every sentence of Click's that a person at the exchange's console can meet: help
# pages, usage errors, refused values, prompts. Sentences Click only says to a
# programmer who declared a command wrongly are left in English.
CLICK_SENTENCES: Final = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Positional arguments"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("%(prog)s, version %(version)s"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("required"),
    N_("deprecated"),
    N_("(dynamic)"),
    N_("Aborted!"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Missing command."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Option {name!r} does not take a value."),
    N_("Argument {name!r} takes {nargs} values."),
    N_("Invalid start character for option ({option})"),
    N_("Value must be an iterable."),
    N_("unknown error"),
    N_("Could not open file {filename!r}: {message}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{value!r} is not a valid UUID."),
    N_("Choose from:\n\t{choices}"),
    N_("Choice({choices})"),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    N_("Do you want to continue?"),
    N_("Confirm the action without prompting."),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
    N_("Press any key to continue..."),
)
CLICK_PLURAL_SENTENCES: Final = (
    lazy_ngettext(
        "Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 1
    ),
    lazy_ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1),
    lazy_ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", 1
    ),
    lazy_ngettext(
        "Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given.", 1
    ),
    lazy_ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1),
    lazy_ngettext(
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
        1,
    ),
    lazy_ngettext(
        "{len_type} values are required, but {len_value} was given.",
        "{len_type} values are required, but {len_value} were given.",
        1,
    ),
)
# The placeholders of a usage line ("exchange [OPTIONS] COMMAND [ARGS]...").
OPTIONS_METAVAR: Final = N_("[OPTIONS]")
COMMAND_METAVAR: Final = N_("COMMAND [ARGS]...")


def speak_console_language() -> str:
    """Bind Click's sentences to the exchange's catalogs and return the console's language
    (`console_language`), which the command line makes the current one while a command
    runs (`using_language`)."""
    language = console_language()
    for each in LANGUAGES:
        _compile_if_stale(each)
    stdlib_gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    stdlib_gettext.textdomain(DOMAIN)
    return language


def _compile_if_stale(language: str) -> None:
    """Write a language's `.mo` when it is missing or older than its `.po` (a translator
    edited a sentence), as `pybabel compile` would: the standard library reads only
    `.mo` files. An installed package that cannot be written keeps what it has."""
    po, mo = catalog_path(language, ".po"), catalog_path(language, ".mo")
    try:
        if not po.is_file() or (mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime):
            return
        with po.open("rb") as source:
            catalog = read_po(source, locale=language, domain=DOMAIN)
        with mo.open("wb") as compiled:
            write_mo(compiled, catalog, use_fuzzy=False)
    except OSError:
        return


class _HelpInLanguage:
    """`help` kept as its English sentence (a catalog message) and read in the current
    language."""

    _english_help: str | None = None

    @property
    def help(self) -> str | None:
        return gettext(self._english_help) if self._english_help else self._english_help

    @help.setter
    def help(self, value: str | None) -> None:
        self._english_help = value


class Command(_HelpInLanguage, click.Command):
    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """Click's `--help`, described in the current language: Click makes the option once
        per command and keeps it, in the language of the moment it was first made."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = gettext("Show this message and exit.")
        return option

    @property
    def options_metavar(self) -> str | None:
        return gettext(OPTIONS_METAVAR)

    @options_metavar.setter
    def options_metavar(self, value: str | None) -> None:
        """Always the catalog's "[OPTIONS]"."""


class Group(Command, click.Group):
    command_class = Command
    group_class = type

    @property
    def subcommand_metavar(self) -> str:
        return gettext(COMMAND_METAVAR)

    @subcommand_metavar.setter
    def subcommand_metavar(self, value: str) -> None:
        """Always the catalog's "COMMAND [ARGS]..."."""


class _NamedInLanguage:
    """A parameter type named in the current language: in help ("--port БҮТҮН САН") and in
    refusals ("'abc' жарактуу бүтүн сан эмес.")."""

    _english_name: str = ""

    @property
    def name(self) -> str:
        return gettext(self._english_name)

    @name.setter
    def name(self, value: str) -> None:
        self._english_name = value


class Text(_NamedInLanguage, click.types.StringParamType):
    _english_name = N_("text")


class Integer(_NamedInLanguage, click.types.IntParamType):
    _english_name = N_("integer")


class Number(_NamedInLanguage, click.types.FloatParamType):
    _english_name = N_("number")


class Uuid(_NamedInLanguage, click.types.UUIDParameterType):
    _english_name = N_("identifier")


class IntegerRange(_NamedInLanguage, click.types.IntRange):
    _english_name = N_("integer")


class NumberRange(_NamedInLanguage, click.types.FloatRange):
    _english_name = N_("number")


class Path(_NamedInLanguage, click.Path):
    """Named "file", "directory" or "path" in the current language (Click names it once,
    in the language of the moment it is made)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.file_okay and not self.dir_okay:
            self.name = N_("file")
        elif self.dir_okay and not self.file_okay:
            self.name = N_("directory")
        else:
            self.name = N_("path")


_IN_LANGUAGE: Final[dict[type, click.ParamType[Any]]] = {
    click.types.StringParamType: Text(),
    click.types.IntParamType: Integer(),
    click.types.FloatParamType: Number(),
    click.types.UUIDParameterType: Uuid(),
}


class Option(_HelpInLanguage, click.Option):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type = _IN_LANGUAGE.get(type(self.type), self.type)
