"""Counselling (青少年心理健康服务): counsellor profiles, slots, private bookings, session notes, staff counts.

Privacy: the intake and notes are decrypted only for the booking's own centre (notes: their author) and
the person; every such read is audited without content; staff get counts. Anyone else gets 404.
Concurrency: a slot goes to whoever flips it free → booked first (one conditional UPDATE, backed by a
unique partial index on bookings); a person's own booking changes queue on their user row, so the
overlap and upcoming-count checks see each other's results.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.config import get_settings
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.counselling import (
    SPECIALTY_LABELS,
    BookingIn,
    BookingOwnDetail,
    BookingPublic,
    CentreBooking,
    CentreBookingDetail,
    CentreCancelIn,
    CounsellingStats,
    CounsellorBrief,
    CounsellorIn,
    CounsellorOwn,
    CounsellorPublic,
    CounsellorUpdate,
    CrisisResource,
    IntakeOut,
    NotePublic,
    SlotIn,
    SlotOwn,
    SlotPatternIn,
    SlotPatternResult,
    SlotPublic,
)
from app.services import audit, moderation, notifications
from app.services.moderation import PostingKind
from app.validators import SHANGHAI, age_on
from models.accounts import User
from models.base import utcnow
from models.counselling import (
    HOLDING_STATUSES,
    CounsellingBooking,
    CounsellingNote,
    CounsellingSlot,
    Counsellor,
)
from models.orgs import Organisation, OrgMember

KIND = moderation.register(PostingKind(
    kind="counsellor", model=Counsellor, org_kinds=("counselling_center",), title_field="display_name",
    # The photo is checked and re-reviewed like text: a new picture is new public content.
    text_fields=("display_name", "qualifications", "introduction", "languages", "photo_url"), label="咨询师",
))

BOOKING = "counselling_booking"  # audit target kind
MAX_SLOT_RANGE = timedelta(days=62)
MAX_SLOTS_AHEAD = timedelta(days=180)
MAX_PATTERN_SLOTS = 500


# --- time and small helpers ------------------------------------------------------------------------


def to_utc(value: datetime) -> datetime:
    """A client's time: with an offset as given, without one as Asia/Shanghai wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time.min, SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, SHANGHAI).astimezone(UTC)
    return start, end


def age_band(birth: date, on: date) -> str:
    age = age_on(birth, on)
    for upper, band in ((13, "<14"), (17, "14-17"), (24, "18-24"), (29, "25-29"), (35, "30-35")):
        if age <= upper:
            return band
    return ">35"


def _hours(value: float) -> str:
    return f"{value:g}"


def tags_for(specialties: list[str], modes: list[str]) -> str:
    return "|" + "".join(f"s:{s}|" for s in specialties) + "".join(f"m:{m}|" for m in modes)


def _crisis() -> list[CrisisResource]:
    return [CrisisResource(**r) for r in get_settings().crisis_resources]


def _range(start: datetime | None, end: datetime | None, default_start: datetime,
           default_len: timedelta) -> tuple[datetime, datetime]:
    lo = to_utc(start) if start else default_start
    hi = to_utc(end) if end else lo + default_len
    if hi <= lo:
        raise errors.ValidationFailed(fields={"to": "结束时间应晚于开始时间"})
    if hi - lo > MAX_SLOT_RANGE:
        raise errors.ValidationFailed(fields={"to": "一次最多查询 62 天"})
    return lo, hi


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
    moderation.require_org_kind(actor, KIND)
    if data.user_id is not None:
        await _check_account(session, actor, data.user_id, None)
    obj = Counsellor(org_id=actor.org_id, tags=tags_for(data.specialties, data.modes), **data.model_dump())
    session.add(obj)
    await _flush_linked(session)
    await audit.record(session, actor=actor, action="counsellor.create", target_kind=KIND.kind, target_id=obj.id)
    return (await _own_views(session, [obj]))[0]


async def update_counsellor(session: AsyncSession, *, actor: Principal, counsellor_id: int, data: CounsellorUpdate
                            ) -> CounsellorOwn:
    moderation.require_org_kind(actor, KIND)
    obj = await moderation.load_own(session, actor, KIND, counsellor_id, for_update=True)
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
    stmt = select(Counsellor).where(Counsellor.org_id == actor.org_id).order_by(Counsellor.id).limit(limit + 1)
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(Counsellor.id > int(after["id"]))
    rows = list((await session.execute(stmt)).scalars())
    nxt = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return Page(items=await _own_views(session, rows[:limit]), next_cursor=nxt)


