"""The append-only audit trail (a database trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class AuditTarget(StrEnum):
    """Target kinds of the platform's own records; services name theirs (their posting kinds, bookings…)."""

    organisation = "organisation"
    user = "user"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_target", "target_kind", "target_id"),
        sa.Index("ix_audit_log_org_at", "org_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_role: str | None = Field(default=None, max_length=16)
    org_id: int | None = None
    action: str = Field(max_length=64, index=True)
    target_kind: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=500)
    request_id: str | None = Field(default=None, max_length=64)
    detail: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
