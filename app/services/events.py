"""Matchmaking and social events for single young people (青年联谊交友).

An organiser publishes an event through review; young people sign up into a gender quota (confirmed
or waitlisted), get a signed ticket, are checked in, and take part in the mutual choice afterwards.

How places stay correct under a rush (PostgreSQL; SQLite serialises every transaction anyway):
- a place is taken by ``UPDATE event_quotas SET taken = taken + 1 WHERE taken < capacity`` on the
  quota's counter row, so confirmed places can never exceed a quota, whatever runs concurrently;
- a partial unique index allows one active registration per person and event, and the registration is
  inserted with ON CONFLICT DO NOTHING before the counter is touched, so duplicates never reach the hot
  row and a duplicate request simply answers with the existing registration;
- when a quota is full nobody takes its row lock: the waitlist entry is written under a *shared*
  advisory lock on the quota, and everything that frees a place (cancellation, capacity increase) takes
  that lock *exclusively* first. A freed place is therefore either seen by the waitlisting request, or
  its freer sees the new waitlist entry and promotes it — nobody waits while a place stands empty;
- inside one process at most ``event_signup_gate`` requests per quota wait on the counter row at once
  (queueing in Postgres on one row lock only makes the rush slower).
Lock order everywhere: event row → quota advisory lock → registration rows → quota counter row.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors, ratelimit, security
from app.config import get_settings
from app.db import insert_for, is_postgres
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.events import (
    AttendeePublic,
    CapacityIn,
    CheckInResult,
    ChoiceSummary,
    EventCreate,
    EventProvider,
    EventPublic,
    EventSummary,
    EventUpdate,
    MatchPublic,
    MyRegistrationItem,
    PicksIn,
    PicksPublic,
    QuotaProvider,
    QuotaPublic,
    RegistrationPublic,
    RestrictionPublic,
    TicketPublic,
)
from app.services import audit, moderation, notifications
from app.services.moderation import PostingKind
from app.validators import SHANGHAI, age_on
from models.accounts import User
from models.base import utcnow
from models.events import ACTIVE_STATUSES, Event, EventQuota, EventRegistration, EventRestriction
from models.orgs import Organisation

KIND = moderation.register(PostingKind(
    kind="event", model=Event, org_kinds=("event_organizer",), title_field="title",
    text_fields=("title", "description", "venue_name", "venue_address"), label="活动",
))

R = EventRegistration
Q = EventQuota
# First key of the two-int advisory locks taken on quota rows (the second is the quota id).
_QUOTA_LOCK_CLASS = 0x45_56_51  # "EVQ"
_TIME_FIELDS = ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at")
_NOT_SINGLE = ("married",)
_NO_SYNC = {"synchronize_session": False}


def clock() -> datetime:
    """Now, for every time rule of this service; tests replace it to walk through an event's life."""
    return utcnow()


def _local(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def _cancel_deadline(starts_at: datetime, cutoff_hours: int) -> datetime:
    return starts_at - timedelta(hours=cutoff_hours)


def _choice_window(ev: Event) -> tuple[datetime, datetime] | None:
    if ev.choice_hours <= 0:
        return None
    return ev.ends_at, ev.ends_at + timedelta(hours=ev.choice_hours)


def _quota_capacities(capacity: int, male: int | None, female: int | None) -> dict[str, int]:
    return {"all": capacity} if male is None else {"male": male, "female": female or 0}


def _check_times(starts: datetime, ends: datetime, opens: datetime, closes: datetime) -> None:
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


# --- organiser: create, edit, capacity, cancel ----------------------------------------------------


async def create_event(session: AsyncSession, *, actor: Principal, data: EventCreate) -> EventProvider:
    moderation.require_org_kind(actor, KIND)
    _check_times(data.starts_at, data.ends_at, data.signup_opens_at, data.signup_closes_at)
    fields = data.model_dump(exclude={"quotas"})
    quotas = data.quotas
    ev = Event.model_validate(fields, update={
        "org_id": actor.org_id, "quota_male": quotas.male if quotas else None,
        "quota_female": quotas.female if quotas else None,
    })
    session.add(ev)
    await session.flush()
    for key, cap in _quota_capacities(ev.capacity, ev.quota_male, ev.quota_female).items():
        session.add(EventQuota(event_id=ev.id, quota_key=key, capacity=cap))
    await session.flush()
    await audit.record(session, actor=actor, action="event.create", target_kind=KIND.kind, target_id=ev.id)
    return await _provider_view(session, ev)


async def get_own_event(session: AsyncSession, *, actor: Principal, event_id: int) -> EventProvider:
    moderation.require_org_kind(actor, KIND)
    ev = await moderation.load_own(session, actor, KIND, event_id)
    await _mark_if_ended(session, ev)
    return await _provider_view(session, ev)


async def update_event(session: AsyncSession, *, actor: Principal, event_id: int, data: EventUpdate
                       ) -> EventProvider:
    moderation.require_org_kind(actor, KIND)
    ev = await moderation.load_own(session, actor, KIND, event_id, for_update=True)
    if ev.cancelled_at is not None:
        raise errors.EventStateInvalid("活动已取消，不能再修改")
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k not in ("latitude", "longitude")}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    merged = {f: changes.get(f, getattr(ev, f)) for f in (*_TIME_FIELDS, "min_age", "max_age")}
    _check_times(merged["starts_at"], merged["ends_at"], merged["signup_opens_at"], merged["signup_closes_at"])
    if merged["min_age"] > merged["max_age"]:
        raise errors.ValidationFailed(fields={"min_age": "最小年龄不能大于最大年龄"})
    changed = {k for k, v in changes.items() if getattr(ev, k) != v}
    for key in changed:
        setattr(ev, key, changes[key])
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=ev, changed=changed)
    if changed & {"starts_at", "ends_at", "venue_name", "venue_address"}:
        # People who hold or wait for a place must hear that the time or place moved.
        users = (await session.execute(
            select(R.user_id).where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES)))).scalars().all()
        notifications.notify_many(
            session, user_ids=list(users), kind="event.changed", title="活动时间或地点有调整",
            body=f"您报名的「{ev.title}」调整为 {_local(ev.starts_at)} 在 {ev.venue_name} 举行，如不能参加请及时取消报名。",
            data={"event_id": ev.id})
    return await _provider_view(session, ev)


