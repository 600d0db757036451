"""`exchange serve` tells whoever starts an instance on a shared database without
EXCHANGE_SECRET_KEY that instances behind one address need the same key."""

from __future__ import annotations

from pathlib import Path

from exchange.cli import secret_key_advice
from exchange.config import Settings
from exchange.i18n.current import using_language

POSTGRES = "postgresql+asyncpg://exchange@db/exchange"


def test_an_instance_on_a_shared_database_without_a_key_is_told_to_set_one(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=POSTGRES, data_dir=tmp_path)
    with using_language("en"):
        advice = secret_key_advice(settings)
    assert advice is not None
    assert "give each the same EXCHANGE_SECRET_KEY" in advice
    assert str(tmp_path / "secret_key") in advice
    with using_language("ky"):
        in_kyrgyz = secret_key_advice(settings)
    assert in_kyrgyz is not None and "бирдей EXCHANGE_SECRET_KEY" in in_kyrgyz


def test_nothing_is_said_with_a_key_or_on_the_embedded_database(tmp_path: Path) -> None:
    keyed = Settings(database_url=POSTGRES, data_dir=tmp_path, secret_key="shared")
    assert secret_key_advice(keyed) is None
    assert secret_key_advice(Settings(data_dir=tmp_path)) is None
