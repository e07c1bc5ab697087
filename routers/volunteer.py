from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app import errors
from app.config import KUNMING_DISTRICTS
from app.contract import raises
from app.deps import OptionalUser, Principal, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit import csv
from app.kit.pagination import Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, DateFrom, DateTo, Limit, renamed_query
from app.schemas.volunteer import (
    CATEGORY_TEXT,
    HOURS_STATUS_TEXT,
    SIGNUP_STATUS_TEXT,
    AdjustIn,
    AnswerIn,
    AttendancePublic,
    BulkResult,
    CancelShiftIn,
    Category,
    CertificateIn,
    CertificatePublic,
    CertificateStatus,
    CertificateVerification,
    ConfirmIn,
    DisputeIn,
    HoursDetail,
    HoursPublic,
    HoursStatus,
    LateOrganisation,
    LocationIn,
    MySignupItem,
    ProjectCreate,
    ProjectProvider,
    ProjectPublic,
    ProjectSummary,
    ProjectUpdate,
    ProviderHours,
    RevokeIn,
    ScanIn,
    ShiftIn,
    ShiftUpdate,
    SignupIn,
    SignupProvider,
    SignupPublic,
    SignupStatus,
    StaffCertificate,
    TicketPublic,
    VolunteerRecord,
    WaiveIn,
)
from app.services import volunteer
from app.services.volunteer import errors as verr

router = APIRouter(tags=["volunteer"])

Organiser = Annotated[Principal, Depends(provider_of("volunteer_org"))]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
ProjectId = path_id("志愿项目编号")
ShiftId = path_id("岗位编号")
HoursId = path_id("服务时长记录编号")
SignupId = path_id("报名编号")
CertificateId = path_id("证明编号（数字，不是印在证明上的编号）")
CertificateCode = Annotated[str, Path(min_length=1, max_length=40,
                                      description="印在证明上的证明编号（如 7KQ2-M9XH-C4RT-P8WD-X；大小写和连字符不限）")]
SignupStatusFilter = Annotated[SignupStatus | None, Query(description=SIGNUP_STATUS_TEXT + "；只看这一状态，不填为全部")]
HoursStatusFilter = Annotated[HoursStatus | None, Query(description=HOURS_STATUS_TEXT + "；不填为全部")]

YOUTH = "青年用户。"
ORGANISER = ("仅志愿服务组织（`volunteer_org`）的成员（机构被驳回或暂停时不能操作），只能操作本机构的项目"
             "（其他机构的项目、岗位和记录回答 404）。")
STAFF = "仅团委工作人员。"
SHIFT_RULES = ("岗位规则：开始时间晚于现在、最多提前一年；结束晚于开始，一个岗位最长 24 小时；报名截止不晚于开始"
               "（不填为开始时）；时间必须带时区。")
CHECK_IN = "签到从岗位开始前 `YOUTH_VOLUNTEER_CHECK_IN_OPENS_MINUTES` 分钟（默认 30）开放到岗位结束"
CHECK_OUT = "签退截止于岗位结束后 `YOUTH_VOLUNTEER_CHECK_OUT_GRACE_MINUTES` 分钟（默认 60）"
PROPOSED = ("签退时生成服务时长：签退减签到，不超过岗位时长，按 15 分钟取整（满 7.5 分钟进一），状态为待确认，"
            "由组织确认后才计入记录。")
RESTRICTION = ("近期多次爽约或临时取消会暂停报名：`YOUTH_RESTRICTION_WINDOW_DAYS` 天（默认 90）内 "
               "`YOUTH_RESTRICTION_STRIKE_THRESHOLD` 次（默认 2）未撤销的记录，暂停 `YOUTH_RESTRICTION_DAYS` 天（默认 30）")
DUE = ("服务时长应在岗位结束后 `YOUTH_VOLUNTEER_RECORD_DUE_WORKING_DAYS` 个工作日（默认 10，民政部令第67号）内确认，"
       "`YOUTH_VOLUNTEER_REMINDER_WORKING_DAYS` 个工作日（默认 7）仍未确认时提醒机构成员")
