from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from app.schemas.common import StrictModel


class NotificationPublic(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    data: Any = None
    created_at: datetime
    read_at: datetime | None = None


class MarkReadIn(StrictModel):
    up_to_id: int | None = None


class SubscriptionsIn(StrictModel):
    template_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(min_length=1,
                                                                                             max_length=10)


class DeliveryPublic(BaseModel):
    """A notification's WeChat delivery, for staff: no title or body (they may name a person's matters)."""

    id: int
    user_id: int
    kind: str
    delivery_status: str
    attempts: int
    last_error: str | None = None
    created_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class PreferencePublic(BaseModel):
    kind: str
    title: str
    muted: bool


class PreferencesIn(StrictModel):
    muted: list[Annotated[str, StringConstraints(min_length=1, max_length=48)]] = Field(max_length=50)
