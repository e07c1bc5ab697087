"""Signing up into a quota (confirmed or waitlisted), the person's own registrations, and cancelling
with promotion from the waitlist. The package docstring explains how places stay correct in a rush."""

from __future__ import annotations

import asyncio
import time as _time
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, literal, select, update
from sqlalchemy import event as sa_event
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors, ratelimit, security
from app.config import get_settings
from app.db import insert_for, is_postgres
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.events import (
    MyRegistrationItem,
    RegistrationPublic,
)
from app.services import notifications
from app.services.events import clock
from app.services.events.attendance import apply_strikes, mark_if_ended, mark_no_shows
from app.services.events.common import (
    NO_SYNC,
    QUOTA_LOCK_CLASS,
    Q,
    R,
    cancel_deadline,
    local,
    visible_event,
)
from app.validators import SHANGHAI, age_on
from models.accounts import User
from models.base import utcnow
from models.events import ACTIVE_STATUSES, Event, EventRegistration, EventRestriction

_NOT_SINGLE = ("married",)


async def limit_signups(authorization: str | None) -> None:
    """Per-person sign-up rate limit. Runs before the request's own session touches the database, so
    that a rush never holds two pooled connections per request."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return
    try:
        user_id = int(security.decode_access_token(authorization[7:].strip())["sub"])
    except (errors.AppError, KeyError, ValueError):
        return  # the authentication dependency answers for a bad token
    await ratelimit.hit(f"event_signup:{user_id}", limit=get_settings().event_signup_per_minute, window_seconds=60)


@dataclass(frozen=True, slots=True)
class _EventRules:
    """The parts of an event a sign-up is decided on (never its places: those come from the database)."""

    id: int
    status: str
    hidden: bool
    cancelled: bool
    opens: datetime
    closes: datetime
    starts: datetime
    cutoff_hours: int
    min_age: int
    max_age: int
    require_single: bool
    require_real_name: bool
    gendered: bool


_RULES_TTL_SECONDS = 1.0


_rules_cache: dict[int, tuple[float, _EventRules]] = {}


async def _event_rules(session: AsyncSession, event_id: int, *, fresh: bool = False) -> tuple[_EventRules | None,
                                                                                           bool]:
    """The event's sign-up rules and whether they came from this process's one-second cache. Only live
    events are cached; a refusal based on cached rules is re-checked against a fresh read."""
    hit = None if fresh else _rules_cache.get(event_id)
    if hit is not None and _time.monotonic() - hit[0] < _RULES_TTL_SECONDS:
        return hit[1], True
    row = (await session.execute(
        select(Event.status, Event.hidden_by_reports, Event.cancelled_at, Event.signup_opens_at,
               Event.signup_closes_at, Event.starts_at, Event.cancel_cutoff_hours, Event.min_age, Event.max_age,
               Event.require_single, Event.require_real_name, Event.quota_male).where(Event.id == event_id))).first()
    if row is None:
        _rules_cache.pop(event_id, None)
        return None, False
    rules = _EventRules(event_id, row[0], row[1], row[2] is not None, *row[3:11], row[11] is not None)
    if rules.status == "published" and not rules.hidden and not rules.cancelled:
        if len(_rules_cache) > 10_000:
            _rules_cache.clear()
        _rules_cache[event_id] = (_time.monotonic(), rules)
    else:
        _rules_cache.pop(event_id, None)
    return rules, False


def forget_rules(event_id: int) -> None:
    _rules_cache.pop(event_id, None)


@dataclass(frozen=True, slots=True)
class _Person:
    birth_date: date | None
    gender: str | None
    marital_status: str | None
    real_name_verified: bool
    restricted_until: datetime | None
    restricted_reason: str | None
    quota_id: int | None
    capacity: int
    taken: int
    quota_open: bool
    existing_id: int | None
    pending_no_shows: bool


async def _person(session: AsyncSession, rules: _EventRules, user_id: int, now: datetime) -> _Person:
    """In one round trip: the person, their restriction, their quota's counter (read without a lock),
    the registration they already hold for this event, and whether one of their confirmed places is at
    an event that ended without its no-shows recorded yet."""
    key = User.gender if rules.gendered else literal("all")
    existing = (select(R.id).where(R.event_id == rules.id, R.user_id == User.id, R.status.in_(ACTIVE_STATUSES))
                .scalar_subquery())
    pending = (exists().where(R.user_id == User.id, R.status == "confirmed", R.checked_in_at.is_(None),
                              Event.id == R.event_id, Event.ends_at <= now, Event.no_shows_marked_at.is_(None),
                              Event.cancelled_at.is_(None)))
    row = (await session.execute(
        select(User.birth_date, User.gender, User.marital_status, User.real_name, User.id_number_hash,
               EventRestriction.until, EventRestriction.reason, Q.id, Q.capacity, Q.taken, Q.open,
               existing, pending)
        .outerjoin(EventRestriction, EventRestriction.user_id == User.id)
        .outerjoin(Q, and_(Q.event_id == rules.id, Q.quota_key == key))
        .where(User.id == user_id))).one()
    return _Person(row[0], row[1], row[2], bool(row[3] and row[4]), row[5], row[6], row[7], row[8] or 0,
                   row[9] or 0, bool(row[10]), row[11], bool(row[12]))


def _check_event(rules: _EventRules | None, now: datetime) -> _EventRules:
    if rules is None or rules.status not in ("published", "closed") or rules.hidden:
        raise errors.NotFound()
    if rules.cancelled:
        raise errors.EventCancelled()
    if now < rules.opens:
        raise errors.EventSignupNotOpen(f"报名将于{local(rules.opens)}开始")
    if now >= rules.closes or rules.status != "published":
        raise errors.EventSignupClosed()
    return rules


def _check_person(rules: _EventRules, who: _Person, now: datetime) -> None:
    if who.restricted_until is not None and who.restricted_until > now:
        raise errors.EventSignupRestricted(f"{who.restricted_reason}（{local(who.restricted_until)}后可再报名）")
    if rules.require_real_name and not who.real_name_verified:
        raise errors.EventProfileRequired("本活动需要实名报名，请先在个人资料中完成实名认证",
                                          fields={"real_name": "请完成实名认证"})
    if who.birth_date is None:
        raise errors.EventProfileRequired("报名前请在个人资料中填写身份证号，以核验年龄",
                                          fields={"id_number": "请填写身份证号"})
    if rules.gendered and who.gender not in ("male", "female"):
        raise errors.EventProfileRequired("本活动按性别分配名额，请先在个人资料中填写性别",
                                          fields={"gender": "请填写性别"})
    age = age_on(who.birth_date, rules.starts.astimezone(SHANGHAI).date())
    if not rules.min_age <= age <= rules.max_age:
        raise errors.EventAgeIneligible(f"本活动面向{rules.min_age}–{rules.max_age}岁的青年")
    if rules.require_single:
        if who.marital_status is None:
            raise errors.EventSingleRequired("本活动仅限单身青年报名，请先在个人资料中填写婚姻状况",
                                             fields={"marital_status": "请填写婚姻状况"})
        if who.marital_status in _NOT_SINGLE:
            raise errors.EventSingleRequired()


async def sign_up(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    """Confirm a place in the person's quota, or put them on its waitlist. A person who already holds
    (or waits for) a place gets that registration back."""
    now = clock.now()
    rules, cached = await _event_rules(session, event_id)
    if rules is None:
        raise errors.NotFound()
    who = await _person(session, rules, actor.user_id, now)
    if who.existing_id is not None:
        return await _registration_view_by_id(session, who.existing_id)
    try:
        _check_event(rules, now)
    except errors.AppError:
        if not cached:
            raise
        rules = _check_event((await _event_rules(session, event_id, fresh=True))[0], now)
    if who.pending_no_shows:
        # No-shows of past events count for this decision even if nobody has recorded them yet.
        await mark_no_shows(session, user_id=actor.user_id, now=now)
        who = await _person(session, rules, actor.user_id, now)
    _check_person(rules, who, now)
    if who.quota_id is None:  # the quotas were changed under a cached rule set; nothing to count against
        raise errors.Conflict("活动名额设置刚刚有变化，请刷新后重试")
    if not who.quota_open:
        raise errors.EventCancelled()
    quota_key = who.gender if rules.gendered else "all"
    pg = is_postgres(session)
    values = {"event_id": event_id, "user_id": actor.user_id, "quota_key": quota_key, "created_at": utcnow()}
    deadline = cancel_deadline(rules.starts, rules.cutoff_hours)

    status = None
    if who.taken < who.capacity:
        gate = await _Gate.enter(session, who.quota_id) if pg else None
        reg_id = await _insert_registration(session, values, "confirmed")
        if reg_id is None:
            if gate:
                gate.release()
            return await _existing_registration(session, event_id, actor.user_id)
        if await _take_place(session, who.quota_id):
            return _fresh_view(reg_id, values, "confirmed", None, deadline)
        if gate:
            gate.release()  # a conditional UPDATE that matched nothing holds no row lock
        status = "confirmed"
    else:
        reg_id = await _insert_registration(session, values, "waitlisted")
        if reg_id is None:
            return await _existing_registration(session, event_id, actor.user_id)
        status = "waitlisted"

    # The quota looked full. Decide under the shared quota lock (see the module docstring).
    if pg:
        await session.execute(select(func.pg_advisory_xact_lock_shared(QUOTA_LOCK_CLASS, who.quota_id)))
    ahead = (select(func.count()).select_from(R)
             .where(R.event_id == event_id, R.quota_key == quota_key, R.status == "waitlisted", R.id < reg_id)
             .scalar_subquery())
    taken, capacity, quota_open, waiting_ahead = (await session.execute(
        select(Q.taken, Q.capacity, Q.open, ahead).where(Q.id == who.quota_id))).one()
    if not quota_open:
        raise errors.EventCancelled()
    final = "confirmed" if taken < capacity and await _take_place(session, who.quota_id) else "waitlisted"
    if final != status:
        await session.execute(update(R).where(R.id == reg_id).values(status=final).execution_options(**NO_SYNC))
    return _fresh_view(reg_id, values, final, waiting_ahead + 1 if final == "waitlisted" else None, deadline)


async def _insert_registration(session: AsyncSession, values: dict[str, Any], status: str) -> int | None:
    """The new registration's id, or None when the person already holds an active one."""
    insert = insert_for(session)
    stmt = insert(EventRegistration).values(**values, status=status).on_conflict_do_nothing().returning(R.id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _take_place(session: AsyncSession, quota_id: int) -> bool:
    stmt = (update(Q).where(Q.id == quota_id, Q.taken < Q.capacity, Q.open.is_(True))
            .values(taken=Q.taken + 1).returning(Q.taken).execution_options(**NO_SYNC))
    return (await session.execute(stmt)).first() is not None


async def _existing_registration(session: AsyncSession, event_id: int, user_id: int) -> RegistrationPublic:
    reg_id = (await session.execute(
        select(R.id).where(R.event_id == event_id, R.user_id == user_id, R.status.in_(ACTIVE_STATUSES))
    )).scalar_one_or_none()
    if reg_id is None:  # the other request rolled back after all; the client may simply retry
        raise errors.Conflict("报名请求冲突，请重试")
    return await _registration_view_by_id(session, reg_id)


def _fresh_view(reg_id: int, values: dict[str, Any], status: str, position: int | None, deadline: datetime
                ) -> RegistrationPublic:
    return RegistrationPublic(id=reg_id, event_id=values["event_id"], status=status, quota_key=values["quota_key"],
                              waitlist_position=position, created_at=values["created_at"], cancel_deadline=deadline)


class _Gate:
    """Bounds how many transactions of this process wait on one quota's counter row at once. A slot
    is held until the transaction ends, because the row lock is held until then."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
        weakref.WeakKeyDictionary())

    def __init__(self, sem: asyncio.Semaphore) -> None:
        self._sem: asyncio.Semaphore | None = sem

    @classmethod
    async def enter(cls, session: AsyncSession, quota_id: int) -> _Gate:
        gates = cls._by_loop.setdefault(asyncio.get_running_loop(), {})
        sem = gates.get(quota_id)
        if sem is None:
            sem = gates[quota_id] = asyncio.Semaphore(max(1, get_settings().event_signup_gate))
        await sem.acquire()
        gate = cls(sem)

        def on_end(_session: Any, transaction: Any) -> None:
            if transaction.parent is None:
                gate.release()

        sa_event.listen(session.sync_session, "after_transaction_end", on_end)
        return gate

    def release(self) -> None:
        if self._sem is not None:
            sem, self._sem = self._sem, None
            sem.release()


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
        stmt = stmt.where(R.id < int(after["id"]))
    regs = list((await session.execute(stmt)).scalars())
    page = regs[:limit]
    events = {e.id: e for e in (await session.execute(
        select(Event).where(Event.id.in_({r.event_id for r in page})))).scalars()}
    views = await registration_views(session, page, events)
    items = [MyRegistrationItem(**v.model_dump(), event_title=events[r.event_id].title,
                                event_starts_at=events[r.event_id].starts_at) for v, r in zip(views, page, strict=True)]
    nxt = encode_cursor({"id": page[-1].id}) if len(regs) > limit else None
    return Page(items=items, next_cursor=nxt)


async def _registration_view_by_id(session: AsyncSession, reg_id: int) -> RegistrationPublic:
    reg = await session.get(EventRegistration, reg_id)
    ev = await session.get(Event, reg.event_id)
    return (await registration_views(session, [reg], {ev.id: ev}))[0]


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
    """Give up a place or leave the waitlist. A freed place goes to the first person waiting in the same
    quota, in this transaction. Later than the cut-off, giving up a place counts as a late cancellation."""
    now = clock.now()
    found = (await session.execute(
        select(R.id, R.quota_key).where(R.event_id == event_id, R.user_id == actor.user_id,
                                        R.status.in_(ACTIVE_STATUSES)))).first()
    if found is None:
        raise errors.EventNotRegistered()
    ev = await session.get(Event, event_id)
    if now >= ev.starts_at:
        raise errors.EventAlreadyStarted()
    quota_id = (await session.execute(
        select(Q.id).where(Q.event_id == event_id, Q.quota_key == found.quota_key))).scalar_one()
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
    if held_place and not await promote(session, ev, reg.quota_key, 1, now):
        await session.execute(update(Q).where(Q.id == quota_id).values(taken=Q.taken - 1)
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
    if not rows:
        return []
    await session.execute(update(R).where(R.id.in_([r.id for r in rows]))
                          .values(status="confirmed", promoted_at=now).execution_options(**NO_SYNC))
    for r in rows:
        notifications.notify(
            session, user_id=r.user_id, kind="event.promoted", title="候补成功，您获得了活动名额",
            body=f"您候补的「{ev.title}」有了空位，已为您确认报名。活动时间：{local(ev.starts_at)}，"
                 f"地点：{ev.venue_name}。如不能参加请及时取消报名。",
            data={"event_id": ev.id, "registration_id": r.id})
    return [r.user_id for r in rows]
