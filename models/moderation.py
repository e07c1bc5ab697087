"""The publishing-and-moderation workflow every service's postings share.

A service's posting table inherits ``PostingFields``; reports point at any posting by (kind, id).
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
    status: str = Field(default="draft", max_length=16, index=True)
    # Set when the automatic content check asked for a human look ("review"), shown in the queue.
    review_flag: str | None = Field(default=None, max_length=64)
    # Reason of the last rejection or take-down; the provider sees it.
    review_reason: str | None = Field(default=None, max_length=500)
    reviewed_by: int | None = None
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Reports from enough distinct people hide a posting until staff decide.
    hidden_by_reports: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
    reason_code: str = Field(max_length=32)
    detail: str | None = Field(default=None, max_length=500)
    status: str = Field(default="open", max_length=16, index=True)  # open | dismissed | actioned
    resolution: str | None = Field(default=None, max_length=32)
    resolved_by: int | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
