from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from app.schemas.common import Reason, StrictModel
from models.moderation import PostingStatus, ReportAction, ReportReason, ReportResolution, ReportStatus

# The review queue's status filter: a posting status, or one of the queue's own views.
QueueStatus = StrEnum("QueueStatus", {
    **{s.name: s.value for s in PostingStatus},
    "hidden": "hidden",  # hidden by reports until staff decide
    "urgent": "urgent",  # put first by reports from people with standing
    "needs_review": "needs_review",  # what waits for staff: pending review or urgent (the default)
})


class ReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"
    take_down = "take_down"


class ReviewItem(BaseModel):
    kind: str
    id: int
    org_id: int
    org_name: str | None = None
    title: str
    status: PostingStatus
    review_flag: str | None = None
    review_reason: str | None = None
    hidden_by_reports: bool = False
    # Reports from people with standing made it urgent (staff see it first in the queue).
    urgent: bool = False
    standing_reports: int = 0
    submitted_at: datetime | None = None
    published_at: datetime | None = None


class ReviewDetail(ReviewItem):
    content: dict[str, Any]
    # The posting as a young person will see it, where its kind has a public view.
    public_view: dict[str, Any] | None = None


class ReviewDecisionIn(StrictModel):
    reason: Reason | None = None


class ReasonRequiredIn(StrictModel):
    reason: Reason


class ReportIn(StrictModel):
    # A registered posting kind, or "user".
    target_kind: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    target_id: int
    reason_code: ReportReason
    detail: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class ReportPublic(BaseModel):
    """A report as its reporter sees it."""

    id: int
    target_kind: str
    target_id: int
    reason_code: ReportReason
    detail: str | None = None
    status: ReportStatus
    resolution: ReportResolution | None = None
    created_at: datetime
    resolved_at: datetime | None = None


class StaffReport(ReportPublic):
    reporter_id: int
    # The reporter had standing: the report counts towards urgent review and hiding.
    counted: bool
    resolved_by: int | None = None


class ReportDecisionPublic(StaffReport):
    # The open reports on the same target this decision settled (empty when it had been settled so before).
    settled_report_ids: list[int]


class ReportResolveIn(StrictModel):
    action: ReportAction
    reason: Reason


class PostingState(BaseModel):
    """What a provider sees of a posting's moderation state; every service's provider view includes it."""

    status: PostingStatus
    review_flag: str | None = None
    review_reason: str | None = None
    submitted_at: datetime | None = None
    published_at: datetime | None = None
    hidden_by_reports: bool = False

    @classmethod
    def fields_of(cls, posting: Any) -> dict[str, Any]:
        return {name: getattr(posting, name) for name in PostingState.model_fields}
