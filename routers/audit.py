from typing import Annotated

from fastapi import APIRouter, Query

from app.contract import raises
from app.deps import SessionDep, StaffUser
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.time import day_span
from app.schemas.audit import AuditEntryPublic
from app.schemas.common import DateFrom, DateTo
from app.services import audit

router = APIRouter(tags=["audit"])


@router.get("/api/v1/staff/audit-log", response_model=Page[AuditEntryPublic], summary="审计日志",
            description="仅团委工作人员。所有需要留痕的操作（审核、暂停、读取咨询登记、实名变更等），只增不改，"
                        "最新的在前；可按操作人、机构、操作、对象和日期（上海时间，含首尾两天）筛选。")
@raises()
async def audit_log(
    user: StaffUser,
    session: SessionDep,
    actor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="操作人的用户编号")] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="机构编号")] = None,
    action: Annotated[str | None, Query(max_length=64, description="操作，如 `org.suspend`")] = None,
    target_kind: Annotated[str | None, Query(max_length=40, description="对象类型，如 `organisation`")] = None,
    target_id: Annotated[str | None, Query(max_length=40, description="对象编号")] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    cursor: Annotated[str | None, Query(max_length=200, description="上一页回答的 `next_cursor`；第一页不填")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")] = 50,
) -> Page[AuditEntryPublic]:
    since, until = day_span(date_from, date_to)
    return await audit.search(session, actor_id=actor_id, org_id=org_id, action=action, target_kind=target_kind,
                              target_id=target_id, since=since, until=until, cursor=cursor, limit=limit)