async def own_counsellor(session: AsyncSession, *, actor: Principal, counsellor_id: int) -> CounsellorOwn:
    obj = await moderation.load_own(session, actor, KIND, counsellor_id)
    return (await _own_views(session, [obj]))[0]


async def _next_free(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, datetime]:
    if not ids:
        return {}
    earliest = now + timedelta(hours=get_settings().counselling_min_notice_hours)
    rows = await session.execute(
        select(CounsellingSlot.counsellor_id, func.min(CounsellingSlot.starts_at))
        .where(CounsellingSlot.counsellor_id.in_(ids), CounsellingSlot.status == "free",
               CounsellingSlot.starts_at >= earliest)
        .group_by(CounsellingSlot.counsellor_id)
    )
    # min() over a column comes back untyped on SQLite: normalise to aware UTC.
    out = {}
    for cid, at in rows.all():
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        out[cid] = local(at if at.tzinfo else at.replace(tzinfo=UTC))
    return out


def _public_fields(obj: Counsellor, org_name: str | None, next_free: datetime | None) -> dict[str, Any]:
    return dict(
        id=obj.id, org_id=obj.org_id, org_name=org_name, display_name=obj.display_name, gender=obj.gender,
        qualifications=obj.qualifications, specialties=obj.specialties,
        specialty_labels=[SPECIALTY_LABELS.get(s, s) for s in obj.specialties], modes=obj.modes,
        languages=obj.languages, photo_url=obj.photo_url, introduction=obj.introduction, next_free_at=next_free,
    )


async def _own_views(session: AsyncSession, rows: list[Counsellor]) -> list[CounsellorOwn]:
    nxt = await _next_free(session, [c.id for c in rows], utcnow())
    return [CounsellorOwn(
        **_public_fields(c, None, nxt.get(c.id)), status=c.status, review_flag=c.review_flag,
        review_reason=c.review_reason, hidden_by_reports=c.hidden_by_reports, user_id=c.user_id,
        created_at=c.created_at, updated_at=c.updated_at,
    ) for c in rows]


# --- slots (the centre) ----------------------------------------------------------------------------


def _overlaps(start: datetime, end: datetime, taken: list[tuple[datetime, datetime]]) -> bool:
    return any(s < end and start < e for s, e in taken)


async def _live_slots(session: AsyncSession, counsellor_id: int, lo: datetime, hi: datetime
                      ) -> list[tuple[datetime, datetime]]:
    rows = await session.execute(
        select(CounsellingSlot.starts_at, CounsellingSlot.ends_at).where(
            CounsellingSlot.counsellor_id == counsellor_id, CounsellingSlot.status.in_(("free", "booked")),
            CounsellingSlot.starts_at < hi, CounsellingSlot.ends_at > lo)
    )
    return [(s, e) for s, e in rows.all()]


def _slot_own(slot: CounsellingSlot, booking_id: int | None = None) -> SlotOwn:
    return SlotOwn(id=slot.id, counsellor_id=slot.counsellor_id, starts_at=local(slot.starts_at),
                   ends_at=local(slot.ends_at), status=slot.status, booking_id=booking_id)


async def create_slot(session: AsyncSession, *, actor: Principal, counsellor_id: int, data: SlotIn,
                      now: datetime | None = None) -> SlotOwn:
    now = now or utcnow()
    moderation.require_org_kind(actor, KIND)
    # The counsellor row lock queues concurrent slot requests for one counsellor, so they cannot overlap.
    counsellor = await moderation.load_own(session, actor, KIND, counsellor_id, for_update=True)
    start = to_utc(data.starts_at)
    end = start + timedelta(minutes=data.duration_minutes)
    if start <= now:
        raise errors.ValidationFailed(fields={"starts_at": "开始时间应在将来"})
    if start > now + MAX_SLOTS_AHEAD:
        raise errors.ValidationFailed(fields={"starts_at": "最多只能发布未来 180 天内的时段"})
    if _overlaps(start, end, await _live_slots(session, counsellor.id, start, end)):
        raise errors.CounsellingSlotOverlap()
    slot = CounsellingSlot(counsellor_id=counsellor.id, org_id=counsellor.org_id, starts_at=start, ends_at=end)
    session.add(slot)
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.slots_create", target_kind=KIND.kind,
                       target_id=counsellor.id, detail={"count": 1})
    return _slot_own(slot)