async def change_capacity(session: AsyncSession, *, actor: Principal, event_id: int, data: CapacityIn
                          ) -> EventProvider:
    moderation.require_org_kind(actor, KIND)
    ev = await moderation.load_own(session, actor, KIND, event_id, for_update=True)
    if ev.cancelled_at is not None:
        raise errors.EventStateInvalid("活动已取消，不能再修改名额")
    if (ev.quota_male is None) != (data.quotas is None):
        raise errors.ValidationFailed(fields={"quotas": "该活动按性别分配名额，请同时填写男女名额" if ev.quota_male
                                              is not None else "该活动不按性别分配名额，请只填写总名额"})
    now = clock()
    if now >= ev.ends_at:
        raise errors.EventStateInvalid("活动已结束，不能再修改名额")
    wanted = _quota_capacities(data.capacity, data.quotas.male if data.quotas else None,
                               data.quotas.female if data.quotas else None)
    quotas = await _lock_quotas(session, ev.id)
    too_low = {q.quota_key: f"已有{q.taken}人报名成功" for q in quotas if wanted[q.quota_key] < q.taken}
    if too_low:
        raise errors.EventCapacityBelowConfirmed(fields={
            ("capacity" if k == "all" else f"quotas.{k}"): v for k, v in too_low.items()})
    before = {q.quota_key: q.capacity for q in quotas}
    promoted = 0
    for q in quotas:
        q.capacity = wanted[q.quota_key]
        await session.flush()
        if now < ev.starts_at and q.capacity > q.taken:
            users = await _promote(session, ev, q.quota_key, q.capacity - q.taken, now)
            q.taken += len(users)
            promoted += len(users)
    ev.capacity, ev.quota_male, ev.quota_female = data.capacity, wanted.get("male"), wanted.get("female")
    ev.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="event.capacity_change", target_kind=KIND.kind,
                       target_id=ev.id, detail={"from": before, "to": wanted, "promoted": promoted})
    return await _provider_view(session, ev)


async def cancel_event(session: AsyncSession, *, actor: Principal, event_id: int, reason: str) -> EventProvider:
    moderation.require_org_kind(actor, KIND)
    ev = await moderation.load_own(session, actor, KIND, event_id, for_update=True)
    now = clock()
    if ev.cancelled_at is not None:
        raise errors.EventStateInvalid("活动已经取消")
    if now >= ev.ends_at:
        raise errors.EventStateInvalid("活动已结束，不能取消")
    quotas = await _lock_quotas(session, ev.id)
    for q in quotas:
        q.open = False
    await session.flush()
    users = (await session.execute(
        update(R).where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES))
        .values(status="event_cancelled", cancelled_at=now).returning(R.user_id).execution_options(**_NO_SYNC)
    )).scalars().all()
    notifications.notify_many(
        session, user_ids=list(users), kind="event.cancelled", title="活动已取消",
        body=f"很抱歉，您报名的「{ev.title}」（{_local(ev.starts_at)}）已被主办方取消。原因：{reason}",
        data={"event_id": ev.id})
    ev.cancelled_at, ev.cancel_reason = now, reason
    if ev.status in ("published", "pending_review"):
        ev.status = "closed"
    ev.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="event.cancel", target_kind=KIND.kind, target_id=ev.id,
                       reason=reason, detail={"notified": len(users)})
    return await _provider_view(session, ev)


