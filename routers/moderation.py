from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, ProviderUser, SessionDep, StaffUser
from app.pagination import MAX_LIMIT, Page
from app.schemas.moderation import (
    ReasonRequiredIn,
    ReportIn,
    ReportPublic,
    ReportResolveIn,
    ReviewDecisionIn,
    ReviewDetail,
    ReviewItem,
)
from app.services import moderation

router = APIRouter(tags=["moderation"])

Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
ReviewStatus = Literal["draft", "pending_review", "published", "rejected", "closed", "taken_down", "hidden"]


@router.get("/api/v1/staff/reviews", response_model=Page[ReviewItem],
            summary="Review queue across every kind of posting (oldest first)")
async def review_queue(
    user: StaffUser, session: SessionDep, kind: Annotated[str | None, Query(max_length=40)] = None,
    status: ReviewStatus | None = "pending_review", flagged: bool | None = None, cursor: Cursor = None,
    limit: Limit = 20,
) -> Page[ReviewItem]:
    return await moderation.review_queue(session, kind=kind, status=status, flagged=flagged, cursor=cursor,
                                         limit=limit)


@router.get("/api/v1/staff/reviews/{kind}/{posting_id}", response_model=ReviewDetail)
async def review_detail(kind: str, posting_id: int, user: StaffUser, session: SessionDep) -> ReviewDetail:
    return await moderation.review_detail(session, kind=kind, posting_id=posting_id)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/approve", response_model=ReviewItem)
async def approve(kind: str, posting_id: int, user: StaffUser, session: SessionDep,
                  body: ReviewDecisionIn | None = None) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id, decision="approve",
                                   reason=body.reason if body else None)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/reject", response_model=ReviewItem)
async def reject(kind: str, posting_id: int, body: ReasonRequiredIn, user: StaffUser, session: SessionDep
                 ) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id, decision="reject",
                                   reason=body.reason)


@router.post("/api/v1/staff/reviews/{kind}/{posting_id}/take-down", response_model=ReviewItem)
async def take_down(kind: str, posting_id: int, body: ReasonRequiredIn, user: StaffUser, session: SessionDep
                    ) -> ReviewItem:
    return await moderation.decide(session, actor=user, kind=kind, posting_id=posting_id, decision="take-down",
                                   reason=body.reason)


@router.post("/api/v1/reports", response_model=ReportPublic, status_code=status.HTTP_201_CREATED,
             summary="Report a posting or a person (one report per person and target)")
async def create_report(body: ReportIn, user: CurrentUser, session: SessionDep) -> ReportPublic:
    return await moderation.report(session, actor=user, data=body)


@router.get("/api/v1/staff/reports", response_model=Page[ReportPublic])
async def list_reports(
    user: StaffUser, session: SessionDep, status: Literal["open", "dismissed", "actioned"] | None = "open",
    target_kind: Annotated[str | None, Query(max_length=40)] = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[ReportPublic]:
    return await moderation.list_reports(session, status=status, target_kind=target_kind, cursor=cursor, limit=limit)


@router.post("/api/v1/staff/reports/{report_id}/resolve", response_model=ReportPublic)
async def resolve_report(report_id: int, body: ReportResolveIn, user: StaffUser, session: SessionDep
                         ) -> ReportPublic:
    return await moderation.resolve_report(session, actor=user, report_id=report_id, action=body.action,
                                           reason=body.reason)


@router.get("/api/v1/provider/postings", response_model=Page[ReviewItem],
            summary="The organisation's postings of every kind, with their review state")
async def provider_postings(
    user: ProviderUser, session: SessionDep, kind: Annotated[str | None, Query(max_length=40)] = None,
    status: ReviewStatus | None = None, cursor: Cursor = None, limit: Limit = 20,
) -> Page[ReviewItem]:
    return await moderation.provider_postings(session, actor=user, kind=kind, status=status, cursor=cursor,
                                              limit=limit)


@router.post("/api/v1/provider/postings/{kind}/{posting_id}/submit", response_model=ReviewItem,
             summary="Submit a draft (or a rejected or closed posting) for review")
async def provider_submit(kind: str, posting_id: int, user: ProviderUser, session: SessionDep) -> ReviewItem:
    return await moderation.provider_submit(session, actor=user, kind=kind, posting_id=posting_id)


@router.post("/api/v1/provider/postings/{kind}/{posting_id}/close", response_model=ReviewItem,
             summary="Close a published posting")
async def provider_close(kind: str, posting_id: int, user: ProviderUser, session: SessionDep) -> ReviewItem:
    return await moderation.provider_close(session, actor=user, kind=kind, posting_id=posting_id)
