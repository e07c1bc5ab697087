"""The organiser's side: create and edit events, change capacity, cancel, the attendee list."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.events import (
    AttendeePublic,
    CapacityIn,
    EventCreate,
    EventProvider,
    EventUpdate,
    QuotaProvider,
)
from app.services import audit, moderation, notifications
from app.services.events.attendance import mark_if_ended
from app.services.events.common import (
    KIND,
    NO_SYNC,
    R,
    check_times,
    cursor_id,
    local,
    lock_quotas,
    quota_capacities,
    quota_rows,
)
from app.services.events.registrations import promote
from app.services.events.signup import forget_rules
from app.validators import SHANGHAI, age_on
from models.accounts import User
from models.base import utcnow
from models.events import ACTIVE_STATUSES, Event, EventQuota

_TIME_FIELDS = ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at")


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


async def get_own_event(session: AsyncSession, *, actor: Principal, event_id: int) -> EventProvider:
    ev = await postings.load_own(session, actor, KIND, event_id)
    await mark_if_ended(session, ev)
    return await _provider_view(session, ev)


async def update_event(session: AsyncSession, *, actor: Principal, event_id: int, data: EventUpdate
                       ) -> EventProvider:
    ev = await postings.load_own(session, actor, KIND, event_id, for_update=True)
    if ev.cancelled_at is not None:
        raise errors.EventStateInvalid("活动已取消，不能再修改")
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k not in ("latitude", "longitude")}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    merged = {f: changes.get(f, getattr(ev, f)) for f in (*_TIME_FIELDS, "min_age", "max_age")}
    check_times(merged["starts_at"], merged["ends_at"], merged["signup_opens_at"], merged["signup_closes_at"])
    if merged["min_age"] > merged["max_age"]:
        raise errors.ValidationFailed(fields={"min_age": "最小年龄不能大于最大年龄"})
    changed = {k for k, v in changes.items() if getattr(ev, k) != v}
    forget_rules(ev.id)
    for key in changed:
        setattr(ev, key, changes[key])
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=ev, changed=changed)
    if changed & {"starts_at", "ends_at", "venue_name", "venue_address"}:
        # People who hold or wait for a place must hear that the time or place moved.
        users = (await session.execute(
            select(R.user_id).where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES)))).scalars().all()
        notifications.notify_many(
            session, user_ids=list(users), kind="event.changed", title="活动时间或地点有调整",
            body=f"您报名的「{ev.title}」调整为 {local(ev.starts_at)} 在 {ev.venue_name} 举行，如不能参加请及时取消报名。",
            data={"event_id": ev.id})
    return await _provider_view(session, ev)


async def change_capacity(session: AsyncSession, *, actor: Principal, event_id: int, data: CapacityIn
                          ) -> EventProvider:
    ev = await postings.load_own(session, actor, KIND, event_id, for_update=True)
    if ev.cancelled_at is not None:
        raise errors.EventStateInvalid("活动已取消，不能再修改名额")
    if (ev.quota_male is None) != (data.quotas is None):
        raise errors.ValidationFailed(fields={"quotas": "该活动按性别分配名额，请同时填写男女名额" if ev.quota_male
                                              is not None else "该活动不按性别分配名额，请只填写总名额"})
    now = clock.now()
    if now >= ev.ends_at:
        raise errors.EventStateInvalid("活动已结束，不能再修改名额")
    wanted = quota_capacities(data.capacity, data.quotas.male if data.quotas else None,
                               data.quotas.female if data.quotas else None)
    quotas = await lock_quotas(session, ev.id)
    too_low = {q.quota_key: f"已有{q.taken}人报名成功" for q in quotas if wanted[q.quota_key] < q.taken}
    if too_low:
        raise errors.EventCapacityBelowConfirmed(fields={
            ("capacity" if k == "all" else f"quotas.{k}"): v for k, v in too_low.items()})
    before = {q.quota_key: q.capacity for q in quotas}
    forget_rules(ev.id)
    promoted = 0
    for q in quotas:
        q.capacity = wanted[q.quota_key]
        await session.flush()
        if now < ev.starts_at and q.capacity > q.taken:
            users = await promote(session, ev, q.quota_key, q.capacity - q.taken, now)
            q.taken += len(users)
            promoted += len(users)
    ev.capacity, ev.quota_male, ev.quota_female = data.capacity, wanted.get("male"), wanted.get("female")
    ev.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="event.capacity_change", target_kind=KIND.kind,
                       target_id=ev.id, detail={"from": before, "to": wanted, "promoted": promoted})
    return await _provider_view(session, ev)


async def cancel_event(session: AsyncSession, *, actor: Principal, event_id: int, reason: str) -> EventProvider:
    ev = await postings.load_own(session, actor, KIND, event_id, for_update=True)
    now = clock.now()
    if ev.cancelled_at is not None:
        raise errors.EventStateInvalid("活动已经取消")
    if now >= ev.ends_at:
        raise errors.EventStateInvalid("活动已结束，不能取消")
    quotas = await lock_quotas(session, ev.id)
    forget_rules(ev.id)
    for q in quotas:
        q.open = False
    await session.flush()
    users = (await session.execute(
        update(R).where(R.event_id == ev.id, R.status.in_(ACTIVE_STATUSES))
        .values(status="event_cancelled", cancelled_at=now).returning(R.user_id).execution_options(**NO_SYNC)
    )).scalars().all()
    notifications.notify_many(
        session, user_ids=list(users), kind="event.cancelled", title="活动已取消",
        body=f"很抱歉，您报名的「{ev.title}」（{local(ev.starts_at)}）已被主办方取消。原因：{reason}",
        data={"event_id": ev.id})
    ev.cancelled_at, ev.cancel_reason = now, reason
    if ev.status in ("published", "pending_review"):
        ev.status = "closed"
    ev.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="event.cancel", target_kind=KIND.kind, target_id=ev.id,
                       reason=reason, detail={"notified": len(users)})
    return await _provider_view(session, ev)


async def attendees(session: AsyncSession, *, actor: Principal, event_id: int, status: str | None,
                    cursor: str | None, limit: int) -> Page[AttendeePublic]:
    ev = await postings.load_own(session, actor, KIND, event_id)
    await mark_if_ended(session, ev)
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
        stmt = stmt.where(R.id > cursor_id(after["id"]))
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
    quotas = (await quota_rows(session, [ev.id])).get(ev.id, [])
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
