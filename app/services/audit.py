"""The audit trail: every provider or staff write, and every staff read of sensitive data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.context import request_id_var
from app.deps import Principal
from app.kit.pagination import Key, Page, keyset
from app.schemas.audit import AuditEntryPublic
from models.audit import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor: Principal | None,
    action: str,
    target_kind: str | None = None,
    target_id: int | str | None = None,
    org_id: int | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.user_id if actor else None,
            actor_role=actor.role if actor else None,
            org_id=org_id if org_id is not None else (actor.org_id if actor else None),
            action=action,
            target_kind=target_kind,
            target_id=None if target_id is None else str(target_id),
            reason=reason,
            request_id=request_id_var.get(),
            detail=detail,
        )
    )


async def search(
    session: AsyncSession,
    *,
    actor_id: int | None = None,
    org_id: int | None = None,
    action: str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditEntryPublic]:
    stmt = select(AuditEntry)
    for column, value in (
        (AuditEntry.actor_id, actor_id),
        (AuditEntry.org_id, org_id),
        (AuditEntry.action, action),
        (AuditEntry.target_kind, target_kind),
        (AuditEntry.target_id, target_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    page = await keyset(session, stmt, [Key("id", AuditEntry.id, desc=True)], cursor=cursor, limit=limit, tag="audit")
    return page.page(lambda r: AuditEntryPublic.model_validate(r[0], from_attributes=True))
