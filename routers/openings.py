from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Response, status

from app import errors
from app.config import KUNMING_DISTRICTS
from app.contract import raises
from app.deps import OptionalUser, Principal, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit import csv
from app.kit.pagination import Page
from app.kit.postings import owned, path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, Limit
from app.schemas.openings import (
    CREATE_EXAMPLES,
    ApplicationProvider,
    ApplicationPublic,
    ApplicationStatus,
    ApplyIn,
    BulkRejectResult,
    InterviewIn,
    OfferIn,
    OpeningCreate,
    OpeningKind,
    OpeningProvider,
    OpeningPublic,
    OpeningSummary,
    OpeningUpdate,
    RejectIn,
    ResponseTime,
    ResumeIn,
    ResumePublic,
    WithdrawIn,
)
from app.schemas.profile import Education
from app.services import openings
from app.services.openings import errors as oerr
from models.openings import Opening

router = APIRouter(tags=["openings"])

Provider = Annotated[Principal, Depends(provider_of("employer", "incubator"))]
OwnOpening = Annotated[Opening, owned(openings.KIND, "opening_id")]
OwnOpeningLocked = Annotated[Opening, owned(openings.KIND, "opening_id", for_update=True)]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
OpeningId = path_id("岗位编号")
ApplicationId = path_id("申请编号")
Text = Annotated[str | None, Query(min_length=1, max_length=50, description="专业（与岗位要求的专业相符的）")]
StatusFilter = Annotated[ApplicationStatus | None, Query(description="只看这一状态的申请；不填为全部")]
EducationFilter = Annotated[Education | None, Query(description="只看这一学历的申请人")]
_OWN_APP = (errors.NotFound, oerr.TransitionNotAllowed)


# --- young people ---------------------------------------------------------------------------------


@router.get("/api/v1/openings", response_model=Page[OpeningSummary],
            summary="浏览见习岗位或孵化名额",
            description="无需登录。某一类（`internship` 就业见习、`incubator` 创业孵化）已发布且仍在接受报名的岗位，"
                        "可按区县、学历、专业、补贴、关键词和位置筛选；排序为最新（默认）、截止时间、补贴或距离"
                        "（按距离需同时给出 `lat` 和 `lng`，只看 `radius_km` 公里以内的）。")
@raises()
async def list_openings(
    session: SessionDep,
    kind: Annotated[OpeningKind, Query(description="`internship` 就业见习或 `incubator` 创业孵化")] = "internship",
    district: Annotated[District | None, Query(description="昆明市的区县")] = None,
    education: Annotated[Education | None, Query(description="申请人的学历：只看它满足要求的岗位")] = None,
    major: Text = None,
    stipend_min: Annotated[int | None, Query(ge=0, le=10_000_000, description="最低每月补贴，单位：分")] = None,
    stipend_max: Annotated[int | None, Query(ge=0, le=10_000_000, description="最高每月补贴，单位：分")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=50, description="标题或介绍中的关键词")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="所在位置的纬度（GCJ-02），与 `lng` 一起给出")] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180, description="所在位置的经度（GCJ-02），与 `lat` 一起给出")] = None,
    radius_km: Annotated[float, Query(gt=0, le=100, description="给出位置时，只看这么多公里以内的")] = 10.0,
    sort: Annotated[Literal["newest", "deadline", "stipend", "distance"] | None, Query(
        description="排序：`newest` 最新（默认）、`deadline` 截止早的在前、`stipend` 补贴高的在前、`distance` 近的在前")] = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[OpeningSummary]:
    if (lat is None) != (lng is None):
        raise errors.ValidationFailed(fields={"lat": "纬度和经度需要同时提供"})
    near = (lat, lng) if lat is not None and lng is not None else None
    return await openings.browse(session, kind=kind, district=district, education=education, major=major,
                                 stipend_min=stipend_min, stipend_max=stipend_max, q=q, near=near, radius_km=radius_km,
                                 sort=sort, cursor=cursor, limit=limit)


@router.get("/api/v1/openings/{opening_id}", response_model=OpeningPublic,
            summary="岗位详情",
            description="无需登录。一个已公开的岗位；登录的青年还能看到自己对它的申请（`my_application`）。"
                        "联系电话只对被邀请面试的申请人显示。")