async def create_slot_pattern(session: AsyncSession, *, actor: Principal, counsellor_id: int, data: SlotPatternIn,
                              now: datetime | None = None) -> SlotPatternResult:
    now = now or utcnow()
    moderation.require_org_kind(actor, KIND)
    counsellor = await moderation.load_own(session, actor, KIND, counsellor_id, for_update=True)
    first = data.start_date or local(now).date()
    days = [first + timedelta(days=i) for i in range(data.weeks * 7)]
    step = timedelta(minutes=data.session_minutes + data.break_minutes)
    length = timedelta(minutes=data.session_minutes)
    wanted: list[tuple[datetime, datetime]] = []
    for day in days:
        if day.isoweekday() not in data.weekdays:
            continue
        # Wall-clock arithmetic in Shanghai (no DST there), converted per session.
        at = datetime.combine(day, data.day_start, SHANGHAI)
        day_end = datetime.combine(day, data.day_end, SHANGHAI)
        while at + length <= day_end:
            wanted.append((at.astimezone(UTC), (at + length).astimezone(UTC)))
            at += step
    if len(wanted) > MAX_PATTERN_SLOTS:
        raise errors.ValidationFailed(fields={"weeks": f"一次最多生成 {MAX_PATTERN_SLOTS} 个时段，请缩短周数"})
    if wanted and wanted[-1][0] > now + MAX_SLOTS_AHEAD:
        raise errors.ValidationFailed(fields={"weeks": "最多只能发布未来 180 天内的时段"})
    taken = await _live_slots(session, counsellor.id, wanted[0][0], wanted[-1][1]) if wanted else []
    created = []
    for start, end in wanted:
        if start <= now or _overlaps(start, end, taken):
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


async def own_slots(session: AsyncSession, *, actor: Principal, counsellor_id: int, start: datetime | None,
                    end: datetime | None) -> list[SlotOwn]:
    counsellor = await moderation.load_own(session, actor, KIND, counsellor_id)
    lo, hi = _range(start, end, utcnow() - timedelta(days=1), timedelta(days=28))
    rows = await session.execute(
        select(CounsellingSlot, CounsellingBooking.id)
        .outerjoin(CounsellingBooking, and_(CounsellingBooking.slot_id == CounsellingSlot.id,
                                            CounsellingBooking.status.in_(HOLDING_STATUSES)))
        .where(CounsellingSlot.counsellor_id == counsellor.id, CounsellingSlot.starts_at >= lo,
               CounsellingSlot.starts_at < hi)
        .order_by(CounsellingSlot.starts_at)
    )
    return [_slot_own(slot, bid) for slot, bid in rows.all()]


async def withdraw_slot(session: AsyncSession, *, actor: Principal, slot_id: int) -> SlotOwn:
    slot = await session.get(CounsellingSlot, slot_id, with_for_update=True)
    if slot is None or slot.org_id != actor.org_id:
        raise errors.NotFound()
    if slot.status == "booked":
        raise errors.CounsellingSlotBooked()
    if slot.status == "free":
        slot.status = "withdrawn"
        await session.flush()
        await audit.record(session, actor=actor, action="counselling.slot_withdraw", target_kind="counselling_slot",
                           target_id=slot.id)
    return _slot_own(slot)


# --- the public side -------------------------------------------------------------------------------


async def list_counsellors(session: AsyncSession, *, specialty: str | None, mode: str | None, gender: str | None,
                           org_id: int | None, cursor: str | None, limit: int) -> Page[CounsellorPublic]:
    stmt = (select(Counsellor, Organisation.name).join(Organisation, Organisation.id == Counsellor.org_id)
            .where(moderation.is_public(Counsellor)).order_by(Counsellor.id).limit(limit + 1))
    if specialty:
        stmt = stmt.where(Counsellor.tags.contains(f"|s:{specialty}|"))
    if mode:
        stmt = stmt.where(Counsellor.tags.contains(f"|m:{mode}|"))
    if gender:
        stmt = stmt.where(Counsellor.gender == gender)
    if org_id:
        stmt = stmt.where(Counsellor.org_id == org_id)
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(Counsellor.id > int(after["id"]))
    rows = (await session.execute(stmt)).all()
    page = rows[:limit]
    nxt = await _next_free(session, [c.id for c, _ in page], utcnow())
    return Page(items=[CounsellorPublic(**_public_fields(c, name, nxt.get(c.id))) for c, name in page],
                next_cursor=encode_cursor({"id": page[-1][0].id}) if len(rows) > limit else None)


async def _public_counsellor(session: AsyncSession, counsellor_id: int) -> tuple[Counsellor, str]:
    row = (await session.execute(
        select(Counsellor, Organisation.name).join(Organisation, Organisation.id == Counsellor.org_id)
        .where(Counsellor.id == counsellor_id, moderation.is_public(Counsellor))
    )).first()
    if row is None:
        raise errors.NotFound()
    return row[0], row[1]


