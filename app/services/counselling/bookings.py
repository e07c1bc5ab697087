"""Bookings: the person's (book, cancel, reschedule, see, their restriction) and the centre's (day list,
intake, cancel, attendance, notes, waiving a strike). See the package docstring for the privacy and
concurrency rules, app.services.counselling.centre for who in a centre may do what."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import defer
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import (
    PRINCIPAL_COLUMNS,
    Principal,
    autocommit_session,
    claimed_user_id,
    principal_of_row,
    require_youth,
    with_principal_joins,
    youth_of,
)
from app.idempotency import Idempotency
from app.kit.pagination import Key, Page, keyset
from app.kit.time import day_span, display, local, local_day
from app.schemas.counselling import (
    BookingIn,
    BookingOwnDetail,
    BookingPublic,
    CentreBooking,
    CentreBookingDetail,
    CentreCancelIn,
    CounsellingRestriction,
    CounsellorBrief,
    IntakeOut,
    NotePublic,
    StrikeState,
)
from app.services import audit, restrictions
from app.services.counselling import errors as cerr
from app.services.counselling import risk
from app.services.counselling.centre import require_care_team, require_duty_or_owner
from app.services.counselling.common import (
    BOOKING,
    KIND,
    SLOTS,
    age_band,
    centre_booking_of,
    client_name,
    crisis_resources,
    crisis_text,
    hours_text,
    load_booking,
    overlaps,
)
from app.services.counselling.notices import BOOKED, CANCELLED_BY_CENTRE, MOVED, STRIKE_WAIVED
from app.services.counselling.settings import settings
from app.services.notifications.catalogue import notify
from models.accounts import User
from models.counselling import (
    HOLDING_STATUSES,
    CounsellingBooking,
    CounsellingNote,
    CounsellingSlot,
    Counsellor,
)
from models.orgs import Organisation
from models.platform import IdempotencyRecord
from models.restrictions import Restriction, Strike

SERVICE = "counselling"  # in the shared restriction record

# --- bookings: the person ------------------------------------------------------------------------


def _booking_public(b: CounsellingBooking, c: Counsellor) -> dict[str, Any]:
    return dict(
        id=b.id, status=b.status, mode=b.mode, starts_at=local(b.starts_at), ends_at=local(b.ends_at),
        counsellor=CounsellorBrief(id=c.id, display_name=c.display_name, photo_url=c.photo_url), org_id=b.org_id,
        nickname=b.nickname, late_change=b.late_change, reschedule_count=b.reschedule_count,
        cancel_reason=b.cancel_reason, cancelled_at=b.cancelled_at, created_at=b.created_at,
        # A risk answer always shows whom to call now and that the centre will reach out; never how.
        crisis_resources=crisis_resources() if b.risk_flag else None,
        outreach=risk.OUTREACH if b.risk_flag else None,
    )


async def _bookable_slot(session: AsyncSession, slot_id: int, mode: str, now: datetime
                         ) -> tuple[CounsellingSlot, Counsellor]:
    """The slot and its counsellor, if a person could book it now (read without locks; the
    slot's counter is what decides)."""
    row = (await session.execute(
        select(CounsellingSlot, Counsellor).join(Counsellor, Counsellor.id == CounsellingSlot.counsellor_id)
        .where(CounsellingSlot.id == slot_id, KIND.listed())
    )).first()
    if row is None:
        raise errors.NotFound("找不到该时段，可能已被撤下")
    slot, counsellor = row
    _check_bookable(slot.status, slot.taken, slot.capacity, slot.starts_at, counsellor.modes, mode, now)
    return slot, counsellor


def _check_bookable(status: str, taken: int, capacity: int, starts_at: datetime, modes: list[str], mode: str,
                    now: datetime) -> None:
    """Whether a listed counsellor's slot may be booked now: the one place these rules are written
    (``_bookable_slot`` and PostgreSQL's first read of a booking, ``_first_read``, both ask here)."""
    if status != "open":
        raise errors.NotFound("找不到该时段，可能已被撤下")
    if taken >= capacity:
        raise cerr.SlotTaken()
    notice = settings().counselling_min_notice_hours
    if starts_at < now + timedelta(hours=notice):
        raise cerr.NoticeTooShort(f"请至少提前 {hours_text(notice)} 小时预约，请选择更晚的时段")
    if mode not in modes:
        raise cerr.ModeNotOffered(fields={"mode": "这位咨询师不提供该咨询方式"})


async def _lock_person(session: AsyncSession, user_id: int, now: datetime) -> Any:
    """The person and their counselling restriction, with their booking changes queued behind each
    other (FOR NO KEY UPDATE of the user row: it does not block rows elsewhere that merely reference it).
    The upcoming bookings are not joined in here to save a round trip: a statement that waited for the
    lock sees the locked row afresh but joined rows as of its own start (READ COMMITTED), so it would
    miss the booking the lock's previous holder just made. ``_check_personal_limits`` reads them after."""
    R = Restriction
    return (await session.execute(
        select(User.birth_date, User.real_name, User.id_number_hash, R.until, R.reason)
        .outerjoin(R, and_(R.user_id == User.id, R.service == SERVICE, R.lifted_at.is_(None), R.until > now))
        .where(User.id == user_id).with_for_update(key_share=True, of=User)
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
        raise cerr.Overlap()
    limit = settings().counselling_max_upcoming
    if moving is None and len(others) >= limit:
        raise cerr.TooManyUpcoming(f"每人最多同时保留 {limit} 个未开始的预约，请先完成或取消已有预约")


async def _take_slot(session: AsyncSession, slot_id: int) -> None:
    if await SLOTS.take(session, slot_id) is None:
        raise cerr.SlotTaken()


async def _release_slot(session: AsyncSession, slot_id: int, *, withdraw: bool = False) -> None:
    await SLOTS.release(session, slot_id)
    if withdraw:
        await session.execute(update(CounsellingSlot).where(CounsellingSlot.id == slot_id)
                              .values(status="withdrawn").execution_options(synchronize_session=False))


async def _refused(session: AsyncSession, org_id: int, until: datetime, reason: str) -> Exception:
    """A restricted person is told why and until when, and still whom to call: the centre and the crisis lines."""
    org = await session.get(Organisation, org_id)
    contact = f"{org.name}（{org.contact_phone}）" if org else "咨询中心"
    return cerr.BookingRestricted(f"{reason}（{display(until)}后可再自助预约）。需要帮助可以直接联系{contact}；"
                                  f"如果您现在感到难以承受，请马上拨打{crisis_text()}。")


async def book(session: AsyncSession, *, actor: Principal, data: BookingIn) -> BookingPublic:
    now = clock.now()
    slot, counsellor = await _bookable_slot(session, data.slot_id, data.mode, now)
    person = await _lock_person(session, actor.user_id, now)
    if person.birth_date is None or not person.real_name or not person.id_number_hash:
        raise cerr.ProfileRequired()
    if person.until is not None:
        raise await _refused(session, slot.org_id, person.until, person.reason)
    await _check_personal_limits(session, actor.user_id, slot.starts_at, slot.ends_at, now)
    await _take_slot(session, slot.id)
    intake = data.intake
    flagged = intake.self_harm_thoughts
    booking = CounsellingBooking(
        slot_id=slot.id, counsellor_id=counsellor.id, org_id=slot.org_id, user_id=actor.user_id,
        starts_at=slot.starts_at, ends_at=slot.ends_at, mode=data.mode, nickname=data.nickname,
        age_band=age_band(person.birth_date, local_day(slot.starts_at)),
        intake=json.dumps(intake.model_dump(), ensure_ascii=False), risk_flag=flagged,
        risk_due_at=await risk.due_for(session, slot.org_id, now) if flagged else None,
        created_at=now, updated_at=now,
    )
    session.add(booking)
    await session.flush()
    if flagged:
        await risk.alert(session, booking, counsellor)
    notify(session, BOOKED, actor.user_id, data={"booking_id": booking.id}, starts_at=booking.starts_at,
           counsellor=counsellor.display_name, notice=_fmt_hours(settings().counselling_late_cancel_hours))
    return BookingPublic(**_booking_public(booking, counsellor))


_users, _slots, _counsellors = User.__table__, CounsellingSlot.__table__, Counsellor.__table__
_records = IdempotencyRecord.__table__
_N_PRINCIPAL = len(PRINCIPAL_COLUMNS)
# PostgreSQL's first read of a booking (issue 17's rush: most people lose the slot): the principal, an
# answer already stored under the Idempotency-Key and the slot's bookable state, in one statement and
# so one snapshot. The key's answer and the slot's counter are committed together, so a won booking's
# retry always sees its stored answer whenever it sees the slot full.
_FIRST_READ = (
    select(*PRINCIPAL_COLUMNS, _records.c.request_hash, _records.c.status_code, _records.c.response_body,
           _slots.c.id, _slots.c.status, _slots.c.taken, _slots.c.capacity, _slots.c.starts_at, _counsellors.c.modes)
    .select_from(with_principal_joins(_users)
                 .outerjoin(_records, and_(_records.c.scope == bindparam("scope"), _records.c.key == bindparam("key")))
                 .outerjoin(_slots.join(_counsellors, and_(_counsellors.c.id == _slots.c.counsellor_id,
                                                           KIND.listed())),
                            _slots.c.id == bindparam("slot_id")))
    .where(_users.c.id == bindparam("user_id")))


async def book_request(session: AsyncSession, request: Request, claims: dict[str, Any], idem: Idempotency,
                       data: BookingIn) -> JSONResponse:
    """The route's work. On PostgreSQL one read in autocommit first answers a replay and every refusal
    of the slot (most of a rush: the slot is taken) with nothing written and no transaction; only a slot
    still free goes on to ``book`` in a transaction, the path SQLite always takes."""
    bind = session.sync_session.bind
    actor: Principal | None = None
    if bind is not None and bind.dialect.name == "postgresql":
        async with autocommit_session(session) as conn:
            actor, answer = await _first_read(conn, request, claims, idem, data)
        if answer is not None:
            return answer
    if actor is None:
        actor = await youth_of(session, request, claims)
    principal = actor
    return await idem.run(session, principal, lambda: book(session, actor=principal, data=data), status_code=201)


async def _first_read(conn: AsyncConnection, request: Request, claims: dict[str, Any], idem: Idempotency,
                      data: BookingIn) -> tuple[Principal, JSONResponse | None]:
    user_id = claimed_user_id(claims)
    row = (await conn.execute(_FIRST_READ, {"user_id": user_id, "scope": str(user_id), "key": idem.key or "",
                                            "slot_id": data.slot_id})).first()
    actor = require_youth(principal_of_row(claims, row[:_N_PRINCIPAL] if row is not None else None))
    request.state.principal = actor
    assert row is not None
    stored_hash, stored_status, stored_body, slot_id, status, taken, capacity, starts_at, modes = row[_N_PRINCIPAL:]
    if idem.key and stored_hash is not None:
        return actor, idem.replay_stored(stored_hash, stored_status, stored_body)
    if slot_id is None:
        raise errors.NotFound("找不到该时段，可能已被撤下")
    _check_bookable(status, taken, capacity, starts_at, modes, data.mode, clock.now())
    return actor, None  # bookable as read: the transaction decides the rest, and may still find it taken


async def _own_booking(session: AsyncSession, actor: Principal, booking_id: int, **kw: bool
                       ) -> tuple[CounsellingBooking, Counsellor]:
    row = await load_booking(session, booking_id, **kw)
    if row is None or row[0].user_id != actor.user_id:
        raise errors.NotFound()
    return row


def _fmt_hours(hours: float) -> str:
    return f"{hours:g}"


def _is_late(booking: CounsellingBooking, now: datetime) -> bool:
    return booking.starts_at - now < timedelta(hours=settings().counselling_late_cancel_hours)


def _changeable(booking: CounsellingBooking, now: datetime) -> None:
    if booking.status != "booked":
        raise cerr.BookingState()
    if booking.starts_at <= now:
        raise cerr.SessionStarted()


async def cancel(session: AsyncSession, *, actor: Principal, booking_id: int) -> BookingPublic:
    now = clock.now()
    booking, counsellor = await _own_booking(session, actor, booking_id, for_update=True)
    if booking.status == "cancelled":  # a repeated DELETE answers the same
        return BookingPublic(**_booking_public(booking, counsellor))
    _changeable(booking, now)
    late = _is_late(booking, now)
    booking.status = "cancelled"
    booking.cancelled_at = booking.updated_at = now
    booking.late_change = booking.late_change or late
    await _release_slot(session, booking.slot_id)
    await session.flush()
    if late:
        # A moved booking (reschedule) keeps its commitment and counts no strike; a late cancel does.
        await restrictions.record(session, user_id=booking.user_id, service=SERVICE, kind="late_cancel",
                                  source_kind=BOOKING, source_id=booking.id, at=booking.starts_at, now=now)
    return BookingPublic(**_booking_public(booking, counsellor))


async def reschedule(session: AsyncSession, *, actor: Principal, booking_id: int, slot_id: int) -> BookingPublic:
    """Move a booking to another slot of the same centre in one transaction: the new slot is taken
    first, the old one released after; any refusal rolls back and the old booking stands."""
    now = clock.now()
    await _lock_person(session, actor.user_id, now)
    booking, _ = await _own_booking(session, actor, booking_id, for_update=True)
    _changeable(booking, now)
    if slot_id == booking.slot_id:
        raise errors.ValidationFailed(fields={"slot_id": "新时段与原时段相同"})
    slot, counsellor = await _bookable_slot(session, slot_id, booking.mode, now)
    if slot.org_id != booking.org_id:
        raise cerr.OtherCentre()
    await _check_personal_limits(session, actor.user_id, slot.starts_at, slot.ends_at, now, moving=booking.id)
    await _take_slot(session, slot.id)
    await _release_slot(session, booking.slot_id)
    booking.late_change = booking.late_change or _is_late(booking, now)
    booking.slot_id, booking.counsellor_id = slot.id, counsellor.id
    booking.starts_at, booking.ends_at = slot.starts_at, slot.ends_at
    booking.reschedule_count += 1
    booking.updated_at = now
    await session.flush()
    notify(session, MOVED, actor.user_id, data={"booking_id": booking.id}, starts_at=booking.starts_at,
           counsellor=counsellor.display_name)
    return BookingPublic(**_booking_public(booking, counsellor))


async def my_bookings(session: AsyncSession, *, actor: Principal, upcoming: bool, cursor: str | None, limit: int
                      ) -> Page[BookingPublic]:
    stmt = (select(CounsellingBooking, Counsellor).join(Counsellor, Counsellor.id == CounsellingBooking.counsellor_id)
            .options(defer(CounsellingBooking.intake, raiseload=True))
            .where(CounsellingBooking.user_id == actor.user_id))
    if upcoming:
        stmt = stmt.where(CounsellingBooking.status == "booked", CounsellingBooking.ends_at > clock.now())
    page = await keyset(session, stmt, [Key("id", CounsellingBooking.id, desc=True)], cursor=cursor, limit=limit,
                        tag="counselling.mine")
    return page.page(lambda r: BookingPublic(**_booking_public(r[0], r[1])))


def _intake(booking: CounsellingBooking) -> IntakeOut:
    return IntakeOut(**json.loads(booking.intake))


async def my_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> BookingOwnDetail:
    booking, counsellor = await _own_booking(session, actor, booking_id, with_intake=True)
    await audit.record(session, actor=actor, action="counselling.intake_read", target_kind=BOOKING,
                       target_id=booking.id)
    return BookingOwnDetail(**_booking_public(booking, counsellor), intake=_intake(booking))


async def my_restriction(session: AsyncSession, *, actor: Principal) -> CounsellingRestriction:
    current = await restrictions.current(session, actor.user_id, SERVICE, clock.now())
    return CounsellingRestriction(restricted=current is not None, until=local(current.until) if current else None,
                                  reason=current.reason if current else None, crisis_resources=crisis_resources())


# --- bookings: the centre ----------------------------------------------------------------------------


def _strike_state(kind: str | None, waived_at: datetime | None, reason: str | None) -> StrikeState | None:
    return StrikeState(kind=kind, waived=waived_at is not None, waive_reason=reason) if kind else None  # type: ignore[arg-type]


def _centre_view(b: CounsellingBooking, counsellor_name: str, name: str | None, strike: StrikeState | None
                 ) -> dict[str, Any]:
    return dict(
        id=b.id, status=b.status, mode=b.mode, starts_at=local(b.starts_at), ends_at=local(b.ends_at),
        counsellor_id=b.counsellor_id, counsellor_name=counsellor_name, client_name=name or "来访者",
        client_uses_nickname=b.nickname is not None, age_band=b.age_band, risk_flag=b.risk_flag,
        late_change=b.late_change, cancel_reason=b.cancel_reason, attendance_marked_at=b.attendance_marked_at,
        strike=strike,
    )


def _strike_join() -> Any:
    return and_(Strike.source_kind == BOOKING, Strike.source_id == CounsellingBooking.id)


async def _centre_answer(session: AsyncSession, booking: CounsellingBooking, counsellor: Counsellor
                         ) -> dict[str, Any]:
    row = (await session.execute(
        select(client_name(), Strike.kind, Strike.waived_at, Strike.waive_reason)
        .select_from(CounsellingBooking).join(User, User.id == CounsellingBooking.user_id)
        .outerjoin(Strike, _strike_join()).where(CounsellingBooking.id == booking.id))).one()
    return _centre_view(booking, counsellor.display_name, row[0], _strike_state(row[1], row[2], row[3]))


async def centre_bookings(session: AsyncSession, *, actor: Principal, first: date | None, last: date | None,
                          counsellor_id: int | None, mine: bool, flagged: bool | None, status: str | None,
                          cursor: str | None, limit: int) -> Page[CentreBooking]:
    """The centre's bookings by Shanghai day (default today), soonest first; every member sees them."""
    first = first or local_day(clock.now())
    last = last or first
    if last < first or (last - first).days > 31:
        raise errors.ValidationFailed(fields={"date_to": "结束日期应不早于开始日期，且一次最多查询 31 天"})
    try:
        lo, hi = day_span(first, last)
    except OverflowError:
        raise errors.ValidationFailed("日期超出了可以处理的范围")
    B = CounsellingBooking
    stmt = (
        select(B, Counsellor.display_name, client_name(), Strike.kind, Strike.waived_at, Strike.waive_reason)
        .join(Counsellor, Counsellor.id == B.counsellor_id).join(User, User.id == B.user_id)
        .outerjoin(Strike, _strike_join())
        .options(defer(B.intake, raiseload=True))
        .where(B.org_id == actor.org_id, B.starts_at >= lo, B.starts_at < hi)
    )
    if counsellor_id:
        stmt = stmt.where(B.counsellor_id == counsellor_id)
    if mine:
        stmt = stmt.where(Counsellor.user_id == actor.user_id)
    if flagged is not None:
        stmt = stmt.where(B.risk_flag.is_(flagged))
    if status:
        stmt = stmt.where(B.status == status)
    page = await keyset(session, stmt, [Key("t", B.starts_at, datetime), Key("id", B.id)], cursor=cursor,
                        limit=limit, tag="counselling.centre")
    # Who they are and when they come is sensitive in itself: the list view is logged, by count.
    await audit.record(session, actor=actor, action="counselling.bookings_list", target_kind=BOOKING,
                       detail={"count": len(page.rows), "from": first.isoformat(), "to": last.isoformat()})
    return page.page(lambda r: CentreBooking(**_centre_view(r[0], r[1], r[2], _strike_state(r[3], r[4], r[5]))))


async def centre_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> CentreBookingDetail:
    """The intake (and a flagged booking's handling): for the booked counsellor and the duty list only."""
    booking, counsellor = await centre_booking_of(session, actor, booking_id, with_intake=True)
    role = await require_care_team(session, actor, booking, counsellor)
    await audit.record(session, actor=actor, action="counselling.intake_read", target_kind=BOOKING,
                       target_id=booking.id, detail={"as": role})
    return CentreBookingDetail(**await _centre_answer(session, booking, counsellor), intake=_intake(booking),
                               risk=await risk.state(session, booking, clock.now()))


async def centre_cancel(session: AsyncSession, *, actor: Principal, booking_id: int, data: CentreCancelIn
                        ) -> CentreBooking:
    now = clock.now()
    booking, counsellor = await centre_booking_of(session, actor, booking_id, for_update=True)
    if booking.status != "booked":
        raise cerr.BookingState()
    if booking.ends_at <= now:
        raise cerr.BookingState("咨询时间已过，请标记到场或未到场")
    booking.status = "cancelled_by_centre"
    booking.cancel_reason = data.reason
    booking.cancelled_at = booking.updated_at = now
    # A time the centre cannot keep is withdrawn unless it says others may have it.
    await _release_slot(session, booking.slot_id, withdraw=not data.reopen_slot)
    notify(session, CANCELLED_BY_CENTRE, booking.user_id, data={"booking_id": booking.id},
           starts_at=booking.starts_at, counsellor=counsellor.display_name, reason=data.reason)
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.booking_cancel", target_kind=BOOKING,
                       target_id=booking.id, reason=data.reason)
    return CentreBooking(**await _centre_answer(session, booking, counsellor))


async def mark_attendance(session: AsyncSession, *, actor: Principal, booking_id: int, status: str) -> CentreBooking:
    """The booked counsellor (or the duty list) marks a started session attended or no-show; a no-show
    counts under the restriction policy, and correcting it to attended waives that strike."""
    now = clock.now()
    booking, counsellor = await centre_booking_of(session, actor, booking_id, for_update=True)
    await require_care_team(session, actor, booking, counsellor)
    if booking.status not in HOLDING_STATUSES:
        raise cerr.BookingState()
    if booking.starts_at > now:
        raise cerr.SessionNotStarted()
    if booking.status != status:
        was = booking.status
        booking.status = status
        booking.attendance_marked_by = actor.user_id
        booking.attendance_marked_at = booking.updated_at = now
        await session.flush()
        if status == "no_show":
            await restrictions.record(session, user_id=booking.user_id, service=SERVICE, kind="no_show",
                                      source_kind=BOOKING, source_id=booking.id, at=booking.starts_at, now=now)
        elif was == "no_show":
            strike = await _strike_of(session, booking.id)
            if strike is not None:
                await restrictions.waive(session, strike_id=strike.id, service=SERVICE, by_user_id=actor.user_id,
                                         reason="已更正为到场", now=now)
        await audit.record(session, actor=actor, action="counselling.attendance", target_kind=BOOKING,
                           target_id=booking.id, detail={"status": status})
    return CentreBooking(**await _centre_answer(session, booking, counsellor))


async def _strike_of(session: AsyncSession, booking_id: int) -> Any:
    return (await session.execute(select(Strike.id, Strike.waived_at).where(
        Strike.source_kind == BOOKING, Strike.source_id == booking_id).order_by(Strike.id))).first()


async def waive_strike(session: AsyncSession, *, actor: Principal, booking_id: int, reason: str) -> CentreBooking:
    """The centre (its owner or duty) waives the no-show or late cancellation of one booking, with a
    reason the person is told; a restriction that no longer has enough strikes behind it is lifted."""
    now = clock.now()
    booking, counsellor = await centre_booking_of(session, actor, booking_id, for_update=True)
    await require_duty_or_owner(session, actor, booking.org_id)
    found = await _strike_of(session, booking.id)
    if found is None:
        raise cerr.NothingToWaive()
    if found.waived_at is None:  # waiving twice answers the same and tells nobody again
        strike = await restrictions.waive(session, strike_id=found.id, service=SERVICE, by_user_id=actor.user_id,
                                          reason=reason, now=now)
        notify(session, STRIKE_WAIVED, booking.user_id, data={"booking_id": booking.id}, starts_at=booking.starts_at,
               reason=reason)
        await audit.record(session, actor=actor, action="counselling.strike_waive", target_kind=BOOKING,
                           target_id=booking.id, reason=reason, detail={"kind": strike.kind})
    return CentreBooking(**await _centre_answer(session, booking, counsellor))


# --- notes: the booked counsellor's own --------------------------------------------------------------


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
    """Only the booked counsellor writes notes, once the session has started; nobody else reads them."""
    now = clock.now()
    booking, counsellor = await centre_booking_of(session, actor, booking_id)
    if counsellor.user_id is None or counsellor.user_id != actor.user_id:
        raise cerr.NoteAuthor()
    if booking.status not in HOLDING_STATUSES:
        raise cerr.BookingState()
    if booking.starts_at > now:
        raise cerr.SessionNotStarted()
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
    booking, _ = await centre_booking_of(session, actor, booking_id)
    note = await _own_note(session, booking.id, actor.user_id)
    if note is None:
        raise errors.NotFound()
    await audit.record(session, actor=actor, action="counselling.note_read", target_kind=BOOKING,
                       target_id=booking.id)
    return _note_public(note)