@raises(errors.NotFound)
async def get_opening(opening_id: OpeningId, user: OptionalUser, session: SessionDep) -> OpeningPublic:
    return await openings.detail(session, actor=user, opening_id=opening_id)


@router.post("/api/v1/openings/{opening_id}/applications", response_model=ApplicationPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[limit("opening_apply")],
             summary="申请岗位",
             description="青年用户。用个人资料中的简历申请（`resume` 可只为这次申请修改几项）；孵化名额还需填写创业项目"
                         "（`venture`）。需已填写身份证号（核验年龄），并满足岗位的学历、专业、年龄等要求；同一岗位只能"
                         "申请一次（撤回后可再申请），同时进行中的申请最多 `YOUTH_OPENINGS_MAX_OPEN_APPLICATIONS` 份"
                         "（默认 10）。每人每分钟 10 次（`opening_apply`）。带 `Idempotency-Key` 重试会得到同一回答。")
@raises(errors.NotFound, oerr.DeadlinePassed, oerr.NotOpen, oerr.AlreadyApplied, oerr.PlacesFilled,
        oerr.ProfileRequired, oerr.ResumeIncomplete, oerr.NotEligible, errors.Conflict)
async def apply(opening_id: OpeningId, user: YouthUser, session: SessionDep, idem: IdempotencyDep,
                body: ApplyIn | None = None) -> ApplicationPublic:
    return await idem.run(session, user, lambda: openings.apply(session, actor=user, opening_id=opening_id, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/me/opening-resume", response_model=ResumePublic, summary="我的求职简历",
            description="青年用户。个人资料中保存的简历（申请岗位时使用）；电话和邮箱打码显示。还没有填写时各项为空。")
@raises()
async def get_resume(user: YouthUser, session: SessionDep) -> ResumePublic:
    return await openings.get_resume(session, actor=user)


@router.put("/api/v1/me/opening-resume", response_model=ResumePublic, summary="保存求职简历",
            description="青年用户。整份替换个人资料中的简历（未给出的项目被清空）；已提交的申请不受影响。")
@raises()
async def put_resume(body: ResumeIn, user: YouthUser, session: SessionDep) -> ResumePublic:
    return await openings.put_resume(session, actor=user, data=body)


@router.get("/api/v1/me/opening-applications", response_model=Page[ApplicationPublic],
            summary="我的岗位申请",
            description="青年用户。自己的申请，最新的在前，各带当前状态和完整的进度记录；已过答复期限但尚未处理的录用"
                        "显示为已失效（`lapsed`）。")
@raises()
async def my_applications(user: YouthUser, session: SessionDep, status: StatusFilter = None,
                          cursor: Cursor = None, limit: Limit = 20) -> Page[ApplicationPublic]:
    return await openings.mine(session, actor=user, status=status, cursor=cursor, limit=limit)


@router.get("/api/v1/me/opening-applications/{application_id}", response_model=ApplicationPublic,
            summary="我的一份申请", description="青年用户。自己的一份申请及其完整进度记录；别人的申请回答 404。")
@raises(errors.NotFound)
async def my_application(application_id: ApplicationId, user: YouthUser, session: SessionDep) -> ApplicationPublic:
    return await openings.my_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/me/opening-applications/{application_id}/withdraw", response_model=ApplicationPublic,
             summary="撤回申请",
             description="青年用户。在收到录用之前撤回自己的申请（理由可不填），机构会收到通知；撤回后可以重新申请。"
                         "已收到录用的请选择婉拒。")
@raises(*_OWN_APP)
async def withdraw(application_id: ApplicationId, user: YouthUser, session: SessionDep,
                   body: WithdrawIn | None = None) -> ApplicationPublic:
    app = await openings.withdraw(session, actor=user, application_id=application_id,
                                  reason=body.reason if body else None)
    return await openings.view_of(session, app)


@router.post("/api/v1/me/opening-applications/{application_id}/accept", response_model=ApplicationPublic,
             summary="接受录用",
             description="青年用户。在答复期限（`answer_by`）之前接受录用，占用一个名额；名额已被先接受的人占满时回答"
                         "`OPENING_PLACES_FILLED`，过了期限回答 `OPENING_OFFER_LAPSED`。机构会收到通知。")
