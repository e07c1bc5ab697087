"""Counselling: the public counsellor list and free slots, the person's private bookings and restriction,
the centre's counsellors, slots, bookings, notes, duty list, opening hours and risk queue, and the
staff's counts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from app import errors
from app.contract import raises
from app.deps import CurrentUser, Principal, SessionDep, StaffUser, YouthClaims, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit.pagination import MAX_LIMIT, Page
from app.schemas.common import Cursor, DateFrom, DateTo, Limit, renamed_query
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
from app.services.counselling import errors as cerr

router = APIRouter(tags=["counselling"])

CentreUser = Annotated[Principal, Depends(provider_of("counselling_center"))]
SlotLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Slots per page (a page of a calendar)")]

BookingId = Annotated[int, Path(description="预约编号")]
CounsellorId = Annotated[int, Path(description="咨询师编号")]
SlotId = Annotated[int, Path(description="时段编号")]
OrgFilter = Annotated[int | None, Query(ge=1, description="咨询中心（机构）编号")]

YOUTH = "/api/v1/counselling"
CENTRE = "/api/v1/provider/counselling"


# --- young people -----------------------------------------------------------------------------------


@router.get(f"{YOUTH}/counsellors", response_model=Page[CounsellorPublic],
            summary="浏览心理咨询师",
            description="无需登录。已发布的咨询师，可按擅长方向、咨询方式、性别和咨询中心筛选；"
                        "每位带最近一个可预约时段。")
@raises()
async def list_counsellors(
    session: SessionDep, specialty: Annotated[Specialty | None, Query(description="擅长方向")] = None,
    mode: Annotated[Mode | None, Query(description="咨询方式")] = None,
    gender: Annotated[Gender | None, Query(description="咨询师性别")] = None,
    org_id: OrgFilter = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[CounsellorPublic]:
    return await counselling.list_counsellors(session, specialty=specialty, mode=mode, gender=gender, org_id=org_id,
                                              cursor=cursor, limit=limit)


@router.get(f"{YOUTH}/counsellors/{{counsellor_id}}", response_model=CounsellorPublic,
            summary="咨询师详情",
            description="无需登录。一位已发布的咨询师的介绍、擅长方向和咨询方式；未发布或不存在的回答 404。")
@raises(errors.NotFound)
async def get_counsellor(counsellor_id: CounsellorId, session: SessionDep) -> CounsellorPublic:
    return await counselling.get_counsellor(session, counsellor_id=counsellor_id)


@router.get(f"{YOUTH}/counsellors/{{counsellor_id}}/slots", response_model=Page[SlotPublic],
            summary="咨询师的可预约时段",
            description="无需登录。还能预约的空闲时段，早的在前；`date_from`–`date_to` 为北京时间的日期（含两端），"
                        "默认从今天起 28 天，一次最多查询 62 天。距开始不足 `YOUTH_COUNSELLING_MIN_NOTICE_HOURS`（默认 2）"
                        "小时的时段不再显示。", dependencies=[renamed_query({"from": "date_from", "to": "date_to"})])
@raises(errors.NotFound)
async def free_slots(counsellor_id: CounsellorId, session: SessionDep, date_from: DateFrom = None,
                     date_to: DateTo = None, cursor: Cursor = None, limit: SlotLimit = 100) -> Page[SlotPublic]:
    return await counselling.free_slots(session, counsellor_id=counsellor_id, first=date_from, last=date_to,
                                        cursor=cursor, limit=limit)


@router.post(f"{YOUTH}/bookings", response_model=BookingPublic, status_code=status.HTTP_201_CREATED,
             summary="预约心理咨询",
             description="青年用户，需已完成实名信息（姓名和身份证号）。预约一个空闲时段并填写登记内容（仅负责的咨询师和值班咨询师可见）"
                         "；至少提前 `YOUTH_COUNSELLING_MIN_NOTICE_HOURS`（默认 2）"
                         "小时，每人最多保留 `YOUTH_COUNSELLING_MAX_UPCOMING`（默认 2）"
                         "个未开始的预约，时间不能与自己的其他预约重叠。近期爽约或临时取消达到 `YOUTH_RESTRICTION_STRIKE"
                         "_THRESHOLD`（默认 2）次的，`YOUTH_RESTRICTION_DAYS`（默认 30）"
                         "天内不能自助预约。登记中的风险回答会提示中心尽快跟进。带 `Idempotency-Key` 重试会得到同一回答。")
@raises(errors.NotFound, cerr.SlotTaken, cerr.NoticeTooShort, cerr.ModeNotOffered, cerr.ProfileRequired, cerr.BookingRestricted, cerr.Overlap, cerr.TooManyUpcoming)
async def book(body: BookingIn, request: Request, claims: YouthClaims, session: SessionDep, idem: IdempotencyDep
               ) -> BookingPublic:
    # The principal is read by the service, in the rush's first read on PostgreSQL (YouthClaims' rules).
    return await counselling.book_request(session, request, claims, idem, body)


@router.get(f"{YOUTH}/bookings", response_model=Page[BookingPublic],
            summary="我的心理咨询预约",
            description="青年用户。自己的预约，最新的在前；`upcoming=true` 只看未开始的。"
                        "不含登记内容。")
@raises()
async def my_bookings(user: YouthUser, session: SessionDep, upcoming: Annotated[bool, Query(description="只看未开始的预约")] = False, cursor: Cursor = None,
                      limit: Limit = 20) -> Page[BookingPublic]:
    return await counselling.my_bookings(session, actor=user, upcoming=upcoming, cursor=cursor, limit=limit)


@router.get(f"{YOUTH}/bookings/{{booking_id}}", response_model=BookingOwnDetail,
            summary="我的一个预约",
            description="登录后可调用。自己的一个预约及自己填写的登记内容；别人的预约回答 404。")
@raises(errors.NotFound)
async def my_booking(booking_id: BookingId, user: CurrentUser, session: SessionDep) -> BookingOwnDetail:
    return await counselling.my_booking(session, actor=user, booking_id=booking_id)


@router.delete(f"{YOUTH}/bookings/{{booking_id}}", response_model=BookingPublic,
               summary="取消我的预约",
               description="登录后可调用。取消自己未开始的预约，时段重新开放；距开始不足 `YOUTH_COUNSELLING_LATE_CANCE"
                           "L_HOURS`（默认 12）小时的取消记为临时取消，计入爽约记录。"
                           "咨询开始后不能取消。")
@raises(errors.NotFound, cerr.BookingState, cerr.SessionStarted)
async def cancel(booking_id: BookingId, user: CurrentUser, session: SessionDep) -> BookingPublic:
    return await counselling.cancel(session, actor=user, booking_id=booking_id)


@router.post(f"{YOUTH}/bookings/{{booking_id}}/reschedule", response_model=BookingPublic,
             summary="改约到其他时段",
             description="青年用户。把自己未开始的预约一次性改到同一咨询中心的另一个空闲时段（原时段随即开放）"
                         "；新时段同样需满足提前量和不重叠的规则，距开始不足 `YOUTH_COUNSELLING_LATE_CANCEL_HOU"
                         "RS`（默认 12）小时的改约记为临时取消。带 `Idempotency-Key` 重试会得到同一回答。")
@raises(errors.NotFound, cerr.BookingState, cerr.SessionStarted, cerr.SlotTaken, cerr.NoticeTooShort, cerr.ModeNotOffered, cerr.OtherCentre, cerr.Overlap, cerr.TooManyUpcoming)
async def reschedule(booking_id: BookingId, body: RescheduleIn, user: YouthUser, session: SessionDep,
                     idem: IdempotencyDep) -> BookingPublic:
    return await idem.run(session, user, lambda: counselling.reschedule(
        session, actor=user, booking_id=booking_id, slot_id=body.slot_id))


@router.get("/api/v1/me/counselling-restriction", response_model=CounsellingRestriction,
            summary="我的预约限制",
            description="青年用户。自己是否因爽约或临时取消暂时不能自助预约心理咨询，"
                        "原因、到何时为止，以及求助热线。")
@raises()
async def my_restriction(user: YouthUser, session: SessionDep) -> CounsellingRestriction:
    return await counselling.my_restriction(session, actor=user)


# --- the counselling centre ----------------------------------------------------------------------------


@router.post(f"{CENTRE}/counsellors", response_model=CounsellorOwn, status_code=status.HTTP_201_CREATED,
             summary="添加咨询师（草稿）",
             description="心理咨询中心的机构成员。创建咨询师资料（草稿），经 `/api/v1/provider/postings/counsel"
                         "lor/{id}/submit` 提交审核、通过后公开；可关联本机构的一个成员账号（每个账号只能关联一位咨询师）"
                         "。")
@raises()
async def create_counsellor(body: CounsellorIn, user: CentreUser, session: SessionDep) -> CounsellorOwn:
    return await counselling.create_counsellor(session, actor=user, data=body)


@router.get(f"{CENTRE}/counsellors", response_model=Page[CounsellorOwn],
            summary="本中心的咨询师",
            description="心理咨询中心的机构成员。本机构的全部咨询师及其审核状态。")
@raises()
async def own_counsellors(user: CentreUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                          ) -> Page[CounsellorOwn]:
    return await counselling.own_counsellors(session, actor=user, cursor=cursor, limit=limit)


@router.get(f"{CENTRE}/counsellors/{{counsellor_id}}", response_model=CounsellorOwn,
            summary="本中心的一位咨询师",
            description="心理咨询中心的机构成员。本机构一位咨询师的资料和审核状态；别的机构的回答 404。")
@raises(errors.NotFound)
async def own_counsellor(counsellor_id: CounsellorId, user: CentreUser, session: SessionDep) -> CounsellorOwn:
    return await counselling.own_counsellor(session, actor=user, counsellor_id=counsellor_id)


@router.patch(f"{CENTRE}/counsellors/{{counsellor_id}}", response_model=CounsellorOwn,
              summary="修改咨询师资料",
              description="心理咨询中心的机构成员。只改给出的字段；已发布的资料改了公开内容会重新进入审核；"
                          "已下架或已关闭的资料不能修改（409 POSTING_STATE_INVALID）。")
@raises(errors.NotFound, errors.PostingStateInvalid)
async def update_counsellor(counsellor_id: CounsellorId, body: CounsellorUpdate, user: CentreUser, session: SessionDep
                            ) -> CounsellorOwn:
    return await counselling.update_counsellor(session, actor=user, counsellor_id=counsellor_id, data=body)


@router.post(f"{CENTRE}/counsellors/{{counsellor_id}}/slots", response_model=SlotOwn,
             status_code=status.HTTP_201_CREATED,
             summary="发布一个时段",
             description="心理咨询中心的机构成员。为本机构的咨询师发布一个可预约时段：开始时间在将来、"
                         "180 天以内，且不能与这位咨询师已有的时段重叠。")
@raises(errors.NotFound, cerr.SlotOverlap)
async def create_slot(counsellor_id: CounsellorId, body: SlotIn, user: CentreUser, session: SessionDep) -> SlotOwn:
    return await counselling.create_slot(session, actor=user, counsellor_id=counsellor_id, data=body)


@router.post(f"{CENTRE}/counsellors/{{counsellor_id}}/slots/pattern", response_model=SlotPatternResult,
             status_code=status.HTTP_201_CREATED,
             summary="按每周规律发布时段",
             description="心理咨询中心的机构成员。按每周的规律一次生成多个时段（180 天以内，"
                         "数量有上限）；已过去的和与已有时段重叠的时间会跳过，回答中列出生成和跳过的数量。")
@raises(errors.NotFound)
async def create_slot_pattern(counsellor_id: CounsellorId, body: SlotPatternIn, user: CentreUser, session: SessionDep
                              ) -> SlotPatternResult:
    return await counselling.create_slot_pattern(session, actor=user, counsellor_id=counsellor_id, data=body)


@router.get(f"{CENTRE}/counsellors/{{counsellor_id}}/slots", response_model=Page[SlotOwn],
            summary="咨询师的全部时段",
            description="心理咨询中心的机构成员。本机构一位咨询师的所有时段及其状态（空闲、"
                        "已预约、已撤下）；`date_from`–`date_to` 为北京时间的日期（含两端），"
                        "默认从昨天起 28 天，一次最多 62 天。", dependencies=[renamed_query({"from": "date_from", "to": "date_to"})])
@raises(errors.NotFound)
async def own_slots(counsellor_id: CounsellorId, user: CentreUser, session: SessionDep, date_from: DateFrom = None,
                    date_to: DateTo = None, cursor: Cursor = None, limit: SlotLimit = 100) -> Page[SlotOwn]:
    return await counselling.own_slots(session, actor=user, counsellor_id=counsellor_id, first=date_from,
                                       last=date_to, cursor=cursor, limit=limit)


@router.delete(f"{CENTRE}/slots/{{slot_id}}", response_model=SlotOwn,
               summary="撤下时段",
               description="心理咨询中心的机构成员。撤下本机构一个空闲的时段；已有预约的时段需先取消预约。")
@raises(errors.NotFound, cerr.SlotBooked)
async def withdraw_slot(slot_id: SlotId, user: CentreUser, session: SessionDep) -> SlotOwn:
    return await counselling.withdraw_slot(session, actor=user, slot_id=slot_id)


@router.get(f"{CENTRE}/centre", response_model=CentreSettings,
            summary="本中心的开放时间和值班名单",
            description="心理咨询中心的机构成员。中心的每周开放时间（未设置时为默认值 `YOUTH_COUNSELLING_DEFAULT_OP"
                        "ENING_HOURS`）和值班咨询师名单；风险提示需在开放时间内 `YOUTH_COUNSELLING_RISK_AC"
                        "K_HOURS`（默认 1）小时内跟进。")
@raises()
async def centre_settings(user: CentreUser, session: SessionDep) -> CentreSettings:
    return await counselling.centre_settings(session, actor=user)


@router.patch(f"{CENTRE}/centre", response_model=CentreSettings,
              summary="设置开放时间或值班名单",
              description="仅机构负责人。设置中心的每周开放时间，或整份替换值班名单（只能包含本机构的成员账号）"
                          "。")
@raises(errors.NotOrgOwner, cerr.DutyNotMember)
async def update_centre(body: CentreSettingsUpdate, user: CentreUser, session: SessionDep) -> CentreSettings:
    return await counselling.update_centre(session, actor=user, data=body)


@router.get(f"{CENTRE}/risk-queue", response_model=Page[RiskQueueItem],
            summary="风险提示待跟进",
            description="心理咨询中心的机构成员：值班咨询师看到全部，咨询师只看到自己的。"
                        "登记中有风险回答、还没有人跟进的预约，最紧急的在前；超过 `YOUTH_COUNSELLING_RISK_ACK_HOU"
                        "RS`（默认 1，按开放时间计）小时未跟进的会通知整个值班名单。")
@raises()
async def risk_queue(user: CentreUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                     ) -> Page[RiskQueueItem]:
    return await counselling.risk_queue(session, actor=user, cursor=cursor, limit=limit)


@router.get(f"{CENTRE}/bookings", response_model=Page[CentreBooking],
            summary="本中心的预约",
            description="心理咨询中心的机构成员。按北京时间的日期（默认今天，一次最多 31 天）"
                        "查看预约，早的在前；可按咨询师、状态、风险提示筛选。不含登记内容。", dependencies=[renamed_query({"from_date": "date_from", "to_date": "date_to"})])
@raises()
async def centre_bookings(
    user: CentreUser, session: SessionDep, date_from: DateFrom = None, date_to: DateTo = None,
    counsellor_id: Annotated[int | None, Query(ge=1, description="只看这位咨询师的")] = None,
    mine: Annotated[bool, Query(description="Only counsellors linked to my account")] = False,
    flagged: Annotated[bool | None, Query(description="Risk-flagged bookings only (true) or none of them")] = None,
    status: Annotated[BookingStatus | None, Query(description="预约状态")] = None, cursor: Cursor = None, limit: Limit = 50,
) -> Page[CentreBooking]:
    return await counselling.centre_bookings(session, actor=user, first=date_from, last=date_to,
                                             counsellor_id=counsellor_id, mine=mine, flagged=flagged, status=status,
                                             cursor=cursor, limit=limit)


# The booking-level endpoints accept any signed-in account and answer 404 unless it belongs to the
# booking's centre: to staff and other organisations a booking does not exist.
@router.get(f"{CENTRE}/bookings/{{booking_id}}", response_model=CentreBookingDetail,
            summary="一个预约及登记内容",
            description="负责这次咨询的咨询师或中心的值班咨询师。一个预约及来访者的登记内容；"
                        "每次查看记入审计日志。其他人（包括团委工作人员和其他机构）回答 404 或 403。")
@raises(errors.NotFound, cerr.CareTeamOnly)
async def centre_booking(booking_id: BookingId, user: CurrentUser, session: SessionDep) -> CentreBookingDetail:
    return await counselling.centre_booking(session, actor=user, booking_id=booking_id)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/cancel", response_model=CentreBooking,
             summary="中心取消预约",
             description="本中心的机构成员。以理由取消一个未开始的预约，来访者会收到通知；"
                         "可选择是否重新开放该时段。不计入来访者的爽约记录。")
@raises(errors.NotFound, cerr.BookingState)
async def centre_cancel(booking_id: BookingId, body: CentreCancelIn, user: CurrentUser, session: SessionDep
                        ) -> CentreBooking:
    return await counselling.centre_cancel(session, actor=user, booking_id=booking_id, data=body)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/attendance", response_model=CentreBooking,
             summary="标记到场或未到场",
             description="负责这次咨询的咨询师或值班咨询师。咨询开始后标记到场或未到场；"
                         "未到场计入来访者的爽约记录。")
@raises(errors.NotFound, cerr.CareTeamOnly, cerr.BookingState, cerr.SessionNotStarted)
async def mark_attendance(booking_id: BookingId, body: AttendanceIn, user: CurrentUser, session: SessionDep
                          ) -> CentreBooking:
    return await counselling.mark_attendance(session, actor=user, booking_id=booking_id, status=body.status)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/risk-followups", response_model=RiskState,
             status_code=status.HTTP_201_CREATED,
             summary="记录风险跟进",
             description="负责这次咨询的咨询师或值班咨询师。记录对风险回答采取的处理；"
                         "第一条记录即视为已跟进，预约离开风险队列。")
@raises(errors.NotFound, cerr.CareTeamOnly, cerr.NotFlagged)
async def risk_follow_up(booking_id: BookingId, body: RiskFollowUpIn, user: CurrentUser, session: SessionDep) -> RiskState:
    return await counselling.follow_up(session, actor=user, booking_id=booking_id, data=body)


@router.post(f"{CENTRE}/bookings/{{booking_id}}/waive-strike", response_model=CentreBooking,
             summary="免除爽约记录",
             description="机构负责人或值班咨询师。以理由免除这个预约的爽约或临时取消记录，"
                         "来访者会收到理由；不再有足够记录支持的预约限制随之解除。")
@raises(errors.NotFound, cerr.DutyOrOwnerOnly, cerr.NothingToWaive)
async def waive_strike(booking_id: BookingId, body: WaiveIn, user: CurrentUser, session: SessionDep) -> CentreBooking:
    return await counselling.waive_strike(session, actor=user, booking_id=booking_id, reason=body.reason)


@router.put(f"{CENTRE}/bookings/{{booking_id}}/notes", response_model=NotePublic,
            summary="填写咨询记录",
            description="只有负责这次咨询的咨询师。咨询开始后填写或整份替换自己的咨询记录（加密保存，"
                        "只有本人能读）。")
@raises(errors.NotFound, cerr.NoteAuthor, cerr.BookingState, cerr.SessionNotStarted, errors.Conflict)
async def write_note(booking_id: BookingId, body: NoteIn, user: CurrentUser, session: SessionDep) -> NotePublic:
    return await counselling.write_note(session, actor=user, booking_id=booking_id, body=body.body)


@router.get(f"{CENTRE}/bookings/{{booking_id}}/notes", response_model=NotePublic,
            summary="读取咨询记录",
            description="只有写下它的咨询师。自己对这次咨询的记录；还没有写时回答 404。")
@raises(errors.NotFound)
async def read_note(booking_id: BookingId, user: CurrentUser, session: SessionDep) -> NotePublic:
    return await counselling.read_note(session, actor=user, booking_id=booking_id)


# --- staff ------------------------------------------------------------------------------------------------


@router.get("/api/v1/staff/counselling/stats", response_model=CounsellingStats,
            summary="心理咨询统计",
            description="仅团委工作人员。按咨询日期统计的数量（默认今天前后各 30 天，"
                        "一次最多一年），可按咨询中心筛选；只有计数，不含任何个人信息。", dependencies=[renamed_query({"from_date": "date_from", "to_date": "date_to"})])
@raises()
async def stats(user: StaffUser, session: SessionDep, date_from: DateFrom = None, date_to: DateTo = None,
                org_id: OrgFilter = None) -> CounsellingStats:
    return await counselling.stats(session, first=date_from, last=date_to, org_id=org_id)
