"""Signing up into a quota: confirmed, or waitlisted with a position. The package docstring explains how
places stay correct in a rush; this module is also the hot path of that rush, so its statements are
built once (Core, bound parameters) and run on the session's connection, a handful per request."""

from __future__ import annotations

import asyncio
import time as _time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, bindparam, case, exists, func, literal, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal, youth_of
from app.idempotency import Idempotency
from app.kit import ratelimit
from app.kit.dialect import insert_for
from app.kit.time import display, local_day
from app.schemas.events import RegistrationPublic
from app.services import restrictions
from app.services.events import errors as everr
from app.services.events.attendance import restriction_of
from app.services.events.common import KIND, PLACES, QUOTA_LOCK_CLASS, SERVICE, as_announced, cancel_deadline
from app.services.events.registrations import confirm_promoted
from app.services.events.settings import settings
from app.validators import age_on
from models.accounts import User
from models.base import utcnow
from models.events import ACTIVE_STATUSES, Event, EventQuota, EventRegistration
from models.restrictions import Restriction

_NOT_SINGLE = ("married",)
_users, _events = User.__table__, Event.__table__
_quotas, _regs, _restrictions = EventQuota.__table__, EventRegistration.__table__, Restriction.__table__


# Per person; counted before the request's session touches the database (app.kit.ratelimit).
SIGNUP_LIMIT = ratelimit.bucket("event_signup", "10/60", description="活动报名，每人")


# --- statements, built once ---------------------------------------------------------------------------

_RULES = select(
    _events.c.status, _events.c.hidden_by_reports, _events.c.cancelled_at, _events.c.signup_opens_at,
    _events.c.signup_closes_at, _events.c.starts_at, _events.c.cancel_cutoff_hours, _events.c.min_age,
    _events.c.max_age, _events.c.require_single, _events.c.require_real_name, _events.c.quota_male,
    _events.c.published_at,
).where(_events.c.id == bindparam("event_id"))


def person_parts(gendered: bool) -> tuple[list[Any], Any]:
    """What a sign-up reads of the person, as columns (the user's id first) and the FROM clause from
    users (bound: event_id, user_id, now); PostgreSQL's path (signup_pg) reads them with more."""
    key = _users.c.gender if gendered else literal("all")
    existing = (select(_regs.c.id)
                .where(_regs.c.event_id == bindparam("event_id"), _regs.c.user_id == _users.c.id,
                       _regs.c.status.in_(ACTIVE_STATUSES)).scalar_subquery())
    ended = aliased(_events)
    pending = exists().where(
        _regs.c.user_id == _users.c.id, _regs.c.status == "confirmed", _regs.c.checked_in_at.is_(None),
        ended.c.id == _regs.c.event_id, ended.c.ends_at <= bindparam("now"), ended.c.no_shows_marked_at.is_(None),
        ended.c.cancelled_at.is_(None), as_announced(_regs.c, ended.c))
    waiting = exists().where(_regs.c.event_id == bindparam("event_id"), _regs.c.quota_key == key,
                             _regs.c.status == "waitlisted")
    columns = [_users.c.id, _users.c.birth_date, _users.c.gender, _users.c.marital_status, _users.c.real_name,
               _users.c.id_number_hash, _restrictions.c.until, _restrictions.c.reason, _quotas.c.id,
               _quotas.c.capacity, _quotas.c.taken, _quotas.c.open, existing, pending, waiting]
    from_users = (_users.outerjoin(_restrictions, and_(_restrictions.c.user_id == _users.c.id,
                                                       _restrictions.c.service == SERVICE,
                                                       _restrictions.c.lifted_at.is_(None)))
                  .outerjoin(_quotas, and_(_quotas.c.event_id == bindparam("event_id"), _quotas.c.quota_key == key)))
    return columns, from_users


def _person_statement(gendered: bool) -> Any:
    columns, from_users = person_parts(gendered)
    return select(*columns[1:]).select_from(from_users).where(_users.c.id == bindparam("user_id"))


_PERSON = {True: _person_statement(True), False: _person_statement(False)}
_LOCK_SHARED = select(func.pg_advisory_xact_lock_shared(QUOTA_LOCK_CLASS, bindparam("quota_id")))
_RECHECK = select(
    _quotas.c.taken, _quotas.c.capacity, _quotas.c.open,
    select(func.count()).select_from(_regs)
    .where(_regs.c.event_id == bindparam("event_id"), _regs.c.quota_key == bindparam("quota_key"),
           _regs.c.status == "waitlisted", _regs.c.id < bindparam("reg_id")).scalar_subquery(),
).where(_quotas.c.id == bindparam("quota_id"))
# The person a free place goes to: the head of the quota's waitlist, if it is ahead of the caller.
_HEAD = (select(_regs.c.id, _regs.c.user_id)
         .where(_regs.c.event_id == bindparam("event_id"), _regs.c.quota_key == bindparam("quota_key"),
                _regs.c.status == "waitlisted", _regs.c.id < bindparam("reg_id"))
         .order_by(_regs.c.id).limit(1).with_for_update(skip_locked=True))
