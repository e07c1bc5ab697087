"""Counsellor profiles and their slots (the centre's side), and the public list and free slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings
from app.kit.pagination import Key, Page, keyset
from app.kit.time import day_start, local, local_day
from app.schemas.counselling import (
    SPECIALTY_LABELS,
    CounsellorIn,
    CounsellorOwn,
    CounsellorPublic,
    CounsellorUpdate,
    SlotIn,
    SlotOwn,
    SlotPatternIn,
    SlotPatternResult,
    SlotPublic,
)
from app.schemas.moderation import PostingState
from app.services import audit, moderation
from app.services.counselling import errors as cerr
from app.services.counselling.common import (
    FREE,
    KIND,
    MAX_PATTERN_SLOTS,
    MAX_SLOTS_AHEAD,
    day_range,
    overlaps,
    slot_state,
    slot_state_of,
    tags_for,
)
from app.services.counselling.settings import settings
from models.counselling import HOLDING_STATUSES, CounsellingBooking, CounsellingSlot, Counsellor
from models.orgs import Organisation, OrgMember

# --- counsellor profiles (the centre) -------------------------------------------------------------


async def _check_account(session: AsyncSession, actor: Principal, user_id: int, counsellor_id: int | None) -> None:
    member = (await session.execute(
        select(OrgMember.id).where(OrgMember.user_id == user_id, OrgMember.org_id == actor.org_id))).first()
    if member is None:
        raise errors.ValidationFailed(fields={"user_id": "该账号不是本机构的成员"})
    other = (await session.execute(select(Counsellor.id).where(Counsellor.user_id == user_id))).scalar()
    if other is not None and other != counsellor_id:
        raise errors.ValidationFailed(fields={"user_id": "该账号已关联其他咨询师"})


async def _flush_linked(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # two profiles linked to one account at the same moment
        raise errors.ValidationFailed(fields={"user_id": "该账号已关联其他咨询师"})


async def create_counsellor(session: AsyncSession, *, actor: Principal, data: CounsellorIn) -> CounsellorOwn:
    postings.require_org_kind(actor, KIND)
    if data.user_id is not None:
        await _check_account(session, actor, data.user_id, None)
    obj = Counsellor(org_id=actor.org_id, tags=tags_for(data.specialties, data.modes), **data.model_dump())
    session.add(obj)
    await _flush_linked(session)
    await audit.record(session, actor=actor, action="counsellor.create", target_kind=KIND.kind, target_id=obj.id)
    return (await _own_views(session, [obj]))[0]


async def update_counsellor(session: AsyncSession, *, actor: Principal, counsellor_id: int, data: CounsellorUpdate
                            ) -> CounsellorOwn:
    obj = await postings.load_own(session, actor, KIND, counsellor_id, for_update=True)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if getattr(obj, k) != v}
    if changes.get("user_id") is not None:
        await _check_account(session, actor, changes["user_id"], obj.id)
    for key, value in changes.items():
        setattr(obj, key, value)
    obj.tags = tags_for(obj.specialties, obj.modes)
    await _flush_linked(session)
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=obj, changed=set(changes))
    return (await _own_views(session, [obj]))[0]


async def own_counsellors(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int
                          ) -> Page[CounsellorOwn]:
    page = await keyset(session, select(Counsellor).where(Counsellor.org_id == actor.org_id),
                        [Key("id", Counsellor.id)], cursor=cursor, limit=limit, tag="counselling.own_counsellors")
    views = await _own_views(session, [r[0] for r in page.rows])
    return Page(items=views, next_cursor=page.next_cursor)


async def own_counsellor(session: AsyncSession, *, actor: Principal, counsellor_id: int) -> CounsellorOwn:
    obj = await postings.load_own(session, actor, KIND, counsellor_id)
    return (await _own_views(session, [obj]))[0]


async def _next_free(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, datetime]:
    if not ids:
        return {}
    earliest = now + timedelta(hours=settings().counselling_min_notice_hours)
    rows = await session.execute(
        select(CounsellingSlot.counsellor_id, func.min(CounsellingSlot.starts_at))
        .where(CounsellingSlot.counsellor_id.in_(ids), FREE, CounsellingSlot.starts_at >= earliest)
        .group_by(CounsellingSlot.counsellor_id)
    )
    # min() over a column comes back untyped on SQLite: normalise to aware UTC.
    out = {}
    for cid, at in rows.all():
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        out[cid] = local(at if at.tzinfo else at.replace(tzinfo=UTC))
    return out


def _public_fields(obj: Counsellor, org_name: str, next_free: datetime | None) -> dict[str, Any]:
    return dict(
        id=obj.id, org_id=obj.org_id, org_name=org_name, display_name=obj.display_name, gender=obj.gender,
        qualifications=obj.qualifications, specialties=obj.specialties,
        specialty_labels=[SPECIALTY_LABELS.get(s, s) for s in obj.specialties], modes=obj.modes,
        languages=obj.languages, photo_url=obj.photo_url, introduction=obj.introduction, next_free_at=next_free,
    )


async def _own_views(session: AsyncSession, rows: list[Counsellor]) -> list[CounsellorOwn]:
    nxt = await _next_free(session, [c.id for c in rows], clock.now())
    names = await postings.org_names(session, [c.org_id for c in rows])
    return [CounsellorOwn(
        **_public_fields(c, names[c.org_id], nxt.get(c.id)), **PostingState.fields_of(c), user_id=c.user_id,
        created_at=c.created_at, updated_at=c.updated_at,
    ) for c in rows]


# --- slots (the centre) ----------------------------------------------------------------------------


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second)


async def _live_slots(session: AsyncSession, counsellor_id: int, lo: datetime, hi: datetime
                      ) -> list[tuple[datetime, datetime]]:
    rows = await session.execute(
        select(CounsellingSlot.starts_at, CounsellingSlot.ends_at).where(
            CounsellingSlot.counsellor_id == counsellor_id, CounsellingSlot.status == "open",
            CounsellingSlot.starts_at < hi, CounsellingSlot.ends_at > lo)
    )
    return [(s, e) for s, e in rows.all()]


def _slot_own(slot: CounsellingSlot, booking_id: int | None = None, state: str | None = None) -> SlotOwn:
    return SlotOwn(id=slot.id, counsellor_id=slot.counsellor_id, starts_at=local(slot.starts_at),
                   ends_at=local(slot.ends_at), status=state or slot_state_of(slot), booking_id=booking_id)


async def create_slot(session: AsyncSession, *, actor: Principal, counsellor_id: int, data: SlotIn) -> SlotOwn:
    now = clock.now()
    postings.require_org_kind(actor, KIND)
    # The counsellor row lock queues concurrent slot requests for one counsellor, so they cannot overlap.
    counsellor = await postings.load_own(session, actor, KIND, counsellor_id, for_update=True)
    start = data.starts_at.astimezone(UTC)
    if start <= now:
        raise errors.ValidationFailed(fields={"starts_at": "开始时间应在将来"})
    if start > now + MAX_SLOTS_AHEAD:
        raise errors.ValidationFailed(fields={"starts_at": "最多只能发布未来 180 天内的时段"})
    end = start + timedelta(minutes=data.duration_minutes)
    if overlaps(start, end, await _live_slots(session, counsellor.id, start, end)):
        raise cerr.SlotOverlap()
    slot = CounsellingSlot(counsellor_id=counsellor.id, org_id=counsellor.org_id, starts_at=start, ends_at=end)
    session.add(slot)
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.slots_create", target_kind=KIND.kind,
                       target_id=counsellor.id, detail={"count": 1})
    return _slot_own(slot)


async def create_slot_pattern(session: AsyncSession, *, actor: Principal, counsellor_id: int, data: SlotPatternIn
                              ) -> SlotPatternResult:
    now = clock.now()
    counsellor = await postings.load_own(session, actor, KIND, counsellor_id, for_update=True)
    first = data.start_date or local_day(now)
    if abs((first - local_day(now)).days) > MAX_SLOTS_AHEAD.days:
        raise errors.ValidationFailed(fields={"start_date": "开始日期应在今天前后 180 天以内"})
    days = [first + timedelta(days=i) for i in range(data.weeks * 7)]
    step = timedelta(minutes=data.session_minutes + data.break_minutes)
    length = timedelta(minutes=data.session_minutes)
    wanted: list[tuple[datetime, datetime]] = []
    for day in days:
        if day.isoweekday() not in data.weekdays:
            continue
        # Shanghai has no DST: a wall-clock time is a fixed offset from the day's start.
        midnight = day_start(day)
        at = midnight + _since_midnight(data.day_start)
        day_end = midnight + _since_midnight(data.day_end)
        while at + length <= day_end:
            wanted.append((at, at + length))
            at += step
    if len(wanted) > MAX_PATTERN_SLOTS:
        raise errors.ValidationFailed(fields={"weeks": f"一次最多生成 {MAX_PATTERN_SLOTS} 个时段，请缩短周数"})
    if wanted and wanted[-1][0] > now + MAX_SLOTS_AHEAD:
        raise errors.ValidationFailed(fields={"weeks": "最多只能发布未来 180 天内的时段"})
    taken = await _live_slots(session, counsellor.id, wanted[0][0], wanted[-1][1]) if wanted else []
    created = []
    for start, end in wanted:
        if start <= now or overlaps(start, end, taken):
            continue
        created.append(CounsellingSlot(counsellor_id=counsellor.id, org_id=counsellor.org_id, starts_at=start,
                                       ends_at=end))
        taken.append((start, end))
    session.add_all(created)
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.slots_create", target_kind=KIND.kind,
                       target_id=counsellor.id, detail={"count": len(created)})
    return SlotPatternResult(created=len(created), skipped=len(wanted) - len(created),
                             slots=[_slot_own(s) for s in created])


_SLOT_ORDER = [Key("t", CounsellingSlot.starts_at, datetime), Key("id", CounsellingSlot.id)]


async def own_slots(session: AsyncSession, *, actor: Principal, counsellor_id: int, first: date | None,
                    last: date | None, cursor: str | None, limit: int) -> Page[SlotOwn]:
    counsellor = await postings.load_own(session, actor, KIND, counsellor_id)
    lo, hi = day_range(first, last, local_day(clock.now()) - timedelta(days=1), 28)
    stmt = (select(CounsellingSlot, CounsellingBooking.id, slot_state())
            .outerjoin(CounsellingBooking, and_(CounsellingBooking.slot_id == CounsellingSlot.id,
                                                CounsellingBooking.status.in_(HOLDING_STATUSES)))
            .where(CounsellingSlot.counsellor_id == counsellor.id, CounsellingSlot.starts_at >= lo,
                   CounsellingSlot.starts_at < hi))
    page = await keyset(session, stmt, _SLOT_ORDER, cursor=cursor, limit=limit, tag="counselling.own_slots")
    return page.page(lambda r: _slot_own(r[0], r[1], r[2]))


async def withdraw_slot(session: AsyncSession, *, actor: Principal, slot_id: int) -> SlotOwn:
    slot = await session.get(CounsellingSlot, slot_id)
    if slot is None or slot.org_id != actor.org_id:
        raise errors.NotFound()
    # Conditional, like taking a place: a booking landing at the same moment wins or loses cleanly.
    withdrawn = await session.execute(
        update(CounsellingSlot).where(CounsellingSlot.id == slot_id, CounsellingSlot.status == "open",
                                      CounsellingSlot.taken == 0)
        .values(status="withdrawn").returning(CounsellingSlot.id).execution_options(synchronize_session=False))
    if withdrawn.first() is not None:
        await audit.record(session, actor=actor, action="counselling.slot_withdraw", target_kind="counselling_slot",
                           target_id=slot.id)
    await session.refresh(slot)
    if slot.status == "open":
        raise cerr.SlotBooked()
    return _slot_own(slot)


# --- the public side -------------------------------------------------------------------------------


async def list_counsellors(session: AsyncSession, *, specialty: str | None, mode: str | None, gender: str | None,
                           org_id: int | None, cursor: str | None, limit: int) -> Page[CounsellorPublic]:
    stmt = (select(Counsellor, Organisation.name).join(Organisation, Organisation.id == Counsellor.org_id)
            .where(KIND.listed()))
    if specialty:
        stmt = stmt.where(Counsellor.tags.contains(f"|s:{specialty}|"))
    if mode:
        stmt = stmt.where(Counsellor.tags.contains(f"|m:{mode}|"))
    if gender:
        stmt = stmt.where(Counsellor.gender == gender)
    if org_id:
        stmt = stmt.where(Counsellor.org_id == org_id)
    page = await keyset(session, stmt, [Key("id", Counsellor.id)], cursor=cursor, limit=limit,
                        tag="counselling.counsellors")
    nxt = await _next_free(session, [r[0].id for r in page.rows], clock.now())
    return page.page(lambda r: CounsellorPublic(**_public_fields(r[0], r[1], nxt.get(r[0].id))))


async def _public_counsellor(session: AsyncSession, counsellor_id: int) -> tuple[Counsellor, str]:
    row = (await session.execute(
        select(Counsellor, Organisation.name).join(Organisation, Organisation.id == Counsellor.org_id)
        .where(Counsellor.id == counsellor_id, KIND.listed())
    )).first()
    if row is None:
        raise errors.NotFound()
    return row[0], row[1]


async def get_counsellor(session: AsyncSession, *, counsellor_id: int) -> CounsellorPublic:
    obj, org_name = await _public_counsellor(session, counsellor_id)
    nxt = await _next_free(session, [obj.id], clock.now())
    return CounsellorPublic(**_public_fields(obj, org_name, nxt.get(obj.id)))


async def free_slots(session: AsyncSession, *, counsellor_id: int, first: date | None, last: date | None,
                     cursor: str | None, limit: int) -> Page[SlotPublic]:
    now = clock.now()
    await _public_counsellor(session, counsellor_id)
    lo, hi = day_range(first, last, local_day(now), 28)
    lo = max(lo, now + timedelta(hours=settings().counselling_min_notice_hours))
    stmt = select(CounsellingSlot).where(CounsellingSlot.counsellor_id == counsellor_id, FREE,
                                         CounsellingSlot.starts_at >= lo, CounsellingSlot.starts_at < hi)
    page = await keyset(session, stmt, _SLOT_ORDER, cursor=cursor, limit=limit, tag="counselling.free_slots")
    return page.page(lambda r: SlotPublic(id=r[0].id, counsellor_id=r[0].counsellor_id,
                                          starts_at=local(r[0].starts_at), ends_at=local(r[0].ends_at)))
