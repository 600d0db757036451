"""Days and times in Kyrgyzstan's time: what a person reads, and the days they count by.

At 20:30 UTC on 1 March it is 02:30 on 2 March in Bishkek (UTC+6). A request asked then
is due by the end of 16 March on Bishkek's clocks, the pages and notices say so, it
turns overdue when that day ends there, the trail's "from a day on" counts Bishkek's
days, and the API still answers in UTC."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from exchange.clock import DEFAULT_TIME_ZONE, days_later, use_time_zone
from exchange.config import Settings, SettingsError
from exchange.i18n import LazyText, format_day, format_time_of_day, using_language
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, ground, sister_schools
from tests.pages import Visitor

__all__ = ["ground"]

LATE_EVENING_UTC = datetime(2027, 3, 1, 20, 30, tzinfo=UTC)  # 2 March, 02:30 in Bishkek
KY = {"Accept-Language": "ky"}
ASK = {"scope": "adapt", "purpose": "Бешинчи класстын математикасы", "audience": "Окуучулар"}


@pytest.fixture
def utc_exchange() -> Iterator[None]:
    use_time_zone("UTC")
    try:
        yield
    finally:
        use_time_zone(DEFAULT_TIME_ZONE)


def test_a_moment_is_read_as_its_day_and_time_in_bishkek() -> None:
    with using_language("ky"):
        assert format_day(LATE_EVENING_UTC) == "2027-ж., 2-март"
        assert format_time_of_day(LATE_EVENING_UTC) == "02:30"
    with using_language("ru"):
        assert format_day(LATE_EVENING_UTC) == "2 марта 2027\u202fг."
    with using_language("en"):
        assert format_day(LATE_EVENING_UTC) == "March 2, 2027"
    # A stored notice keeps the moment and shows its day where the reader lives.
    stored = LazyText("Please answer by {date}.", {"date": LATE_EVENING_UTC}).to_json()
    assert stored["params"]["date"] == {"moment": "2027-03-01T20:30:00+00:00"}
    assert LazyText.from_json(stored).render("en") == "Please answer by March 2, 2027."


def test_another_time_zone_moves_the_day_back(utc_exchange: None) -> None:
    with using_language("en"):
        assert format_day(LATE_EVENING_UTC) == "March 1, 2027"
        assert format_time_of_day(LATE_EVENING_UTC) == "8:30\u202fPM"


def test_the_time_zone_is_a_setting_and_an_unknown_one_stops_the_start() -> None:
    assert Settings.from_env({}).time_zone == "Asia/Bishkek"
    assert Settings.from_env({"EXCHANGE_TIME_ZONE": "Asia/Almaty"}).time_zone == "Asia/Almaty"
    with pytest.raises(SettingsError, match="EXCHANGE_TIME_ZONE"):
        Settings.from_env({"EXCHANGE_TIME_ZONE": "Asia/Atbashy"})


def test_an_answer_within_fourteen_days_is_due_at_the_end_of_bishkeks_fourteenth_day() -> None:
    assert days_later(LATE_EVENING_UTC, 14) == datetime(2027, 3, 16, 17, 59, 59, 999999, UTC)
    # 17:59 UTC is 23:59 in Bishkek: the same day, so the same last moment.
    assert days_later(datetime(2027, 3, 2, 17, 59, tzinfo=UTC), 14) == days_later(
        LATE_EVENING_UTC, 14
    )


async def test_a_request_asked_late_in_the_utc_evening_is_due_and_overdue_by_bishkeks_days(
    ground: Ground, clock: ManualClock, visitors: Callable[[], Visitor]
) -> None:
    clock.set(LATE_EVENING_UTC)
    cast = await sister_schools(ground)
    asked = await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    # The API speaks UTC.
    due = datetime.fromisoformat(request["respond_by"].replace("Z", "+00:00"))
    assert due.utcoffset() is not None and due.utcoffset().total_seconds() == 0
    assert due == datetime(2027, 3, 16, 17, 59, 59, 999999, UTC)

    owner = visitors()
    await owner.sign_in(cast.a.admin.email)
    requests_page = await owner.get("/requests", headers=KY)
    assert "2027-ж., 16-март" in requests_page.text
    notices = (await cast.a.admin.get("/api/notifications", headers=KY)).json()["items"]
    asking = [n for n in notices if n["kind"] == "reuse_request.created"]
    assert asking and "2027-ж., 16-март" in asking[0]["message"], asking

    # 23:59 on 16 March in Bishkek: still in time; a minute after midnight there: overdue.
    clock.set(datetime(2027, 3, 16, 17, 59, tzinfo=UTC))
    item = (await cast.b_teacher.get(f"/api/reuse-requests/{request['id']}")).json()
    assert item["overdue"] is False
    clock.set(datetime(2027, 3, 16, 18, 1, tzinfo=UTC))
    item = (await cast.b_teacher.get(f"/api/reuse-requests/{request['id']}")).json()
    assert item["overdue"] is True


async def test_the_trail_from_a_day_on_counts_bishkeks_days_and_shows_its_clock(
    ground: Ground, clock: ManualClock, visitors: Callable[[], Visitor]
) -> None:
    clock.set(LATE_EVENING_UTC)
    cast = await sister_schools(ground)
    asked = await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    assert asked.status_code == 201, asked.text
    clock.set(datetime(2027, 3, 3, 9, 0, tzinfo=UTC))
    admin = visitors()
    await admin.sign_in(cast.a.admin.email)

    from_second = await admin.get("/audit", params={"since": "2027-03-02"}, headers=KY)
    assert from_second.status_code == 200
    entries = re.findall(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", from_second.text)
    asked_at = [shown for moment, shown in entries if moment.startswith("2027-03-01T20:30")]
    assert asked_at == ["2027-ж., 2-март, саат 02:30"], from_second.text[-3000:]
    from_third = await admin.get("/audit", params={"since": "2027-03-03"}, headers=KY)
    assert "2027-03-01T20:30" not in from_third.text
