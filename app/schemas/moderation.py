from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, StringConstraints

from app.schemas.common import Reason, StrictModel

ReasonCode = Literal["fraud", "false_info", "illegal", "porn", "abuse", "harassment", "discrimination", "spam", "other"]


class ReviewItem(BaseModel):
    kind: str
    id: int
    org_id: int
    org_name: str | None = None
    title: str
    status: str
    review_flag: str | None = None
    review_reason: str | None = None
    hidden_by_reports: bool = False
    submitted_at: datetime | None = None
    published_at: datetime | None = None


class ReviewDetail(ReviewItem):
    content: dict[str, Any]


class ReviewDecisionIn(StrictModel):
    reason: Reason | None = None


class ReasonRequiredIn(StrictModel):
    reason: Reason


class ReportIn(StrictModel):
    target_kind: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    target_id: int
    reason_code: ReasonCode
    detail: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class ReportPublic(BaseModel):
    id: int
    target_kind: str
    target_id: int
    reason_code: str
    detail: str | None = None
    status: str
    resolution: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None


class ReportResolveIn(StrictModel):
    action: Literal["dismiss", "take_down", "suspend_user"]
    reason: Reason


class PostingState(BaseModel):
    """What a provider sees of a posting's moderation state; every service's provider view includes it."""

    status: str
    review_flag: str | None = None
    review_reason: str | None = None
    submitted_at: datetime | None = None
    published_at: datetime | None = None
    hidden_by_reports: bool = False

    @classmethod
    def fields_of(cls, posting: Any) -> dict[str, Any]:
        return {name: getattr(posting, name) for name in PostingState.model_fields}