async def get_counsellor(session: AsyncSession, *, counsellor_id: int) -> CounsellorPublic:
    obj, org_name = await _public_counsellor(session, counsellor_id)
    nxt = await _next_free(session, [obj.id], utcnow())
    return CounsellorPublic(**_public_fields(obj, org_name, nxt.get(obj.id)))


async def free_slots(session: AsyncSession, *, counsellor_id: int, start: datetime | None, end: datetime | None,
                     now: datetime | None = None) -> list[SlotPublic]:
    now = now or utcnow()
    await _public_counsellor(session, counsellor_id)
    lo, hi = _range(start, end, now, timedelta(days=28))
    lo = max(lo, now + timedelta(hours=get_settings().counselling_min_notice_hours))
    rows = await session.execute(
        select(CounsellingSlot).where(CounsellingSlot.counsellor_id == counsellor_id,
                                      CounsellingSlot.status == "free", CounsellingSlot.starts_at >= lo,
                                      CounsellingSlot.starts_at < hi)
        .order_by(CounsellingSlot.starts_at)
    )
    return [SlotPublic(id=s.id, counsellor_id=s.counsellor_id, starts_at=local(s.starts_at), ends_at=local(s.ends_at))
            for s in rows.scalars()]


# --- bookings: the person ------------------------------------------------------------------------


def _booking_public(b: CounsellingBooking, c: Counsellor, *, crisis: bool = False) -> dict[str, Any]:
    return dict(
        id=b.id, status=b.status, mode=b.mode, starts_at=local(b.starts_at), ends_at=local(b.ends_at),
        counsellor=CounsellorBrief(id=c.id, display_name=c.display_name, photo_url=c.photo_url), org_id=b.org_id,
        nickname=b.nickname, late_change=b.late_change, reschedule_count=b.reschedule_count,
        cancel_reason=b.cancel_reason, cancelled_at=b.cancelled_at, created_at=b.created_at,
        crisis_resources=_crisis() if crisis else None,
    )


async def _bookable_slot(session: AsyncSession, slot_id: int, mode: str, now: datetime
                         ) -> tuple[CounsellingSlot, Counsellor]:
    """The slot and its counsellor, if a person could book it now (read without locks; the
    conditional UPDATE in _take_slot is what decides)."""
    row = (await session.execute(
        select(CounsellingSlot, Counsellor).join(Counsellor, Counsellor.id == CounsellingSlot.counsellor_id)
        .where(CounsellingSlot.id == slot_id, moderation.is_public(Counsellor))
    )).first()
    if row is None or row[0].status == "withdrawn":
        raise errors.NotFound("找不到该时段，可能已被撤下")
    slot, counsellor = row
    if slot.status != "free":
        raise errors.CounsellingSlotTaken()
    notice = get_settings().counselling_min_notice_hours
    if slot.starts_at < now + timedelta(hours=notice):
        raise errors.CounsellingNoticeTooShort(f"请至少提前 {_hours(notice)} 小时预约，请选择更晚的时段")
    if mode not in counsellor.modes:
        raise errors.CounsellingModeNotOffered(fields={"mode": "这位咨询师不提供该咨询方式"})
    return slot, counsellor


async def _lock_person(session: AsyncSession, user_id: int) -> Any:
    """Queue this person's booking changes behind each other (FOR NO KEY UPDATE: it does not block
    rows elsewhere that merely reference the user)."""
    return (await session.execute(
        select(User.birth_date, User.real_name, User.id_number_hash).where(User.id == user_id)
        .with_for_update(key_share=True)
    )).one()


async def _check_personal_limits(session: AsyncSession, user_id: int, start: datetime, end: datetime, now: datetime,
                                 *, moving: int | None = None) -> None:
    rows = (await session.execute(
        select(CounsellingBooking.id, CounsellingBooking.starts_at, CounsellingBooking.ends_at).where(
            CounsellingBooking.user_id == user_id, CounsellingBooking.status == "booked",
            CounsellingBooking.ends_at > now)
    )).all()
    others = [r for r in rows if r.id != moving]
    if _overlaps(start, end, [(r.starts_at, r.ends_at) for r in others]):
        raise errors.CounsellingOverlap()
    limit = get_settings().counselling_max_upcoming
    if moving is None and len(others) >= limit:
        raise errors.CounsellingTooManyUpcoming(f"每人最多同时保留 {limit} 个未开始的预约，请先完成或取消已有预约")


