"""The organiser's side: create and edit events, change capacity, cancel, the attendee list, waiving
a no-show or late cancellation. Functions given ``ev`` get the organiser's own event, loaded by the
route's ownership dependency (app.kit.postings.owned: another organisation's answers 404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, literal_column, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.events import (
    AttendeePublic,
    CapacityIn,
    EventCreate,
    EventProvider,
    EventUpdate,
    QuotaProvider,
)
from app.services import audit, moderation, restrictions
from app.services.events import errors as everr
from app.services.events.attendance import mark_no_shows
from app.services.events.common import (
    KIND,
    NO_SYNC,
    PLACES,
    REGISTRATION,
    SERVICE,
    R,
    as_announced_to,
    check_times,
    lock_quotas,
    no_shows_due,
    quota_capacities,
    quota_rows,
)
from app.services.events.notices import CANCELLED, CHANGED, STRIKE_WAIVED
from app.services.events.registrations import promote
from app.services.events.signup import forget_rules
from app.services.notifications.catalogue import notify, notify_many
from app.validators import age_on
from models.accounts import User
from models.base import utcnow
from models.events import ACTIVE_STATUSES, Event, EventQuota
from models.restrictions import Strike

_TIME_FIELDS = ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at")
# What people signed up for: changing it tells them, and lets them step back without a penalty.
MATERIAL = frozenset({"starts_at", "ends_at", "venue_name", "venue_address"})


async def create_event(session: AsyncSession, *, actor: Principal, data: EventCreate) -> EventProvider:
    postings.require_org_kind(actor, KIND)
    check_times(data.starts_at, data.ends_at, data.signup_opens_at, data.signup_closes_at)
    fields = data.model_dump(exclude={"quotas"})
    quotas = data.quotas
    ev = Event.model_validate(fields, update={
        "org_id": actor.org_id, "quota_male": quotas.male if quotas else None,
        "quota_female": quotas.female if quotas else None,
    })
    session.add(ev)
    await session.flush()
    for key, cap in quota_capacities(ev.capacity, ev.quota_male, ev.quota_female).items():
        session.add(EventQuota(event_id=ev.id, quota_key=key, capacity=cap))
    await session.flush()
    await audit.record(session, actor=actor, action="event.create", target_kind=KIND.kind, target_id=ev.id)
    return await _provider_view(session, ev)


async def get_own_event(session: AsyncSession, *, ev: Event) -> EventProvider:
    return await _provider_view(session, ev)


async def update_event(session: AsyncSession, *, actor: Principal, ev: Event, data: EventUpdate) -> EventProvider:
    """Edit the event (``ev`` locked for update). With people signed up, its times cannot move to a
    moment already past nor change once it started (that would make no-shows of them after the fact),
    and a change of time or place tells them and lets them cancel without a late cancellation."""
    if ev.cancelled_at is not None:
        raise everr.StateInvalid("活动已取消，不能再修改")
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k not in ("latitude", "longitude")}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    merged = {f: changes.get(f, getattr(ev, f)) for f in (*_TIME_FIELDS, "min_age", "max_age")}
    check_times(merged["starts_at"], merged["ends_at"], merged["signup_opens_at"], merged["signup_closes_at"])
    if merged["min_age"] > merged["max_age"]:
        raise errors.ValidationFailed(fields={"min_age": "最小年龄不能大于最大年龄"})
    changed = {k for k, v in changes.items() if getattr(ev, k) != v}
    now = clock.now()
    signed_up: list[int] = []
    if changed & MATERIAL:
        signed_up = list((await session.execute(
            select(R.user_id).where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES)))).scalars().all())
    if signed_up and changed & {"starts_at", "ends_at"}:
        if ev.starts_at <= now:
            raise everr.TimeInPast("活动已经开始，已有人报名，不能再修改活动时间")
        past = {f: "已有人报名，不能改到已经过去的时间" for f in ("starts_at", "ends_at") if merged[f] <= now}
        if past:
            raise everr.TimeInPast(fields=past)
    forget_rules(ev.id)
    for key in changed:
        setattr(ev, key, changes[key])
    if signed_up:
        ev.changed_at = now
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=ev, changed=changed)
    if signed_up:
        notify_many(session, CHANGED, signed_up, data={"event_id": ev.id}, event=ev.title, starts_at=ev.starts_at,
                    venue=ev.venue_name)
        await audit.record(session, actor=actor, action="event.material_change", target_kind=KIND.kind,
                           target_id=ev.id, detail={"fields": sorted(changed & MATERIAL), "notified": len(signed_up)})
    return await _provider_view(session, ev)


async def change_capacity(session: AsyncSession, *, actor: Principal, ev: Event, data: CapacityIn) -> EventProvider:
    if ev.cancelled_at is not None:
        raise everr.StateInvalid("活动已取消，不能再修改名额")
    if (ev.quota_male is None) != (data.quotas is None):
        raise errors.ValidationFailed(fields={"quotas": "该活动按性别分配名额，请同时填写男女名额" if ev.quota_male
                                              is not None else "该活动不按性别分配名额，请只填写总名额"})
    now = clock.now()
    if now >= ev.ends_at:
        raise everr.StateInvalid("活动已结束，不能再修改名额")
    wanted = quota_capacities(data.capacity, data.quotas.male if data.quotas else None,
                               data.quotas.female if data.quotas else None)
    quotas = await lock_quotas(session, ev.id)
    too_low = {q.quota_key: f"已有{q.taken}人报名成功" for q in quotas if wanted[q.quota_key] < q.taken}
    if too_low:
        raise everr.CapacityBelowConfirmed(fields={
            ("capacity" if k == "all" else f"quotas.{k}"): v for k, v in too_low.items()})
    before = {q.quota_key: q.capacity for q in quotas}
    forget_rules(ev.id)
    promoted = 0
    for q in quotas:
        q.capacity = wanted[q.quota_key]
        await session.flush()
        if now < ev.starts_at and q.capacity > q.taken:
            users = await promote(session, ev, q.quota_key, q.capacity - q.taken, now)
            if users:
                await PLACES.take(session, q.id, len(users))
            promoted += len(users)
    ev.capacity, ev.quota_male, ev.quota_female = data.capacity, wanted.get("male"), wanted.get("female")
    ev.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="event.capacity_change", target_kind=KIND.kind,
                       target_id=ev.id, detail={"from": before, "to": wanted, "promoted": promoted})
    return await _provider_view(session, ev)


async def cancel_event(session: AsyncSession, *, actor: Principal, ev: Event, reason: str) -> EventProvider:
    now = clock.now()
    if ev.cancelled_at is not None:
        raise everr.StateInvalid("活动已经取消")
    if now >= ev.ends_at:
        raise everr.StateInvalid("活动已结束，不能取消")
    quotas = await lock_quotas(session, ev.id)
    forget_rules(ev.id)
    for q in quotas:
        q.open = False
    await session.flush()
    users = (await session.execute(
        update(R).where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES))
        .values(status="event_cancelled", cancelled_at=now).returning(R.user_id).execution_options(**NO_SYNC)
    )).scalars().all()
    notify_many(session, CANCELLED, list(users), data={"event_id": ev.id}, event=ev.title, starts_at=ev.starts_at,
                reason=reason)
    ev.cancelled_at, ev.cancel_reason = now, reason
    if ev.status in ("published", "pending_review"):
        ev.status = "closed"
    ev.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="event.cancel", target_kind=KIND.kind, target_id=ev.id,
                       reason=reason, detail={"notified": len(users)})
    return await _provider_view(session, ev)


# --- attendees ---------------------------------------------------------------------------------------


def _shown_status(ev: Event, now: Any) -> Any:
    """SQL: the registration's status, with a due no-show shown before the sweeper records it."""
    if not no_shows_due(ev, now):
        return R.status
    return case((and_(R.status == "confirmed", R.checked_in_at.is_(None), as_announced_to(ev)), "no_show"),
                else_=R.status)


