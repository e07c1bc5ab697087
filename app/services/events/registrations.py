"""The person's own registrations, and cancelling: a freed place (and any other place standing free in
the quota) goes to the first people waiting in the same quota in the same transaction; giving up a place
after the cut-off counts as a late cancellation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit.dialect import is_postgres
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.events import MyRegistrationItem, RegistrationPublic
from app.services import notifications
from app.services.events.attendance import apply_strikes, mark_if_ended, mark_no_shows
from app.services.events.common import (
    NO_SYNC,
    QUOTA_LOCK_CLASS,
    Q,
    R,
    cancel_deadline,
    cursor_id,
    local,
    visible_event,
)
from models.events import ACTIVE_STATUSES, Event, EventRegistration


async def my_registration(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    ev, _ = await visible_event(session, event_id)
    await mark_if_ended(session, ev)
    reg = (await session.execute(
        select(EventRegistration).where(R.event_id == event_id, R.user_id == actor.user_id)
        .order_by(R.id.desc()).limit(1))).scalar_one_or_none()
    if reg is None:
        raise errors.EventNotRegistered()
    return (await registration_views(session, [reg], {ev.id: ev}))[0]


async def my_registrations(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int
                           ) -> Page[MyRegistrationItem]:
    await mark_no_shows(session, user_id=actor.user_id)
    stmt = (select(EventRegistration).where(R.user_id == actor.user_id).order_by(R.id.desc()).limit(limit + 1))
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(R.id < cursor_id(after["id"]))
    regs = list((await session.execute(stmt)).scalars())
    page = regs[:limit]
    events = {e.id: e for e in (await session.execute(
        select(Event).where(Event.id.in_({r.event_id for r in page})))).scalars()}
    views = await registration_views(session, page, events)
    items = [MyRegistrationItem(**v.model_dump(), event_title=events[r.event_id].title,
                                event_starts_at=events[r.event_id].starts_at) for v, r in zip(views, page, strict=True)]
    nxt = encode_cursor({"id": page[-1].id}) if len(regs) > limit else None
    return Page(items=items, next_cursor=nxt)


async def registration_views(session: AsyncSession, regs: list[EventRegistration], events: dict[int, Event]
                              ) -> list[RegistrationPublic]:
    positions: dict[int, int] = {}
    waiting = [r for r in regs if r.status == "waitlisted"]
    if waiting:
        ranked = (select(R.id, func.row_number().over(partition_by=(R.event_id, R.quota_key), order_by=R.id)
                         .label("pos"))
                  .where(R.event_id.in_({r.event_id for r in waiting}), R.status == "waitlisted").subquery())
        wanted = [r.id for r in waiting]
        positions = dict((await session.execute(
            select(ranked.c.id, ranked.c.pos).where(ranked.c.id.in_(wanted)))).all())
    out = []
    for r in regs:
        ev = events[r.event_id]
        out.append(RegistrationPublic(
            id=r.id, event_id=r.event_id, status=r.status, quota_key=r.quota_key,
            waitlist_position=positions.get(r.id), badge_number=r.badge_number, created_at=r.created_at,
            promoted_at=r.promoted_at, cancelled_at=r.cancelled_at, late_cancel=r.late_cancel,
            checked_in_at=r.checked_in_at, cancel_deadline=cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours),
        ))
    return out


async def cancel_registration(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    """Give up a place or leave the waitlist. Every place then free in the quota — the one given up, and
    any left empty otherwise — goes to the first people waiting in it, in this transaction. Later than the
    cut-off, giving up a place counts as a late cancellation."""
    now = clock.now()
    found = (await session.execute(
        select(R.id, Q.id.label("quota_id"))
        .join(Q, and_(Q.event_id == R.event_id, Q.quota_key == R.quota_key))
        .where(R.event_id == event_id, R.user_id == actor.user_id, R.status.in_(ACTIVE_STATUSES)))).first()
    if found is None:
        raise errors.EventNotRegistered()
    ev = await session.get(Event, event_id)
    if now >= ev.starts_at:
        raise errors.EventAlreadyStarted()
    quota_id = found.quota_id
    if is_postgres(session):
        await session.execute(select(func.pg_advisory_xact_lock(QUOTA_LOCK_CLASS, quota_id)))
    reg = (await session.execute(
        select(EventRegistration).where(R.id == found.id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one()
    if reg.status not in ACTIVE_STATUSES:  # a concurrent request of the same person got there first
        raise errors.EventNotRegistered()
    held_place = reg.status == "confirmed"
    reg.status, reg.cancelled_at = "cancelled", now
    deadline = cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours)
    # Someone promoted after the cut-off did not choose the short notice; they may still step back freely.
    late = held_place and now > deadline and not (reg.promoted_at is not None and reg.promoted_at > deadline)
    if late:
        reg.late_cancel, reg.strike_at = True, now
    await session.flush()
    # Every place standing free goes to the people waiting, not only the one given up here: whatever
    # left a place empty while people wait (a fault, a repair by hand) mends itself at the next change.
    # The counter row is locked, so fast-path sign-ups cannot take a counted place underneath.
    held = int(held_place)
    capacity, taken = (await session.execute(
        select(Q.capacity, Q.taken).where(Q.id == quota_id).with_for_update())).one()
    free = capacity - taken + held
    promoted = await promote(session, ev, reg.quota_key, free, now) if free > 0 else []
    if len(promoted) != held:
        await session.execute(update(Q).where(Q.id == quota_id).values(taken=Q.taken + len(promoted) - held)
                              .execution_options(**NO_SYNC))
    if late:
        await apply_strikes(session, [actor.user_id], now)
    return (await registration_views(session, [reg], {ev.id: ev}))[0]


async def promote(session: AsyncSession, ev: Event, quota_key: str, count: int, now: datetime) -> list[int]:
    """Confirm the first ``count`` people waiting in the quota; the caller accounts for the places.
    Must run under the quota's exclusive lock, so that no waitlist entry is still in flight."""
    rows = (await session.execute(
        select(R.id, R.user_id).where(R.event_id == ev.id, R.quota_key == quota_key, R.status == "waitlisted")
        .order_by(R.id).limit(count).with_for_update(skip_locked=True))).all()
    await confirm_promoted(session, ev, rows, now)
    return [r.user_id for r in rows]


async def confirm_promoted(session: AsyncSession, ev: Event, rows: Sequence[Any], now: datetime) -> None:
    """Confirm these waitlisted registrations (``id``, ``user_id``; locked by the caller, whose counter
    already holds their places) and tell each person."""
    if not rows:
        return
    await session.execute(update(R).where(R.id.in_([r.id for r in rows]))
                          .values(status="confirmed", promoted_at=now).execution_options(**NO_SYNC))
    for r in rows:
        notifications.notify(
            session, user_id=r.user_id, kind="event.promoted", title="候补成功，您获得了活动名额",
            body=f"您候补的「{ev.title}」有了空位，已为您确认报名。活动时间：{local(ev.starts_at)}，"
                 f"地点：{ev.venue_name}。如不能参加请及时取消报名。",
            data={"event_id": ev.id, "registration_id": r.id})
