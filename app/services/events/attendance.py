"""Tickets and check-in; no-shows, late cancellations and the sign-up restrictions they lead to."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors, security
from app.config import get_settings
from app.deps import Principal
from app.kit import postings
from app.kit.dialect import insert_for
from app.schemas.events import (
    CheckInResult,
    RestrictionPublic,
    TicketPublic,
)
from app.services import audit, notifications
from app.services.events.common import (
    KIND,
    NO_SYNC,
    R,
    local,
    visible_event,
)
from models.accounts import User
from models.base import utcnow
from models.events import Event, EventRegistration, EventRestriction


async def get_ticket(session: AsyncSession, *, actor: Principal, event_id: int) -> TicketPublic:
    ev, _ = await visible_event(session, event_id)
    now = clock.now()
    if ev.cancelled_at is not None:
        raise errors.EventCancelled()
    reg = (await session.execute(
        select(R.id).where(R.event_id == event_id, R.user_id == actor.user_id, R.status == "confirmed")
    )).scalar_one_or_none()
    if reg is None or now >= ev.ends_at:
        raise errors.EventTicketUnavailable()
    ttl = max(ev.ends_at - now, timedelta(0)) + timedelta(hours=1)
    token = security.sign({"eid": event_id, "rid": reg}, "ticket", ttl=ttl)
    # Real time, not the clock: this is the signed token's expiry, checked by app.security.
    return TicketPublic(ticket=token, event_id=event_id, registration_id=reg, expires_at=utcnow() + ttl)


async def check_in(session: AsyncSession, *, actor: Principal, event_id: int, ticket: str) -> CheckInResult:
    """Scan a ticket at the entrance: once per registration; the badge number is handed out here."""
    postings.require_org_kind(actor, KIND)
    # The event row is the lock that hands out badge numbers one by one (lock order: event first).
    ev = await postings.load_own(session, actor, KIND, event_id, for_update=True)
    try:
        claims = security.verify(ticket, "ticket")
    except errors.AppError:
        raise errors.EventTicketInvalid()
    if claims.get("eid") != event_id:
        raise errors.EventTicketWrongEvent()
    reg_id = claims.get("rid")
    if not isinstance(reg_id, int):
        raise errors.EventTicketInvalid()
    now = clock.now()
    if ev.cancelled_at is not None:
        raise errors.EventCancelled()
    opens = ev.starts_at - timedelta(minutes=get_settings().event_check_in_opens_minutes)
    if not opens <= now < ev.ends_at:
        raise errors.EventCheckInNotOpen(f"签到时间为{local(opens)}至活动结束")
    reg = (await session.execute(
        select(EventRegistration).where(R.id == reg_id, R.event_id == event_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if reg is None:
        raise errors.EventTicketInvalid()
    if reg.checked_in_at is not None:
        raise errors.EventAlreadyCheckedIn(
            f"该入场券已于{local(reg.checked_in_at)}签到，胸牌号 {reg.badge_number}")
    if reg.status != "confirmed":
        raise errors.EventTicketRevoked()
    ev.badges_issued += 1
    reg.badge_number, reg.checked_in_at, reg.checked_in_by = ev.badges_issued, now, actor.user_id
    await session.flush()
    await audit.record(session, actor=actor, action="event.check_in", target_kind="event_registration",
                       target_id=reg.id, detail={"event_id": event_id, "badge_number": reg.badge_number})
    person = (await session.execute(select(User.nickname, User.gender).where(User.id == reg.user_id))).one()
    return CheckInResult(registration_id=reg.id, badge_number=reg.badge_number, nickname=person.nickname,
                         gender=person.gender, checked_in_at=now)


async def mark_no_shows(session: AsyncSession, *, event_id: int | None = None, user_id: int | None = None,
                        now: datetime | None = None) -> int:
    """Record confirmed people who never checked in as no-shows, for every ended event not yet
    processed (one event, or the events one person is concerned by). Safe to call from anywhere and
    concurrently: each event is claimed once. Returns how many no-shows were recorded. ``now``: the
    instant of the calling rule (sign-up passes its own), else the clock."""
    now = now or clock.now()
    stmt = select(Event.id).where(Event.ends_at <= now, Event.no_shows_marked_at.is_(None),
                                  Event.cancelled_at.is_(None))
    if event_id is not None:
        stmt = stmt.where(Event.id == event_id)
    if user_id is not None:
        stmt = stmt.where(Event.id.in_(select(R.event_id).where(R.user_id == user_id, R.status == "confirmed",
                                                                R.checked_in_at.is_(None))))
    total = 0
    for eid in (await session.execute(stmt.order_by(Event.id))).scalars().all():
        claimed = (await session.execute(
            update(Event).where(Event.id == eid, Event.no_shows_marked_at.is_(None))
            .values(no_shows_marked_at=now).returning(Event.title, Event.starts_at)
            .execution_options(**NO_SYNC))).first()
        if claimed is None:
            continue
        rows = (await session.execute(
            update(R).where(R.event_id == eid, R.status == "confirmed", R.checked_in_at.is_(None))
            .values(status="no_show", strike_at=claimed.starts_at).returning(R.user_id)
            .execution_options(**NO_SYNC))).scalars().all()
        notifications.notify_many(
            session, user_ids=list(rows), kind="event.no_show", title="活动签到记录：未到场",
            body=f"您报名了「{claimed.title}」（{local(claimed.starts_at)}）但没有签到，已记为一次爽约。"
                 f"多次爽约将暂时不能报名新的活动。",
            data={"event_id": eid})
        if rows:
            await apply_strikes(session, list(rows), now)
        total += len(rows)
    return total


async def mark_if_ended(session: AsyncSession, ev: Event) -> None:
    if ev.no_shows_marked_at is None and ev.cancelled_at is None and ev.ends_at <= clock.now():
        await mark_no_shows(session, event_id=ev.id)
        await session.refresh(ev)


async def apply_strikes(session: AsyncSession, user_ids: list[int], now: datetime) -> None:
    """Restrict the people whose unused strikes within the window reached the threshold."""
    s = get_settings()
    since = now - timedelta(days=s.event_strike_window_days)
    rows = (await session.execute(
        select(R.user_id, func.count(), func.max(R.strike_at))
        .outerjoin(EventRestriction, EventRestriction.user_id == R.user_id)
        .where(R.user_id.in_(set(user_ids)), R.strike_at.is_not(None), R.strike_at >= since,
               or_(EventRestriction.since.is_(None), R.strike_at > EventRestriction.since))
        .group_by(R.user_id))).all()
    insert = insert_for(session)
    for uid, strikes, last in rows:
        if strikes < s.event_strike_threshold:
            continue
        until = now + timedelta(days=s.event_restriction_days)
        reason = (f"{s.event_strike_window_days}天内有{strikes}次爽约或临时取消报名，"
                  f"{s.event_restriction_days}天内不能报名新的活动")
        stmt = insert(EventRestriction).values(user_id=uid, since=last, until=until, reason=reason, created_at=now)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[EventRestriction.user_id],
            set_={"since": stmt.excluded.since, "until": stmt.excluded.until, "reason": stmt.excluded.reason,
                  "created_at": stmt.excluded.created_at}))
        notifications.notify(session, user_id=uid, kind="event.restricted", title="活动报名已暂停",
                             body=f"{reason}（{local(until)}后恢复）。", data={"until": until.isoformat()})


async def my_restriction(session: AsyncSession, *, actor: Principal) -> RestrictionPublic:
    await mark_no_shows(session, user_id=actor.user_id)
    row = await session.get(EventRestriction, actor.user_id, populate_existing=True)
    if row is None or row.until <= clock.now():
        return RestrictionPublic(restricted=False)
    return RestrictionPublic(restricted=True, until=row.until, reason=row.reason)
