from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import StrictModel


class NotificationPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "id": 301, "kind": "event.promoted", "title": "候补成功", "body": "您已从候补转为正式报名：青年读书会（12月6日 14:00）",
        "data": {"event_id": 12, "registration_id": 88}, "created_at": "2026-12-01T09:00:00+08:00", "read_at": None,
    }})

    id: int = Field(description="通知编号（越新越大）")
    kind: str = Field(description="通知类型（英文，稳定），如 event.promoted、housing.offered")
    title: str = Field(description="标题")
    body: str = Field(description="正文")
    data: Any = Field(default=None, description="打开相关页面所需的编号等（随类型不同）；可能为空")
    created_at: datetime = Field(description="发出时间")
    read_at: datetime | None = Field(default=None, description="标为已读的时间；未读为空")


class MarkReadIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"up_to_id": 301}})

    up_to_id: int | None = Field(default=None, description="把编号不大于它的通知标为已读；不填为全部标为已读")


class SubscriptionsIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"template_ids": ["tmpl-reminder-dev"]}})

    template_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=10, description="用户刚刚在小程序里同意的订阅消息模板编号（1–10 个），每个记一次发送机会")


class DeliveryPublic(BaseModel):
    """A notification's WeChat delivery, for staff: no title or body (they may name a person's matters)."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": 301, "user_id": 17, "kind": "event.promoted", "delivery_status": "failed", "attempts": 8,
        "last_error": "wechat 40003: invalid openid", "created_at": "2026-12-01T09:00:00+08:00",
        "next_attempt_at": None, "delivered_at": None,
    }})

    id: int = Field(description="通知编号")
    user_id: int = Field(description="收件人的用户编号")
    kind: str = Field(description="通知类型（英文，稳定）")
    delivery_status: str = Field(description="微信发送状态：`failed` 发送失败（最终错误或重试用完）、"
                                             "`unknown` 结果未知（微信可能已收到），以及 `pending` 待发送等")
    attempts: int = Field(description="已尝试发送的次数")
    last_error: str | None = Field(default=None, description="最近一次发送的错误；没有为空")
    created_at: datetime = Field(description="通知产生的时间")
    next_attempt_at: datetime | None = Field(default=None, description="下一次尝试发送的时间；不再尝试为空")
    delivered_at: datetime | None = Field(default=None, description="发送成功的时间；未成功为空")


class PreferencePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "kind": "remind.event", "title": "活动即将开始", "muted": False}})

    kind: str = Field(description="提醒类型（英文，稳定）")
    title: str = Field(description="提醒类型的中文名称")
    muted: bool = Field(description="是否已关闭")


class Preferences(BaseModel):
    """Every reminder kind a person may turn off, whole: a fixed set of a few, so no cursor."""

    model_config = ConfigDict(json_schema_extra={"example": {"items": [
        {"kind": "remind.counselling", "title": "心理咨询即将开始", "muted": False},
        {"kind": "remind.event", "title": "活动即将开始", "muted": True}]}})

    items: list[PreferencePublic] = Field(description="每种可以关闭的提醒及是否已关闭，按类型排列")


class PreferencesIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"muted": ["remind.event"]}})

    muted: list[Annotated[str, StringConstraints(min_length=1, max_length=48)]] = Field(
        max_length=50, description="要关闭的提醒类型（最多 50 个）；不在其中的提醒都会打开。只能是提醒类消息")