async def _take_slot(session: AsyncSession, slot_id: int) -> None:
    taken = await session.execute(
        update(CounsellingSlot).where(CounsellingSlot.id == slot_id, CounsellingSlot.status == "free")
        .values(status="booked").execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise errors.CounsellingSlotTaken()


async def _release_slot(session: AsyncSession, slot_id: int, to: str = "free") -> None:
    await session.execute(
        update(CounsellingSlot).where(CounsellingSlot.id == slot_id, CounsellingSlot.status == "booked")
        .values(status=to).execution_options(synchronize_session=False)
    )


async def book(session: AsyncSession, *, actor: Principal, data: BookingIn, now: datetime | None = None
               ) -> BookingPublic:
    now = now or utcnow()
    slot, counsellor = await _bookable_slot(session, data.slot_id, data.mode, now)
    person = await _lock_person(session, actor.user_id)
    if person.birth_date is None or not person.real_name or not person.id_number_hash:
        raise errors.CounsellingProfileRequired()
    await _check_personal_limits(session, actor.user_id, slot.starts_at, slot.ends_at, now)
    await _take_slot(session, slot.id)
    intake = data.intake
    booking = CounsellingBooking(
        slot_id=slot.id, counsellor_id=counsellor.id, org_id=slot.org_id, user_id=actor.user_id,
        starts_at=slot.starts_at, ends_at=slot.ends_at, mode=data.mode, nickname=data.nickname,
        age_band=age_band(person.birth_date, local(slot.starts_at).date()),
        intake=json.dumps(intake.model_dump(), ensure_ascii=False), risk_flag=intake.self_harm_thoughts,
        created_at=now, updated_at=now,
    )
    session.add(booking)
    await session.flush()
    if booking.risk_flag:
        await _alert_duty_counsellor(session, booking)
    return BookingPublic(**_booking_public(booking, counsellor, crisis=booking.risk_flag))


async def _alert_duty_counsellor(session: AsyncSession, booking: CounsellingBooking) -> None:
    """Everyone of the centre is told at once; the message names no person and quotes nothing."""
    members = (await session.execute(select(OrgMember.user_id).where(OrgMember.org_id == booking.org_id))).scalars()
    notifications.notify_many(
        session, user_ids=list(members), kind="counselling.risk_flagged", title="有预约需要优先关注",
        body=f"{local(booking.starts_at):%m月%d日 %H:%M} 的一个预约在登记时表示最近有伤害自己的想法，"
             "请值班咨询师尽快查看并主动联系。",
        data={"booking_id": booking.id},
    )


async def _load_booking(session: AsyncSession, booking_id: int, *, for_update: bool = False,
                        with_intake: bool = False) -> tuple[CounsellingBooking, Counsellor] | None:
    stmt = (select(CounsellingBooking, Counsellor).join(Counsellor, Counsellor.id == CounsellingBooking.counsellor_id)
            .where(CounsellingBooking.id == booking_id))
    if not with_intake:
        # Decrypt the intake only where it is shown (and audited); touching it elsewhere is an error.
        stmt = stmt.options(defer(CounsellingBooking.intake, raiseload=True))
    if for_update:
        stmt = stmt.with_for_update(of=CounsellingBooking)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def _own_booking(session: AsyncSession, actor: Principal, booking_id: int, **kw: bool
                       ) -> tuple[CounsellingBooking, Counsellor]:
    row = await _load_booking(session, booking_id, **kw)
    if row is None or row[0].user_id != actor.user_id:
        raise errors.NotFound()
    return row


def _is_late(booking: CounsellingBooking, now: datetime) -> bool:
    return booking.starts_at - now < timedelta(hours=get_settings().counselling_late_cancel_hours)


def _changeable(booking: CounsellingBooking, now: datetime) -> None:
    if booking.status != "booked":
        raise errors.CounsellingBookingState()
    if booking.starts_at <= now:
        raise errors.CounsellingSessionStarted()


async def cancel(session: AsyncSession, *, actor: Principal, booking_id: int, now: datetime | None = None
                 ) -> BookingPublic:
    now = now or utcnow()
    booking, counsellor = await _own_booking(session, actor, booking_id, for_update=True)
    if booking.status == "cancelled":  # a repeated DELETE answers the same
        return BookingPublic(**_booking_public(booking, counsellor))
    _changeable(booking, now)
    booking.status = "cancelled"
    booking.cancelled_at = booking.updated_at = now
    booking.late_change = booking.late_change or _is_late(booking, now)
    await _release_slot(session, booking.slot_id)
    await session.flush()
    return BookingPublic(**_booking_public(booking, counsellor))


async def reschedule(session: AsyncSession, *, actor: Principal, booking_id: int, slot_id: int,
                     now: datetime | None = None) -> BookingPublic:
    """Move a booking to another slot of the same centre in one transaction: the new slot is taken
    first, the old one released after; any refusal rolls back and the old booking stands."""
    now = now or utcnow()
    await _lock_person(session, actor.user_id)
    booking, _ = await _own_booking(session, actor, booking_id, for_update=True)
    _changeable(booking, now)
    if slot_id == booking.slot_id:
        raise errors.ValidationFailed(fields={"slot_id": "新时段与原时段相同"})
    slot, counsellor = await _bookable_slot(session, slot_id, booking.mode, now)
    if slot.org_id != booking.org_id:
        raise errors.CounsellingOtherCentre()
    await _check_personal_limits(session, actor.user_id, slot.starts_at, slot.ends_at, now, moving=booking.id)
    await _take_slot(session, slot.id)
    await _release_slot(session, booking.slot_id)
    booking.late_change = booking.late_change or _is_late(booking, now)
    booking.slot_id, booking.counsellor_id = slot.id, counsellor.id
    booking.starts_at, booking.ends_at = slot.starts_at, slot.ends_at
    booking.reschedule_count += 1
    booking.updated_at = now
    await session.flush()
    return BookingPublic(**_booking_public(booking, counsellor))


async def my_bookings(session: AsyncSession, *, actor: Principal, upcoming: bool, cursor: str | None, limit: int
                      ) -> Page[BookingPublic]:
    stmt = (select(CounsellingBooking, Counsellor).join(Counsellor, Counsellor.id == CounsellingBooking.counsellor_id)
            .options(defer(CounsellingBooking.intake, raiseload=True))
            .where(CounsellingBooking.user_id == actor.user_id).order_by(CounsellingBooking.id.desc()).limit(limit + 1))
    if upcoming:
        stmt = stmt.where(CounsellingBooking.status == "booked", CounsellingBooking.ends_at > utcnow())
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(CounsellingBooking.id < int(after["id"]))
    rows = (await session.execute(stmt)).all()
    nxt = encode_cursor({"id": rows[limit - 1][0].id}) if len(rows) > limit else None
    return Page(items=[BookingPublic(**_booking_public(b, c)) for b, c in rows[:limit]], next_cursor=nxt)


def _intake(booking: CounsellingBooking) -> IntakeOut:
    return IntakeOut(**json.loads(booking.intake))


async def my_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> BookingOwnDetail:
    booking, counsellor = await _own_booking(session, actor, booking_id, with_intake=True)
    await audit.record(session, actor=actor, action="counselling.intake_read", target_kind=BOOKING,
                       target_id=booking.id)
    crisis = booking.risk_flag and booking.status == "booked"
    return BookingOwnDetail(**_booking_public(booking, counsellor, crisis=crisis), intake=_intake(booking))


# --- bookings: the centre ----------------------------------------------------------------------------


async def _centre_booking(session: AsyncSession, actor: Principal, booking_id: int, **kw: bool
                          ) -> tuple[CounsellingBooking, Counsellor]:
    """A booking of the actor's own centre. Staff, other providers and people get 404: to them the
    booking does not exist."""
    row = await _load_booking(session, booking_id, **kw)
    if row is None or not actor.is_provider or row[0].org_id != actor.org_id:
        raise errors.NotFound()
    return row


def _client_name() -> Any:
    # Chosen in SQL, so a nickname booking's real name never even leaves the database.
    return case((CounsellingBooking.nickname.is_(None), User.real_name), else_=CounsellingBooking.nickname)


def _centre_view(b: CounsellingBooking, counsellor_name: str, client_name: str | None) -> dict[str, Any]:
    return dict(
        id=b.id, status=b.status, mode=b.mode, starts_at=local(b.starts_at), ends_at=local(b.ends_at),
        counsellor_id=b.counsellor_id, counsellor_name=counsellor_name, client_name=client_name or "来访者",
        client_uses_nickname=b.nickname is not None, age_band=b.age_band, risk_flag=b.risk_flag,
        late_change=b.late_change, cancel_reason=b.cancel_reason, attendance_marked_at=b.attendance_marked_at,
    )


async def _client_name_of(session: AsyncSession, booking: CounsellingBooking) -> str | None:
    if booking.nickname is not None:
        return booking.nickname
    return (await session.execute(select(User.real_name).where(User.id == booking.user_id))).scalar()


async def centre_bookings(session: AsyncSession, *, actor: Principal, first: date, last: date,
                          counsellor_id: int | None, mine: bool, flagged: bool | None, status: str | None,
                          cursor: str | None, limit: int) -> Page[CentreBooking]:
    if last < first or (last - first).days > 31:
        raise errors.ValidationFailed(fields={"to_date": "结束日期应不早于开始日期，且一次最多查询 31 天"})
    lo, hi = local_day_bounds(first, last)
    stmt = (
        select(CounsellingBooking, Counsellor.display_name, _client_name())
        .join(Counsellor, Counsellor.id == CounsellingBooking.counsellor_id)
        .join(User, User.id == CounsellingBooking.user_id)
        .options(defer(CounsellingBooking.intake, raiseload=True))
        .where(CounsellingBooking.org_id == actor.org_id, CounsellingBooking.starts_at >= lo,
               CounsellingBooking.starts_at < hi)
        .order_by(CounsellingBooking.starts_at, CounsellingBooking.id).limit(limit + 1)
    )
    if counsellor_id:
        stmt = stmt.where(CounsellingBooking.counsellor_id == counsellor_id)
    if mine:
        stmt = stmt.where(Counsellor.user_id == actor.user_id)
    if flagged is not None:
        stmt = stmt.where(CounsellingBooking.risk_flag.is_(flagged))
    if status:
        stmt = stmt.where(CounsellingBooking.status == status)
    after = decode_cursor(cursor, "t", "id")
    if after:
        at = datetime.fromisoformat(after["t"])
        stmt = stmt.where((CounsellingBooking.starts_at > at)
                          | and_(CounsellingBooking.starts_at == at, CounsellingBooking.id > int(after["id"])))
    rows = (await session.execute(stmt)).all()
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        last_b = page[-1][0]
        nxt = encode_cursor({"t": last_b.starts_at.isoformat(), "id": last_b.id})
    # Who they are and when they come is sensitive in itself: the list view is logged, by count.
    await audit.record(session, actor=actor, action="counselling.bookings_list", target_kind=BOOKING,
                       detail={"count": len(page), "from": first.isoformat(), "to": last.isoformat()})
    return Page(items=[CentreBooking(**_centre_view(b, cname, client)) for b, cname, client in page], next_cursor=nxt)


async def centre_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> CentreBookingDetail:
    booking, counsellor = await _centre_booking(session, actor, booking_id, with_intake=True)
    await audit.record(session, actor=actor, action="counselling.intake_read", target_kind=BOOKING,
                       target_id=booking.id)
    return CentreBookingDetail(**_centre_view(booking, counsellor.display_name,
                                              await _client_name_of(session, booking)),
                               intake=_intake(booking))


async def centre_cancel(session: AsyncSession, *, actor: Principal, booking_id: int, data: CentreCancelIn,
                        now: datetime | None = None) -> CentreBooking:
    now = now or utcnow()
    booking, counsellor = await _centre_booking(session, actor, booking_id, for_update=True)
    if booking.status != "booked":
        raise errors.CounsellingBookingState()
    if booking.ends_at <= now:
        raise errors.CounsellingBookingState("咨询时间已过，请标记到场或未到场")
    booking.status = "cancelled_by_centre"
    booking.cancel_reason = data.reason
    booking.cancelled_at = booking.updated_at = now
    # A time the centre cannot keep is withdrawn unless it says others may have it.
    await _release_slot(session, booking.slot_id, "free" if data.reopen_slot else "withdrawn")
    notifications.notify(
        session, user_id=booking.user_id, kind="counselling.cancelled_by_centre", title="心理咨询预约已取消",
        body=f"很抱歉，您 {local(booking.starts_at):%m月%d日 %H:%M} 与{counsellor.display_name}老师的咨询预约"
             f"已被咨询中心取消。原因：{data.reason}。欢迎重新预约其他时段。",
        data={"booking_id": booking.id},
    )
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.booking_cancel", target_kind=BOOKING,
                       target_id=booking.id, reason=data.reason)
    return CentreBooking(**_centre_view(booking, counsellor.display_name, await _client_name_of(session, booking)))