# A shift's place and state, as the organiser's routes find them.
_OWN_SHIFT = (errors.NotFound, verr.ShiftStateInvalid)
# Editing public text on a live project runs the content check (the word list, then WeChat).
_CONTENT_CHECK = (errors.ContentRejected, errors.WeChatUnavailable, errors.WeChatRateLimited, errors.WeChatError)
_LOCATION = (verr.LocationInaccurate, verr.TooFar)
_TICKET = (errors.NotFound, verr.TicketInvalid, verr.TicketWrongShift)


# --- young people ---------------------------------------------------------------------------------


@router.get("/api/v1/volunteer/projects", response_model=Page[ProjectSummary], summary="浏览志愿项目",
            description="不需要登录。已发布、有未开始且未取消岗位的志愿项目。默认按最近一个岗位的开始时间从早到晚"
                        "（`soonest`）；给出位置（`lat` 和 `lng`，GCJ-02，须同时给出）时默认按距离从近到远"
                        "（`distance`），只列 `radius_km` 公里以内的。可按服务类别、区县和岗位日期（`date_from`、"
                        "`date_to`：上海时间的日期，含首尾两天）筛选；`open_only=true` 只看有岗位还有名额且报名未截止的项目。")
@raises(errors.ValidationFailed)
async def list_projects(
    session: SessionDep,
    category: Annotated[Category | None, Query(description=CATEGORY_TEXT + "；不填为全部")] = None,
    district: Annotated[District | None, Query(description="区县（昆明市）；不填为全部")] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    open_only: Annotated[bool, Query(description="只看有岗位还有名额且报名未截止的项目")] = False,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="所在位置的纬度（GCJ-02），与 `lng` 同时给出")] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180, description="所在位置的经度（GCJ-02），与 `lat` 同时给出")] = None,
    radius_km: Annotated[float, Query(gt=0, le=50, description="给出位置时，只列这么多公里以内的项目（最多 50）")] = 10.0,
    sort: Annotated[Literal["soonest", "distance"] | None, Query(
        description="排序：`soonest` 最近的岗位先开始的在前、`distance` 近的在前（需要位置）；不填时有位置按距离，否则按时间")
    ] = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[ProjectSummary]:
    if (lat is None) != (lng is None):
        raise errors.ValidationFailed(fields={"lat": "纬度和经度需要同时提供"})
    near = (lat, lng) if lat is not None and lng is not None else None
    return await volunteer.list_projects(session, category=category, district=district, date_from=date_from,
                                         date_to=date_to, open_only=open_only, near=near, radius_km=radius_km,
                                         sort=sort, cursor=cursor, limit=limit)


@router.get("/api/v1/volunteer/projects/{project_id}", response_model=ProjectPublic, summary="志愿项目详情",
            description="不需要登录；登录的青年用户还能看到自己在这个项目的报名（`my_signups`）。项目介绍，尚未结束的岗位"
                        "及每个岗位的剩余名额、候补人数和报名状态。联系电话只对报名成功其中一个岗位的本人显示。")
@raises(errors.NotFound)
async def get_project(project_id: ProjectId, user: OptionalUser, session: SessionDep) -> ProjectPublic:
    return await volunteer.get_project(session, actor=user, project_id=project_id)


@router.post("/api/v1/volunteer/shifts/{shift_id}/signups", response_model=SignupPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[limit("volunteer_signup")], summary="报名岗位",
             description=YOUTH + "报名一个岗位：有名额即报名成功；名额已满时，项目开启了候补（`waitlist_enabled`）就进入"
                         "候补并得到候补名次，否则回答 `VOLUNTEER_SHIFT_FULL`。幂等：已有有效报名（报名成功或候补中）时"
                         "回答同一条报名；可带 `Idempotency-Key`。规则：报名截止（`signup_closes_at`）后、岗位开始后或"
                         "取消后不能报名；须在个人资料中填写身份证号以核验年龄，岗位当天须满项目的最低年龄（`min_age`），"
                         "14–17 周岁须填写监护人并确认已征得同意（`guardian`）；不能与本人其他有效报名的时间重叠（首尾相接"
                         "可以）；" + RESTRICTION + "。报名成功的人在岗位开始前 `YOUTH_NOTIFICATION_VOLUNTEER_REMINDER_HOURS`"
                         " 小时（默认 2）收到提醒。每人每分钟 10 次（`volunteer_signup`）。")