@raises(*_OWN_APP, oerr.OfferLapsed, oerr.PlacesFilled)
async def accept(application_id: ApplicationId, user: YouthUser, session: SessionDep) -> ApplicationPublic:
    app = await openings.accept(session, actor=user, application_id=application_id)
    return await openings.view_of(session, app)


@router.post("/api/v1/me/opening-applications/{application_id}/decline", response_model=ApplicationPublic,
             summary="婉拒录用",
             description="青年用户。在答复期限之前婉拒收到的录用（理由可不填），机构会收到通知。")
@raises(*_OWN_APP, oerr.OfferLapsed)
async def decline(application_id: ApplicationId, user: YouthUser, session: SessionDep,
                  body: WithdrawIn | None = None) -> ApplicationPublic:
    app = await openings.decline(session, actor=user, application_id=application_id,
                                 reason=body.reason if body else None)
    return await openings.view_of(session, app)


# --- providers ------------------------------------------------------------------------------------


@router.post("/api/v1/provider/openings", response_model=OpeningProvider, status_code=status.HTTP_201_CREATED,
             summary="发布岗位（草稿）",
             description="见习基地（用人单位）发布就业见习岗位，孵化基地发布创业孵化名额，机构需未被驳回或暂停。"
                         "创建的是草稿，经 `/api/v1/provider/postings/opening/{id}/submit` 提交审核、通过后公开。"
                         "截止时间应在现在之后、一年之内。带 `Idempotency-Key` 重试会得到同一回答。")
@raises(oerr.WrongOrgKind)
async def create_opening(body: Annotated[OpeningCreate, Body(openapi_examples=CREATE_EXAMPLES)], user: Provider,
                         session: SessionDep, idem: IdempotencyDep
                         ) -> OpeningProvider:
    return await idem.run(session, user, lambda: openings.create(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/provider/openings/{opening_id}", response_model=OpeningProvider, summary="本机构的岗位",
            description="机构成员。本机构的一个岗位的全部字段、审核状态和各状态的申请数；别的机构的回答 404。")
@raises()
async def get_own_opening(opening: OwnOpening, session: SessionDep) -> OpeningProvider:
    return await openings.opening_view(session, opening)


@router.patch("/api/v1/provider/openings/{opening_id}", response_model=OpeningProvider,
              summary="修改岗位",
              description="机构成员。只改给出的字段（类型不能改）；已发布的岗位改了公开内容会重新进入审核。名额不能少于已"
                          "接受录用的人数，截止时间应在现在之后、一年之内。")
@raises(errors.NotFound, errors.PostingStateInvalid, oerr.PlacesBelowTaken)
async def update_opening(opening_id: OpeningId, body: OpeningUpdate, user: Provider, session: SessionDep
                         ) -> OpeningProvider:
    return await openings.update_opening(session, actor=user, opening_id=opening_id, data=body)


@router.get("/api/v1/provider/openings/{opening_id}/applications", response_model=Page[ApplicationProvider],
            summary="岗位的申请列表",
            description="机构成员。本机构岗位收到的申请，按投递先后；可按状态、学历、专业筛选。看列表不会把申请标为已查看，"
                        "联系方式在邀请面试之后才显示。")
@raises()
async def applications(opening: OwnOpening, session: SessionDep, status: StatusFilter = None,
                       education: EducationFilter = None, major: Text = None, cursor: Cursor = None,
                       limit: Limit = 50) -> Page[ApplicationProvider]:
    return await openings.applications(session, opening=opening, status=status, education=education, major=major,
                                       cursor=cursor, limit=limit)


@router.get("/api/v1/provider/openings/{opening_id}/applications.csv", response_class=Response,
            summary="导出申请列表（CSV）", responses={200: {"content": {"text/csv": {}}}},
            description="机构成员。与申请列表相同的筛选，导出为 CSV（UTF-8 带 BOM，可直接用 Excel 打开）；每次导出记入审计日志。")
@raises()
async def applications_csv(opening: OwnOpening, user: Provider, session: SessionDep,
                           status: StatusFilter = None, education: EducationFilter = None,
                           major: Text = None) -> Response:
    return csv.response(await openings.applications_csv(session, actor=user, opening=opening, status=status,
                                                        education=education, major=major))


@router.post("/api/v1/provider/openings/{opening_id}/reject-rest", response_model=BulkRejectResult,
             summary="一次婉拒其余申请",
             description="机构成员。用同一个理由婉拒该岗位所有仍在进行中的申请（例如名额已满），每位申请人都会收到通知；"
                         "回答婉拒了多少份。理由选“其他”（`other`）时需填写说明。")
@raises(oerr.ReasonTextRequired)
async def reject_rest(opening: OwnOpeningLocked, body: RejectIn, user: Provider, session: SessionDep
                      ) -> BulkRejectResult:
    return BulkRejectResult(rejected=await openings.reject_rest(session, actor=user, opening=opening,
                                                                reason_code=body.reason_code, reason=body.reason))


@router.get("/api/v1/provider/opening-applications/{application_id}", response_model=ApplicationProvider,
            summary="一份申请",
            description="机构成员。本机构岗位的一份申请及其进度记录；读取不改变它的状态（标为已查看请用 `open`）。"
                        "邀请面试之后可看到完整的电话和邮箱。")
@raises(errors.NotFound)
async def get_application(application_id: ApplicationId, user: Provider, session: SessionDep) -> ApplicationProvider:
    return await openings.get_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/provider/opening-applications/{application_id}/open", response_model=ApplicationProvider,
             summary="查看申请（标为已查看）",
             description="机构成员。打开一份申请：刚投递的变为已查看（`viewed`），申请人会收到通知；再次打开不再改变。")
