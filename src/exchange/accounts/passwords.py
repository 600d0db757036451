"""Passwords are stored only as argon2id hashes."""

from __future__ import annotations

from functools import cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from exchange.errors import InvalidInput
from exchange.i18n import _

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

hasher = PasswordHasher()  # argon2id with RFC 9106's low-memory parameters


@cache
def _dummy_hash(of: PasswordHasher) -> str:
    """Verified against when the e-mail is unknown, so a wrong address costs as long as a
    wrong password and response times do not tell which accounts exist. Made with the
    hasher in use, on first need: a verification costs what the hash's own parameters
    ask, so it must have the parameters real hashes have, and commands that never sign
    anyone in do not pay for it when they start."""
    return of.hash("not a real password, only here to spend the same time")


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _(
                "The password is too short: use at least {MIN_PASSWORD_LENGTH} characters. A "
                "sentence of a few words is easy to remember and hard to guess.",
                MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
            )
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            _(
                "The password is too long: at most {MAX_PASSWORD_LENGTH} characters.",
                MAX_PASSWORD_LENGTH=MAX_PASSWORD_LENGTH,
            )
        )


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            stored = password_hash or _dummy_hash(hasher)
            return hasher.verify(stored, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)
