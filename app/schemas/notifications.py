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
