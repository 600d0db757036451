"""The pages' place in the app: their routes, form protection, compression, templates."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import structlog
from litestar import Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide

from exchange.config import Settings
from exchange.web.assets import static_file
from exchange.web.controllers.account import (
    AccountController,
    SetPasswordController,
    SignInController,
)
from exchange.web.controllers.audit import AuditPages
from exchange.web.controllers.directory import RegistrationPages, UnclaimedPages
from exchange.web.controllers.first_run import FirstRunController
from exchange.web.controllers.home import HomeController
from exchange.web.controllers.members import MemberPages
from exchange.web.controllers.partners import PartnerPages
from exchange.web.controllers.partnerships import PartnershipPages
from exchange.web.controllers.requests import RequestPages
from exchange.web.controllers.resources import ResourcePages, UploadController
from exchange.web.controllers.resumable import ResumablePageUploads
from exchange.web.controllers.search import SearchPages
from exchange.web.controllers.versions import VersionPages
from exchange.web.errors import handle_page_exception
from exchange.web.page import provide_page

logger = structlog.get_logger("exchange.web")

CSRF_COOKIE = "exchange_csrf"
# Paths that are not pages: the API keeps bearer tokens (no cookie authorises it, so no
# form token is needed), health checks, the API's documentation, static files, downloads.
NOT_PAGES = [r"^/api(/|$)", r"^/health", r"^/schema", r"^/static/"]


_PAGES: dict[str, Any] = {
    "dependencies": {"page": Provide(provide_page)},
    "exception_handlers": {Exception: handle_page_exception},
    # Pages authenticate by their session cookie (`exchange.web.sessions`), not by the
    # API's bearer tokens.
    "opt": {"exclude_from_auth": True},
    "include_in_schema": False,
}


def web_routes(settings: Settings) -> list[Any]:
    return [
        static_file,
        Router(
            path="/",
            route_handlers=[
                HomeController,
                SignInController,
                ResourcePages,
                SearchPages,
                RequestPages,
                PartnershipPages,
                PartnerPages,
                UnclaimedPages,
                RegistrationPages,
                FirstRunController,
                AccountController,
                SetPasswordController,
                MemberPages,
                AuditPages,
            ],
            **_PAGES,
        ),
        Router(
            path="/",
            route_handlers=[UploadController, ResumablePageUploads, VersionPages],
            request_max_body_size=settings.request_max_body_bytes,
            **_PAGES,
        ),
    ]


def secret_key(settings: Settings) -> str:
    """`EXCHANGE_SECRET_KEY`, else one made once and kept beside the database."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    try:
        if path.is_file():
            kept = path.read_text().strip()
            if kept:
                return kept
        path.parent.mkdir(parents=True, exist_ok=True)
        made = secrets.token_urlsafe(32)
        path.write_text(made + "\n")
        path.chmod(0o600)
        return made
    except OSError:
        logger.warning(
            "no EXCHANGE_SECRET_KEY and nowhere to keep one: forms signed by this process "
            "only; set EXCHANGE_SECRET_KEY when several instances serve the pages",
            path=str(path),
        )
        return secrets.token_urlsafe(32)


def create_csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=secret_key(settings),
        cookie_name=CSRF_COOKIE,
        cookie_httponly=True,
        cookie_samesite="lax",
        cookie_secure=bool(settings.cookie_secure),
        exclude=NOT_PAGES,
    )


def create_compression_config() -> CompressionConfig:
    # Pages only: static files are stored gzipped already, and downloads must keep their
    # byte ranges and lengths.
    return CompressionConfig(
        backend="gzip",
        minimum_size=500,
        gzip_compress_level=6,
        exclude=[*NOT_PAGES, r"^/resources/[^/]+/content"],
    )
