from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, OrgMemberUser, ProviderUser, SessionDep, StaffUser
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
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
from models.moderation import PostingStatus, ReportStatus

router = APIRouter(tags=["moderation"])

Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
PostingId = path_id("内容编号")


@router.get("/api/v1/staff/reviews", response_model=Page[ReviewItem],
            summary="Review queue across every kind of posting (urgent first, then oldest first)")
async def review_queue(
    user: StaffUser, session: SessionDep, kind: Annotated[str | None, Query(max_length=40)] = None,
    status: QueueStatus = QueueStatus.needs_review, flagged: bool | None = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[ReviewItem]:
    return await moderation.review_queue(session, kind=kind, status=status, flagged=flagged, org_id=org_id,
                                         cursor=cursor, limit=limit)


@router.get("/api/v1/staff/reviews/{kind}/{posting_id}", response_model=ReviewDetail,
            summary="A posting as stored and, where its kind has one, as young people will see it")
async def review_detail(kind: str, posting_id: PostingId, user: StaffUser, session: SessionDep) -> ReviewDetail:
    return await moderation.review_detail(session, kind=kind, posting_id=posting_id)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/approve", response_model=ReviewItem)
async def approve(kind: str, posting_id: PostingId, user: StaffUser, session: SessionDep,
                  body: ReviewDecisionIn | None = None) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id,
                                   decision=ReviewDecision.approve, reason=body.reason if body else None)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/reject", response_model=ReviewItem)
async def reject(kind: str, posting_id: PostingId, body: ReasonRequiredIn, user: StaffUser, session: SessionDep
                 ) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id,
                                   decision=ReviewDecision.reject, reason=body.reason)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/take-down", response_model=ReviewItem,
             summary="Take a posting down (its open reports are settled with it)")
async def take_down(kind: str, posting_id: PostingId, body: ReasonRequiredIn, user: StaffUser, session: SessionDep
                    ) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id,
                                   decision=ReviewDecision.take_down, reason=body.reason)


@router.post("/api/v1/reports", response_model=ReportPublic, status_code=status.HTTP_201_CREATED,
             summary="Report a posting or a person (one report per person and target)",
             dependencies=[limit("report")])
async def create_report(body: ReportIn, user: CurrentUser, session: SessionDep) -> ReportPublic:
    return await moderation.report(session, actor=user, data=body)


@router.get("/api/v1/staff/reports", response_model=Page[StaffReport])
async def list_reports(
    user: StaffUser, session: SessionDep, status: ReportStatus | None = ReportStatus.open,
    target_kind: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[StaffReport]:
    return await moderation.list_reports(session, status=status, target_kind=target_kind, target_id=target_id,
                                         cursor=cursor, limit=limit)


@router.post("/api/v1/staff/reports/{report_id}/resolve", response_model=ReportDecisionPublic,
             summary="Decide a report: the decision answers every open report on the same target")
async def resolve_report(report_id: path_id("举报编号"), body: ReportResolveIn, user: StaffUser,
                         session: SessionDep) -> ReportDecisionPublic:
    return await moderation.resolve_report(session, actor=user, report_id=report_id, action=body.action,
                                           reason=body.reason)


@router.get("/api/v1/provider/postings", response_model=Page[ReviewItem],
            summary="The organisation's postings of every kind, with their review state")
async def provider_postings(
    user: OrgMemberUser, session: SessionDep, kind: Annotated[str | None, Query(max_length=40)] = None,
    status: PostingStatus | None = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[ReviewItem]:
    return await moderation.provider_postings(session, actor=user, kind=kind, status=status, cursor=cursor,
                                              limit=limit)


@router.post("/api/v1/provider/postings/{kind}/{posting_id}/submit", response_model=ReviewItem,
             summary="Submit a draft (or a rejected or closed posting) for review")
async def provider_submit(kind: str, posting_id: PostingId, user: ProviderUser, session: SessionDep
                          ) -> ReviewItem:
    return await moderation.provider_submit(session, actor=user, kind=kind, posting_id=posting_id)


@router.post("/api/v1/provider/postings/{kind}/{posting_id}/close", response_model=ReviewItem,
             summary="Close a published posting")
async def provider_close(kind: str, posting_id: PostingId, user: ProviderUser, session: SessionDep
                         ) -> ReviewItem:
    return await moderation.provider_close(session, actor=user, kind=kind, posting_id=posting_id)
