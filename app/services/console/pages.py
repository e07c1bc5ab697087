"""What the console's work pages show: read through the services (the review queue across every
registered posting kind, reports, organisations, the audit log), shaped for the templates."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit.postings import REGISTRY, status_label
from app.kit.time import day_span
from app.schemas.moderation import QueueStatus
from app.services import audit, moderation, orgs
from app.validators import validate_credit_code
from models.moderation import ReportStatus
from models.orgs import OrgStatus

KIND_LABELS = {k: v.label for k, v in REGISTRY.items()}


def kind_label(kind: str) -> str:
    k = REGISTRY.get(kind)
    return k.label if k else ("用户" if kind == "user" else kind)


async def queue(session: AsyncSession, *, kind: str | None, status: str | None, cursor: str | None) -> Any:
    qs = QueueStatus(status) if status else QueueStatus.needs_review
    return await moderation.review_queue(session, kind=kind or None, status=qs, flagged=None, cursor=cursor,
                                         limit=30)


async def review(session: AsyncSession, *, kind: str, posting_id: int) -> dict[str, Any]:
    detail = await moderation.review_detail(session, kind=kind, posting_id=posting_id)
    reports = await moderation.list_reports(session, status=ReportStatus.open, target_kind=kind,
                                            target_id=posting_id, cursor=None, limit=50)
    return {"detail": detail, "reports": reports.items, "status_label": status_label(detail.status)}


async def reports(session: AsyncSession, *, status: str | None, cursor: str | None) -> Any:
    st = ReportStatus(status) if status else ReportStatus.open
    return await moderation.list_reports(session, status=st, target_kind=None, target_id=None, cursor=cursor,
                                         limit=30)


def credit_code_ok(code: str) -> bool:
    try:
        validate_credit_code(code)
    except ValueError:
        return False
    return True


async def organisations(session: AsyncSession, *, status: str | None, cursor: str | None) -> Any:
    st = OrgStatus(status) if status else OrgStatus.pending
    return await orgs.staff_list(session, status=st, kind=None, cursor=cursor, limit=30)


async def audit_log(session: AsyncSession, *, actor_id: int | None, action: str | None, target_kind: str | None,
                    target_id: str | None, first: date | None, last: date | None, cursor: str | None) -> Any:
    since, until = day_span(first, last)
    return await audit.search(session, actor_id=actor_id, action=action or None, target_kind=target_kind or None,
                              target_id=target_id or None, since=since, until=until, cursor=cursor, limit=50)
