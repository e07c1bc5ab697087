"""春城青居: public search, applications, the provider back office and the staff lottery steps."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import Response, StreamingResponse

from app import errors
from app.config import KUNMING_DISTRICTS
from app.contract import raises
from app.deps import OptionalUser, Principal, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit import csv
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.ratelimit import limit
from app.schemas.housing import (
    ApplyIn,
    CorrectionIn,
    DecisionIn,
    EligibilityCheck,
    FavouriteState,
    Layout,
    LotteryPublic,
    MyApplication,
    ProjectCard,
    ProjectDetail,
    ProjectIn,
    ProjectUpdate,
    ProviderApplication,
    ProviderProject,
    RedrawIn,
    SeedIn,
    UnitTypeIn,
    UnitTypeUpdate,
    WithdrawIn,
    WithdrawOfferIn,
)
from app.services import housing
from app.services.housing import errors as herr
from models.housing import ApplicationStatus
from models.moderation import PostingStatus

router = APIRouter(tags=["housing"])

HousingProvider = Annotated[Principal, Depends(provider_of("housing_operator"))]
Cursor = Annotated[str | None, Query(max_length=300, description="上一页回答的 `next_cursor`；第一页不填")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")]
ProjectId = Annotated[int, Path(description="项目编号")]
ApplicationId = Annotated[int, Path(description="申请编号")]
UnitTypeId = Annotated[int, Path(description="户型编号")]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
Fen = Annotated[int | None, Query(ge=0, le=10_000_000, description="月租金（分，1/100 元）")]


# --- young people -----------------------------------------------------------------------------------


@router.get("/api/v1/housing/projects", response_model=Page[ProjectCard],
    summary="搜索人才公寓",
    description="不需要登录；登录时回答我是否已收藏。已发布的项目，可按区县、租金、户型、关键词和距离筛选并排序。只读。")
@raises(errors.ValidationFailed)
async def search(
    session: SessionDep,
    viewer: OptionalUser,
    district: Annotated[list[District] | None, Query(max_length=len(KUNMING_DISTRICTS), description="区县，可多选；不填为全部")] = None,
    rent_min: Fen = None,
    rent_max: Fen = None,
    layout: Annotated[list[Layout] | None, Query(max_length=4, description="户型，可多选；不填为全部")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=50, description="关键词（项目名称、地址、地铁站）")] = None,
    near: Annotated[str | None, Query(max_length=40, description="中心点“纬度,经度”，如 25.04,102.71；给出时按距离筛选")] = None,
    radius_km: Annotated[float, Query(gt=0, le=50, description="距 `near` 的半径（公里，最大 50）")] = 5.0,
    available_only: Annotated[bool, Query(description="只看还有剩余房源的项目")] = False,
    sort: Literal["newest", "rent", "rent_desc", "distance"] | None = Query(
        None, description="排序：`newest` 最新、`rent` 租金从低到高、`rent_desc` 租金从高到低、`distance` 距离；默认给出 `near` 时按距离，否则最新"),
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Response:
    # Already the Page[ProjectCard] JSON (validated in the service): no second validation here.
    return Response(await housing.search(session, viewer=viewer, districts=district or (), rent_min=rent_min,
                                         rent_max=rent_max, layouts=layout or (), q=q, near=near,
                                         radius_km=radius_km, available_only=available_only, sort=sort,
                                         cursor=cursor, limit=limit), media_type="application/json")


@router.get("/api/v1/housing/projects/{project_id}", response_model=ProjectDetail,
    summary="项目详情",
    description="不需要登录；登录的青年用户还能看到自己的申请。项目介绍、户型与剩余房源、申请条件、申请截止时间和摇号阶段。")
@raises(errors.NotFound)
async def project_detail(project_id: ProjectId, session: SessionDep, viewer: OptionalUser) -> ProjectDetail:
    return await housing.project_detail(session, viewer=viewer, project_id=project_id)


@router.get("/api/v1/housing/projects/{project_id}/eligibility", response_model=EligibilityCheck,
    summary="核对申请条件",
    description="青年用户。按自己现在的个人资料核对项目的申请条件，回答是否符合、是否已实名认证以及不符合的条目。只读。")
@raises(errors.NotFound)
async def check_eligibility(project_id: ProjectId, user: YouthUser, session: SessionDep) -> EligibilityCheck:
    return await housing.check_eligibility(session, actor=user, project_id=project_id)


@router.get("/api/v1/housing/projects/{project_id}/lottery", response_model=LotteryPublic,
    summary="摇号公示",
    description="不需要登录。摇号项目的公示：封存的名单及其 SHA-256、公开随机数及来源、算法、抽签顺序和结果，任何人可以复算。")
@raises(errors.NotFound)
async def lottery(project_id: ProjectId, session: SessionDep) -> LotteryPublic:
    return await housing.lottery_view(session, project_id=project_id)


@router.post("/api/v1/housing/projects/{project_id}/applications", response_model=MyApplication,
             status_code=status.HTTP_201_CREATED,
             dependencies=[limit("housing_apply")],
    summary="申请户型",
    description="青年用户。须先完成实名认证并符合项目的申请条件；每个项目只能申请一次，同时进行中的申请最多 3 个（`housing_max_active_applications`）。可带 `Idempotency-Key`，重复请求回答同一份申请。每人每分钟 10 次（`housing_apply`）。")
@raises(errors.NotFound, errors.Conflict, errors.TokenInvalid, herr.HousingApplicationsClosed, herr.HousingRealNameRequired, herr.HousingNotEligible, herr.HousingDuplicateApplication, herr.HousingApplicationLimit)
async def apply(project_id: ProjectId, body: ApplyIn, user: YouthUser, session: SessionDep, idem: IdempotencyDep
                ) -> MyApplication:
    return await idem.run(session, user, lambda: housing.apply(session, actor=user, project_id=project_id,
                                                                unit_type_id=body.unit_type_id), status_code=201)


@router.put("/api/v1/housing/projects/{project_id}/favourite", response_model=FavouriteState,
    summary="收藏项目",
    description="青年用户。收藏一个项目；已收藏时不变（幂等）。")
@raises(errors.NotFound)
async def add_favourite(project_id: ProjectId, user: YouthUser, session: SessionDep) -> FavouriteState:
    return await housing.set_favourite(session, actor=user, project_id=project_id, on=True)


@router.delete("/api/v1/housing/projects/{project_id}/favourite", response_model=FavouriteState,
    summary="取消收藏",
    description="青年用户。取消收藏；未收藏时不变（幂等）。")
@raises(errors.NotFound)
async def remove_favourite(project_id: ProjectId, user: YouthUser, session: SessionDep) -> FavouriteState:
    return await housing.set_favourite(session, actor=user, project_id=project_id, on=False)


@router.get("/api/v1/me/housing-favourites", response_model=Page[ProjectCard],
    summary="我的收藏",
    description="青年用户。我收藏的项目。只读。")
@raises()
async def my_favourites(user: YouthUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                        ) -> Page[ProjectCard]:
    return await housing.my_favourites(session, actor=user, cursor=cursor, limit=limit)


@router.get("/api/v1/me/housing-applications", response_model=Page[MyApplication],
    summary="我的住房申请",
    description="青年用户。我的所有住房申请，可只看进行中的。只读。")
@raises()
async def my_applications(user: YouthUser, session: SessionDep, active_only: Annotated[bool, Query(description="只看进行中的申请")] = False, cursor: Cursor = None,
                          limit: Limit = 20) -> Page[MyApplication]:
    return await housing.my_applications(session, actor=user, active_only=active_only, cursor=cursor, limit=limit)


@router.get("/api/v1/me/housing-applications/{application_id}", response_model=MyApplication,
    summary="住房申请详情",
    description="青年用户。我的一份申请，带状态经过、等候名次和确认截止时间。只读。")
@raises(errors.NotFound)
async def my_application(application_id: ApplicationId, user: YouthUser, session: SessionDep) -> MyApplication:
    return await housing.my_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/me/housing-applications/{application_id}/accept", response_model=MyApplication,
    summary="确认入住",
    description="青年用户。在确认截止时间前确认为我保留的房源；逾期房源顺延给下一位申请人（默认 72 小时，`housing_offer_expiry_hours`）。")
@raises(errors.NotFound, herr.HousingApplicationState, herr.HousingOfferExpired)
async def accept_offer(application_id: ApplicationId, user: YouthUser, session: SessionDep) -> MyApplication:
    return await housing.respond(session, actor=user, application_id=application_id, action="accept")


@router.post("/api/v1/me/housing-applications/{application_id}/decline", response_model=MyApplication,
    summary="放弃房源",
    description="青年用户。放弃为我保留的房源，房源顺延给下一位申请人；理由可不填。")
@raises(errors.NotFound, herr.HousingApplicationState, herr.HousingOfferExpired)
async def decline_offer(application_id: ApplicationId, user: YouthUser, session: SessionDep,
                        body: WithdrawIn | None = None) -> MyApplication:
    return await housing.respond(session, actor=user, application_id=application_id, action="decline",
                                 reason=body.reason if body else None)


@router.post("/api/v1/me/housing-applications/{application_id}/withdraw", response_model=MyApplication,
    summary="撤回申请",
    description="青年用户。确认入住之前随时可以撤回申请；理由可不填。")
@raises(errors.NotFound, herr.HousingApplicationState, herr.HousingOfferExpired)
async def withdraw(application_id: ApplicationId, user: YouthUser, session: SessionDep, body: WithdrawIn | None = None
                   ) -> MyApplication:
    return await housing.respond(session, actor=user, application_id=application_id, action="withdraw",
                                 reason=body.reason if body else None)


# --- housing operators ----------------------------------------------------------------------------------


@router.post("/api/v1/provider/housing/projects", response_model=ProviderProject,
             status_code=status.HTTP_201_CREATED,
    summary="创建项目",
    description="仅住房运营机构成员。创建项目及其户型，为草稿，提交审核通过后发布。")
@raises()
async def create_project(body: ProjectIn, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.create_project(session, actor=user, data=body)


@router.get("/api/v1/provider/housing/projects", response_model=Page[ProviderProject],
    summary="我的项目列表",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。本机构的项目，可按审核状态筛选。")
@raises()
async def provider_projects(user: HousingProvider, session: SessionDep, status: Annotated[PostingStatus | None, Query(description="审核状态；不填为全部")] = None,
                            cursor: Cursor = None, limit: Limit = 20) -> Page[ProviderProject]:
    return await housing.provider_projects(session, actor=user, status=status, cursor=cursor, limit=limit)


@router.get("/api/v1/provider/housing/projects/{project_id}", response_model=ProviderProject,
    summary="我的项目详情",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。项目的全部设置、户型、各状态的申请数和摇号阶段。")
@raises(errors.NotFound)
async def provider_project(project_id: ProjectId, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.provider_project(session, actor=user, project_id=project_id)


@router.patch("/api/v1/provider/housing/projects/{project_id}", response_model=ProviderProject,
    summary="修改项目",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。只改填写的字段；已发布的项目修改公开内容后重新进入审核。已有申请后不能更改分配方式；已下架的项目不能修改。")
@raises(errors.NotFound, errors.PostingStateInvalid, herr.HousingAllocationLocked)
async def update_project(project_id: ProjectId, body: ProjectUpdate, user: HousingProvider, session: SessionDep
                         ) -> ProviderProject:
    return await housing.update_project(session, actor=user, project_id=project_id, data=body)


@router.post("/api/v1/provider/housing/projects/{project_id}/unit-types", response_model=ProviderProject,
             status_code=status.HTTP_201_CREATED,
    summary="添加户型",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。为项目添加一个户型。")
@raises(errors.NotFound, errors.PostingStateInvalid)
async def add_unit_type(project_id: ProjectId, body: UnitTypeIn, user: HousingProvider, session: SessionDep
                        ) -> ProviderProject:
    return await housing.add_unit_type(session, actor=user, project_id=project_id, data=body)


@router.patch("/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}",
              response_model=ProviderProject,
    summary="修改户型",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。只改填写的字段；已有人申请的户型不能修改租金和押金，可分配套数不能少于已发出和已确认的房源数。")
@raises(errors.NotFound, errors.PostingStateInvalid, herr.HousingUnitTypeInUse, herr.HousingUnitsBelowTaken)
async def update_unit_type(project_id: ProjectId, unit_type_id: UnitTypeId, body: UnitTypeUpdate, user: HousingProvider,
                           session: SessionDep) -> ProviderProject:
    return await housing.update_unit_type(session, actor=user, project_id=project_id, unit_type_id=unit_type_id,
                                          data=body)


@router.delete("/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}",
               response_model=ProviderProject,
    summary="删除户型",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。删除一个户型；已有人申请的户型不能删除，项目至少保留一个户型。")
@raises(errors.NotFound, errors.PostingStateInvalid, herr.HousingUnitTypeInUse)
async def delete_unit_type(project_id: ProjectId, unit_type_id: UnitTypeId, user: HousingProvider, session: SessionDep
                           ) -> ProviderProject:
    return await housing.delete_unit_type(session, actor=user, project_id=project_id, unit_type_id=unit_type_id)


@router.post("/api/v1/provider/housing/projects/{project_id}/close-applications", response_model=ProviderProject,
    summary="截止申请",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。手动截止接受申请；已截止时不变。")
@raises(errors.NotFound, errors.PostingStateInvalid, herr.HousingListFrozen)
async def close_applications(project_id: ProjectId, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.set_intake(session, actor=user, project_id=project_id, open_=False)


@router.post("/api/v1/provider/housing/projects/{project_id}/reopen-applications", response_model=ProviderProject,
    summary="重新开放申请",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。重新接受申请；摇号名单封存后不能重新开放。")
@raises(errors.NotFound, errors.PostingStateInvalid, herr.HousingListFrozen)
async def reopen_applications(project_id: ProjectId, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.set_intake(session, actor=user, project_id=project_id, open_=True)


@router.get("/api/v1/provider/housing/projects/{project_id}/applications", response_model=Page[ProviderApplication],
    summary="申请名单",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。项目的申请及申请人资料（身份证号和手机号打码），每次查看记入审计日志；可按状态、户型、申请号筛选，按申请先后或抽签顺序排列。")
@raises(errors.NotFound)
async def provider_applications(
    project_id: ProjectId, user: HousingProvider, session: SessionDep, status: Annotated[ApplicationStatus | None, Query(description="申请状态；不填为全部")] = None,
    unit_type_id: Annotated[int | None, Query(ge=1, description="户型编号；不填为全部")] = None,
    number: Annotated[str | None, Query(max_length=32, description="申请号")] = None,
    order: Annotated[Literal["submitted", "draw"], Query(description="`submitted` 按申请先后，`draw` 按抽签顺序")] = "submitted", cursor: Cursor = None, limit: Limit = 50,
) -> Page[ProviderApplication]:
    return await housing.provider_applications(session, actor=user, project_id=project_id, status=status,
                                               unit_type_id=unit_type_id, number=number, order=order,
                                               cursor=cursor, limit=limit)


@router.get("/api/v1/provider/housing/projects/{project_id}/applications.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}},
    summary="导出申请名单（CSV）",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。导出项目的申请为 CSV（身份证号和手机号打码），记入审计日志；可按状态筛选。")
@raises(errors.NotFound)
async def export_applications(project_id: ProjectId, user: HousingProvider, session: SessionDep,
                              status: Annotated[ApplicationStatus | None, Query(description="申请状态；不填为全部")] = None) -> StreamingResponse:
    return csv.response(await housing.export_csv(session, actor=user, project_id=project_id, status=status))


@router.post("/api/v1/provider/housing/applications/{application_id}/decision", response_model=ProviderApplication,
    summary="审核申请",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。审核一份待审核的申请：符合或不符合条件，不符合时必须给出理由（申请人会收到）。摇号名单封存后不能再审核。")
@raises(errors.NotFound, herr.HousingApplicationState, herr.HousingListFrozen)
async def decide(application_id: ApplicationId, body: DecisionIn, user: HousingProvider, session: SessionDep
                 ) -> ProviderApplication:
    return await housing.decide(session, actor=user, application_id=application_id, decision=body.decision,
                                reason=body.reason)


@router.post("/api/v1/provider/housing/applications/{application_id}/correct-decision",
             response_model=ProviderApplication,
    summary="更正审核结果",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。更正之前的审核结果，必须给出理由（申请人会收到）；摇号名单封存后不能更正。")
@raises(errors.NotFound, herr.HousingApplicationState, herr.HousingListFrozen)
async def correct_decision(application_id: ApplicationId, body: CorrectionIn, user: HousingProvider, session: SessionDep
                           ) -> ProviderApplication:
    return await housing.correct_decision(session, actor=user, application_id=application_id,
                                          decision=body.decision, reason=body.reason)


@router.post("/api/v1/provider/housing/applications/{application_id}/withdraw-offer",
             response_model=ProviderApplication,
    summary="撤回房源",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。撤回尚未确认的房源，必须给出理由（申请人会收到）；房源顺延给下一位申请人。")
@raises(errors.NotFound, herr.HousingApplicationState, herr.HousingOfferExpired)
async def withdraw_offer(application_id: ApplicationId, body: WithdrawOfferIn, user: HousingProvider, session: SessionDep
                         ) -> ProviderApplication:
    return await housing.withdraw_offer(session, actor=user, application_id=application_id, reason=body.reason)


@router.post("/api/v1/provider/housing/projects/{project_id}/lottery/freeze", response_model=LotteryPublic,
    summary="封存摇号名单",
    description="仅住房运营机构成员，只能操作本机构的项目（其他机构的项目回答 404）。仅摇号项目：截止申请并封存审核通过的名单，公开其 SHA-256；须先审核完所有申请。只能封存一次。")
@raises(errors.NotFound, errors.PostingStateInvalid, herr.HousingNotLottery, herr.HousingLotteryState, herr.HousingUndecidedApplications, herr.HousingLotteryEmpty)
async def freeze_lottery(project_id: ProjectId, user: HousingProvider, session: SessionDep) -> LotteryPublic:
    return await housing.freeze(session, actor=user, project_id=project_id)


# --- league staff -----------------------------------------------------------------------------------------


@router.post("/api/v1/staff/housing/projects/{project_id}/lottery/seed", response_model=LotteryPublic,
    summary="登记公开随机数",
    description="仅团委工作人员。为已封存名单的摇号项目登记事先公布的公开随机数及其来源，只能登记一次。")
@raises(errors.NotFound, herr.HousingNotLottery, herr.HousingLotteryState)
async def lottery_seed(project_id: ProjectId, body: SeedIn, user: StaffUser, session: SessionDep) -> LotteryPublic:
    return await housing.set_seed(session, actor=user, project_id=project_id, seed=body.seed, source=body.source)


@router.post("/api/v1/staff/housing/projects/{project_id}/lottery/draw", response_model=LotteryPublic,
    summary="抽签",
    description="仅团委工作人员。登记随机数之后按公开算法抽签，结果公示，并按抽签顺序发出房源。只能抽一次，之后用重新抽签。")
@raises(errors.NotFound, herr.HousingNotLottery, herr.HousingLotteryState)
async def lottery_draw(project_id: ProjectId, user: StaffUser, session: SessionDep) -> LotteryPublic:
    return await housing.draw(session, actor=user, project_id=project_id)


@router.post("/api/v1/staff/housing/projects/{project_id}/lottery/redraw", response_model=LotteryPublic,
    summary="重新抽签",
    description="仅团委工作人员。用新的公开随机数和理由重新抽签（理由公开）；已有申请人确认入住后不能重新抽签，随机数不能与之前相同。")
@raises(errors.NotFound, herr.HousingNotLottery, herr.HousingLotteryState, herr.HousingRedrawAfterAccept, herr.HousingSeedReused)
async def lottery_redraw(project_id: ProjectId, body: RedrawIn, user: StaffUser, session: SessionDep) -> LotteryPublic:
    return await housing.redraw(session, actor=user, project_id=project_id, seed=body.seed, source=body.source,
                                reason=body.reason)
