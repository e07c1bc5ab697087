from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app import errors
from app.contract import raises
from app.deps import CurrentUser, OrgMemberUser, ProviderUser, SessionDep, StaffUser
from app.kit.pagination import Page
from app.kit.postings import kind_enum, path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, Limit
from app.schemas.moderation import (
    QueueStatus,
    ReasonRequiredIn,
    ReportDecisionPublic,
    ReportIn,
    ReportPublic,
    ReportResolveIn,
    ReviewDecision,
    ReviewDecisionIn,
    ReviewDetail,
    ReviewItem,
    StaffReport,
)
from app.services import moderation
from app.services.moderation.errors import ReportResolved, ReportTargetKindUnknown, ReportTargetNotFound
from models.moderation import REPORT_ON_USER, PostingStatus, ReportStatus

router = APIRouter(tags=["moderation"])

PostingId = path_id("内容编号")
Kind = Annotated[str, Path(max_length=40, description="内容类型", json_schema_extra=kind_enum())]
KindFilter = Annotated[str | None, Query(max_length=40, description="只看这类内容；不填为全部",
                                         json_schema_extra=kind_enum())]
_DECIDE = (errors.UnknownPostingKind, errors.NotFound, errors.PostingStateInvalid)


@router.get("/api/v1/staff/reviews", response_model=Page[ReviewItem], summary="审核队列",
            description="仅团委工作人员。所有类型的内容按审核状态排队：加急的在前，其余先提交的在前。默认显示待处理的"
                        "（待审核或因举报加急）；也可按状态、类型、机构、是否有安全提示筛选。")
@raises(errors.UnknownPostingKind)
async def review_queue(
    user: StaffUser, session: SessionDep, kind: KindFilter = None,
    status: Annotated[QueueStatus, Query(description="内容状态，或队列视图：`hidden` 因举报隐藏、`urgent` 加急、"
                                                     "`needs_review` 待处理（默认）")] = QueueStatus.needs_review,
    flagged: Annotated[bool | None, Query(description="只看有（`true`）或没有（`false`）安全提示的")] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="发布机构编号")] = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[ReviewItem]:
    return await moderation.review_queue(session, kind=kind, status=status, flagged=flagged, org_id=org_id,
                                         cursor=cursor, limit=limit)


@router.get("/api/v1/staff/reviews/{kind}/{posting_id}", response_model=ReviewDetail, summary="审核详情",
            description="仅团委工作人员。内容存储的全部字段，以及（该类型有公开页面时）青年将看到的样子。")
@raises(errors.UnknownPostingKind, errors.NotFound)
async def review_detail(kind: Kind, posting_id: PostingId, user: StaffUser, session: SessionDep) -> ReviewDetail:
    return await moderation.review_detail(session, kind=kind, posting_id=posting_id)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/approve", response_model=ReviewItem, summary="审核通过",
             description="仅团委工作人员。待审核的内容通过并发布；理由可不填，机构会收到通知。")
@raises(*_DECIDE)
async def approve(kind: Kind, posting_id: PostingId, user: StaffUser, session: SessionDep,
                  body: ReviewDecisionIn | None = None) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id,
                                   decision=ReviewDecision.approve, reason=body.reason if body else None)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/reject", response_model=ReviewItem, summary="审核驳回",
             description="仅团委工作人员。待审核的内容不予发布，必须给出理由（机构会收到，可修改后重新提交）。")
@raises(*_DECIDE)
async def reject(kind: Kind, posting_id: PostingId, body: ReasonRequiredIn, user: StaffUser, session: SessionDep
                 ) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id,
                                   decision=ReviewDecision.reject, reason=body.reason)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/take-down", response_model=ReviewItem, summary="下架内容",
             description="仅团委工作人员。下架已发布的内容，必须给出理由；针对它的未处理举报一并处理，机构会收到通知。")
@raises(*_DECIDE)
async def take_down(kind: Kind, posting_id: PostingId, body: ReasonRequiredIn, user: StaffUser, session: SessionDep
                    ) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id,
                                   decision=ReviewDecision.take_down, reason=body.reason)