_SET_STATUS = update(_regs).where(_regs.c.id == bindparam("reg_id")).values(status=bindparam("new_status"))
_ahead = aliased(_regs)
_VIEW = (
    select(_regs.c.id, _regs.c.event_id, _regs.c.status, _regs.c.quota_key, _regs.c.badge_number,
           _regs.c.created_at, _regs.c.promoted_at, _regs.c.cancelled_at, _regs.c.late_cancel,
           _regs.c.checked_in_at, _events.c.starts_at, _events.c.cancel_cutoff_hours,
           case((_regs.c.status == "waitlisted",
                 select(func.count()).select_from(_ahead)
                 .where(_ahead.c.event_id == _regs.c.event_id, _ahead.c.quota_key == _regs.c.quota_key,
                        _ahead.c.status == "waitlisted", _ahead.c.id <= _regs.c.id).scalar_subquery())))
    .join_from(_regs, _events, _events.c.id == _regs.c.event_id)
    .where(_regs.c.id == bindparam("reg_id"))
)
_EXISTING = select(_regs.c.id).where(_regs.c.event_id == bindparam("event_id"), _regs.c.user_id == bindparam("user_id"),
                                     _regs.c.status.in_(ACTIVE_STATUSES))
_inserts: dict[str, Any] = {}


def _insert_statement(conn: AsyncConnection) -> Any:
    dialect = conn.dialect.name
    if dialect not in _inserts:
        _inserts[dialect] = insert_for(conn)(_regs).on_conflict_do_nothing().returning(_regs.c.id)
    return _inserts[dialect]


# --- the event's rules, cached for a second ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _EventRules:
    """The parts of an event a sign-up is decided on (never its places: those come from the database)."""

    id: int
    visible: bool
    status: str
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


async def _event_rules(conn: AsyncConnection, event_id: int, *, fresh: bool = False
                       ) -> tuple[_EventRules | None, bool]:
    """The event's sign-up rules and whether they came from this process's one-second cache. Only live
    events are cached; a refusal based on cached rules is re-checked against a fresh read."""
    hit = None if fresh else _rules_cache.get(event_id)
    if hit is not None and _time.monotonic() - hit[0] < _RULES_TTL_SECONDS:
        return hit[1], True
    row = (await conn.execute(_RULES, {"event_id": event_id})).first()
    if row is None:
        _rules_cache.pop(event_id, None)
        return None, False
    rules = _EventRules(event_id, KIND.shows(row[0], row[12], row[1]), row[0], row[2] is not None, *row[3:11],
                        row[11] is not None)
    if rules.status == "published" and rules.visible and not rules.cancelled:
        if len(_rules_cache) > 10_000:
            _rules_cache.clear()
        _rules_cache[event_id] = (_time.monotonic(), rules)
    else:
        _rules_cache.pop(event_id, None)
    return rules, False


def forget_rules(event_id: int) -> None:
    """Drop this process's cached rules after the organiser changed the event (other processes follow
    within a second; a cancellation is seen at once through the quota counters)."""
    _rules_cache.pop(event_id, None)


# --- checks --------------------------------------------------------------------------------------------


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
    waiting: bool


async def _person(conn: AsyncConnection, rules: _EventRules, user_id: int, now: datetime) -> _Person:
    """In one round trip: the person, their restriction, their quota's counter (read without a lock),
    the registration they already hold for this event, whether one of their confirmed places is at
    an event that ended without its no-shows recorded yet, and whether anyone waits in their quota."""
    row = (await conn.execute(_PERSON[rules.gendered], {"event_id": rules.id, "user_id": user_id, "now": now})).one()
    return _Person(row[0], row[1], row[2], bool(row[3] and row[4]), row[5], row[6], row[7], row[8] or 0,
                   row[9] or 0, bool(row[10]), row[11], bool(row[12]), bool(row[13]))


def _check_event(rules: _EventRules | None, now: datetime) -> _EventRules:
    if rules is None or not rules.visible:
        raise errors.NotFound()
    if rules.cancelled:
        raise everr.Cancelled()
    if now < rules.opens:
        raise everr.SignupNotOpen(f"报名将于{display(rules.opens)}开始")
    if now >= rules.closes or rules.status != "published":
        raise everr.SignupClosed()
    return rules


