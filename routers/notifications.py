from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, SessionDep, StaffUser
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.notifications import (
    DeliveryPublic,
    MarkReadIn,
    NotificationPublic,
    PreferencePublic,
    PreferencesIn,
    SubscriptionsIn,
)
from app.services import notifications

router = APIRouter(prefix="/api/v1/me/notifications", tags=["notifications"])


@router.get("", response_model=Page[NotificationPublic])
async def inbox(user: CurrentUser, session: SessionDep, unread_only: bool = False,
                cursor: Annotated[str | None, Query(max_length=200)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20) -> Page[NotificationPublic]:
    return await notifications.inbox(session, actor=user, unread_only=unread_only, cursor=cursor, limit=limit)


@router.post("/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(user: CurrentUser, session: SessionDep, body: MarkReadIn | None = None) -> None:
    await notifications.mark_read(session, actor=user, up_to_id=body.up_to_id if body else None)


@router.post("/subscriptions", response_model=dict[str, int], dependencies=[limit("subscriptions")],
             summary="Report subscribe-message templates the person just accepted (one send each)")
async def subscriptions(body: SubscriptionsIn, user: CurrentUser, session: SessionDep) -> dict[str, int]:
    return await notifications.grant_credits(session, actor=user, template_ids=body.template_ids)


@router.get("/preferences", response_model=list[PreferencePublic],
            summary="The reminder kinds a person may turn off, and whether they did")
async def preferences(user: CurrentUser, session: SessionDep) -> list[PreferencePublic]:
    return await notifications.preferences(session, actor=user)


@router.put("/preferences", response_model=list[PreferencePublic],
            summary="Turn off exactly these reminder kinds (decisions cannot be turned off)")
async def set_preferences(body: PreferencesIn, user: CurrentUser, session: SessionDep) -> list[PreferencePublic]:
    return await notifications.set_preferences(session, actor=user, muted=body.muted)


NotificationId = path_id("通知编号")
staff_router = APIRouter(prefix="/api/v1/staff/notification-deliveries", tags=["notifications"])


@staff_router.get("", response_model=Page[DeliveryPublic],
                  summary="Failed and parked WeChat deliveries, with their error (newest first)")
async def deliveries(staff: StaffUser, session: SessionDep,
                     status: Annotated[Literal["failed", "unknown"] | None, Query()] = None,
                     cursor: Annotated[str | None, Query(max_length=200)] = None,
                     limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20) -> Page[DeliveryPublic]:
    return await notifications.deliveries(session, status=status, cursor=cursor, limit=limit)


@staff_router.post("/{notification_id}/retry", response_model=DeliveryPublic,
                   summary="Send a failed or unknown delivery again (an unknown one may reach the person twice)")
async def retry(staff: StaffUser, session: SessionDep,
                notification_id: NotificationId) -> DeliveryPublic:
    return await notifications.retry_delivery(session, actor=staff, note_id=notification_id)
