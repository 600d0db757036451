"""The floor on how slowly a request body may arrive, on a clock of waiting for the client."""

from __future__ import annotations

import math

from exchange.i18n import using_language
from exchange.request_pace import PaceRule

RULE = PaceRule(min_bytes_per_second=1024, window_seconds=60.0)


def test_one_byte_every_ten_seconds_is_too_slow_once_the_first_window_has_passed() -> None:
    pace = RULE.start()
    for _ in range(5):
        assert pace.patience() > 0
        pace.waited(10.0, 1)
        assert not pace.too_slow
    # 50 s waited, 5 bytes: it may wait 10 s more, then the window is over.
    assert math.isclose(pace.patience(), 10.0)
    pace.waited(10.0)
    assert pace.too_slow
    assert pace.patience() == 0.0


def test_a_rural_link_at_a_steady_kilobyte_a_second_passes() -> None:
    pace = RULE.start()
    for _ in range(600):
        pace.waited(1.0, 1024)
        assert not pace.too_slow


def test_a_long_pause_is_forgiven_when_the_window_still_averages_the_floor() -> None:
    pace = RULE.start()
    for _ in range(30):
        pace.waited(1.0, 4096)  # 30 s at 4 KB/s: 120 KB, twice what a window needs
    # It may now wait until the bytes of the first 16 seconds have left the window (the
    # 15 seconds after them still hold exactly what a window needs).
    assert math.isclose(pace.patience(), 46.0)
    pace.waited(45.0)
    assert not pace.too_slow
    pace.waited(1.0)
    assert pace.too_slow


def test_a_stall_longer_than_the_window_is_too_slow_whatever_came_before() -> None:
    pace = RULE.start()
    pace.waited(1.0, 10 * 1024 * 1024)
    assert math.isclose(pace.patience(), 60.0)
    pace.waited(60.0)
    assert pace.too_slow


def test_the_refusal_says_the_floor_in_words() -> None:
    refusal = RULE.refusal()
    assert refusal.status_code == 408
    assert "less than 1 kB a second over 60 seconds" in refusal.detail
    with using_language("ru"):
        assert "меньше 1 кБ в секунду" in RULE.refusal().detail
    assert refusal.headers == {"Connection": "close"}
