"""An unknown e-mail costs what a wrong password costs: it is verified against a hash with
the parameters of the hasher in use, so response times do not tell which accounts exist."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles

from exchange.accounts import passwords


class RecordingHasher(PasswordHasher):
    """A hasher that notes every hash it is asked to verify against."""

    def __init__(self, parameters: profiles.Parameters) -> None:
        super().__init__(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost,
            parallelism=parameters.parallelism,
            hash_len=parameters.hash_len,
            salt_len=parameters.salt_len,
            type=parameters.type,
        )
        self.checked: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.checked.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


@pytest.mark.parametrize(
    "parameters", [profiles.RFC_9106_LOW_MEMORY, profiles.CHEAPEST], ids=["production", "cheap"]
)
async def test_an_unknown_email_is_verified_against_the_parameters_in_use(
    parameters: profiles.Parameters, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = RecordingHasher(parameters)
    monkeypatch.setattr(passwords, "hasher", hasher)
    known = await passwords.hash_password("the right password")

    assert not await passwords.verify_password(known, "a wrong password")
    assert not await passwords.verify_password(None, "a wrong password")

    wrong_password, unknown_email = hasher.checked
    assert unknown_email != wrong_password
    assert extract_parameters(unknown_email) == extract_parameters(wrong_password) == parameters
