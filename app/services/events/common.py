"""What the modules of the events service share: the posting kind, the place counter, time rules,
quota locking, and the no-show that is due but not recorded yet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.kit import postings
from app.kit.capacity import Counter
from app.kit.dialect import LOCK_EVENT_QUOTA, advisory_lock
from app.kit.postings import PostingKind
from models.events import Event, EventQuota, EventRegistration
from models.orgs import Organisation

KIND = postings.register(PostingKind(
    kind="event", model=Event, org_kinds=("event_organizer",), title_field="title",
    text_fields=("title", "description", "venue_name", "venue_address"), label="活动", shown_after_close=True,
    interactions=lambda user_id: select(EventRegistration.event_id).where(EventRegistration.user_id == user_id),
))

R = EventRegistration
Q = EventQuota
SERVICE = "events"  # in the shared restriction record (app.services.restrictions)
REGISTRATION = "event_registration"  # strikes' source kind
# A confirmed place is taken from a quota's counter only while the quota is open (not cancelled).
PLACES = Counter(EventQuota, when=lambda t: (t.c.open.is_(True),))
# First key of the two-int advisory locks taken on quota rows (the second is the quota id).
QUOTA_LOCK_CLASS = LOCK_EVENT_QUOTA
# Bulk UPDATEs here never touch objects loaded in the same session, so skip syncing the identity map.
NO_SYNC = {"synchronize_session": False}


# --- no-shows: recorded by the sweeper, computed by reads until then --------------------------------


def as_announced(reg: Any = R, ev: Any = Event) -> Any:
    """SQL: the registration was made (or given its place) after the event's last change of time or
    place, i.e. the person agreed to the event as it ran. ``reg``/``ev`` may be tables or aliases."""
    held_since = func.coalesce(reg.promoted_at, reg.created_at)
    return or_(ev.changed_at.is_(None), held_since >= ev.changed_at)


def due_no_show(now: datetime, reg: Any = R, ev: Any = Event) -> Any:
    """SQL: a no-show that is due and that the sweeper has not recorded yet (reg joined to its event)."""
    return and_(reg.status == "confirmed", reg.checked_in_at.is_(None), ev.ends_at <= now,
                ev.no_shows_marked_at.is_(None), ev.cancelled_at.is_(None), as_announced(reg, ev))


def as_announced_to(ev: Event) -> Any:
    """SQL over the registrations of the one event ``ev``: ``as_announced`` with its values bound."""
    if ev.changed_at is None:
        return true()
    return func.coalesce(R.promoted_at, R.created_at) >= ev.changed_at


def held_as_announced(reg: EventRegistration, ev: Event) -> bool:
    held_since = reg.promoted_at or reg.created_at
    return ev.changed_at is None or held_since >= ev.changed_at


def shown_status(reg: EventRegistration, ev: Event, now: datetime) -> str:
    """The registration's status as it is, with a due no-show shown before the sweeper records it."""
    if (reg.status == "confirmed" and reg.checked_in_at is None and ev.ends_at <= now
            and ev.no_shows_marked_at is None and ev.cancelled_at is None and held_as_announced(reg, ev)):
        return "no_show"
    return reg.status


def no_shows_due(ev: Event, now: datetime) -> bool:
    return ev.ends_at <= now and ev.no_shows_marked_at is None and ev.cancelled_at is None


# --- time rules ------------------------------------------------------------------------------------


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
    for qid in ids:
        await advisory_lock(session, QUOTA_LOCK_CLASS, qid)
    stmt = select(EventQuota).where(Q.event_id == event_id).order_by(Q.id).with_for_update()
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())
