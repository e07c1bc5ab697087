from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "id": 901, "at": "2026-12-01T02:15:00Z", "actor_id": 3, "actor_role": "moderator", "org_id": 5,
        "action": "org.suspend", "target_kind": "organisation", "target_id": "5", "reason": "营业执照已过期",
        "request_id": "5f0c2d1e9a8b4c7d", "detail": {"from": "verified", "to": "suspended"}}})

    id: int = Field(description="日志编号")
    at: datetime = Field(description="发生时间")
    actor_id: int | None = Field(default=None, description="操作人的用户编号（系统任务为空）")
    actor_role: str | None = Field(default=None, description="操作人的角色")
    org_id: int | None = Field(default=None, description="相关机构编号")
    action: str = Field(description="操作，如 `org.suspend`、`counselling.intake_read`")
    target_kind: str | None = Field(default=None, description="对象类型")
    target_id: str | None = Field(default=None, description="对象编号")
    reason: str | None = Field(default=None, description="操作理由")
    request_id: str | None = Field(default=None, description="请求编号（与日志中的一致）")
    detail: Any = Field(default=None, description="补充信息（不含敏感数据）")
