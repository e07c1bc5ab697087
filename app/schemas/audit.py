from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str | None
    org_id: int | None
    action: str
    target_kind: str | None
    target_id: str | None
    reason: str | None
    request_id: str | None
    detail: Any = None
