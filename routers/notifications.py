from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app import errors
from app.contract import raises
from app.deps import CurrentUser, SessionDep, StaffUser
from app.kit.pagination import Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, Limit
from app.schemas.notifications import (
    DeliveryPublic,
    MarkReadIn,
    NotificationPublic,
    Preferences,
    PreferencesIn,
    SubscriptionsIn,
)
from app.services import notifications
from app.services.notifications.errors import DeliveryNotParked, UnknownReminderKind

router = APIRouter(prefix="/api/v1/me/notifications", tags=["notifications"])



@router.get("", response_model=Page[NotificationPublic], summary="我的通知",
            description="任何登录用户查看发给自己的站内通知（审核结果、候补成功、活动变更、各类提醒等），从新到旧排列；"
                        "可只看未读。只读，不会把通知标为已读。")
@raises()
async def inbox(user: CurrentUser, session: SessionDep,
                unread_only: Annotated[bool, Query(description="只看未读的通知")] = False,
                cursor: Cursor = None, limit: Limit = 20) -> Page[NotificationPublic]:
    return await notifications.inbox(session, actor=user, unread_only=unread_only, cursor=cursor, limit=limit)


@router.post("/read", status_code=status.HTTP_204_NO_CONTENT, summary="标为已读",
             description="任何登录用户把自己的通知标为已读：给出 `up_to_id` 时只标编号不大于它的（即看到的那一页及更早的），"
                         "不填时全部标为已读。可重复调用：已读的通知保持原来的已读时间。")
@raises()
async def mark_read(user: CurrentUser, session: SessionDep, body: MarkReadIn | None = None) -> None:
    await notifications.mark_read(session, actor=user, up_to_id=body.up_to_id if body else None)


@router.post("/subscriptions", response_model=dict[str, int], dependencies=[limit("subscriptions")],
             summary="上报订阅消息授权",
             description="任何登录用户：小程序在用户同意订阅消息（wx.requestSubscribeMessage）后上报同意的模板编号，"
                         "每个模板记一次发送机会（微信的一次性订阅），回答每个模板现有的发送机会数。"
                         "不是幂等的：每次上报都加一次。只接受本小程序使用的模板（配置 `wechat_templates`）。"
                         "每人每分钟 30 次（`subscriptions`）。",
             responses={200: {"description": "每个模板现有的发送机会数",
                              "content": {"application/json": {"example": {"tmpl-reminder-dev": 2}}}}})
@raises(errors.ValidationFailed)
async def subscriptions(body: SubscriptionsIn, user: CurrentUser, session: SessionDep) -> dict[str, int]:
    return await notifications.grant_credits(session, actor=user, template_ids=body.template_ids)


@router.get("/preferences", response_model=Preferences,
            summary="我的提醒设置",
            description="任何登录用户查看可以关闭的提醒类消息（活动、心理咨询、志愿服务开始前和住房确认截止前的提醒），"
                        "以及自己是否已关闭。审核结果、候补成功等通知不能关闭，不在列表中。")
@raises()
async def preferences(user: CurrentUser, session: SessionDep) -> Preferences:
    return await notifications.preferences(session, actor=user)


@router.put("/preferences", response_model=Preferences,
            summary="设置要关闭的提醒",
            description="任何登录用户：关闭列出的提醒类型，其余提醒全部打开（整体替换，可重复调用，结果相同）。"
                        "只能关闭提醒类消息，审核结果等通知不能关闭。回答设置后的全部提醒设置。")
@raises(UnknownReminderKind)
async def set_preferences(body: PreferencesIn, user: CurrentUser, session: SessionDep) -> Preferences:
    return await notifications.set_preferences(session, actor=user, muted=body.muted)


NotificationId = path_id("通知编号")
staff_router = APIRouter(prefix="/api/v1/staff/notification-deliveries", tags=["notifications"])


@staff_router.get("", response_model=Page[DeliveryPublic],
                  summary="发送失败的微信消息（工作人员）",
                  description="仅团委工作人员。列出需要人来处理的微信订阅消息：`failed` 发送失败（最终错误，或重试次数用完，"
                              "`notification_max_attempts`）和 `unknown` 结果未知（微信可能已收到），带最近一次错误，"
                              "从新到旧排列。不含通知的标题和正文。")
@raises()
async def deliveries(staff: StaffUser, session: SessionDep,
                     status: Annotated[Literal["failed", "unknown"] | None, Query(
                         description="`failed` 发送失败或 `unknown` 结果未知；不填为两者")] = None,
                     cursor: Cursor = None, limit: Limit = 20) -> Page[DeliveryPublic]:
    return await notifications.deliveries(session, status=status, cursor=cursor, limit=limit)


@staff_router.post("/{notification_id}/retry", response_model=DeliveryPublic,
                   summary="重新发送微信消息（工作人员）",
                   description="仅团委工作人员。把发送失败或结果未知的消息重新排队发送（尝试次数清零），并记入审计日志。"
                               "注意：结果未知的消息微信可能已经收到，重新发送可能让用户收到两次。"
                               "其他状态的消息不能重新发送。")
@raises(errors.NotFound, DeliveryNotParked)
async def retry(staff: StaffUser, session: SessionDep,
                notification_id: NotificationId) -> DeliveryPublic:
    return await notifications.retry_delivery(session, actor=staff, note_id=notification_id)
