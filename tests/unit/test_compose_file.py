"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from exchange.config import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def test_compose_has_the_production_services() -> None:
    services = _compose()["services"]
    assert {"postgres", "minio", "minio-bucket", "migrator", "app"} <= set(services)


def test_long_running_services_have_health_checks_and_named_volumes() -> None:
    compose = _compose()
    services = compose["services"]
    for name in ("postgres", "minio", "app"):
        assert services[name]["healthcheck"]["test"], name
    declared = set(compose["volumes"])
    for name in ("postgres", "minio"):
        volume = services[name]["volumes"][0].split(":")[0]
        assert volume in declared


def test_the_app_waits_for_the_migrator_and_the_bucket() -> None:
    services = _compose()["services"]
    assert services["migrator"]["command"] == ["exchange", "db", "upgrade"]
    depends = services["app"]["depends_on"]
    assert depends["migrator"]["condition"] == "service_completed_successfully"
    assert depends["minio-bucket"]["condition"] == "service_completed_successfully"
    assert services["migrator"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_app_reads_only_settings_that_exist_and_they_parse() -> None:
    services = _compose()["services"]
    environment = {k: str(v) for k, v in services["app"]["environment"].items()}
    assert environment == {k: str(v) for k, v in services["migrator"]["environment"].items()}
    known = {f"EXCHANGE_{name.upper()}" for name in Settings.__dataclass_fields__}
    exchange_vars = {k for k in environment if k.startswith("EXCHANGE_")}
    assert exchange_vars <= known, exchange_vars - known
    settings = Settings.from_env(environment)
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.auto_migrate is False
    assert settings.s3_endpoint_url == "http://minio:9000"


def test_the_bucket_the_app_uses_is_the_one_created() -> None:
    services = _compose()["services"]
    storage_url = services["app"]["environment"]["EXCHANGE_STORAGE_URL"]
    bucket = re.match(r"s3://([^/]+)", storage_url)
    assert bucket is not None
    assert f"exchange/{bucket.group(1)}" in services["minio-bucket"]["command"][0]


def test_database_credentials_agree() -> None:
    services = _compose()["services"]
    url = services["app"]["environment"]["EXCHANGE_DATABASE_URL"]
    postgres = services["postgres"]["environment"]
    assert f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres" in url
    assert url.endswith(f"/{postgres['POSTGRES_DB']}")
