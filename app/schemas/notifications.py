from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

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