async def _lock_quotas(session: AsyncSession, event_id: int) -> list[EventQuota]:
    """Every quota of the event, locked against waitlisting (advisory, exclusive) and for update."""
    ids = (await session.execute(select(Q.id).where(Q.event_id == event_id).order_by(Q.id))).scalars().all()
    if is_postgres(session):
        for qid in ids:
            await session.execute(select(func.pg_advisory_xact_lock(_QUOTA_LOCK_CLASS, qid)))
    stmt = select(EventQuota).where(Q.event_id == event_id).order_by(Q.id).with_for_update()
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())


# --- the public: listing and detail --------------------------------------------------------------


def _signup_state(ev: Any, places_left: int, now: datetime) -> str:
    if ev.cancelled_at is not None:
        return "cancelled"
    if ev.status != "published" or now >= ev.signup_closes_at:
        return "closed"
    if now < ev.signup_opens_at:
        return "not_open"
    return "open" if places_left > 0 else "full"


async def list_events(session: AsyncSession, *, district: str | None, date_from: date | None,
                      date_to: date | None, cursor: str | None, limit: int) -> Page[EventSummary]:
    """Upcoming public events, soonest first."""
    now = clock()
    stmt = (
        select(Event, Organisation.name).join(Organisation, Organisation.id == Event.org_id)
        .where(moderation.is_public(Event), Event.cancelled_at.is_(None), Event.starts_at > now)
        .order_by(Event.starts_at, Event.id).limit(limit + 1)
    )
    if district:
        stmt = stmt.where(Event.district == district)
    if date_from:
        stmt = stmt.where(Event.starts_at >= _local_day_start(date_from))
    if date_to:
        stmt = stmt.where(Event.starts_at < _local_day_start(date_to + timedelta(days=1)))
    after = decode_cursor(cursor, "t", "i")
    if after:
        try:
            at, last_id = datetime.fromisoformat(after["t"]), int(after["i"])
        except (TypeError, ValueError):
            raise errors.InvalidCursor()
        if at.tzinfo is None:
            raise errors.InvalidCursor()
        stmt = stmt.where(or_(Event.starts_at > at, and_(Event.starts_at == at, Event.id > last_id)))
    rows = (await session.execute(stmt)).all()
    page = rows[:limit]
    quotas = await _quota_rows(session, [ev.id for ev, _ in page])
    items = [_summary(ev, org_name, quotas.get(ev.id, []), now) for ev, org_name in page]
    nxt = None
    if len(rows) > limit:
        last = page[-1][0]
        nxt = encode_cursor({"t": last.starts_at.isoformat(), "i": last.id})
    return Page(items=items, next_cursor=nxt)


async def _quota_rows(session: AsyncSession, event_ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    if not event_ids:
        return out
    rows = await session.execute(
        select(Q.event_id, Q.quota_key, Q.capacity, Q.taken).where(Q.event_id.in_(event_ids)).order_by(Q.id))
    for row in rows:
        out.setdefault(row.event_id, []).append(row)
    return out


def _summary(ev: Event, org_name: str | None, quotas: list[Any], now: datetime) -> EventSummary:
    left = sum(max(q.capacity - q.taken, 0) for q in quotas)
    return EventSummary(
        id=ev.id, title=ev.title, org_name=org_name, venue_name=ev.venue_name, district=ev.district,
        starts_at=ev.starts_at, ends_at=ev.ends_at, signup_opens_at=ev.signup_opens_at,
        signup_closes_at=ev.signup_closes_at, capacity=ev.capacity, places_left=left,
        gender_quotas=ev.quota_male is not None, min_age=ev.min_age, max_age=ev.max_age,
        require_single=ev.require_single, signup_state=_signup_state(ev, left, now),
    )


async def _visible_event(session: AsyncSession, event_id: int) -> tuple[Event, str | None]:
    """An event the public may see: published, or closed / cancelled after being published."""
    row = (await session.execute(
        select(Event, Organisation.name).join(Organisation, Organisation.id == Event.org_id)
        .where(Event.id == event_id))).first()
    if row is None or row[0].status not in ("published", "closed") or row[0].hidden_by_reports:
        raise errors.NotFound()
    return row[0], row[1]


async def get_event(session: AsyncSession, *, actor: Principal | None, event_id: int) -> EventPublic:
    ev, org_name = await _visible_event(session, event_id)
    now = clock()
    quotas = (await _quota_rows(session, [ev.id])).get(ev.id, [])
    waiting = dict((await session.execute(
        select(R.quota_key, func.count()).where(R.event_id == ev.id, R.status == "waitlisted")
        .group_by(R.quota_key))).all())
    mine = None
    if actor is not None and actor.is_youth:
        await _mark_if_ended(session, ev)
        reg = (await session.execute(
            select(EventRegistration).where(R.event_id == ev.id, R.user_id == actor.user_id)
            .order_by(R.id.desc()).limit(1))).scalar_one_or_none()
        if reg is not None:
            mine = (await _registration_views(session, [reg], {ev.id: ev}))[0]
    window = _choice_window(ev)
    return EventPublic(
        **_summary(ev, org_name, quotas, now).model_dump(),
        description=ev.description, venue_address=ev.venue_address, latitude=ev.latitude,
        longitude=ev.longitude, require_real_name=ev.require_real_name, cancel_cutoff_hours=ev.cancel_cutoff_hours,
        cancel_deadline=_cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours),
        choice_opens_at=window[0] if window else None, choice_closes_at=window[1] if window else None,
        cancelled_at=ev.cancelled_at, cancel_reason=ev.cancel_reason, my_registration=mine,
        quotas=[QuotaPublic(key=q.quota_key, capacity=q.capacity, places_left=max(q.capacity - q.taken, 0),
                            waitlisted=waiting.get(q.quota_key, 0)) for q in quotas],
    )