async def _checked_event(conn: AsyncConnection, rules: _EventRules, cached: bool, now: datetime) -> _EventRules:
    """The rules, checked; a refusal based on cached rules is checked again on a fresh read."""
    try:
        return _check_event(rules, now)
    except errors.AppError:
        if not cached:
            raise
        return _check_event((await _event_rules(conn, rules.id, fresh=True))[0], now)


def _check_person(rules: _EventRules, who: _Person, now: datetime) -> None:
    if who.restricted_until is not None and who.restricted_until > now:
        raise everr.SignupRestricted(restrictions.message(
            restrictions.Current(who.restricted_until, who.restricted_reason or "")))
    if rules.require_real_name and not who.real_name_verified:
        raise everr.ProfileRequired("本活动需要实名报名，请先在个人资料中完成实名认证",
                                    fields={"real_name": "请完成实名认证"})
    if who.birth_date is None:
        raise everr.ProfileRequired("报名前请在个人资料中填写身份证号，以核验年龄",
                                    fields={"id_number": "请填写身份证号"})
    if rules.gendered and who.gender not in ("male", "female"):
        raise everr.ProfileRequired("本活动按性别分配名额，请先在个人资料中填写性别",
                                    fields={"gender": "请填写性别"})
    age = age_on(who.birth_date, local_day(rules.starts))
    if not rules.min_age <= age <= rules.max_age:
        raise everr.AgeIneligible(f"本活动面向{rules.min_age}–{rules.max_age}岁的青年")
    if rules.require_single:
        if who.marital_status is None:
            raise everr.SingleRequired("本活动仅限单身青年报名，请先在个人资料中填写婚姻状况",
                                       fields={"marital_status": "请填写婚姻状况"})
        if who.marital_status in _NOT_SINGLE:
            raise everr.SingleRequired()


# --- sign-up ---------------------------------------------------------------------------------------------


