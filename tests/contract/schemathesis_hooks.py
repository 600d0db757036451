"""Schemathesis hooks for the contract test (loaded with SCHEMATHESIS_HOOKS).

Every request is signed in as the seeded school's admin, whose e-mail and password the
test passes in the environment. Signing out revokes the token it is sent with, so that
operation gets a token of its own, and the others keep theirs.
"""

from __future__ import annotations

import os

import httpx
import schemathesis

SIGN_OUT = ("DELETE", "/api/auth/token")


def _sign_in() -> str:
    response = httpx.post(
        f"{os.environ['EXCHANGE_CONTRACT_BASE_URL']}/api/auth/token",
        json={
            "email": os.environ["EXCHANGE_CONTRACT_EMAIL"],
            "password": os.environ["EXCHANGE_CONTRACT_PASSWORD"],
        },
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


@schemathesis.auth()
class SeededAdmin:
    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return _sign_in()

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        token = _sign_in() if (case.method.upper(), case.path) == SIGN_OUT else data
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
