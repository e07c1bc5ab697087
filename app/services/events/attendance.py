"""Tickets and check-in; no-shows (recorded by the sweeper, computed by reads until then), and the
sign-up restrictions they lead to under the shared policy (app.services.restrictions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors, security
from app.deps import Principal
from app.kit import sweeper
from app.kit.dialect import skip_locked
from app.kit.time import display
from app.schemas.events import CheckInResult, RestrictionPublic, TicketPublic
from app.services import audit, restrictions
from app.services.events import errors as everr
from app.services.events.common import (
    NO_SYNC,
    REGISTRATION,
    SERVICE,
    R,
    as_announced_to,
    due_no_show,
    visible_event,
)
from app.services.events.notices import NO_SHOW
from app.services.events.settings import settings
from app.services.notifications.catalogue import notify_many
from models.accounts import User
from models.base import utcnow
from models.events import Event, EventRegistration


async def get_ticket(session: AsyncSession, *, actor: Principal, event_id: int) -> TicketPublic:
    ev, _ = await visible_event(session, event_id)
    now = clock.now()
    if ev.cancelled_at is not None:
        raise everr.Cancelled()
    reg = (await session.execute(
        select(R.id).where(R.event_id == event_id, R.user_id == actor.user_id, R.status == "confirmed")
    )).scalar_one_or_none()
    if reg is None or now >= ev.ends_at:
        raise everr.TicketUnavailable()
    ttl = max(ev.ends_at - now, timedelta(0)) + timedelta(hours=1)
    token = security.sign({"eid": event_id, "rid": reg}, "ticket", ttl=ttl)
    # Real time, not the clock: this is the signed token's expiry, checked by app.security.
    return TicketPublic(ticket=token, event_id=event_id, registration_id=reg, expires_at=utcnow() + ttl)


async def check_in(session: AsyncSession, *, actor: Principal, ev: Event, ticket: str) -> CheckInResult:
    """Scan a ticket at the entrance: once per registration; the badge number is handed out here.
    ``ev`` is the organiser's own event, locked for update: the event row is the lock that hands out
    badge numbers one by one (lock order: event first)."""
    try:
        claims = security.verify(ticket, "ticket")
    except errors.AppError:
        raise everr.TicketInvalid()
    if claims.get("eid") != ev.id:
        raise everr.TicketWrongEvent()
    reg_id = claims.get("rid")
    if not isinstance(reg_id, int):
        raise everr.TicketInvalid()
    now = clock.now()
    if ev.cancelled_at is not None:
        raise everr.Cancelled()
    opens = ev.starts_at - timedelta(minutes=settings().event_check_in_opens_minutes)
    if not opens <= now < ev.ends_at:
        raise everr.CheckInNotOpen(f"签到时间为{display(opens)}至活动结束")
    reg = (await session.execute(
        select(EventRegistration).where(R.id == reg_id, R.event_id == ev.id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if reg is None:
        raise everr.TicketInvalid()
    if reg.checked_in_at is not None:
        raise everr.AlreadyCheckedIn(f"该入场券已于{display(reg.checked_in_at)}签到，胸牌号 {reg.badge_number}")
    if reg.status != "confirmed":
        raise everr.TicketRevoked()
    ev.badges_issued += 1
    reg.badge_number, reg.checked_in_at, reg.checked_in_by = ev.badges_issued, now, actor.user_id
    await session.flush()
    await audit.record(session, actor=actor, action="event.check_in", target_kind=REGISTRATION,
                       target_id=reg.id, detail={"event_id": ev.id, "badge_number": reg.badge_number})
    person = (await session.execute(select(User.nickname, User.gender).where(User.id == reg.user_id))).one()
    return CheckInResult(registration_id=reg.id, badge_number=reg.badge_number, nickname=person.nickname,
                         gender=person.gender, checked_in_at=now)


# --- no-shows: the sweeper records them ----------------------------------------------------------


async def mark_no_shows(session: AsyncSession, *, now: datetime, event_ids: Sequence[int] | None = None,
                        limit: int | None = None) -> int:
    """Record the no-shows of ended events not processed yet (all, or ``event_ids``): every confirmed
    person who never checked in and who agreed to the event as it ran (signed up or was given the place
    after its last change of time or place) becomes a no-show, a strike under the shared policy, and is
    told. Idempotent and safe with several sweepers: each event is claimed once, concurrent sweepers
    take different events (SKIP LOCKED), and a strike exists once per registration. The strikes count
    from the event's end, so the restriction stored is the one reads computed meanwhile
    (``restriction_of``), however late the sweeper runs. Returns the events processed."""
    E = Event
    stmt = (select(E.id).where(E.ends_at <= now, E.no_shows_marked_at.is_(None), E.cancelled_at.is_(None))
            .order_by(E.ends_at, E.id))
    if event_ids is not None:
        stmt = stmt.where(E.id.in_(list(event_ids)))
    if limit is not None:
        stmt = stmt.limit(limit)
    done = 0
    for eid in (await session.execute(skip_locked(stmt, session))).scalars().all():
        ev = (await session.execute(
            update(E).where(E.id == eid, E.no_shows_marked_at.is_(None)).values(no_shows_marked_at=now)
            .returning(E.title, E.starts_at, E.ends_at, E.changed_at).execution_options(**NO_SYNC))).first()
        if ev is None:
            continue
        done += 1
        absent = update(R).where(R.event_id == eid, R.status == "confirmed", R.checked_in_at.is_(None),
                                 as_announced_to(ev))
        rows = dict((await session.execute(
            absent.values(status="no_show").returning(R.user_id, R.id).execution_options(**NO_SYNC))).all())
        if rows:
            notify_many(session, NO_SHOW, list(rows), data={"event_id": eid}, event=ev.title, starts_at=ev.starts_at)
            await restrictions.record_many(session, user_ids=rows, service=SERVICE, kind="no_show",
                                           source_kind=REGISTRATION, at=ev.starts_at, now=ev.ends_at)
    return done


@sweeper.job("events.mark_no_shows", every=60, batch=20)
async def sweep_no_shows(session: AsyncSession, now: datetime) -> int:
    """No-shows of events that ended."""
    return await mark_no_shows(session, now=now, limit=20)


# --- restrictions --------------------------------------------------------------------------------


async def pending_no_shows(session: AsyncSession, user_id: int, now: datetime) -> list[tuple[datetime, datetime]]:
    """The person's no-shows that are due and not recorded yet, as (strike moment, due moment)."""
    rows = (await session.execute(
        select(Event.starts_at, Event.ends_at).join(R, R.event_id == Event.id)
        .where(R.user_id == user_id, due_no_show(now)))).all()
    return [(r.starts_at, r.ends_at) for r in rows]


async def restriction_of(session: AsyncSession, user_id: int, now: datetime) -> restrictions.Current | None:
    """The person's events restriction, counting the no-shows the sweeper has not recorded yet."""
    return await restrictions.current_with(session, user_id, SERVICE, now,
                                           await pending_no_shows(session, user_id, now))


async def my_restriction(session: AsyncSession, *, actor: Principal) -> RestrictionPublic:
    found = await restriction_of(session, actor.user_id, clock.now())
    if found is None:
        return RestrictionPublic(restricted=False)
    return RestrictionPublic(restricted=True, until=found.until, reason=found.reason)


def refusal(found: restrictions.Current) -> errors.AppError:
    return everr.SignupRestricted(restrictions.message(found))
