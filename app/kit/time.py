"""Asia/Shanghai time for every rule and message: store UTC, decide days and show times in Shanghai.

- ``local(dt)``: the instant as an aware Shanghai datetime; ``local_day(dt)``: its Shanghai date;
- ``day_start(day)``: the UTC instant a Shanghai day begins; ``day_span(first, last)``: [start, end);
- ``display(dt)``: "12月01日 09:30" for messages (another ``strftime`` format may be given);
- working days: Monday to Friday, less ``YOUTH_HOLIDAYS``, plus ``YOUTH_EXTRA_WORKDAYS`` (调休),
  for rules counted in working days (volunteer records are due within 10 working days).

What time it *is* comes from ``app.clock.now()``; this module only converts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
MESSAGE_FORMAT = "%m月%d日 %H:%M"


def local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("naive datetime given to kit.time.local")
    return dt.astimezone(SHANGHAI)


def local_day(dt: datetime) -> date:
    return local(dt).date()


def day_start(day: date) -> datetime:
    """The instant (UTC) the Shanghai day ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def day_span(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants [start, end) covering Shanghai days ``first`` to ``last`` inclusive (either open)."""
    return (day_start(first) if first else None, day_start(last + timedelta(days=1)) if last else None)


def display(dt: datetime, fmt: str = MESSAGE_FORMAT) -> str:
    return local(dt).strftime(fmt)


def is_working_day(day: date) -> bool:
    from app.config import get_settings

    s = get_settings()
    if day in s.extra_workdays:
        return True
    return day.weekday() < 5 and day not in s.holidays


def add_working_days(dt: datetime, n: int) -> datetime:
    """The same Shanghai time of day ``n`` working days after ``dt``'s day (``n`` ≥ 0)."""
    day = local_day(dt)
    left = n
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return datetime.combine(day, local(dt).timetz()).astimezone(UTC)


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days after ``start``'s Shanghai day up to and including ``end``'s (0 on the same day)."""
    first, last = local_day(start), local_day(end)
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
