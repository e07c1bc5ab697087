"""The person's own registrations, and cancelling: a freed place (and any other place standing free in
the quota) goes to the first people waiting in the same quota in the same transaction; giving up a place
after the cut-off counts as a late cancellation, unless the event's time or place changed after the
person signed up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.deps import Principal
from app.kit.dialect import advisory_lock
from app.kit.pagination import Key, Page, keyset
from app.schemas.events import MyRegistrationItem, RegistrationPublic
from app.services import restrictions
from app.services.events import errors as everr
from app.services.events.common import (
    NO_SYNC,
    PLACES,
    QUOTA_LOCK_CLASS,
    REGISTRATION,
    SERVICE,
    Q,
    R,
    cancel_deadline,
    held_as_announced,
    shown_status,
    visible_event,
)
from app.services.events.notices import PROMOTED
from app.services.notifications.catalogue import notify
from models.events import ACTIVE_STATUSES, Event, EventRegistration


async def my_registration(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    ev, _ = await visible_event(session, event_id)
    reg = (await session.execute(
        select(EventRegistration).where(R.event_id == event_id, R.user_id == actor.user_id)
        .order_by(R.id.desc()).limit(1))).scalar_one_or_none()
    if reg is None:
        raise everr.NotRegistered()
    return (await registration_views(session, [reg], {ev.id: ev}))[0]


async def my_registrations(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int
                           ) -> Page[MyRegistrationItem]:
    stmt = select(EventRegistration, Event).join(Event, Event.id == R.event_id).where(R.user_id == actor.user_id)
    page = await keyset(session, stmt, [Key("id", R.id, desc=True)], cursor=cursor, limit=limit,
                        tag="my-event-registrations")
    regs = [r[0] for r in page.rows]
    events = {r[1].id: r[1] for r in page.rows}
    views = await registration_views(session, regs, events)
    items = [MyRegistrationItem(**v.model_dump(), event_title=events[r.event_id].title,
                                event_starts_at=events[r.event_id].starts_at) for v, r in zip(views, regs, strict=True)]
    return Page(items=items, next_cursor=page.next_cursor)


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
    now = clock.now()
    out = []
    for r in regs:
        ev = events[r.event_id]
        out.append(RegistrationPublic(
            id=r.id, event_id=r.event_id, status=shown_status(r, ev, now), quota_key=r.quota_key,
            waitlist_position=positions.get(r.id), badge_number=r.badge_number, created_at=r.created_at,
            promoted_at=r.promoted_at, cancelled_at=r.cancelled_at, late_cancel=r.late_cancel,
            checked_in_at=r.checked_in_at, cancel_deadline=cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours),
        ))
    return out


async def cancel_registration(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    """Give up a place or leave the waitlist. Every place then free in the quota — the one given up, and
    any left empty otherwise — goes to the first people waiting in it, in this transaction. Later than the
    cut-off, giving up a place counts as a late cancellation (a strike under the shared policy)."""
    now = clock.now()
    found = (await session.execute(
        select(R.id, Q.id.label("quota_id"))
        .join(Q, and_(Q.event_id == R.event_id, Q.quota_key == R.quota_key))
        .where(R.event_id == event_id, R.user_id == actor.user_id, R.status.in_(ACTIVE_STATUSES)))).first()
    if found is None:
        raise everr.NotRegistered()
    ev = await session.get(Event, event_id)
    assert ev is not None
    if now >= ev.starts_at:
        raise everr.AlreadyStarted()
    quota_id = found.quota_id
    await advisory_lock(session, QUOTA_LOCK_CLASS, quota_id)
    reg = (await session.execute(
        select(EventRegistration).where(R.id == found.id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one()
    if reg.status not in ACTIVE_STATUSES:  # a concurrent request of the same person got there first
        raise everr.NotRegistered()
    held_place = reg.status == "confirmed"
    reg.status, reg.cancelled_at = "cancelled", now
    deadline = cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours)
    # Someone promoted after the cut-off did not choose the short notice, and someone who signed up
    # before the time or place changed did not agree to the event as it is now: both step back freely.
    late = (held_place and now > deadline and not (reg.promoted_at is not None and reg.promoted_at > deadline)
            and held_as_announced(reg, ev))
    reg.late_cancel = late
    await session.flush()
    # Every place standing free goes to the people waiting, not only the one given up here: whatever
    # left a place empty while people wait (a fault, a repair by hand) mends itself at the next change.
    # The counter row is locked, so fast-path sign-ups cannot take a counted place underneath.
    held = int(held_place)
    capacity, taken = (await session.execute(
        select(Q.capacity, Q.taken).where(Q.id == quota_id).with_for_update())).one()
    free = capacity - taken + held
    promoted = await promote(session, ev, reg.quota_key, free, now) if free > 0 else []
    change = len(promoted) - held
    if change > 0:
        await PLACES.take(session, quota_id, change)
    elif change < 0:
        await PLACES.release(session, quota_id, -change)
    if late:
        await restrictions.record(session, user_id=actor.user_id, service=SERVICE, kind="late_cancel",
                                  source_kind=REGISTRATION, source_id=reg.id, at=now, now=now)
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
        notify(session, PROMOTED, r.user_id, data={"event_id": ev.id, "registration_id": r.id},
               event=ev.title, starts_at=ev.starts_at, venue=ev.venue_name)
