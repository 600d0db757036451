"""Schemathesis hooks for the contract test (loaded with SCHEMATHESIS_HOOKS).

Every request is signed in as the seeded school's admin, whose e-mail and password the
test passes in the environment. Signing out revokes the token it is sent with, so that
operation gets a token of its own, and the others keep theirs.

Each character class of a regular expression is turned into a strategy once per process.
Hypothesis adds a class's ranges one code point at a time, and the document's "visible
character" class (`exchange.openapi.VISIBLE_CHARACTER`) spans most of Unicode: that costs
seconds, and schemathesis asks for it afresh in each pattern it derives (a length spelled
into the pattern, a negation) for each of the fields it constrains. The strategy for a
class is the same whichever pattern it appears in, so the cases drawn do not change.
"""

from __future__ import annotations

import os
from functools import wraps
from typing import Any

import httpx
import schemathesis
from hypothesis.strategies._internal import regex

SIGN_OUT = ("DELETE", "/api/auth/token")


def _build_each_character_class_once() -> None:
    build = regex._strategy
    built: dict[tuple[Any, ...], Any] = {}

    @wraps(build)
    def strategy(codes: Any, context: Any, is_unicode: bool, *, alphabet: Any) -> Any:
        if not (isinstance(codes, tuple) and codes[0] == regex.sre.IN):
            return build(codes, context, is_unicode, alphabet=alphabet)
        key = (tuple(codes[1]), context.flags, is_unicode, repr(alphabet))  # its members are tuples
        if key not in built:
            built[key] = build(codes, context, is_unicode, alphabet=alphabet)
        return built[key]

    regex._strategy = strategy


_build_each_character_class_once()


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


@schemathesis.serializer("application/offset+octet-stream")
def _piece_of_a_file(ctx: Any, value: Any) -> bytes:
    """A resumable upload's piece is bytes: sent as they are drawn (text as UTF-8)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()
