"""The publishing-and-moderation workflow every service's postings share.

A service's posting table inherits ``PostingFields``; reports point at any posting by (kind, id), or
at a person (``REPORT_ON_USER``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class PostingStatus(StrEnum):
    """draft → pending_review → published | rejected;  published → closed (provider) | taken_down (staff)."""

    draft = "draft"
    pending_review = "pending_review"
    published = "published"
    rejected = "rejected"
    closed = "closed"
    taken_down = "taken_down"


class PostingFields(SQLModel):
    org_id: int = Field(foreign_key="organisations.id", index=True)
    status: str = Field(default=PostingStatus.draft, max_length=16, index=True)  # PostingStatus
    # Set when the automatic content check asked for a human look ("review"), shown in the queue.
    review_flag: str | None = Field(default=None, max_length=64)
    # Reason of the last rejection or take-down; the provider sees it.
    review_reason: str | None = Field(default=None, max_length=500)
    reviewed_by: int | None = None
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Reports of a kind that must not wait (app.services.moderation.reports) hide it until staff decide.
    hidden_by_reports: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# A report's target kind is a registered posting kind (app.kit.postings) or this.
REPORT_ON_USER = "user"


class ReportReason(StrEnum):
    fraud = "fraud"
    false_info = "false_info"
    illegal = "illegal"
    porn = "porn"
    abuse = "abuse"
    harassment = "harassment"
    discrimination = "discrimination"
    spam = "spam"
    other = "other"


class ReportStatus(StrEnum):
    open = "open"
    dismissed = "dismissed"
    actioned = "actioned"


class ReportAction(StrEnum):
    """What staff decide on a report; the decision settles every open report on the same target."""

    dismiss = "dismiss"
    take_down = "take_down"
    suspend_user = "suspend_user"


class ReportResolution(StrEnum):
    dismissed = "dismissed"
    taken_down = "taken_down"
    user_suspended = "user_suspended"


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    __table_args__ = (
        sa.UniqueConstraint("reporter_id", "target_kind", "target_id"),
        sa.Index("ix_reports_target", "target_kind", "target_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reporter_id: int = Field(foreign_key="users.id")
    target_kind: str = Field(max_length=40)
    target_id: int
    reason_code: str = Field(max_length=32)  # ReportReason
    detail: str | None = Field(default=None, max_length=500)
    # Whether the reporter had standing when reporting (app.services.moderation.reports): only such
    # reports count towards urgent review and hiding; every report is still listed for staff.
    counted: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    status: str = Field(default=ReportStatus.open, max_length=16, index=True)  # ReportStatus
    resolution: str | None = Field(default=None, max_length=32)  # ReportResolution
    resolved_by: int | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportCase(SQLModel, table=True):
    """The open reports on one target, counted as they arrive (one row per target, updated with an
    atomic increment so that concurrent reports each see a distinct count); staff's decision on the
    target resets it."""

    __tablename__ = "report_cases"

    target_kind: str = Field(max_length=40, primary_key=True)
    target_id: int = Field(primary_key=True)
    # Open reports from reporters with standing, and those of them whose reason hides at once.
    standing: int = 0
    hiding: int = 0
    # When the counted reports reached the urgent threshold: the review queue shows it first.
    urgent_since: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
