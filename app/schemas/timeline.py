from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TimelineStep(BaseModel):
    status: str = Field(description="这一步之后的状态（英文，稳定）")
    label: str = Field(description="状态的中文说明，可直接展示")
    at: datetime = Field(description="发生时间（带时区）")
    reason: str | None = Field(default=None, description="理由（如被拒绝、被取消的原因）；没有为空")


class NextStep(BaseModel):
    """What the person can do next, and by or from when (accept an offer by …, check in from …)."""

    label: str = Field(description="接下来可以做什么（中文），如“请在截止前确认入住”")
    by: datetime | None = Field(default=None, description="截止时间；没有期限为空")
    opens_at: datetime | None = Field(default=None, description="从何时起可以做（如签到开放时间）；已可做为空")


class TimelineItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "service": "housing", "kind": "housing_application", "id": 42, "title": "呈贡青年公寓 · 一室一厅",
        "status": "offered", "status_label": "已获得房源，待确认", "activity_at": "2026-11-20T10:00:00+08:00",
        "needs_action": True,
        "next_step": {"label": "请在截止前确认入住", "by": "2026-11-27T10:00:00+08:00", "opens_at": None},
        "history": [
            {"status": "submitted", "label": "已提交", "at": "2026-11-10T09:30:00+08:00", "reason": None},
            {"status": "offered", "label": "已获得房源，待确认", "at": "2026-11-20T10:00:00+08:00", "reason": None},
        ],
        "links": {"project_id": 7, "application_id": 42},
    }})

    service: str = Field(description="所属服务：housing、events、counselling、volunteer、openings")
    kind: str = Field(description="条目类型，如 housing_application、event_registration")
    id: int = Field(description="条目在其服务中的编号（如申请编号、报名编号）")
    title: str = Field(description="标题：申请的项目、报名的活动等")
    status: str = Field(description="当前状态（英文，稳定；取值见各服务）")
    status_label: str = Field(description="当前状态的中文说明")
    # The list is newest first by it.
    activity_at: datetime = Field(description="最近一次变化的时间；列表按它从新到旧排列")
    needs_action: bool = Field(description="是否需要我处理（如确认房源、签到）")
    next_step: NextStep | None = Field(default=None, description="接下来可以做什么；没有为空")
    history: list[TimelineStep] = Field(description="经过的各个状态，从早到晚")
    links: dict[str, Any] = Field(description="打开小程序对应页面所需的编号（如 project_id、event_id）")
