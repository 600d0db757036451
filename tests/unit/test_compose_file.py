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
    assert {"postgres", "minio", "minio-bucket", "migrator", "app", "worker", "proxy"} <= set(
        services
    )


def test_long_running_services_have_health_checks_and_named_volumes() -> None:
    compose = _compose()
    services = compose["services"]
    for name in ("postgres", "minio", "app"):
        assert services[name]["healthcheck"]["test"], name
    declared = set(compose["volumes"])
    for name in ("postgres", "minio"):
        volume = services[name]["volumes"][0].split(":")[0]
        assert volume in declared


def test_the_app_and_the_worker_wait_for_the_migrator_and_the_bucket() -> None:
    services = _compose()["services"]
    assert services["migrator"]["command"] == ["exchange", "db", "upgrade"]
    for name in ("app", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrator"]["condition"] == "service_completed_successfully"
        assert depends["minio-bucket"]["condition"] == "service_completed_successfully"
    assert services["migrator"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in _compose()["services"][service]["environment"].items()}


def test_every_process_reads_only_settings_that_exist_and_they_parse() -> None:
    known = {f"EXCHANGE_{name.upper()}" for name in Settings.__dataclass_fields__}
    for service in ("migrator", "app", "worker"):
        environment = _environment(service)
        exchange_vars = {k for k in environment if k.startswith("EXCHANGE_")}
        assert exchange_vars <= known, exchange_vars - known
        settings = Settings.from_env(environment)
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.auto_migrate is False
        assert settings.s3_endpoint_url == "http://minio:9000"


def test_two_app_instances_and_a_worker_share_one_database_store_and_secret_key() -> None:
    services = _compose()["services"]
    assert services["app"]["deploy"]["replicas"] == 2
    assert "ports" not in services["app"], "the instances are reached through the proxy"
    assert services["worker"]["command"] == ["exchange", "jobs", "run"]
    shared = _environment("migrator")
    assert _environment("worker") == shared
    # The instances answer requests; the worker runs the jobs.
    assert _environment("app") == {**shared, "EXCHANGE_RUN_JOBS": "false"}
    assert Settings.from_env(_environment("app")).run_jobs is False
    # Forms signed by one instance are checked by another.
    assert Settings.from_env(shared).secret_key


def test_the_proxy_serves_the_shipped_site_file_in_front_of_every_instance() -> None:
    proxy = _compose()["services"]["proxy"]
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert "./deploy/nginx:/etc/exchange/nginx:ro" in proxy["volumes"]
    script = proxy["command"][-1]
    rewrite = re.search(r"sed 's/([^/]+)/([^/]+)/' /etc/exchange/nginx/(\S+)", script)
    assert rewrite is not None, script
    shipped, instead, name = rewrite.groups()
    site = (COMPOSE.parent / "deploy" / "nginx" / name).read_text()
    # The line the proxy rewrites is still in the site file, once: the upstream.
    assert site.count(shipped) == 1
    assert instead == "server app:8000;"
    assert "> /etc/nginx/conf.d/default.conf" in script
    assert proxy["ports"] == ["8000:80"]


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