# --- sign-up --------------------------------------------------------------------------------------


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


@dataclass
class _SignupContext:
    event_id: int
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
    birth_date: date | None
    gender: str | None
    marital_status: str | None
    real_name_verified: bool
    restricted_until: datetime | None
    restricted_reason: str | None
    quota_id: int | None
    quota_key: str | None
    capacity: int
    taken: int
    quota_open: bool
    existing_id: int | None
    pending_no_shows: bool


async def _signup_context(session: AsyncSession, event_id: int, user_id: int, now: datetime
                          ) -> _SignupContext | None:
    """Everything a sign-up decides on, in one round trip: the event, the person, their restriction,
    their quota's counter (read without a lock) and any registration they already hold."""
    other = aliased(Event)
    quota_key = case((Event.quota_male.is_(None), literal("all")), else_=User.gender)
    existing = (select(R.id).where(R.event_id == Event.id, R.user_id == User.id, R.status.in_(ACTIVE_STATUSES))
                .limit(1).scalar_subquery())
    pending = (select(R.id).join(other, other.id == R.event_id)
               .where(R.user_id == User.id, R.status == "confirmed", R.checked_in_at.is_(None),
                      other.ends_at <= now, other.no_shows_marked_at.is_(None), other.cancelled_at.is_(None))
               .limit(1).scalar_subquery())
    stmt = (
        select(Event.status, Event.hidden_by_reports, Event.cancelled_at, Event.signup_opens_at,
               Event.signup_closes_at, Event.starts_at, Event.cancel_cutoff_hours, Event.min_age, Event.max_age,
               Event.require_single, Event.require_real_name, Event.quota_male, User.birth_date, User.gender,
               User.marital_status, User.real_name, User.id_number_hash, EventRestriction.until,
               EventRestriction.reason, Q.id, Q.quota_key, Q.capacity, Q.taken, Q.open,
               existing.label("existing_id"), pending.label("pending_id"))
        .select_from(Event)
        .join(User, User.id == user_id)
        .outerjoin(EventRestriction, EventRestriction.user_id == User.id)
        .outerjoin(Q, and_(Q.event_id == Event.id, Q.quota_key == quota_key))
        .where(Event.id == event_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return _SignupContext(
        event_id, row[0], row[1], row[2] is not None, row[3], row[4], row[5], row[6], row[7], row[8], row[9],
        row[10], row[11] is not None, row[12], row[13], row[14], bool(row[15] and row[16]), row[17], row[18],
        row[19], row[20], row[21] or 0, row[22] or 0, bool(row[23]), row.existing_id, row.pending_id is not None,
    )


def _check_can_sign_up(ctx: _SignupContext, now: datetime) -> None:
    if ctx.status not in ("published", "closed") or ctx.hidden:
        raise errors.NotFound()
    if ctx.cancelled:
        raise errors.EventCancelled()
    if now < ctx.opens:
        raise errors.EventSignupNotOpen(f"报名将于{_local(ctx.opens)}开始")
    if now >= ctx.closes or ctx.status != "published":
        raise errors.EventSignupClosed()
    if ctx.restricted_until is not None and ctx.restricted_until > now:
        raise errors.EventSignupRestricted(f"{ctx.restricted_reason}（{_local(ctx.restricted_until)}后可再报名）")
    if ctx.require_real_name and not ctx.real_name_verified:
        raise errors.EventProfileRequired("本活动需要实名报名，请先在个人资料中完成实名认证",
                                          fields={"real_name": "请完成实名认证"})
    if ctx.birth_date is None:
        raise errors.EventProfileRequired("报名前请在个人资料中填写身份证号，以核验年龄",
                                          fields={"id_number": "请填写身份证号"})
    if ctx.gendered and ctx.gender not in ("male", "female"):
        raise errors.EventProfileRequired("本活动按性别分配名额，请先在个人资料中填写性别", fields={"gender": "请填写性别"})
    age = age_on(ctx.birth_date, ctx.starts.astimezone(SHANGHAI).date())
    if not ctx.min_age <= age <= ctx.max_age:
        raise errors.EventAgeIneligible(f"本活动面向{ctx.min_age}–{ctx.max_age}岁的青年")
    if ctx.require_single:
        if ctx.marital_status is None:
            raise errors.EventSingleRequired("本活动仅限单身青年报名，请先在个人资料中填写婚姻状况",
                                             fields={"marital_status": "请填写婚姻状况"})
        if ctx.marital_status in _NOT_SINGLE:
            raise errors.EventSingleRequired()


async def sign_up(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    """Confirm a place in the person's quota, or put them on its waitlist. A person who already holds
    (or waits for) a place gets that registration back."""
    now = clock()
    ctx = await _signup_context(session, event_id, actor.user_id, now)
    if ctx is None:
        raise errors.NotFound()
    if ctx.existing_id is not None:
        return await _registration_view_by_id(session, ctx.existing_id)
    if ctx.pending_no_shows:
        # No-shows of past events count for this decision even if nobody has recorded them yet.
        await mark_no_shows(session, user_id=actor.user_id, now=now)
        ctx = await _signup_context(session, event_id, actor.user_id, now)
        assert ctx is not None
    _check_can_sign_up(ctx, now)
    assert ctx.quota_id is not None and ctx.quota_key is not None
    if not ctx.quota_open:
        raise errors.EventCancelled()
    pg = is_postgres(session)
    values = {"event_id": event_id, "user_id": actor.user_id, "quota_key": ctx.quota_key, "created_at": utcnow()}
    deadline = _cancel_deadline(ctx.starts, ctx.cutoff_hours)

    status = None
    if ctx.taken < ctx.capacity:
        gate = await _Gate.enter(session, ctx.quota_id) if pg else None
        reg_id = await _insert_registration(session, values, "confirmed")
        if reg_id is None:
            if gate:
                gate.release()
            return await _existing_registration(session, event_id, actor.user_id)
        if await _take_place(session, ctx.quota_id):
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
        await session.execute(select(func.pg_advisory_xact_lock_shared(_QUOTA_LOCK_CLASS, ctx.quota_id)))
    taken, capacity, quota_open = (await session.execute(
        select(Q.taken, Q.capacity, Q.open).where(Q.id == ctx.quota_id))).one()
    if not quota_open:
        raise errors.EventCancelled()
    final = "confirmed" if taken < capacity and await _take_place(session, ctx.quota_id) else "waitlisted"
    if final != status:
        await session.execute(update(R).where(R.id == reg_id).values(status=final).execution_options(**_NO_SYNC))
    position = await _waitlist_position(session, event_id, ctx.quota_key, reg_id) if final == "waitlisted" else None
    return _fresh_view(reg_id, values, final, position, deadline)


async def _insert_registration(session: AsyncSession, values: dict[str, Any], status: str) -> int | None:
    """The new registration's id, or None when the person already holds an active one."""
    insert = insert_for(session)
    stmt = insert(EventRegistration).values(**values, status=status).on_conflict_do_nothing().returning(R.id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _take_place(session: AsyncSession, quota_id: int) -> bool:
    stmt = (update(Q).where(Q.id == quota_id, Q.taken < Q.capacity, Q.open.is_(True))
            .values(taken=Q.taken + 1).returning(Q.taken).execution_options(**_NO_SYNC))
    return (await session.execute(stmt)).first() is not None


async def _waitlist_position(session: AsyncSession, event_id: int, quota_key: str, reg_id: int) -> int:
    return (await session.execute(
        select(func.count()).select_from(R).where(R.event_id == event_id, R.quota_key == quota_key,
                                                  R.status == "waitlisted", R.id <= reg_id))).scalar_one()


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


# --- the person's registrations, cancellation -----------------------------------------------------


async def my_registration(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    ev, _ = await _visible_event(session, event_id)
    await _mark_if_ended(session, ev)
    reg = (await session.execute(
        select(EventRegistration).where(R.event_id == event_id, R.user_id == actor.user_id)
        .order_by(R.id.desc()).limit(1))).scalar_one_or_none()
    if reg is None:
        raise errors.EventNotRegistered()
    return (await _registration_views(session, [reg], {ev.id: ev}))[0]


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
    views = await _registration_views(session, page, events)
    items = [MyRegistrationItem(**v.model_dump(), event_title=events[r.event_id].title,
                                event_starts_at=events[r.event_id].starts_at) for v, r in zip(views, page, strict=True)]
    nxt = encode_cursor({"id": page[-1].id}) if len(regs) > limit else None
    return Page(items=items, next_cursor=nxt)


async def _registration_view_by_id(session: AsyncSession, reg_id: int) -> RegistrationPublic:
    reg = await session.get(EventRegistration, reg_id)
    ev = await session.get(Event, reg.event_id)
    return (await _registration_views(session, [reg], {ev.id: ev}))[0]


async def _registration_views(session: AsyncSession, regs: list[EventRegistration], events: dict[int, Event]
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
            checked_in_at=r.checked_in_at, cancel_deadline=_cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours),
        ))
    return out


async def cancel_registration(session: AsyncSession, *, actor: Principal, event_id: int) -> RegistrationPublic:
    """Give up a place or leave the waitlist. A freed place goes to the first person waiting in the same
    quota, in this transaction. Later than the cut-off, giving up a place counts as a late cancellation."""
    now = clock()
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
        await session.execute(select(func.pg_advisory_xact_lock(_QUOTA_LOCK_CLASS, quota_id)))
    reg = (await session.execute(
        select(EventRegistration).where(R.id == found.id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one()
    if reg.status not in ACTIVE_STATUSES:  # a concurrent request of the same person got there first
        raise errors.EventNotRegistered()
    held_place = reg.status == "confirmed"
    reg.status, reg.cancelled_at = "cancelled", now
    deadline = _cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours)
    # Someone promoted after the cut-off did not choose the short notice; they may still step back freely.
    late = held_place and now > deadline and not (reg.promoted_at is not None and reg.promoted_at > deadline)
    if late:
        reg.late_cancel, reg.strike_at = True, now
    await session.flush()
    if held_place and not await _promote(session, ev, reg.quota_key, 1, now):
        await session.execute(update(Q).where(Q.id == quota_id).values(taken=Q.taken - 1)
                              .execution_options(**_NO_SYNC))
    if late:
        await _apply_strikes(session, [actor.user_id], now)
    return (await _registration_views(session, [reg], {ev.id: ev}))[0]


async def _promote(session: AsyncSession, ev: Event, quota_key: str, count: int, now: datetime) -> list[int]:
    """Confirm the first ``count`` people waiting in the quota; the caller accounts for the places.
    Must run under the quota's exclusive lock, so that no waitlist entry is still in flight."""
    rows = (await session.execute(
        select(R.id, R.user_id).where(R.event_id == ev.id, R.quota_key == quota_key, R.status == "waitlisted")
        .order_by(R.id).limit(count).with_for_update(skip_locked=True))).all()
    if not rows:
        return []
    await session.execute(update(R).where(R.id.in_([r.id for r in rows]))
                          .values(status="confirmed", promoted_at=now).execution_options(**_NO_SYNC))
    for r in rows:
        notifications.notify(
            session, user_id=r.user_id, kind="event.promoted", title="候补成功，您获得了活动名额",
            body=f"您候补的「{ev.title}」有了空位，已为您确认报名。活动时间：{_local(ev.starts_at)}，"
                 f"地点：{ev.venue_name}。如不能参加请及时取消报名。",
            data={"event_id": ev.id, "registration_id": r.id})
    return [r.user_id for r in rows]


# --- no-shows, late cancellations, restrictions --------------------------------------------------


async def mark_no_shows(session: AsyncSession, *, event_id: int | None = None, user_id: int | None = None,
                        now: datetime | None = None) -> int:
    """Record confirmed people who never checked in as no-shows, for every ended event not yet
    processed (one event, or the events one person is concerned by). Safe to call from anywhere and
    concurrently: each event is claimed once. Returns how many no-shows were recorded."""
    now = now or clock()
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
            .execution_options(**_NO_SYNC))).first()
        if claimed is None:
            continue
        rows = (await session.execute(
            update(R).where(R.event_id == eid, R.status == "confirmed", R.checked_in_at.is_(None))
            .values(status="no_show", strike_at=claimed.starts_at).returning(R.user_id)
            .execution_options(**_NO_SYNC))).scalars().all()
        notifications.notify_many(
            session, user_ids=list(rows), kind="event.no_show", title="活动签到记录：未到场",
            body=f"您报名了「{claimed.title}」（{_local(claimed.starts_at)}）但没有签到，已记为一次爽约。"
                 f"多次爽约将暂时不能报名新的活动。",
            data={"event_id": eid})
        if rows:
            await _apply_strikes(session, list(rows), now)
        total += len(rows)
    return total


async def _mark_if_ended(session: AsyncSession, ev: Event) -> None:
    if ev.no_shows_marked_at is None and ev.cancelled_at is None and ev.ends_at <= clock():
        await mark_no_shows(session, event_id=ev.id)
        await session.refresh(ev)


async def _apply_strikes(session: AsyncSession, user_ids: list[int], now: datetime) -> None:
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
                             body=f"{reason}（{_local(until)}后恢复）。", data={"until": until.isoformat()})


async def my_restriction(session: AsyncSession, *, actor: Principal) -> RestrictionPublic:
    await mark_no_shows(session, user_id=actor.user_id)
    row = await session.get(EventRestriction, actor.user_id, populate_existing=True)
    if row is None or row.until <= clock():
        return RestrictionPublic(restricted=False)
    return RestrictionPublic(restricted=True, until=row.until, reason=row.reason)


# --- tickets and check-in -------------------------------------------------------------------------


async def get_ticket(session: AsyncSession, *, actor: Principal, event_id: int) -> TicketPublic:
    ev, _ = await _visible_event(session, event_id)
    now = clock()
    if ev.cancelled_at is not None:
        raise errors.EventCancelled()
    reg = (await session.execute(
        select(R.id).where(R.event_id == event_id, R.user_id == actor.user_id, R.status == "confirmed")
    )).scalar_one_or_none()
    if reg is None or now >= ev.ends_at:
        raise errors.EventTicketUnavailable()
    ttl = max(ev.ends_at - now, timedelta(0)) + timedelta(hours=1)
    token = security.sign({"eid": event_id, "rid": reg}, "ticket", ttl=ttl)
    return TicketPublic(ticket=token, event_id=event_id, registration_id=reg, expires_at=utcnow() + ttl)


async def check_in(session: AsyncSession, *, actor: Principal, event_id: int, ticket: str) -> CheckInResult:
    """Scan a ticket at the entrance: once per registration; the badge number is handed out here."""
    moderation.require_org_kind(actor, KIND)
    await moderation.load_own(session, actor, KIND, event_id)
    try:
        claims = security.verify(ticket, "ticket")
    except errors.AppError:
        raise errors.EventTicketInvalid()
    if claims.get("eid") != event_id:
        raise errors.EventTicketWrongEvent()
    reg_id = claims.get("rid")
    if not isinstance(reg_id, int):
        raise errors.EventTicketInvalid()
    ev = await session.get(Event, event_id, with_for_update=True, populate_existing=True)
    now = clock()
    if ev.cancelled_at is not None:
        raise errors.EventCancelled()
    opens = ev.starts_at - timedelta(minutes=get_settings().event_check_in_opens_minutes)
    if not opens <= now < ev.ends_at:
        raise errors.EventCheckInNotOpen(f"签到时间为{_local(opens)}至活动结束")
    reg = (await session.execute(
        select(EventRegistration).where(R.id == reg_id, R.event_id == event_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if reg is None:
        raise errors.EventTicketInvalid()
    if reg.checked_in_at is not None:
        raise errors.EventAlreadyCheckedIn(
            f"该入场券已于{_local(reg.checked_in_at)}签到，胸牌号 {reg.badge_number}")
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


# --- organiser: attendees -------------------------------------------------------------------------


async def attendees(session: AsyncSession, *, actor: Principal, event_id: int, status: str | None,
                    cursor: str | None, limit: int) -> Page[AttendeePublic]:
    moderation.require_org_kind(actor, KIND)
    ev = await moderation.load_own(session, actor, KIND, event_id)
    await _mark_if_ended(session, ev)
    ranked = (select(R.id, func.row_number().over(partition_by=R.quota_key, order_by=R.id).label("pos"))
              .where(R.event_id == event_id, R.status == "waitlisted").subquery())
    stmt = (
        select(R.id, R.badge_number, R.status, R.checked_in_at, User.nickname, User.gender, User.birth_date,
               ranked.c.pos)
        .join(User, User.id == R.user_id).outerjoin(ranked, ranked.c.id == R.id)
        .where(R.event_id == event_id).order_by(R.id).limit(limit + 1)
    )
    if status:
        stmt = stmt.where(R.status == status)
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(R.id > int(after["id"]))
    rows = (await session.execute(stmt)).all()
    page = rows[:limit]
    day = ev.starts_at.astimezone(SHANGHAI).date()
    items = [AttendeePublic(registration_id=r.id, badge_number=r.badge_number, nickname=r.nickname, gender=r.gender,
                            age=age_on(r.birth_date, day) if r.birth_date else None, status=r.status,
                            waitlist_position=r.pos, checked_in_at=r.checked_in_at) for r in page]
    await audit.record(session, actor=actor, action="event.attendees_view", target_kind=KIND.kind,
                       target_id=event_id, detail={"status": status, "count": len(items)})
    nxt = encode_cursor({"id": page[-1].id}) if len(rows) > limit else None
    return Page(items=items, next_cursor=nxt)


async def _provider_view(session: AsyncSession, ev: Event) -> EventProvider:
    quotas = (await _quota_rows(session, [ev.id])).get(ev.id, [])
    counts = (await session.execute(
        select(R.quota_key, R.status, func.count(), func.count(R.checked_in_at))
        .where(R.event_id == ev.id, R.status.in_(("confirmed", "waitlisted")))
        .group_by(R.quota_key, R.status))).all()
    by = {(k, s): n for k, s, n, _ in counts}
    checked_in = sum(c for _, s, _, c in counts if s == "confirmed")
    data = {f: getattr(ev, f) for f in EventProvider.model_fields if hasattr(ev, f)}
    data["quotas"] = [QuotaProvider(key=q.quota_key, capacity=q.capacity, places_left=max(q.capacity - q.taken, 0),
                                    confirmed=by.get((q.quota_key, "confirmed"), 0),
                                    waitlisted=by.get((q.quota_key, "waitlisted"), 0)) for q in quotas]
    data["checked_in"] = checked_in
    return EventProvider(**data)


# --- mutual choice (互选) -------------------------------------------------------------------------


async def _chooser(session: AsyncSession, actor: Principal, event_id: int) -> tuple[Event, EventRegistration,
                                                                                     tuple[datetime, datetime]]:
    ev, _ = await _visible_event(session, event_id)
    window = _choice_window(ev)
    if window is None or ev.cancelled_at is not None:
        raise errors.EventChoiceNotOpen("本活动没有互选环节")
    reg = (await session.execute(
        select(EventRegistration).where(R.event_id == event_id, R.user_id == actor.user_id,
                                        R.status == "confirmed", R.checked_in_at.is_not(None)))).scalar_one_or_none()
    if reg is None:
        raise errors.EventChoiceNotEligible()
    return ev, reg, window


async def submit_picks(session: AsyncSession, *, actor: Principal, event_id: int, data: PicksIn) -> PicksPublic:
    """Replace the person's picks (up to 3 badge numbers) while the choice window is open."""
    _, reg, (opens, closes) = await _chooser(session, actor, event_id)
    now = clock()
    if not opens <= now < closes:
        raise errors.EventChoiceNotOpen(f"互选时间为{_local(opens)}至{_local(closes)}")
    if reg.badge_number in data.badges:
        raise errors.ValidationFailed(fields={"badges": "不能选择自己"})
    present = set((await session.execute(
        select(R.badge_number).where(R.event_id == event_id, R.badge_number.in_(data.badges),
                                     R.checked_in_at.is_not(None), R.status == "confirmed"))).scalars())
    missing = [b for b in data.badges if b not in present]
    if missing:
        raise errors.ValidationFailed(fields={"badges": f"本场没有签到的{'、'.join(map(str, missing))}号嘉宾"})
    await session.refresh(reg, with_for_update=True)
    reg.picks, reg.pick_contact, reg.picks_at = list(data.badges), data.contact, now
    await session.flush()
    return PicksPublic(badges=reg.picks, contact=reg.pick_contact, submitted_at=now, choice_closes_at=closes)


async def my_picks(session: AsyncSession, *, actor: Principal, event_id: int) -> PicksPublic:
    _, reg, (_, closes) = await _chooser(session, actor, event_id)
    return PicksPublic(badges=reg.picks or [], contact=reg.pick_contact, submitted_at=reg.picks_at,
                       choice_closes_at=closes)


async def matches(session: AsyncSession, *, actor: Principal, event_id: int) -> list[MatchPublic]:
    """Mutual picks only, after the window closes (so picks cannot be used to probe who picked you).
    Only the people this person picked are even read."""
    _, reg, (_, closes) = await _chooser(session, actor, event_id)
    if clock() < closes:
        raise errors.EventChoiceResultsPending(f"互选结果将于{_local(closes)}公布")
    mine = reg.picks or []
    if not mine:
        return []
    rows = (await session.execute(
        select(R.badge_number, R.picks, R.pick_contact, User.nickname).join(User, User.id == R.user_id)
        .where(R.event_id == event_id, R.badge_number.in_(mine), R.checked_in_at.is_not(None),
               R.status == "confirmed").order_by(R.badge_number))).all()
    return [MatchPublic(badge_number=r.badge_number, nickname=r.nickname, contact=r.pick_contact)
            for r in rows if reg.badge_number in (r.picks or [])]


async def choice_summary(session: AsyncSession, *, actor: Principal, event_id: int) -> ChoiceSummary:
    moderation.require_org_kind(actor, KIND)
    ev = await moderation.load_own(session, actor, KIND, event_id)
    rows = (await session.execute(
        select(R.badge_number, R.picks).where(R.event_id == event_id, R.checked_in_at.is_not(None),
                                              R.status == "confirmed"))).all()
    picked = {r.badge_number: set(r.picks or []) for r in rows}
    mutual = sum(1 for a, theirs in picked.items() for b in theirs if a < b and a in picked.get(b, ()))
    window = _choice_window(ev)
    return ChoiceSummary(checked_in=len(rows), participants=sum(1 for p in picked.values() if p),
                         picks=sum(len(p) for p in picked.values()), mutual_matches=mutual,
                         choice_closes_at=window[1] if window else None)

