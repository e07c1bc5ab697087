from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep, StaffUser
from app.pagination import MAX_LIMIT, Page
from app.schemas.audit import AuditEntryPublic
from app.schemas.common import InstantIn
from app.services import audit

router = APIRouter(tags=["audit"])


@router.get("/api/v1/staff/audit-log", response_model=Page[AuditEntryPublic],
            summary="The append-only audit trail, newest first")
async def audit_log(
    user: StaffUser,
    session: SessionDep,
    actor_id: int | None = None,
    org_id: int | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_kind: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[str | None, Query(max_length=40)] = None,
    since: InstantIn | None = None,
    until: InstantIn | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[AuditEntryPublic]:
    page = await audit.search(session, actor_id=actor_id, org_id=org_id, action=action, target_kind=target_kind,
                              target_id=target_id, since=since, until=until, cursor=cursor, limit=limit)
    return Page(items=[AuditEntryPublic.model_validate(e, from_attributes=True) for e in page.items],
                next_cursor=page.next_cursor)
