"""No-shows and late cancellations across services, and the sign-up restrictions they lead to: one
policy and one record for events, counselling and volunteering (app.services.restrictions)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Strike(SQLModel, table=True):
    """One no-show or late cancellation of a person, at one thing they had signed up for."""

    __tablename__ = "strikes"
    __table_args__ = (
        # The same registration is never counted twice for the same reason (jobs and retries are safe).
        sa.UniqueConstraint("source_kind", "source_id", "kind"),
        sa.Index("ix_strikes_user_service_at", "user_id", "service", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    service: str = Field(max_length=16)  # events | counselling | volunteer
    kind: str = Field(max_length=16)  # no_show | late_cancel
    source_kind: str = Field(max_length=40)  # e.g. event_registration
    source_id: int
    # When it happened in the service's terms (the event's start): what the policy window counts from.
    at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    waived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    waived_by: int | None = None
    waive_reason: str | None = Field(default=None, max_length=200)


class Restriction(SQLModel, table=True):
    """A person's current (or last) restriction in one service."""

    __tablename__ = "restrictions"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    service: str = Field(primary_key=True, max_length=16)
    # Strikes up to and including this moment have been used for a restriction and count no more.
    since: datetime = Field(sa_type=UTCDateTime)
    until: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