@raises(errors.NotFound)
async def open_application(application_id: ApplicationId, user: Provider, session: SessionDep) -> ApplicationProvider:
    return await openings.open_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/provider/opening-applications/{application_id}/interview", response_model=ApplicationProvider,
             summary="邀请面试",
             description="机构成员。安排（或改期）面试：时间应晚于现在，地点或线上会议链接（https）至少一项；申请人会收到"
                         "通知，此后机构可看到申请人的联系方式。")
@raises(*_OWN_APP)
async def interview(application_id: ApplicationId, body: InterviewIn, user: Provider, session: SessionDep
                    ) -> ApplicationProvider:
    app = await openings.interview(session, actor=user, application_id=application_id, data=body)
    return await openings.provider_view(session, app)


@router.post("/api/v1/provider/opening-applications/{application_id}/offer", response_model=ApplicationProvider,
             summary="发出录用",
             description="机构成员。发出录用并给出答复期限 `answer_by`：至少在 `YOUTH_OPENINGS_OFFER_MIN_HOURS`（默认 24）"
                         "小时之后，最多在 `YOUTH_OPENINGS_OFFER_MAX_DAYS`（默认 30）天之内，不填为 "
                         "`YOUTH_OPENINGS_OFFER_DEFAULT_DAYS`（默认 7）天后；过期未答复的录用自动失效。名额已满时不能再发出。")
@raises(*_OWN_APP, oerr.PlacesFilled)
async def offer(application_id: ApplicationId, body: OfferIn, user: Provider, session: SessionDep
                ) -> ApplicationProvider:
    app = await openings.offer(session, actor=user, application_id=application_id, data=body)
    return await openings.provider_view(session, app)


@router.post("/api/v1/provider/opening-applications/{application_id}/reject", response_model=ApplicationProvider,
             summary="婉拒申请",
             description="机构成员。在任何进行中的状态婉拒一份申请，需选择理由（`reason_code`），选“其他”时需填写说明；"
                         "申请人会看到理由。")
@raises(*_OWN_APP, oerr.ReasonTextRequired)
async def reject(application_id: ApplicationId, body: RejectIn, user: Provider, session: SessionDep
                 ) -> ApplicationProvider:
    app = await openings.reject(session, actor=user, application_id=application_id, reason_code=body.reason_code,
                                reason=body.reason)
    return await openings.provider_view(session, app)


# --- staff ----------------------------------------------------------------------------------------


@router.get("/api/v1/staff/openings/response-times", response_model=Page[ResponseTime],
            summary="各机构处理申请的速度",
            description="仅团委工作人员。每个发布岗位的机构：收到多少申请、处理了多少、还有多少在等，以及首次处理的平均和"
                        "最长用时（小时）。")
@raises()
async def response_times(user: StaffUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                         ) -> Page[ResponseTime]:
    return await openings.response_times(session, cursor=cursor, limit=limit)
