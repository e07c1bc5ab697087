from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep, YouthUser
from app.kit.pagination import MAX_LIMIT, Page
from app.schemas.timeline import TimelineItem
from app.services import timeline

router = APIRouter(prefix="/api/v1/me/timeline", tags=["timeline"])


@router.get("", response_model=Page[TimelineItem],
            summary="Everything the person applied for, booked or signed up to, newest activity first")
async def my_timeline(user: YouthUser, session: SessionDep,
                      service: Annotated[str | None, Query(max_length=20, description=(
                          "只看一项服务：housing、events、counselling、volunteer（及之后登记的服务）"))] = None,
                      needs_action: Annotated[bool, Query(description="只看需要我处理的")] = False,
                      cursor: Annotated[str | None, Query(max_length=200)] = None,
                      limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20) -> Page[TimelineItem]:
    return await timeline.timeline(session, actor=user, service=service, needs_action=needs_action, cursor=cursor,
                                   limit=limit)
