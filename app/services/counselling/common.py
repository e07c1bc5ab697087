"""Shared pieces of the counselling service: the posting kind, limits, time and small helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from app import errors
from app.config import get_settings
from app.kit import postings
from app.kit.postings import PostingKind
from app.schemas.counselling import CrisisResource
from app.validators import SHANGHAI, age_on
from models.counselling import Counsellor

KIND = postings.register(PostingKind(
    kind="counsellor", model=Counsellor, org_kinds=("counselling_center",), title_field="display_name",
    # The photo is checked and re-reviewed like text: a new picture is new public content.
    text_fields=("display_name", "qualifications", "introduction", "languages", "photo_url"), label="咨询师",
))

BOOKING = "counselling_booking"  # audit target kind
MAX_SLOT_RANGE = timedelta(days=62)
MAX_SLOTS_AHEAD = timedelta(days=180)
MAX_PATTERN_SLOTS = 500



# --- time and small helpers ------------------------------------------------------------------------


def to_utc(value: datetime) -> datetime:
    """A client's time: with an offset as given, without one as Asia/Shanghai wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 at an offset
        raise errors.ValidationFailed("时间超出了可以处理的范围")


def local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    try:
        start = datetime.combine(first, time.min, SHANGHAI).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time.min, SHANGHAI).astimezone(UTC)
    except OverflowError:
        raise errors.ValidationFailed("日期超出了可以处理的范围")
    return start, end


def age_band(birth: date, on: date) -> str:
    age = age_on(birth, on)
    for upper, band in ((13, "<14"), (17, "14-17"), (24, "18-24"), (29, "25-29"), (35, "30-35")):
        if age <= upper:
            return band
    return ">35"


def hours_text(value: float) -> str:
    return f"{value:g}"


def tags_for(specialties: list[str], modes: list[str]) -> str:
    return "|" + "".join(f"s:{s}|" for s in specialties) + "".join(f"m:{m}|" for m in modes)


def crisis_resources() -> list[CrisisResource]:
    return [CrisisResource(**r) for r in get_settings().crisis_resources]


def time_range(start: datetime | None, end: datetime | None, default_start: datetime,
           default_len: timedelta) -> tuple[datetime, datetime]:
    lo = to_utc(start) if start else default_start
    try:
        hi = to_utc(end) if end else lo + default_len
    except OverflowError:
        raise errors.ValidationFailed(fields={"from": "时间超出了可以处理的范围"})
    if hi <= lo:
        raise errors.ValidationFailed(fields={"to": "结束时间应晚于开始时间"})
    if hi - lo > MAX_SLOT_RANGE:
        raise errors.ValidationFailed(fields={"to": "一次最多查询 62 天"})
    return lo, hi


def overlaps(start: datetime, end: datetime, taken: list[tuple[datetime, datetime]]) -> bool:
    return any(s < end and start < e for s, e in taken)
