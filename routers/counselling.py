"""Counselling: the public counsellor list and free slots, the person's private bookings and restriction,
the centre's counsellors, slots, bookings, notes, duty list, opening hours and risk queue, and the
staff's counts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.deps import CurrentUser, Principal, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit.pagination import MAX_LIMIT, Page
from app.schemas.common import DateTimeIn, DayIn
from app.schemas.counselling import (
    AttendanceIn,
    BookingIn,
    BookingOwnDetail,
    BookingPublic,
    BookingStatus,
    CentreBooking,
    CentreBookingDetail,
    CentreCancelIn,
    CentreSettings,
    CentreSettingsUpdate,
    CounsellingRestriction,
    CounsellingStats,
    CounsellorIn,
    CounsellorOwn,
    CounsellorPublic,
    CounsellorUpdate,
    Gender,
    Mode,
    NoteIn,
    NotePublic,
    RescheduleIn,
    RiskFollowUpIn,
    RiskQueueItem,
    RiskState,
    SlotIn,
    SlotOwn,
    SlotPatternIn,
    SlotPatternResult,
    SlotPublic,
    Specialty,
    WaiveIn,
)
from app.services import counselling

router = APIRouter(tags=["counselling"])

CentreUser = Annotated[Principal, Depends(provider_of("counselling_center"))]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
SlotLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Slots per page (a page of a calendar)")]
From = Annotated[DateTimeIn | None, Query(alias="from", description="Without an offset: Asia/Shanghai time")]
To = Annotated[DateTimeIn | None, Query(alias="to", description="Exclusive; at most 62 days after from")]

YOUTH = "/api/v1/counselling"
CENTRE = "/api/v1/provider/counselling"


# --- young people -----------------------------------------------------------------------------------


@router.get(f"{YOUTH}/counsellors", response_model=Page[CounsellorPublic], summary="Published counsellors")
async def list_counsellors(
    session: SessionDep, specialty: Specialty | None = None, mode: Mode | None = None, gender: Gender | None = None,
    org_id: Annotated[int | None, Query(ge=1)] = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[CounsellorPublic]:
    return await counselling.list_counsellors(session, specialty=specialty, mode=mode, gender=gender, org_id=org_id,
                                              cursor=cursor, limit=limit)


@router.get(f"{YOUTH}/counsellors/{{counsellor_id}}", response_model=CounsellorPublic)
async def get_counsellor(counsellor_id: int, session: SessionDep) -> CounsellorPublic:
    return await counselling.get_counsellor(session, counsellor_id=counsellor_id)


@router.get(f"{YOUTH}/counsellors/{{counsellor_id}}/slots", response_model=Page[SlotPublic],
            summary="Free slots that can still be booked, soonest first (default: the next 28 days)")
async def free_slots(counsellor_id: int, session: SessionDep, start: From = None, end: To = None,
                     cursor: Cursor = None, limit: SlotLimit = 100) -> Page[SlotPublic]:
    return await counselling.free_slots(session, counsellor_id=counsellor_id, start=start, end=end, cursor=cursor,
                                        limit=limit)


@router.post(f"{YOUTH}/bookings", response_model=BookingPublic, status_code=status.HTTP_201_CREATED,
             summary="Book a free slot with an intake (Idempotency-Key honoured)")
async def book(body: BookingIn, user: YouthUser, session: SessionDep, idem: IdempotencyDep) -> BookingPublic:
    return await idem.run(session, user, lambda: counselling.book(session, actor=user, data=body), status_code=201)


@router.get(f"{YOUTH}/bookings", response_model=Page[BookingPublic], summary="My bookings, newest first")
async def my_bookings(user: YouthUser, session: SessionDep, upcoming: bool = False, cursor: Cursor = None,
                      limit: Limit = 20) -> Page[BookingPublic]:
    return await counselling.my_bookings(session, actor=user, upcoming=upcoming, cursor=cursor, limit=limit)


@router.get(f"{YOUTH}/bookings/{{booking_id}}", response_model=BookingOwnDetail,
            summary="One of my bookings with my intake answers")
async def my_booking(booking_id: int, user: CurrentUser, session: SessionDep) -> BookingOwnDetail:
    return await counselling.my_booking(session, actor=user, booking_id=booking_id)


@router.delete(f"{YOUTH}/bookings/{{booking_id}}", response_model=BookingPublic,
               summary="Cancel my booking (frees the slot; late when within the late-cancel window)")
async def cancel(booking_id: int, user: CurrentUser, session: SessionDep) -> BookingPublic:
    return await counselling.cancel(session, actor=user, booking_id=booking_id)


@router.post(f"{YOUTH}/bookings/{{booking_id}}/reschedule", response_model=BookingPublic,
             summary="Move my booking to another free slot of the same centre, atomically")
async def reschedule(booking_id: int, body: RescheduleIn, user: YouthUser, session: SessionDep,
                     idem: IdempotencyDep) -> BookingPublic:
    return await idem.run(session, user, lambda: counselling.reschedule(
        session, actor=user, booking_id=booking_id, slot_id=body.slot_id))


@router.get("/api/v1/me/counselling-restriction", response_model=CounsellingRestriction,
            summary="Whether my self-bookings are paused for no-shows or late cancellations, why, until when")
async def my_restriction(user: YouthUser, session: SessionDep) -> CounsellingRestriction:
    return await counselling.my_restriction(session, actor=user)


# --- the counselling centre ----------------------------------------------------------------------------


@router.post(f"{CENTRE}/counsellors", response_model=CounsellorOwn, status_code=status.HTTP_201_CREATED,
             summary="Create a counsellor profile (a draft; submit it for review to publish)")
async def create_counsellor(body: CounsellorIn, user: CentreUser, session: SessionDep) -> CounsellorOwn:
    return await counselling.create_counsellor(session, actor=user, data=body)


@router.get(f"{CENTRE}/counsellors", response_model=Page[CounsellorOwn])
async def own_counsellors(user: CentreUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                          ) -> Page[CounsellorOwn]:
    return await counselling.own_counsellors(session, actor=user, cursor=cursor, limit=limit)


@router.get(f"{CENTRE}/counsellors/{{counsellor_id}}", response_model=CounsellorOwn)
async def own_counsellor(counsellor_id: int, user: CentreUser, session: SessionDep) -> CounsellorOwn:
    return await counselling.own_counsellor(session, actor=user, counsellor_id=counsellor_id)


@router.patch(f"{CENTRE}/counsellors/{{counsellor_id}}", response_model=CounsellorOwn,
              summary="Edit a profile (public text on a published profile goes back to review)")
async def update_counsellor(counsellor_id: int, body: CounsellorUpdate, user: CentreUser, session: SessionDep
                            ) -> CounsellorOwn:
    return await counselling.update_counsellor(session, actor=user, counsellor_id=counsellor_id, data=body)


@router.post(f"{CENTRE}/counsellors/{{counsellor_id}}/slots", response_model=SlotOwn,
             status_code=status.HTTP_201_CREATED, summary="Publish one slot")
async def create_slot(counsellor_id: int, body: SlotIn, user: CentreUser, session: SessionDep) -> SlotOwn:
    return await counselling.create_slot(session, actor=user, counsellor_id=counsellor_id, data=body)


@router.post(f"{CENTRE}/counsellors/{{counsellor_id}}/slots/pattern", response_model=SlotPatternResult,
             status_code=status.HTTP_201_CREATED,
             summary="Publish slots from a weekly pattern (past and overlapping times are skipped)")
async def create_slot_pattern(counsellor_id: int, body: SlotPatternIn, user: CentreUser, session: SessionDep
                              ) -> SlotPatternResult:
    return await counselling.create_slot_pattern(session, actor=user, counsellor_id=counsellor_id, data=body)


@router.get(f"{CENTRE}/counsellors/{{counsellor_id}}/slots", response_model=Page[SlotOwn],
            summary="All slots of a counsellor with their state (default: from yesterday, 28 days)")
async def own_slots(counsellor_id: int, user: CentreUser, session: SessionDep, start: From = None, end: To = None,
                    cursor: Cursor = None, limit: SlotLimit = 100) -> Page[SlotOwn]:
    return await counselling.own_slots(session, actor=user, counsellor_id=counsellor_id, start=start, end=end,
                                       cursor=cursor, limit=limit)


@router.delete(f"{CENTRE}/slots/{{slot_id}}", response_model=SlotOwn, summary="Withdraw a free slot")
async def withdraw_slot(slot_id: int, user: CentreUser, session: SessionDep) -> SlotOwn:
    return await counselling.withdraw_slot(session, actor=user, slot_id=slot_id)


@router.get(f"{CENTRE}/centre", response_model=CentreSettings,
            summary="The centre's opening hours and duty list")
async def centre_settings(user: CentreUser, session: SessionDep) -> CentreSettings:
    return await counselling.centre_settings(session, actor=user)


@router.patch(f"{CENTRE}/centre", response_model=CentreSettings,
              summary="Set the opening hours or replace the duty list (owners only)")
async def update_centre(body: CentreSettingsUpdate, user: CentreUser, session: SessionDep) -> CentreSettings:
    return await counselling.update_centre(session, actor=user, data=body)


@router.get(f"{CENTRE}/risk-queue", response_model=Page[RiskQueueItem],
            summary="Risk-flagged bookings nobody has acknowledged, most urgent first (duty: all; a counsellor: own)")
async def risk_queue(user: CentreUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                     ) -> Page[RiskQueueItem]:
    return await counselling.risk_queue(session, actor=user, cursor=cursor, limit=limit)


@router.get(f"{CENTRE}/bookings", response_model=Page[CentreBooking],
            summary="The centre's bookings by local day (default today), soonest first; no intake")
async def centre_bookings(
    user: CentreUser, session: SessionDep, from_date: DayIn | None = None, to_date: DayIn | None = None,
    counsellor_id: Annotated[int | None, Query(ge=1)] = None,
    mine: Annotated[bool, Query(description="Only counsellors linked to my account")] = False,
    flagged: Annotated[bool | None, Query(description="Risk-flagged bookings only (true) or none of them")] = None,
    status: BookingStatus | None = None, cursor: Cursor = None, limit: Limit = 50,
) -> Page[CentreBooking]:
    return await counselling.centre_bookings(session, actor=user, first=from_date, last=to_date,
                                             counsellor_id=counsellor_id, mine=mine, flagged=flagged, status=status,
                                             cursor=cursor, limit=limit)


# The booking-level endpoints accept any signed-in account and answer 404 unless it belongs to the
# booking's centre: to staff and other organisations a booking does not exist.
@router.get(f"{CENTRE}/bookings/{{booking_id}}", response_model=CentreBookingDetail,
            summary="One booking with its intake, for its counsellor and the duty list (the read is audited)")
async def centre_booking(booking_id: int, user: CurrentUser, session: SessionDep) -> CentreBookingDetail:
    return await counselling.centre_booking(session, actor=user, booking_id=booking_id)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/cancel", response_model=CentreBooking,
             summary="Cancel a booking with a reason; the person is notified")
async def centre_cancel(booking_id: int, body: CentreCancelIn, user: CurrentUser, session: SessionDep
                        ) -> CentreBooking:
    return await counselling.centre_cancel(session, actor=user, booking_id=booking_id, data=body)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/attendance", response_model=CentreBooking,
             summary="Mark a started session attended or no-show")
async def mark_attendance(booking_id: int, body: AttendanceIn, user: CurrentUser, session: SessionDep
                          ) -> CentreBooking:
    return await counselling.mark_attendance(session, actor=user, booking_id=booking_id, status=body.status)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/risk-followups", response_model=RiskState,
             status_code=status.HTTP_201_CREATED,
             summary="Record what was done about a risk answer (the first record acknowledges it)")
async def risk_follow_up(booking_id: int, body: RiskFollowUpIn, user: CurrentUser, session: SessionDep) -> RiskState:
    return await counselling.follow_up(session, actor=user, booking_id=booking_id, data=body)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/waive-strike", response_model=CentreBooking,
             summary="Waive this booking's no-show or late cancellation, with a reason the person is told")
async def waive_strike(booking_id: int, body: WaiveIn, user: CurrentUser, session: SessionDep) -> CentreBooking:
    return await counselling.waive_strike(session, actor=user, booking_id=booking_id, reason=body.reason)


@router.put(f"{CENTRE}/bookings/{{booking_id}}/notes", response_model=NotePublic,
            summary="Write my session notes (only I can read them)")
async def write_note(booking_id: int, body: NoteIn, user: CurrentUser, session: SessionDep) -> NotePublic:
    return await counselling.write_note(session, actor=user, booking_id=booking_id, body=body.body)


@router.get(f"{CENTRE}/bookings/{{booking_id}}/notes", response_model=NotePublic, summary="My session notes")
async def read_note(booking_id: int, user: CurrentUser, session: SessionDep) -> NotePublic:
    return await counselling.read_note(session, actor=user, booking_id=booking_id)


# --- staff ------------------------------------------------------------------------------------------------


@router.get("/api/v1/staff/counselling/stats", response_model=CounsellingStats,
            summary="Counts only, by session date (default: 30 days either side of today)")
async def stats(user: StaffUser, session: SessionDep, from_date: DayIn | None = None, to_date: DayIn | None = None,
                org_id: Annotated[int | None, Query(ge=1)] = None) -> CounsellingStats:
    return await counselling.stats(session, first=from_date, last=to_date, org_id=org_id)
