"""What the modules of the events service share: the posting kind, time rules, quota locking."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.kit import postings
from app.kit.dialect import LOCK_EVENT_QUOTA, is_postgres
from app.kit.postings import PostingKind
from app.validators import SHANGHAI
from models.events import Event, EventQuota, EventRegistration
from models.orgs import Organisation

KIND = postings.register(PostingKind(
    kind="event", model=Event, org_kinds=("event_organizer",), title_field="title",
    text_fields=("title", "description", "venue_name", "venue_address"), label="活动", shown_after_close=True,
    interactions=lambda user_id: select(EventRegistration.event_id).where(EventRegistration.user_id == user_id),
))

R = EventRegistration
Q = EventQuota
# First key of the two-int advisory locks taken on quota rows (the second is the quota id).
QUOTA_LOCK_CLASS = LOCK_EVENT_QUOTA
# Bulk UPDATEs here never touch objects loaded in the same session, so skip syncing the identity map.
NO_SYNC = {"synchronize_session": False}


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns


def cursor_id(value: Any) -> int:
    """An id taken from a decoded cursor; anything else is an invalid cursor (never a database error)."""
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise errors.InvalidCursor()
    return value


def cursor_time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise errors.InvalidCursor()
    return at


def local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def cancel_deadline(starts_at: datetime, cutoff_hours: int) -> datetime:
    return starts_at - timedelta(hours=cutoff_hours)


def choice_window(ev: Event) -> tuple[datetime, datetime] | None:
    if ev.choice_hours <= 0:
        return None
    return ev.ends_at, ev.ends_at + timedelta(hours=ev.choice_hours)


def quota_capacities(capacity: int, male: int | None, female: int | None) -> dict[str, int]:
    return {"all": capacity} if male is None else {"male": male, "female": female or 0}


def check_times(starts: datetime, ends: datetime, opens: datetime, closes: datetime) -> None:
    problems: dict[str, str] = {}
    if ends <= starts:
        problems["ends_at"] = "结束时间应晚于开始时间"
    elif ends - starts > timedelta(days=7):
        problems["ends_at"] = "一场活动最长7天"
    if closes <= opens:
        problems["signup_closes_at"] = "报名截止时间应晚于报名开始时间"
    elif closes > starts:
        problems["signup_closes_at"] = "报名应在活动开始前截止"
    if problems:
        raise errors.ValidationFailed(fields=problems)


async def quota_rows(session: AsyncSession, event_ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    if not event_ids:
        return out
    rows = await session.execute(
        select(Q.event_id, Q.quota_key, Q.capacity, Q.taken).where(Q.event_id.in_(event_ids)).order_by(Q.id))
    for row in rows:
        out.setdefault(row.event_id, []).append(row)
    return out


async def visible_event(session: AsyncSession, event_id: int) -> tuple[Event, str | None]:
    row = (await session.execute(
        select(Event, Organisation.name).join(Organisation, Organisation.id == Event.org_id)
        .where(Event.id == event_id))).first()
    if row is None or not KIND.is_visible(row[0]):
        raise errors.NotFound()
    return row[0], row[1]


async def lock_quotas(session: AsyncSession, event_id: int) -> list[EventQuota]:
    """Every quota of the event, locked against waitlisting (advisory, exclusive) and for update."""
    ids = (await session.execute(select(Q.id).where(Q.event_id == event_id).order_by(Q.id))).scalars().all()
    if is_postgres(session):
        for qid in ids:
            await session.execute(select(func.pg_advisory_xact_lock(QUOTA_LOCK_CLASS, qid)))
    stmt = select(EventQuota).where(Q.event_id == event_id).order_by(Q.id).with_for_update()
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())