def _attendees(ev: Event, now: Any, status: str | None) -> Any:
    ranked = (select(R.id, func.row_number().over(partition_by=R.quota_key, order_by=R.id).label("pos"))
              .where(R.event_id == ev.id, R.status == "waitlisted").subquery())
    shown = _shown_status(ev, now)
    stmt = (select(R.id, R.badge_number, shown.label("shown"), R.checked_in_at, User.nickname, User.gender,
                   User.birth_date, ranked.c.pos)
            .join(User, User.id == R.user_id).outerjoin(ranked, ranked.c.id == R.id).where(R.event_id == ev.id))
    return stmt.where(shown == status) if status else stmt


def _attendee(r: Any, ev: Event) -> AttendeePublic:
    day = local_day(ev.starts_at)
    return AttendeePublic(registration_id=r.id, badge_number=r.badge_number, nickname=r.nickname, gender=r.gender,
                          age=age_on(r.birth_date, day) if r.birth_date else None, status=r.shown,
                          waitlist_position=r.pos, checked_in_at=r.checked_in_at)


async def attendees(session: AsyncSession, *, actor: Principal, ev: Event, status: str | None,
                    cursor: str | None, limit: int) -> Page[AttendeePublic]:
    page = await keyset(session, _attendees(ev, clock.now(), status), [Key("id", R.id)], cursor=cursor, limit=limit,
                        tag="event-attendees")
    items = page.page(lambda r: _attendee(r, ev))
    await audit.record(session, actor=actor, action="event.attendees_view", target_kind=KIND.kind,
                       target_id=ev.id, detail={"status": status, "count": len(items.items)})
    return items


