"""Time as the services see it: the `Clock` they are given, the system clock when serving,
and the exchange's time zone.

Moments are kept and exchanged in UTC (the database, the API's JSON). What a person reads
as a day or a time of day, and every day boundary a person relies on (an answer due "by
16 March", "overdue", "from a day on"), is in the exchange's time zone
(`EXCHANGE_TIME_ZONE`, by default `Asia/Bishkek`, UTC+6 all year): at 20:30 UTC on
1 March it is already 2 March in Kyrgyzstan. The app and the command line set the zone
once from their settings (`use_time_zone`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE: Final = "Asia/Bishkek"

_zone: ZoneInfo = ZoneInfo(DEFAULT_TIME_ZONE)


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


def use_time_zone(name: str) -> None:
    """Make `name` (an IANA zone such as "Asia/Bishkek") the exchange's time zone."""
    global _zone
    _zone = ZoneInfo(name)


def time_zone() -> ZoneInfo:
    return _zone


def local_time(moment: datetime) -> datetime:
    """`moment` as the clocks of the exchange's time zone show it."""
    return moment.astimezone(_zone)


def local_day(moment: datetime) -> date:
    """The day `moment` falls on in the exchange's time zone."""
    return moment.astimezone(_zone).date()


def start_of_day(day: date) -> datetime:
    """The first moment of `day` in the exchange's time zone, in UTC."""
    return datetime.combine(day, time.min, tzinfo=_zone).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """The last moment of `day` in the exchange's time zone, in UTC ("until 30 June"
    lasts through that day)."""
    return start_of_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def days_later(moment: datetime, days: int) -> datetime:
    """The end of the day `days` days after `moment`'s day, in the exchange's time zone:
    an answer asked for within 14 days is due by the end of the 14th day."""
    return end_of_day(local_day(moment) + timedelta(days=days))
