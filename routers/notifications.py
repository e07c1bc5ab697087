from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, SessionDep
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.ratelimit import limit
from app.schemas.notifications import MarkReadIn, NotificationPublic, SubscriptionsIn
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
