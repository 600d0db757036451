"""Settings, read once from `EXCHANGE_*` environment variables.

With nothing set, the exchange runs on its embedded defaults: one SQLite file and the
local `storage/` folder of the working directory, so `exchange serve` works on a fresh
machine with nothing else running.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from exchange.request_pace import PaceRule

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """An `EXCHANGE_*` variable holds a value the exchange cannot use."""


def default_data_dir() -> Path:
    return Path("storage").resolve()


@dataclass(frozen=True)
class Settings:
    """Every knob of the exchange. Field `foo_bar` is read from `EXCHANGE_FOO_BAR`."""

    database_url: str = ""
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    s3_presigned_downloads: bool = False
    s3_presigned_ttl_seconds: int = 300
    max_upload_bytes: int = 2 * 1024**3
    school_quota_bytes: int | None = None
    upload_idle_timeout_seconds: float = 60.0
    # How long a resumable upload may wait for its next piece before it expires.
    upload_expiry_hours: float = 168.0
    # Slow clients: a request body (an upload above all) must average this rate over
    # every window of waiting for it (0 turns the floor off); a request's head must be
    # complete this soon; one client address holds at most this many connections.
    upload_min_bytes_per_second: int = 1024
    upload_rate_window_seconds: float = 60.0
    header_timeout_seconds: float = 20.0
    max_connections_per_address: int = 100
    max_json_body_bytes: int = 1024 * 1024
    token_ttl_hours: float = 24.0
    sign_in_window_seconds: int = 15 * 60
    sign_in_max_failures_per_account: int = 5
    sign_in_max_failures_per_address: int = 30
    sign_in_first_delay_seconds: int = 60
    sign_in_known_address_days: int = 90
    # Where people reach the exchange: the base of the links it sends (set-password links).
    public_url: str = "http://127.0.0.1:8000"
    password_link_ttl_hours: float = 72.0
    request_response_days: int = 14
    smtp_url: str | None = None
    mail_from: str = "exchange@localhost"
    # Text extraction for search: wall-clock and memory caps of one extraction, and the
    # largest file whose text is read at all.
    extraction_timeout_seconds: float = 30.0
    extraction_max_memory_bytes: int = 512 * 1024**2
    extraction_max_file_bytes: int = 200 * 1024**2
    auto_migrate: bool = True
    run_jobs: bool = True
    log_level: str = "INFO"
    # The time zone of the days and times people read (pages, notices, e-mails,
    # documents), and of the day boundaries they rely on; the API's JSON stays in UTC.
    time_zone: str = "Asia/Bishkek"
    log_format: str = "json"
    forwarded_allow_ips: str = "127.0.0.1"
    # The pages' cookies: `Secure` unless set to false; unset, they are `Secure` except
    # on plain http to this machine (127.0.0.1, localhost), where browsers would drop them.
    cookie_secure: bool | None = None
    # Signs the pages' form tokens; instances behind one address need the same value.
    # Unset, one is made and kept in `<data_dir>/secret_key`.
    secret_key: str = ""
    debug: bool = False
    data_dir: Path = field(default_factory=default_data_dir)

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite+aiosqlite:///{self.data_dir / 'exchange.sqlite3'}"
            )
        if not self.storage_url:
            object.__setattr__(self, "storage_url", (self.data_dir / "files").as_uri())
        if self.max_upload_bytes <= 0:
            raise SettingsError("EXCHANGE_MAX_UPLOAD_BYTES must be a positive number of bytes.")
        if self.school_quota_bytes is not None and self.school_quota_bytes <= 0:
            raise SettingsError("EXCHANGE_SCHOOL_QUOTA_BYTES must be positive when set.")
        if self.upload_expiry_hours <= 0:
            raise SettingsError("EXCHANGE_UPLOAD_EXPIRY_HOURS must be positive.")
        if self.password_link_ttl_hours <= 0:
            raise SettingsError("EXCHANGE_PASSWORD_LINK_TTL_HOURS must be positive.")
        if not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(
                "EXCHANGE_PUBLIC_URL must be the address people open the exchange at, "
                "e.g. https://exchange.example.kg"
            )
        if self.token_ttl_hours <= 0:
            raise SettingsError("EXCHANGE_TOKEN_TTL_HOURS must be positive.")
        if self.extraction_timeout_seconds <= 0 or self.extraction_max_memory_bytes <= 0:
            raise SettingsError(
                "EXCHANGE_EXTRACTION_TIMEOUT_SECONDS and EXCHANGE_EXTRACTION_MAX_MEMORY_BYTES "
                "must be positive."
            )
        if (
            min(
                self.sign_in_window_seconds,
                self.sign_in_max_failures_per_account,
                self.sign_in_max_failures_per_address,
                self.sign_in_first_delay_seconds,
                self.sign_in_known_address_days,
            )
            <= 0
        ):
            raise SettingsError("The EXCHANGE_SIGN_IN_* settings must be positive numbers.")
        if self.upload_min_bytes_per_second < 0 or self.upload_rate_window_seconds <= 0:
            raise SettingsError(
                "EXCHANGE_UPLOAD_MIN_BYTES_PER_SECOND must be 0 (no floor) or more, and "
                "EXCHANGE_UPLOAD_RATE_WINDOW_SECONDS positive."
            )
        if self.header_timeout_seconds <= 0:
            raise SettingsError("EXCHANGE_HEADER_TIMEOUT_SECONDS must be positive.")
        if self.max_connections_per_address < 0:
            raise SettingsError("EXCHANGE_MAX_CONNECTIONS_PER_ADDRESS must be 0 (no cap) or more.")
        if not _is_time_zone(self.time_zone):
            raise SettingsError(
                f"EXCHANGE_TIME_ZONE={self.time_zone!r} is not a time zone: give its IANA "
                "name, e.g. Asia/Bishkek."
            )
        if self.log_format not in {"json", "console"}:
            raise SettingsError("EXCHANGE_LOG_FORMAT must be 'json' or 'console'.")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def body_pace(self) -> PaceRule | None:
        """The slowest a request body may arrive, or None when there is no floor."""
        from exchange.request_pace import PaceRule

        if not self.upload_min_bytes_per_second:
            return None
        return PaceRule(self.upload_min_bytes_per_second, self.upload_rate_window_seconds)

    @property
    def request_max_body_bytes(self) -> int:
        """Upper bound of any request body: the largest upload plus its form fields."""
        return self.max_upload_bytes + self.max_json_body_bytes

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(f"EXCHANGE_{spec.name.upper()}")
            if raw is None or raw == "":
                continue
            values[spec.name] = _parse(spec.name, str(spec.type), raw)
        return cls(**values)


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _parse(name: str, type_name: str, raw: str) -> Any:
    variable = f"EXCHANGE_{name.upper()}"
    raw = raw.strip()
    try:
        if type_name.startswith("bool"):
            lowered = raw.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(raw)
        if type_name.startswith("int"):
            return int(raw.replace("_", ""))
        if type_name.startswith("float"):
            return float(raw)
        if type_name.startswith("Path"):
            return Path(raw).expanduser().resolve()
    except ValueError as exc:
        raise SettingsError(f"{variable}={raw!r} is not a valid {type_name}.") from exc
    return raw
