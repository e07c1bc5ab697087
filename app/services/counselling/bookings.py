"""Bookings: the person's (book, cancel, reschedule, see) and the centre's (day list, intake,
cancel, attendance, notes). See the package docstring for the privacy and concurrency rules."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.config import get_settings
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.counselling import (
    BookingIn,
    BookingOwnDetail,
    BookingPublic,
    CentreBooking,
    CentreBookingDetail,
    CentreCancelIn,
    CounsellorBrief,
    IntakeOut,
    NotePublic,
)
from app.services import audit, notifications
from app.services.counselling.common import (
    BOOKING,
    KIND,
    age_band,
    crisis_resources,
    hours_text,
    local,
    local_day_bounds,
    overlaps,
)
from models.accounts import User
from models.counselling import (
    HOLDING_STATUSES,
    CounsellingBooking,
    CounsellingNote,
    CounsellingSlot,
    Counsellor,
)
from models.orgs import OrgMember

# --- bookings: the person ------------------------------------------------------------------------


def _booking_public(b: CounsellingBooking, c: Counsellor, *, crisis: bool = False) -> dict[str, Any]:
    return dict(
        id=b.id, status=b.status, mode=b.mode, starts_at=local(b.starts_at), ends_at=local(b.ends_at),
        counsellor=CounsellorBrief(id=c.id, display_name=c.display_name, photo_url=c.photo_url), org_id=b.org_id,
        nickname=b.nickname, late_change=b.late_change, reschedule_count=b.reschedule_count,
        cancel_reason=b.cancel_reason, cancelled_at=b.cancelled_at, created_at=b.created_at,
        crisis_resources=crisis_resources() if crisis else None,
    )


async def _bookable_slot(session: AsyncSession, slot_id: int, mode: str, now: datetime
                         ) -> tuple[CounsellingSlot, Counsellor]:
    """The slot and its counsellor, if a person could book it now (read without locks; the
    conditional UPDATE in _take_slot is what decides)."""
    row = (await session.execute(
        select(CounsellingSlot, Counsellor).join(Counsellor, Counsellor.id == CounsellingSlot.counsellor_id)
        .where(CounsellingSlot.id == slot_id, KIND.listed())
    )).first()
    if row is None or row[0].status == "withdrawn":
        raise errors.NotFound("找不到该时段，可能已被撤下")
    slot, counsellor = row
    if slot.status != "free":
        raise errors.CounsellingSlotTaken()
    notice = get_settings().counselling_min_notice_hours
    if slot.starts_at < now + timedelta(hours=notice):
        raise errors.CounsellingNoticeTooShort(f"请至少提前 {hours_text(notice)} 小时预约，请选择更晚的时段")
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
    if overlaps(start, end, [(r.starts_at, r.ends_at) for r in others]):
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


async def book(session: AsyncSession, *, actor: Principal, data: BookingIn) -> BookingPublic:
    now = clock.now()
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


async def cancel(session: AsyncSession, *, actor: Principal, booking_id: int) -> BookingPublic:
    now = clock.now()
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


async def reschedule(session: AsyncSession, *, actor: Principal, booking_id: int, slot_id: int) -> BookingPublic:
    """Move a booking to another slot of the same centre in one transaction: the new slot is taken
    first, the old one released after; any refusal rolls back and the old booking stands."""
    now = clock.now()
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
        stmt = stmt.where(CounsellingBooking.status == "booked", CounsellingBooking.ends_at > clock.now())
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


async def centre_cancel(session: AsyncSession, *, actor: Principal, booking_id: int, data: CentreCancelIn
                        ) -> CentreBooking:
    now = clock.now()
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


async def mark_attendance(session: AsyncSession, *, actor: Principal, booking_id: int, status: str) -> CentreBooking:
    now = clock.now()
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


async def write_note(session: AsyncSession, *, actor: Principal, booking_id: int, body: str) -> NotePublic:
    now = clock.now()
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
