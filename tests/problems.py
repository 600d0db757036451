"""Assertions on RFC 9457 problem documents."""

from __future__ import annotations

from typing import Any


def assert_problem(response: Any, status: int, *, rule: int | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"].startswith("urn:exchange:problem:")
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10, body
    assert "Traceback" not in response.text
    if rule is not None:
        assert body.get("code_of_conduct_rule") == rule, body
    return body