@raises(errors.NotFound, errors.Conflict, verr.ShiftCancelled, verr.ShiftStarted, verr.ShiftClosed, verr.ShiftFull,
        verr.ShiftOverlap, verr.SignupRestricted, verr.ProfileRequired, verr.UnderAge, verr.GuardianConsentRequired)
async def sign_up(shift_id: ShiftId, user: YouthUser, session: SessionDep, idem: IdempotencyDep,
                  body: SignupIn | None = None) -> SignupPublic:
    return await idem.run(session, user, lambda: volunteer.sign_up(session, actor=user, shift_id=shift_id, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/volunteer/shifts/{shift_id}/signups/mine", response_model=SignupPublic,
            summary="我在这个岗位的报名",
            description=YOUTH + "本人在这个岗位最近的一条报名（状态、候补名次、取消截止时间、签到和签退时间）；签退截止后"
                        "仍未签到的显示为 `no_show`。没有报名过回答 `VOLUNTEER_NOT_SIGNED_UP`。只读。")
@raises(verr.NotSignedUp)
async def my_signup(shift_id: ShiftId, user: YouthUser, session: SessionDep) -> SignupPublic:
    return await volunteer.my_signup(session, actor=user, shift_id=shift_id)


@router.delete("/api/v1/volunteer/shifts/{shift_id}/signups/mine", response_model=SignupPublic, summary="取消报名",
               description=YOUTH + "取消报名或退出候补；岗位开始后不能取消。在取消截止时间（岗位开始前 "
                           "`YOUTH_VOLUNTEER_CANCEL_CUTOFF_HOURS` 小时，默认 3，见 `cancel_deadline`）之后取消报名成功的"
                           "名额算临时取消，计入爽约记录（`YOUTH_RESTRICTION_*`）。空出的名额立即给候补的第一位。")
@raises(errors.NotFound, verr.NotSignedUp, verr.ShiftStarted)
async def cancel_signup(shift_id: ShiftId, user: YouthUser, session: SessionDep) -> SignupPublic:
    return await volunteer.cancel(session, actor=user, shift_id=shift_id)


@router.get("/api/v1/volunteer/shifts/{shift_id}/ticket", response_model=TicketPublic, summary="签到码",
            description=YOUTH + "报名成功的本人获取签名的签到码，以二维码给组织者扫描签到和签退。签到码在签退截止（岗位结束后 "
                        "`YOUTH_VOLUNTEER_CHECK_OUT_GRACE_MINUTES` 分钟，默认 60）1 小时后过期；岗位取消或签退截止后"
                        "不再发放。")
@raises(errors.NotFound, verr.NotSignedUp)
async def ticket(shift_id: ShiftId, user: YouthUser, session: SessionDep) -> TicketPublic:
    return await volunteer.ticket(session, actor=user, shift_id=shift_id)


@router.post("/api/v1/volunteer/shifts/{shift_id}/self-check-in", response_model=AttendancePublic, summary="自助签到",
             description=YOUTH + "报名成功的本人在服务地点用 `wx.getLocation({type: 'gcj02'})` 的位置签到：" + CHECK_IN +
                         "；须在岗位的签到范围（`check_in_radius_m` 米）以内，且定位精度（`accuracy_m`）不大于该范围。"
                         "每次报名只能签到一次（扫码签到过的也算）。")
@raises(errors.NotFound, verr.NotSignedUp, verr.ShiftCancelled, verr.AlreadyCheckedIn, verr.CheckInNotOpen, *_LOCATION)
async def self_check_in(shift_id: ShiftId, body: LocationIn, user: YouthUser, session: SessionDep
                        ) -> AttendancePublic:
    return await volunteer.self_check_in(session, actor=user, shift_id=shift_id, at=body)


@router.post("/api/v1/volunteer/shifts/{shift_id}/self-check-out", response_model=AttendancePublic, summary="自助签退",
             description=YOUTH + "签到后用同样的方式（位置在签到范围内、精度足够）在服务地点签退；" + CHECK_OUT + "。"
                         + PROPOSED)
@raises(errors.NotFound, verr.NotSignedUp, verr.NotCheckedIn, verr.AlreadyCheckedOut, verr.CheckOutNotOpen,
        *_LOCATION)
async def self_check_out(shift_id: ShiftId, body: LocationIn, user: YouthUser, session: SessionDep
                         ) -> AttendancePublic:
    return await volunteer.self_check_out(session, actor=user, shift_id=shift_id, at=body)


@router.get("/api/v1/me/volunteer-signups", response_model=Page[MySignupItem], summary="我的志愿报名",
            description=YOUTH + "本人的志愿岗位报名。默认（`upcoming_only=true`）只列尚未结束的有效报名（报名成功或候补中），"
                        "开始早的在前；`upcoming_only=false` 列全部报名（含已取消、已结束的），最新的在前。只读。", dependencies=[renamed_query({"upcoming": "upcoming_only"})])
@raises()
async def my_signups(
    user: YouthUser, session: SessionDep,
    upcoming_only: Annotated[bool, Query(description="只看尚未结束的有效报名（默认）；`false` 为全部报名")] = True,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[MySignupItem]:
    return await volunteer.my_signups(session, actor=user, upcoming=upcoming_only, cursor=cursor, limit=limit)


@router.get("/api/v1/me/volunteer-hours", response_model=Page[HoursPublic], summary="我的服务时长",
            description=YOUTH + "本人的服务时长记录，服务日期新的在前，可按状态筛选。只有组织确认的时长计入记录、星级和证明。只读。")
@raises()
async def my_hours(user: YouthUser, session: SessionDep, status: HoursStatusFilter = None, cursor: Cursor = None,
                   limit: Limit = 20) -> Page[HoursPublic]:
    return await volunteer.my_hours(session, actor=user, status=status, cursor=cursor, limit=limit)


@router.get("/api/v1/me/volunteer-hours/{hours_id}", response_model=HoursDetail, summary="服务时长详情",
            description=YOUTH + "本人的一条服务时长记录及其全部变更（测得、确认、调整、异议、答复：何时、谁、改了什么、理由），"
                        "变更记录只增不改。别人的记录回答 404。只读。")
@raises(errors.NotFound)
async def my_hours_detail(hours_id: HoursId, user: YouthUser, session: SessionDep) -> HoursDetail:
    return await volunteer.my_hours_detail(session, actor=user, hours_id=hours_id)


@router.post("/api/v1/me/volunteer-hours/{hours_id}/dispute", response_model=HoursDetail, summary="对服务时长提出异议",
             description=YOUTH + "对已确认的服务时长提出异议并说明理由（民政部令第67号第十三条）：须在确认后 "
                         "`YOUTH_VOLUNTEER_DISPUTE_DAYS` 天（默认 7，见 `dispute_deadline`）内，每条记录只能提出一次。"
                         "机构的成员都会收到通知；组织答复后本人会收到结果。")
@raises(errors.NotFound, verr.HoursState, verr.DisputeWindowClosed)
async def dispute(hours_id: HoursId, body: DisputeIn, user: YouthUser, session: SessionDep) -> HoursDetail:
    return await volunteer.dispute(session, actor=user, hours_id=hours_id, reason=body.reason)


@router.get("/api/v1/me/volunteer-record", response_model=VolunteerRecord, summary="我的志愿服务记录",
            description=YOUTH + "已确认的服务时长合计，以及按项目、服务类别和年份的小计；待确认的时长单独列出，不计入。星级"
                        "志愿者等级按已确认的时长计算（`YOUTH_VOLUNTEER_STAR_THRESHOLDS_HOURS`，默认 100、300、600、1000、"
                        "1500 小时为一到五星），并给出距下一星级还差多少。只读。")
@raises()
async def my_record(user: YouthUser, session: SessionDep) -> VolunteerRecord:
    return await volunteer.record(session, actor=user)


@router.post("/api/v1/me/volunteer-certificates", response_model=CertificatePublic,
             status_code=status.HTTP_201_CREATED, summary="开具志愿服务证明",
             description=YOUTH + "免费开具志愿服务证明（民政部令第67号第十四条）：按时段（`scope=period`，服务日期在 "
                         "`date_from` 至 `date_to` 之间，含首尾，上海时间）或按项目（`scope=project`）。只计已确认且大于"
                         " 0 的时长，以记录时长的组织的名义列出时长、服务内容和地点。需已在个人资料中填写姓名和身份证号；"
                         "范围内没有已确认的时长时回答 `VOLUNTEER_NO_HOURS`。每次调用开具一份新证明；带 `Idempotency-Key`"
                         " 重试得到同一份。证明所含的时长日后被更正时，证明自动作废，本人会收到通知。")
@raises(verr.CertificateProfileRequired, verr.NoHoursToCertify)
async def issue_certificate(body: CertificateIn, user: YouthUser, session: SessionDep, idem: IdempotencyDep
                            ) -> CertificatePublic:
    return await idem.run(session, user, lambda: volunteer.issue_certificate(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/me/volunteer-certificates", response_model=Page[CertificatePublic], summary="我的志愿服务证明",
            description=YOUTH + "本人开具过的证明（含已作废的），最新的在前。只读。")
@raises()
async def my_certificates(user: YouthUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                          ) -> Page[CertificatePublic]:
    return await volunteer.my_certificates(session, actor=user, cursor=cursor, limit=limit)


@router.get("/api/v1/me/volunteer-certificates/{certificate_id}", response_model=CertificatePublic, summary="证明详情",
            description=YOUTH + "本人的一份证明：证明编号、核验地址、持有人、时长、组织和项目、状态。别人的证明回答 404。只读。")
@raises(errors.NotFound)
async def my_certificate(certificate_id: CertificateId, user: YouthUser, session: SessionDep) -> CertificatePublic:
    return await volunteer.get_certificate(session, actor=user, certificate_id=certificate_id)


@router.get("/api/v1/me/volunteer-certificates/{certificate_id}/pdf", response_class=Response,
            summary="下载证明 PDF",
            description=YOUTH + "本人有效证明的 PDF（中文，带公开核验地址的二维码，地址取自 `YOUTH_VOLUNTEER_VERIFY_BASE_URL`）；"
                        "已作废的证明不能下载。服务器缺少证明字体（`YOUTH_VOLUNTEER_FONT_PATHS`）时回答 503 "
                        "`CERTIFICATE_PDF_UNAVAILABLE`。",
            responses={200: {"description": "证明的 PDF 文件", "content": {"application/pdf": {}}}})
@raises(errors.NotFound, verr.CertificateRevoked, verr.PdfUnavailable)
async def my_certificate_pdf(certificate_id: CertificateId, user: YouthUser, session: SessionDep) -> Response:
    name, pdf = await volunteer.certificate_pdf(session, actor=user, certificate_id=certificate_id)
    return Response(content=pdf, media_type="application/pdf", headers={
        "Content-Disposition": csv.attachment(name),
        "Cache-Control": "no-store"})


@router.get("/api/v1/certificates/{code}", response_model=CertificateVerification,
            dependencies=[limit("certificate_verify")], summary="核验志愿服务证明",
            description="不需要登录：任何人可用证明编号核验（大小写和连字符不限，I、L 按 1、O 按 0 读）。只显示核验需要的"
                        "内容：遮盖的姓名、时长、组织、开具日期和是否有效。编号的校验位不符回答 400 "
                        "`CERTIFICATE_CODE_MISTYPED`（多半是输错了），格式正确但本平台没有开具过回答 404 "
                        "`CERTIFICATE_NOT_FOUND`。每个地址每分钟 30 次（`certificate_verify`）。")
@raises(verr.CertificateCodeMistyped, verr.CertificateNotFound)
async def verify_certificate(code: CertificateCode, session: SessionDep) -> CertificateVerification:
    return await volunteer.verify_certificate(session, raw_code=code)


# --- organisers -----------------------------------------------------------------------------------


@router.post("/api/v1/provider/volunteer/projects", response_model=ProjectProvider,
             status_code=status.HTTP_201_CREATED, summary="创建志愿项目",
             description=ORGANISER + "创建的项目连同岗位为草稿，通过 `/api/v1/provider/postings/volunteer_project/{id}/submit`"
                         " 提交审核，审核通过后发布。" + SHIFT_RULES + "可带 `Idempotency-Key`，重试回答同一个项目。")
@raises(errors.ValidationFailed)
async def create_project(body: ProjectCreate, user: Organiser, session: SessionDep, idem: IdempotencyDep
                         ) -> ProjectProvider:
    return await idem.run(session, user, lambda: volunteer.create_project(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/provider/volunteer/projects/{project_id}", response_model=ProjectProvider,
            summary="我的志愿项目详情",
            description=ORGANISER + "项目的全部内容和审核状态，以及每个岗位（含已结束和已取消的）的报名、签到和签退人数。只读。")
@raises(errors.NotFound)
async def get_own_project(project_id: ProjectId, user: Organiser, session: SessionDep) -> ProjectProvider:
    return await volunteer.get_own_project(session, actor=user, project_id=project_id)


@router.patch("/api/v1/provider/volunteer/projects/{project_id}", response_model=ProjectProvider,
              summary="修改志愿项目",
              description=ORGANISER + "只改填写的字段（岗位通过岗位接口修改）。已发布或审核中的项目修改公开内容（名称、介绍、"
                          "要求、技能、地点、地址）时重新做内容安全检查，已发布的重新进入审核。已下架的项目不能修改。")
@raises(errors.NotFound, errors.ValidationFailed, errors.PostingStateInvalid, *_CONTENT_CHECK)
async def update_project(project_id: ProjectId, body: ProjectUpdate, user: Organiser, session: SessionDep
                         ) -> ProjectProvider:
    return await volunteer.update_project(session, actor=user, project_id=project_id, data=body)


@router.post("/api/v1/provider/volunteer/projects/{project_id}/shifts", response_model=ProjectProvider,
             status_code=status.HTTP_201_CREATED, summary="添加岗位",
             description=ORGANISER + "给项目添加一个岗位，回答整个项目；已下架的项目不能添加。" + SHIFT_RULES)
@raises(errors.NotFound, errors.ValidationFailed, errors.PostingStateInvalid)
async def add_shift(project_id: ProjectId, body: ShiftIn, user: Organiser, session: SessionDep) -> ProjectProvider:
    return await volunteer.add_shift(session, actor=user, project_id=project_id, data=body)


@router.patch("/api/v1/provider/volunteer/shifts/{shift_id}", response_model=ProjectProvider, summary="修改岗位",
              description=ORGANISER + "岗位开始前可修改，已取消或已开始的不能修改；只改填写的字段，回答整个项目。名额不能少于"
                          "已报名成功的人数，增加的名额先给候补的人。时间或地点变动时，报名和候补的人都会收到通知；新时间与"
                          "某人其他报名重叠时，这条报名自动取消（`released`）并通知本人，空出的名额给候补的人。"
                          + SHIFT_RULES)
@raises(*_OWN_SHIFT, errors.ValidationFailed, verr.CapacityBelowTaken, errors.Conflict)
async def update_shift(shift_id: ShiftId, body: ShiftUpdate, user: Organiser, session: SessionDep) -> ProjectProvider:
    return await volunteer.update_shift(session, actor=user, shift_id=shift_id, data=body)


@router.post("/api/v1/provider/volunteer/shifts/{shift_id}/cancel", response_model=ProjectProvider, summary="取消岗位",
             description=ORGANISER + "取消一个岗位，须说明理由，报名和候补的人都会收到；已结束或已取消的岗位不能取消。岗位取消"
                         "不算任何人爽约。回答整个项目。")
@raises(*_OWN_SHIFT)
async def cancel_shift(shift_id: ShiftId, body: CancelShiftIn, user: Organiser, session: SessionDep
                       ) -> ProjectProvider:
    return await volunteer.cancel_shift(session, actor=user, shift_id=shift_id, reason=body.reason)


@router.get("/api/v1/provider/volunteer/shifts/{shift_id}/signups", response_model=Page[SignupProvider],
            summary="岗位报名名单",
            description=ORGANISER + "岗位的报名，按报名先后：昵称、实名、岗位当天的年龄、监护人（电话遮盖）、签到签退和服务时长；"
                        "可按报名状态筛选。只读。")
@raises(errors.NotFound)
async def shift_signups(shift_id: ShiftId, user: Organiser, session: SessionDep, status: SignupStatusFilter = None,
                        cursor: Cursor = None, limit: Limit = 50) -> Page[SignupProvider]:
    return await volunteer.shift_signups(session, actor=user, shift_id=shift_id, status=status, cursor=cursor,
                                         limit=limit)


@router.get("/api/v1/provider/volunteer/shifts/{shift_id}/signups.csv", response_class=Response,
            summary="导出岗位报名名单（CSV）",
            description=ORGANISER + "与“岗位报名名单”相同的内容，整份 CSV 文件（UTF-8，Excel 可直接打开）；每次导出都记入审计日志。",
            responses={200: {"description": "报名名单的 CSV 文件", "content": {"text/csv": {}}}})
@raises(errors.NotFound)
async def shift_signups_csv(shift_id: ShiftId, user: Organiser, session: SessionDep,
                            status: SignupStatusFilter = None) -> Response:
    return csv.response(await volunteer.shift_signups_csv(session, actor=user, shift_id=shift_id, status=status))


@router.post("/api/v1/provider/volunteer/shifts/{shift_id}/check-ins", response_model=AttendancePublic,
             summary="扫码签到",
             description=ORGANISER + "扫描志愿者的签到码为其签到：" + CHECK_IN + "；每次报名只能签到一次。签到码须属于本岗位，"
                         "且报名仍然有效（已取消的报名的签到码不能用）。")
@raises(*_TICKET, verr.ShiftCancelled, verr.AlreadyCheckedIn, verr.CheckInNotOpen)
async def scan_check_in(shift_id: ShiftId, body: ScanIn, user: Organiser, session: SessionDep) -> AttendancePublic:
    return await volunteer.scan_check_in(session, actor=user, shift_id=shift_id, ticket=body.ticket)


@router.post("/api/v1/provider/volunteer/shifts/{shift_id}/check-outs", response_model=AttendancePublic,
             summary="扫码签退",
             description=ORGANISER + "再次扫描签到码为已签到的志愿者签退；" + CHECK_OUT + "。" + PROPOSED)
@raises(*_TICKET, verr.NotCheckedIn, verr.AlreadyCheckedOut, verr.CheckOutNotOpen)
async def scan_check_out(shift_id: ShiftId, body: ScanIn, user: Organiser, session: SessionDep) -> AttendancePublic:
    return await volunteer.scan_check_out(session, actor=user, shift_id=shift_id, ticket=body.ticket)


@router.post("/api/v1/provider/volunteer/signups/{signup_id}/waive-strike", response_model=SignupProvider,
             summary="撤销爽约记录",
             description=ORGANISER + "撤销一次爽约或临时取消记录（如因病、突发情况），须说明理由，志愿者会收到；由它造成的报名"
                         "限制随之解除（共用的限制规则 `YOUTH_RESTRICTION_*`）。这条报名没有未撤销的记录时回答 "
                         "`VOLUNTEER_NO_STRIKE`。")
@raises(errors.NotFound, verr.NoStrike)
async def waive_strike(signup_id: SignupId, body: WaiveIn, user: Organiser, session: SessionDep) -> SignupProvider:
    return await volunteer.waive_strike(session, actor=user, signup_id=signup_id, reason=body.reason)


@router.get("/api/v1/provider/volunteer/hours", response_model=Page[ProviderHours], summary="本机构的服务时长记录",
            description=ORGANISER + "本机构的服务时长记录，离确认期限近的在前（" + DUE + "）；可按状态、异议和岗位筛选。只读。", dependencies=[renamed_query({"disputed": "dispute_status"})])
@raises()
async def provider_hours(
    user: Organiser, session: SessionDep, status: HoursStatusFilter = None,
    dispute_status: Annotated[Literal["open", "answered", "none"] | None, Query(
        description="异议：`open` 待答复、`answered` 已答复、`none` 没有异议；不填为全部")] = None,
    shift_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="只看这个岗位的记录")] = None,
    cursor: Cursor = None, limit: Limit = 50,
) -> Page[ProviderHours]:
    return await volunteer.provider_hours(session, actor=user, status=status, dispute_status=dispute_status,
                                          shift_id=shift_id, cursor=cursor, limit=limit)


@router.post("/api/v1/provider/volunteer/hours/confirm", response_model=BulkResult, summary="批量确认服务时长",
             description=ORGANISER + "按原样确认待确认的时长，一次 1–200 条；有一条不是本机构的记录则整批不处理（404）。已确认的"
                         "保持不变，所以重复提交结果相同。志愿者会收到通知。" + DUE + "。")
@raises(errors.NotFound)
async def confirm_hours(body: ConfirmIn, user: Organiser, session: SessionDep) -> BulkResult:
    return BulkResult(updated=await volunteer.confirm(session, actor=user, ids=body.ids))


@router.post("/api/v1/provider/volunteer/hours/adjust", response_model=BulkResult, summary="批量调整服务时长",
             description=ORGANISER + "把时长改为给定的分钟数（15 的倍数）并说明理由，同时确认；一次 1–200 条，同一条只能出现一次，"
                         "有一条不是本机构的记录则整批不处理。有待答复异议的记录须通过“答复异议”处理。已确认的时长被改动是"
                         "更正：计入它的有效证明自动作废，持有人会收到通知。志愿者会收到调整和理由。")
@raises(errors.NotFound, verr.HoursState)
async def adjust_hours(body: AdjustIn, user: Organiser, session: SessionDep) -> BulkResult:
    return BulkResult(updated=await volunteer.adjust(session, actor=user, items=body.items))


@router.post("/api/v1/provider/volunteer/hours/{hours_id}/answer", response_model=HoursPublic, summary="答复异议",
             description=ORGANISER + "答复志愿者对时长的异议并说明理由；异议成立时给出新的分钟数（不填为维持原记录）。只有待"
                         "答复的异议可以答复。时长改变时，计入它的有效证明自动作废。志愿者会收到答复。")
@raises(errors.NotFound, verr.HoursState)
async def answer_dispute(hours_id: HoursId, body: AnswerIn, user: Organiser, session: SessionDep) -> HoursPublic:
    return await volunteer.answer(session, actor=user, hours_id=hours_id, reason=body.reason, minutes=body.minutes)


# --- staff ----------------------------------------------------------------------------------------


@router.get("/api/v1/staff/volunteer/late-organisations", response_model=Page[LateOrganisation],
            summary="逾期未确认时长的机构",
            description=STAFF + "有服务时长超过期限（岗位结束后 `YOUTH_VOLUNTEER_RECORD_DUE_WORKING_DAYS` 个工作日，默认 10）"
                        "仍未确认的机构及逾期的记录数，逾期最久的在前；读取时计算。只读。")
@raises()
async def late_organisations(user: StaffUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                             ) -> Page[LateOrganisation]:
    return await volunteer.late_organisations(session, cursor=cursor, limit=limit)


@router.get("/api/v1/staff/volunteer/certificates", response_model=Page[StaffCertificate], summary="查找志愿服务证明",
            description=STAFF + "按证明编号、持有人、状态和开具日期（`date_from`、`date_to`：上海时间的日期，含首尾两天）查找"
                        "开具过的证明，最新的在前。每次查找都记入审计日志（回答含姓名和遮盖的身份证号）；编号的校验位不符"
                        "回答 `CERTIFICATE_CODE_MISTYPED`。", dependencies=[renamed_query({"issued_from": "date_from", "issued_to": "date_to"})])
@raises(verr.CertificateCodeMistyped)
async def search_certificates(
    user: StaffUser, session: SessionDep,
    code: Annotated[str | None, Query(max_length=40, description="印在证明上的证明编号（大小写和连字符不限）")] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="持有人的用户编号")] = None,
    status: Annotated[CertificateStatus | None, Query(description="`valid` 有效、`revoked` 已作废；不填为全部")] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    cursor: Cursor = None, limit: Limit = 50,
) -> Page[StaffCertificate]:
    return await volunteer.search_certificates(session, actor=user, code=code, user_id=user_id, status=status,
                                               issued_from=date_from, issued_to=date_to, cursor=cursor, limit=limit)


@router.get("/api/v1/staff/volunteer/certificates/{certificate_id}", response_model=StaffCertificate,
            summary="证明详情（工作人员）",
            description=STAFF + "一份证明的全部内容、持有人的用户编号和作废方式；每次查看都记入审计日志。")
@raises(errors.NotFound)
async def staff_certificate(certificate_id: CertificateId, user: StaffUser, session: SessionDep) -> StaffCertificate:
    return await volunteer.staff_certificate(session, actor=user, certificate_id=certificate_id)


@router.post("/api/v1/staff/volunteer/certificates/{certificate_id}/revoke", response_model=StaffCertificate,
             summary="作废证明",
             description=STAFF + "作废一份有效的证明，须说明理由，持有人会收到通知；已作废的不能再作废。作废后公开核验显示已作废，"
                         "PDF 不能再下载。")
@raises(errors.NotFound, verr.CertificateRevoked)
async def revoke_certificate(certificate_id: CertificateId, body: RevokeIn, user: StaffUser, session: SessionDep
                             ) -> StaffCertificate:
    return await volunteer.revoke_certificate(session, actor=user, certificate_id=certificate_id, reason=body.reason)
