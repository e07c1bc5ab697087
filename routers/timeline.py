from typing import Annotated

from fastapi import APIRouter, Query

from app import errors
from app.contract import raises
from app.deps import SessionDep, YouthUser
from app.kit.pagination import MAX_LIMIT, Page
from app.schemas.timeline import TimelineItem
from app.services import timeline

router = APIRouter(prefix="/api/v1/me/timeline", tags=["timeline"])


@router.get("", response_model=Page[TimelineItem], summary="我的事项",
            description="青年用户查看自己申请、预约、报名过的所有事项（人才公寓申请、活动报名、心理咨询预约、志愿服务等），"
                        "按最近一次变化从新到旧排列，每项带经过的状态和接下来可以做什么。"
                        "可按服务筛选，或只看需要我处理的（如待确认的房源、可签到的活动）。只读，不会改变任何状态。")
@raises(errors.ValidationFailed)
async def my_timeline(user: YouthUser, session: SessionDep,
                      service: Annotated[str | None, Query(max_length=20, description=(
                          "只看一项服务：housing、events、counselling、volunteer（及之后登记的服务）"))] = None,
                      needs_action: Annotated[bool, Query(description="只看需要我处理的")] = False,
                      cursor: Annotated[str | None, Query(
                          max_length=200, description="上一页回答的 `next_cursor`；第一页不填")] = None,
                      limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")] = 20) -> Page[TimelineItem]:
    return await timeline.timeline(session, actor=user, service=service, needs_action=needs_action, cursor=cursor,
                                   limit=limit)
