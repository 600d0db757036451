"""`exchange demo` fills an empty exchange with the handbook's small world, through the
API, and prints the sign-in details; the service started on it shows that world to its
members. A database that holds schools is refused in words."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server, run_exchange

pytestmark = pytest.mark.slow


def _token(base: str, email: str, password: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/api/auth/token", json={"email": email, "password": password}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_demo_fills_an_empty_exchange_and_refuses_a_filled_one(tmp_path: Path) -> None:
    made = run_exchange("demo", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    printed = json.loads(made.stdout)
    members = printed["members"]
    assert all(set(m) >= {"email", "password", "school", "role"} for m in members)
    schools = Counter(m["school"] for m in members)
    assert len(schools) == 3
    assert any("Бишкек" in s for s in schools) and any("Ош" in s for s in schools)
    assert Counter(m["role"] for m in members)["admin"] == 3
    assert len({m["password"] for m in members}) == len(members)

    again = run_exchange("demo", cwd=tmp_path, env={"LANG": "ru_RU.UTF-8"})
    assert again.returncode == 1
    assert "уже есть школы" in again.stderr
    assert again.stdout == ""

    by_email = {m["email"]: m for m in members}
    with live_server(tmp_path) as server:
        base = server.base_url
        naryn = _token(
            base, "math@baetov-school.example", by_email["math@baetov-school.example"]["password"]
        )
        for member in members:  # every printed password signs in
            _token(base, member["email"], member["password"])
        (partnership,) = httpx.get(f"{base}/api/partnerships", headers=naryn, timeout=60).json()[
            "items"
        ]
        assert partnership["status"] == "active"
        plan = httpx.get(
            f"{base}/api/partnerships/{partnership['id']}/plan", headers=naryn, timeout=60
        ).json()
        assert len(plan["activities"]["done"]) == 2 and len(plan["activities"]["planned"]) == 2
        assert sum(len(a["evaluations"]) for a in plan["activities"]["done"]) == 3
        assert {w["what"] for w in plan["waiting"]} >= {"evaluation", "task"}
        found = httpx.get(
            f"{base}/api/resources", headers=naryn, params={"limit": 50}, timeout=60
        ).json()
        assert {r["language"] for r in found["items"]} == {"ky", "ru", "en"}
        media = {r["current_version"]["media_type"] for r in found["items"]}
        assert {"application/pdf", "text/plain"} <= {m.split(";")[0] for m in media}
        assert any("wordprocessingml" in m for m in media)
        assert any("opendocument.text" in m for m in media)
        # The handbook's schools not on the exchange yet are there to invite.
        handbook = httpx.get(
            f"{base}/api/directory/entries", headers=naryn, params={"kind": "school"}, timeout=60
        ).json()
        assert handbook["total"] == 11 and not any(e["on_exchange"] for e in handbook["items"])
        asked = httpx.get(
            f"{base}/api/reuse-requests",
            headers=naryn,
            params={"direction": "outgoing"},
            timeout=60,
        ).json()
        assert [r["status"] for r in asked["items"]] == ["pending"]
        director = _token(
            base,
            "director@baetov-school.example",
            by_email["director@baetov-school.example"]["password"],
        )
        (question,) = httpx.get(
            f"{base}/api/questions", headers=director, params={"direction": "outgoing"}, timeout=60
        ).json()["items"]
        assert question["status"] == "answered"
        summary = httpx.get(
            f"{base}/api/partnerships/{partnership['id']}/plan/summary.docx",
            headers=director,
            timeout=60,
        )
        assert summary.status_code == 200