async def mark_attendance(session: AsyncSession, *, actor: Principal, booking_id: int, status: str,
                          now: datetime | None = None) -> CentreBooking:
    now = now or utcnow()
    booking, counsellor = await _centre_booking(session, actor, booking_id, for_update=True)
    if booking.status not in HOLDING_STATUSES:
        raise errors.CounsellingBookingState()
    if booking.starts_at > now:
        raise errors.CounsellingSessionNotStarted()
    if booking.status != status:
        booking.status = status
        booking.attendance_marked_by = actor.user_id
        booking.attendance_marked_at = booking.updated_at = now
        await session.flush()
        await audit.record(session, actor=actor, action="counselling.attendance", target_kind=BOOKING,
                           target_id=booking.id, detail={"status": status})
    return CentreBooking(**_centre_view(booking, counsellor.display_name, await _client_name_of(session, booking)))


def _note_public(note: CounsellingNote) -> NotePublic:
    return NotePublic(booking_id=note.booking_id, body=note.body, created_at=note.created_at,
                      updated_at=note.updated_at)


async def _own_note(session: AsyncSession, booking_id: int, author_id: int, *, for_update: bool = False
                    ) -> CounsellingNote | None:
    stmt = select(CounsellingNote).where(CounsellingNote.booking_id == booking_id,
                                         CounsellingNote.author_id == author_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def write_note(session: AsyncSession, *, actor: Principal, booking_id: int, body: str,
                     now: datetime | None = None) -> NotePublic:
    now = now or utcnow()
    booking, counsellor = await _centre_booking(session, actor, booking_id)
    if booking.status not in HOLDING_STATUSES:
        raise errors.CounsellingBookingState()
    if booking.starts_at > now:
        raise errors.CounsellingSessionNotStarted()
    # With a linked account, only that counsellor writes; a centre without accounts per counsellor
    # lets its members write, each into their own note.
    if counsellor.user_id is not None and counsellor.user_id != actor.user_id:
        raise errors.CounsellingNoteAuthor()
    note = await _own_note(session, booking.id, actor.user_id, for_update=True)
    if note is None:
        note = CounsellingNote(booking_id=booking.id, author_id=actor.user_id, body=body, created_at=now,
                               updated_at=now)
        try:
            async with session.begin_nested():
                session.add(note)
        except IntegrityError:  # the author's other tab saved first: write over it
            note = await _own_note(session, booking.id, actor.user_id, for_update=True)
            if note is None:
                raise errors.Conflict()
    note.body = body
    note.updated_at = now
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.note_write", target_kind=BOOKING,
                       target_id=booking.id)
    return _note_public(note)