@router.post("/api/v1/reports", response_model=ReportPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[limit("report")], summary="举报内容或用户",
             description="登录后可调用。举报一条已公开的内容（`target_kind` 为内容类型）或一个用户（`user`）；每人对同一"
                         "对象只记一次举报（重复提交回答原来那份）。每人每小时 10 次（`report`）。只有有资格的举报人"
                         "（实名且账号满 30 天，或与该机构有过报名、申请或预约）计数：2 人举报即加急审核，内容仍公开；"
                         "违法、色情或诈骗被 3 人举报则暂时隐藏，等待工作人员处理。")
@raises(ReportTargetKindUnknown, ReportTargetNotFound)
async def create_report(body: ReportIn, user: CurrentUser, session: SessionDep) -> ReportPublic:
    return await moderation.report(session, actor=user, data=body)


@router.get("/api/v1/staff/reports", response_model=Page[StaffReport], summary="举报列表",
            description="仅团委工作人员。按状态（默认待处理）、对象类型和对象筛选的举报。")
@raises()
async def list_reports(
    user: StaffUser, session: SessionDep,
    status: Annotated[ReportStatus | None, Query(description="举报状态；默认 `open` 待处理")] = ReportStatus.open,
    target_kind: Annotated[str | None, Query(max_length=40, description="举报对象的类型",
                                             json_schema_extra=kind_enum(REPORT_ON_USER))] = None,
    target_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="举报对象的编号")] = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[StaffReport]:
    return await moderation.list_reports(session, status=status, target_kind=target_kind, target_id=target_id,
                                         cursor=cursor, limit=limit)


@router.post("/api/v1/staff/reports/{report_id}/resolve", response_model=ReportDecisionPublic, summary="处理举报",
             description="仅团委工作人员。不予处理、下架内容或停用被举报的用户（工作人员账号不能停用），必须给出理由；"
                         "这一决定同时处理同一对象的所有未处理举报。已被作出不同处理的举报回答 409。")
@raises(errors.NotFound, errors.Forbidden, ReportResolved, errors.PostingStateInvalid)
async def resolve_report(report_id: path_id("举报编号"), body: ReportResolveIn, user: StaffUser,
                         session: SessionDep) -> ReportDecisionPublic:
    return await moderation.resolve_report(session, actor=user, report_id=report_id, action=body.action,
                                           reason=body.reason)


@router.get("/api/v1/provider/postings", response_model=Page[ReviewItem], summary="本机构的全部内容",
            description="机构成员（被驳回或暂停的机构也可以）查看本机构所有类型的内容及其审核状态和理由。")
@raises(errors.UnknownPostingKind)
async def provider_postings(
    user: OrgMemberUser, session: SessionDep, kind: KindFilter = None,
    status: Annotated[PostingStatus | None, Query(description="审核状态；不填为全部")] = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[ReviewItem]:
    return await moderation.provider_postings(session, actor=user, kind=kind, status=status, cursor=cursor,
                                              limit=limit)


@router.post("/api/v1/provider/postings/{kind}/{posting_id}/submit", response_model=ReviewItem, summary="提交审核",
             description="机构成员（机构已认证）把草稿，或未通过、已关闭的内容提交审核；提交前做内容安全检查。")
@raises(errors.UnknownPostingKind, errors.NotFound, errors.OrgNotVerified, errors.PostingStateInvalid,
        errors.ContentRejected)
async def provider_submit(kind: Kind, posting_id: PostingId, user: ProviderUser, session: SessionDep
                          ) -> ReviewItem:
    return await moderation.provider_submit(session, actor=user, kind=kind, posting_id=posting_id)


@router.post("/api/v1/provider/postings/{kind}/{posting_id}/close", response_model=ReviewItem, summary="关闭内容",
             description="机构成员关闭本机构已发布的内容：不再公开，可修改后重新提交审核。")
@raises(errors.UnknownPostingKind, errors.NotFound, errors.PostingStateInvalid)
async def provider_close(kind: Kind, posting_id: PostingId, user: ProviderUser, session: SessionDep
                         ) -> ReviewItem:
    return await moderation.provider_close(session, actor=user, kind=kind, posting_id=posting_id)
