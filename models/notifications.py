"""Notifications: one record per thing a person should be told. The in-app inbox reads them; WeChat
subscribe-message delivery works off the same rows as an outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_created", "user_id", "created_at"),
        sa.Index("ix_notifications_delivery", "delivery_status", "next_attempt_at"),
        # A reminder's key (kind, item and the time it reminds of): the sweeper writes each once, however
        # many sweepers run; a moved item gets a new key, so its new time is reminded too.
        sa.UniqueConstraint("dedupe_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(max_length=48)  # e.g. event.promoted, counselling.cancelled_by_centre
    title: str = Field(max_length=100)
    body: str = Field(max_length=500)
    data: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Outbox side: pending → sending → sent | failed | skipped (no template, openid or credit) |
    # unknown (WeChat may have got it but the answer was lost: not resent, so nobody gets it twice)
    delivery_status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)
    dedupe_key: str | None = Field(default=None, max_length=120)


class SubscribeCredit(SQLModel, table=True):
    """Each time a person accepts a template in wx.requestSubscribeMessage, WeChat allows one send."""

    __tablename__ = "subscribe_credits"
    __table_args__ = (sa.UniqueConstraint("user_id", "template_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    template_id: str = Field(max_length=64)
    credits: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationMute(SQLModel, table=True):
    """A reminder kind a person turned off (decisions about them cannot be muted)."""

    __tablename__ = "notification_mutes"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(max_length=48, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
