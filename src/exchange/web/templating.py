"""Pages rendered by Jinja2 through Litestar's template support, in the page's language.

One environment serves every language: `jinja2.ext.i18n`'s `_`, `gettext` and
`ngettext` read the request's language when a template is rendered. Every sentence a
person reads is written in a template inside `_()` or `{% trans %}`, so it is in the
catalogs.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from exchange.files.media_types import opens_in_browser, type_name
from exchange.i18n import format_day, format_download_cost, format_size, format_time_of_day
from exchange.i18n import jinja as i18n_jinja
from exchange.kernel.languages import EXCHANGE_LANGUAGES
from exchange.web.assets import asset_url
from exchange.web.forms import FormErrors
from exchange.web.language import LANGUAGE_NAMES
from exchange.web.names import TEMPLATE_FUNCTIONS, field_state


def _size(value: int | None) -> str:
    return "" if value is None else format_size(value)


def _download_cost(file: Any) -> str:
    """What downloading `file` (a resource, a version, a search result's current version)
    costs: its size, with its pages or length where the file tells them."""
    return format_download_cost(
        file.size,
        pages=getattr(file, "pages", None),
        duration_seconds=getattr(file, "duration_seconds", None),
    )


def create_environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("exchange.web", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates are files of the installed package: compiled once per process,
        # never checked again on disk for each page.
        auto_reload=False,
    )
    i18n_jinja.install(environment)
    environment.globals["asset_url"] = asset_url
    environment.globals["field_state"] = field_state
    environment.globals["page_names"] = TEMPLATE_FUNCTIONS
    environment.globals["file_type"] = type_name
    environment.globals["download_cost"] = _download_cost
    environment.globals["opens_in_browser"] = opens_in_browser
    environment.globals["empty_errors"] = FormErrors()
    environment.globals["language_names"] = LANGUAGE_NAMES
    environment.globals["languages"] = EXCHANGE_LANGUAGES
    environment.filters["day"] = format_day
    environment.filters["time_of_day"] = format_time_of_day
    environment.filters["size"] = _size
    return environment


def create_template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(create_environment()))
