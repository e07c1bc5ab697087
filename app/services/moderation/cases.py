"""Report cases: the open reports on one target, counted as they arrive and settled together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import Principal
from app.kit.dialect import insert_for
from app.services.moderation.settings import settings
from models.moderation import Report, ReportCase, ReportResolution, ReportStatus

_CASES = ReportCase.__table__


async def count(session: AsyncSession, *, target_kind: str, target_id: int, hiding: bool, now: datetime) -> bool:
    """Count one more report with standing on the target (an atomic increment: concurrent reports each
    see their own count, so a threshold is never skipped); mark the case urgent once it reaches the
    urgent threshold or must be hidden. Returns whether the target must now be hidden."""
    stmt = insert_for(session)(ReportCase).values(target_kind=target_kind, target_id=target_id, standing=1,
                                                   hiding=int(hiding), updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_CASES.c.target_kind, _CASES.c.target_id],
        set_={"standing": _CASES.c.standing + 1, "hiding": _CASES.c.hiding + int(hiding), "updated_at": now},
    ).returning(_CASES.c.standing, _CASES.c.hiding, _CASES.c.urgent_since)
    row = (await session.execute(stmt)).one()
    policy = settings()
    hide = row.hiding >= policy.moderation_report_hide_threshold
    if row.urgent_since is None and (hide or row.standing >= policy.moderation_report_urgent_threshold):
        await session.execute(update(ReportCase).where(
            ReportCase.target_kind == target_kind, ReportCase.target_id == target_id,
            ReportCase.urgent_since.is_(None)).values(urgent_since=now))
    return hide


async def settle(session: AsyncSession, *, target_kind: str, target_id: int, resolution: ReportResolution,
                 actor: Principal, now: datetime) -> list[int]:
    """Staff's decision on a target answers every open report on it, and the case starts again from
    nothing. Returns the ids of the reports it settled."""
    status = ReportStatus.dismissed if resolution == ReportResolution.dismissed else ReportStatus.actioned
    settled = (await session.execute(
        update(Report).where(Report.target_kind == target_kind, Report.target_id == target_id,
                             Report.status == ReportStatus.open)
        .values(status=status, resolution=resolution, resolved_by=actor.user_id, resolved_at=now)
        .returning(Report.id))).scalars().all()
    await session.execute(update(ReportCase).where(
        ReportCase.target_kind == target_kind, ReportCase.target_id == target_id,
    ).values(standing=0, hiding=0, urgent_since=None, updated_at=now))
    return sorted(settled)