async def read_note(session: AsyncSession, *, actor: Principal, booking_id: int) -> NotePublic:
    booking, _ = await _centre_booking(session, actor, booking_id)
    note = await _own_note(session, booking.id, actor.user_id)
    if note is None:
        raise errors.NotFound()
    await audit.record(session, actor=actor, action="counselling.note_read", target_kind=BOOKING,
                       target_id=booking.id)
    return _note_public(note)


# --- staff -----------------------------------------------------------------------------------------------


async def stats(session: AsyncSession, *, first: date | None, last: date | None, org_id: int | None
                ) -> CounsellingStats:
    today = local(utcnow()).date()
    first = first or today - timedelta(days=30)
    last = last or today + timedelta(days=30)
    if last < first or (last - first).days > 366:
        raise errors.ValidationFailed(fields={"to_date": "结束日期应不早于开始日期，且一次最多统计一年"})
    lo, hi = local_day_bounds(first, last)

    def scoped(stmt: Any, model: Any) -> Any:
        return stmt.where(model.org_id == org_id) if org_id else stmt

    published = (await session.execute(scoped(
        select(func.count()).select_from(Counsellor).where(moderation.is_public(Counsellor)), Counsellor))).scalar_one()
    slot_rows = (await session.execute(scoped(
        select(CounsellingSlot.status, func.count()).where(CounsellingSlot.starts_at >= lo,
                                                           CounsellingSlot.starts_at < hi)
        .group_by(CounsellingSlot.status), CounsellingSlot))).all()
    b = CounsellingBooking
    booking_rows = (await session.execute(scoped(
        select(b.status, b.mode, func.count(), func.sum(case((b.late_change.is_(True), 1), else_=0)),
               func.sum(case((b.risk_flag.is_(True), 1), else_=0)),
               func.sum(case((b.nickname.is_not(None), 1), else_=0)))
        .where(b.starts_at >= lo, b.starts_at < hi).group_by(b.status, b.mode), b))).all()
    by_status = dict.fromkeys(("booked", "attended", "no_show", "cancelled", "cancelled_by_centre"), 0)
    by_mode = dict.fromkeys(("in_person", "video", "phone"), 0)
    late = risk = nick = 0
    for status, mode, n, n_late, n_risk, n_nick in booking_rows:
        by_status[status] = by_status.get(status, 0) + n
        by_mode[mode] = by_mode.get(mode, 0) + n
        late, risk, nick = late + (n_late or 0), risk + (n_risk or 0), nick + (n_nick or 0)
    slots = dict.fromkeys(("free", "booked", "withdrawn"), 0) | {s: n for s, n in slot_rows}
    return CounsellingStats(from_date=first, to_date=last, org_id=org_id, counsellors_published=published,
                            slots=slots, bookings=by_status, bookings_by_mode=by_mode, late_changes=late,
                            risk_flagged=risk, nickname_bookings=nick)