async def waive_strike(session: AsyncSession, *, actor: Principal, ev: Event, registration_id: int, reason: str
                       ) -> AttendeePublic:
    """The organiser excuses a no-show or late cancellation (ill, an emergency): under the shared
    policy the strike counts no more, a restriction it caused is lifted, and the person is told."""
    reg_user = (await session.execute(select(R.user_id).where(R.id == registration_id, R.event_id == ev.id))
                ).scalar_one_or_none()
    if reg_user is None:
        raise errors.NotFound()
    now = clock.now()
    if no_shows_due(ev, now):
        # Due but not swept yet: record it now (the sweeper's own idempotent step) so it can be waived.
        await mark_no_shows(session, now=now, event_ids=[ev.id])
    strikes = (await session.execute(select(Strike.id).where(
        Strike.source_kind == REGISTRATION, Strike.source_id == registration_id, Strike.waived_at.is_(None))
        .order_by(Strike.id))).scalars().all()
    if not strikes:
        raise everr.NoStrike()
    for strike_id in strikes:
        await restrictions.waive(session, strike_id=strike_id, service=SERVICE, by_user_id=actor.user_id,
                                 reason=reason, now=now)
    notify(session, STRIKE_WAIVED, reg_user, data={"event_id": ev.id, "registration_id": registration_id},
           event=ev.title, starts_at=ev.starts_at, reason=reason)
    await audit.record(session, actor=actor, action="event.waive_strike", target_kind=REGISTRATION,
                       target_id=registration_id, reason=reason)
    row = (await session.execute(_attendees(ev, now, None).where(R.id == registration_id))).one()
    return _attendee(row, ev)


async def _provider_view(session: AsyncSession, ev: Event) -> EventProvider:
    quotas = (await quota_rows(session, [ev.id])).get(ev.id, [])
    # A due no-show is no longer a confirmed place, recorded or not.
    due = (func.count(case((and_(R.status == "confirmed", R.checked_in_at.is_(None), as_announced_to(ev)), 1)))
           if no_shows_due(ev, clock.now()) else literal_column("0"))
    counts = (await session.execute(
        select(R.quota_key, R.status, func.count(), func.count(R.checked_in_at), due)
        .where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES))
        .group_by(R.quota_key, R.status))).all()
    by = {(k, s): n - absent for k, s, n, _, absent in counts}
    checked_in = sum(c for _, s, _, c, _ in counts if s == "confirmed")
    data = {f: getattr(ev, f) for f in EventProvider.model_fields if hasattr(ev, f)}
    data["quotas"] = [QuotaProvider(key=q.quota_key, capacity=q.capacity, places_left=max(q.capacity - q.taken, 0),
                                    confirmed=by.get((q.quota_key, "confirmed"), 0),
                                    waitlisted=by.get((q.quota_key, "waitlisted"), 0)) for q in quotas]
    data["checked_in"] = checked_in
    return EventProvider(**data)
