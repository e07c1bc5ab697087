from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep, StaffUser
from app.kit.pagination import MAX_LIMIT, Page
from app.schemas.audit import AuditEntryPublic
from app.schemas.common import InstantIn
from app.services import audit

router = APIRouter(tags=["audit"])


@router.get("/api/v1/staff/audit-log", response_model=Page[AuditEntryPublic],
            summary="The append-only audit trail, newest first")
async def audit_log(
    user: StaffUser,
    session: SessionDep,
    actor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_kind: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[str | None, Query(max_length=40)] = None,
    since: InstantIn | None = None,
    until: InstantIn | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[AuditEntryPublic]:
    return await audit.search(session, actor_id=actor_id, org_id=org_id, action=action, target_kind=target_kind,
                              target_id=target_id, since=since, until=until, cursor=cursor, limit=limit)