async def sign_up(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    """Confirm a place in the person's quota, or put them on its waitlist. A person who already holds
    (or waits for) a place gets that registration back."""
    now = clock.now()
    conn = await session.connection()
    rules, cached = await _event_rules(conn, event_id)
    if rules is None:
        raise errors.NotFound()
    who = await _person(conn, rules, actor.user_id, now)
    if who.existing_id is not None:
        return await _view(conn, who.existing_id)
    rules = await _checked_event(conn, rules, cached, now)
    if who.pending_no_shows:
        # No-shows of past events count for this decision even if the sweeper has not recorded them yet:
        # computed, not stored (the sweeper records them).
        found = await restriction_of(session, actor.user_id, now)
        who = replace(who, restricted_until=found.until if found else None,
                      restricted_reason=found.reason if found else None)
    _check_person(rules, who, now)
    if who.quota_id is None:
        raise errors.Conflict("活动名额设置刚刚有变化，请刷新后重试")
    if not who.quota_open:
        raise everr.Cancelled()
    quota_id = who.quota_id
    quota_key = who.gender if rules.gendered else "all"
    values = {"event_id": event_id, "user_id": actor.user_id, "quota_key": quota_key, "created_at": utcnow()}
    view = _fresh_view(values, cancel_deadline(rules.starts, rules.cutoff_hours))
    postgres = conn.dialect.name == "postgresql"

    # The person is inserted before the quota is touched: a duplicate request stops here, and on
    # PostgreSQL waits for its twin's transaction (on the unique index) rather than for the hot row.
    # Nobody takes a place past people already waiting: with a waitlist, a newcomer joins it, and a
    # place that stands free goes to the head of the queue below.
    if who.taken < who.capacity and not who.waiting:
        gate = await _Gate.enter(session, quota_id) if postgres else None
        reg_id = await _insert(conn, values, "confirmed")
        if reg_id is None:
            if gate:
                gate.release()
            return await _existing(conn, event_id, actor.user_id)
        if await _take_place(conn, quota_id):
            return view(reg_id, "confirmed", None)
        if gate:
            gate.release()  # a conditional UPDATE that matched nothing holds no row lock
        status = "confirmed"
    else:
        reg_id = await _insert(conn, values, "waitlisted")
        if reg_id is None:
            return await _existing(conn, event_id, actor.user_id)
        status = "waitlisted"

    # The quota looked full or had a waitlist. Decide under the shared quota lock: whoever frees a
    # place takes it exclusively first, so a place freed from now on finds this registration waiting.
    if postgres:
        await conn.execute(_LOCK_SHARED, {"quota_id": quota_id})
    taken, capacity, quota_open, ahead = (await conn.execute(_RECHECK, {
        "quota_id": quota_id, "event_id": event_id, "quota_key": quota_key, "reg_id": reg_id})).one()
    if not quota_open:
        raise everr.Cancelled()
    got, promoted = (await _fill(session, conn, event_id, quota_id, quota_key, reg_id, now)
                     if taken < capacity else (False, 0))
    final = "confirmed" if got else "waitlisted"
    if final != status:
        await conn.execute(_SET_STATUS, {"reg_id": reg_id, "new_status": final})
    if promoted and not got:
        return await _view(conn, reg_id)  # the people ahead just moved up
    return view(reg_id, final, ahead + 1 if final == "waitlisted" else None)


async def sign_up_request(session: AsyncSession, request: Request, claims: dict[str, Any], idem: Idempotency,
                          event_id: int) -> JSONResponse:
    """The route's work: on PostgreSQL the two-round-trip path (``signup_pg``) unless it hands the
    request back or the setting turns it off; otherwise, and then, ``sign_up`` in a transaction."""
    bind = session.sync_session.bind
    if bind is not None and bind.dialect.name == "postgresql" and settings().event_signup_fast_path:
        from app.services.events import signup_pg

        answer = await signup_pg.sign_up(session, request, claims, idem, event_id)
        if answer is not None:
            return answer
    actor = await youth_of(session, request, claims)
    return await idem.run(session, actor, lambda: sign_up(session, actor=actor, event_id=event_id),
                          status_code=201)


async def _fill(session: AsyncSession, conn: AsyncConnection, event_id: int, quota_id: int, quota_key: str,
                reg_id: int, now: datetime) -> tuple[bool, int]:
    """Places stand free: take them one at a time, each by the conditional UPDATE (so never more than
    are free), and give each to the head of the waitlist if it is ahead of ``reg_id``; the first place
    with nobody ahead is this registration's. Returns (this registration got a place, people promoted).
    Safe under the shared lock; the package docstring has the argument."""
    ev: Event | None = None
    promoted = 0
    while await _take_place(conn, quota_id):
        head = (await conn.execute(_HEAD, {"event_id": event_id, "quota_key": quota_key, "reg_id": reg_id})).first()
        if head is None:
            return True, promoted
        ev = ev or await session.get(Event, event_id)
        await confirm_promoted(session, ev, [head], now)
        promoted += 1
    return False, promoted


async def _insert(conn: AsyncConnection, values: dict[str, Any], status: str) -> int | None:
    """The new registration's id, or None when the person already holds an active one."""
    return (await conn.execute(_insert_statement(conn), {**values, "status": status})).scalar_one_or_none()


async def _take_place(conn: AsyncConnection, quota_id: int) -> bool:
    return await PLACES.take(conn, quota_id) is not None


async def _existing(conn: AsyncConnection, event_id: int, user_id: int) -> RegistrationPublic:
    reg_id = (await conn.execute(_EXISTING, {"event_id": event_id, "user_id": user_id})).scalar_one_or_none()
    if reg_id is None:  # the twin request rolled back after all; the client may simply retry
        raise errors.Conflict("报名请求冲突，请重试")
    return await _view(conn, reg_id)


async def _view(conn: AsyncConnection, reg_id: int) -> RegistrationPublic:
    r = (await conn.execute(_VIEW, {"reg_id": reg_id})).one()
    return _row_view(r)


def _row_view(r: Row[Any]) -> RegistrationPublic:
    return RegistrationPublic(
        id=r.id, event_id=r.event_id, status=r.status, quota_key=r.quota_key, waitlist_position=r[12],
        badge_number=r.badge_number, created_at=r.created_at, promoted_at=r.promoted_at,
        cancelled_at=r.cancelled_at, late_cancel=r.late_cancel, checked_in_at=r.checked_in_at,
        cancel_deadline=cancel_deadline(r.starts_at, r.cancel_cutoff_hours),
    )


def _fresh_view(values: dict[str, Any], deadline: datetime) -> Callable[[int, str, int | None], RegistrationPublic]:
    def view(reg_id: int, status: str, position: int | None) -> RegistrationPublic:
        return RegistrationPublic(id=reg_id, event_id=values["event_id"], status=status,
                                  quota_key=values["quota_key"], waitlist_position=position,
                                  created_at=values["created_at"], cancel_deadline=deadline)

    return view


class _Gate:
    """Bounds how many transactions of this process wait on one quota's counter row at once. A slot
    is held until the transaction ends, because the row lock is held until then."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
        weakref.WeakKeyDictionary())

    def __init__(self, sem: asyncio.Semaphore) -> None:
        self._sem: asyncio.Semaphore | None = sem

    @classmethod
    def semaphore(cls, quota_id: int) -> asyncio.Semaphore:
        gates = cls._by_loop.setdefault(asyncio.get_running_loop(), {})
        sem = gates.get(quota_id)
        if sem is None:
            sem = gates[quota_id] = asyncio.Semaphore(max(1, settings().event_signup_gate))
        return sem

    @classmethod
    async def enter(cls, session: AsyncSession, quota_id: int) -> _Gate:
        sem = cls.semaphore(quota_id)
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
