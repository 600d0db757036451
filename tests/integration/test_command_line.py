"""The `exchange` command on a fresh folder, the way a newcomer runs it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server, run_exchange

pytestmark = pytest.mark.slow


def test_serve_on_embedded_defaults_then_create_a_school_and_sign_in(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        assert (tmp_path / "storage" / "exchange.sqlite3").is_file()
        created = run_exchange(
            "school",
            "create",
            "--name",
            "Таш-Көмүр №2 мектеби",
            "--admin-email",
            "director@tashkomur.kg",
            "--admin-password",
            "a long enough password",
            "--region",
            "Jalal-Abad",
            cwd=tmp_path,
        )
        assert created.returncode == 0, created.stderr
        ids = json.loads(created.stdout)
        assert set(ids) == {"school_id", "admin_id"}
        token = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": "director@tashkomur.kg", "password": "a long enough password"},
        ).json()["access_token"]
        me = httpx.get(f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["id"] == ids["admin_id"]
        assert me.json()["school"]["id"] == ids["school_id"]
        assert me.headers["x-request-id"]
        ready = httpx.get(f"{server.base_url}/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok"
    log = server.log()
    assert '"event": "request"' in log
    assert token not in log


def test_school_create_refuses_a_weak_password_with_a_clear_message(tmp_path: Path) -> None:
    assert run_exchange("db", "upgrade", cwd=tmp_path).returncode == 0
    result = run_exchange(
        "school",
        "create",
        "--name",
        "X",
        "--admin-email",
        "a@b.kg",
        "--admin-password",
        "short",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr
    assert result.stdout == ""


def test_serve_does_not_migrate_when_auto_migrate_is_off(tmp_path: Path) -> None:
    with live_server(tmp_path, {"EXCHANGE_AUTO_MIGRATE": "false"}) as server:
        ready = httpx.get(f"{server.base_url}/health/ready")
        assert ready.status_code == 200
        token = httpx.post(
            f"{server.base_url}/api/auth/token", json={"email": "a@b.kg", "password": "x"}
        )
        # No tables: the failure is reported as a problem, with no SQL in it.
        assert token.status_code == 503
        assert token.headers["content-type"].startswith("application/problem+json")
        assert "sign_in_failures" not in token.text
        assert "SELECT" not in token.text


def test_a_bad_setting_is_refused_before_starting(tmp_path: Path) -> None:
    result = run_exchange("db", "upgrade", cwd=tmp_path, env={"EXCHANGE_MAX_UPLOAD_BYTES": "lots"})
    assert result.returncode != 0
    assert "EXCHANGE_MAX_UPLOAD_BYTES" in result.stderr
