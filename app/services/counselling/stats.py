"""Counts for league staff; nothing here identifies a person or says what they talked about."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.kit.time import day_span, local_day
from app.schemas.counselling import CounsellingStats
from app.services.counselling import risk
from app.services.counselling.common import KIND, slot_state
from models.counselling import CounsellingBooking, CounsellingSlot, Counsellor


async def stats(session: AsyncSession, *, first: date | None, last: date | None, org_id: int | None
                ) -> CounsellingStats:
    now = clock.now()
    today = local_day(now)
    first = first or today - timedelta(days=30)
    last = last or today + timedelta(days=30)
    if last < first or (last - first).days > 366:
        raise errors.ValidationFailed(fields={"date_to": "结束日期应不早于开始日期，且一次最多统计一年"})
    lo, hi = day_span(first, last)

    def scoped(stmt: Any, model: Any) -> Any:
        return stmt.where(model.org_id == org_id) if org_id else stmt

    published = (await session.execute(scoped(
        select(func.count()).select_from(Counsellor).where(KIND.listed()), Counsellor))).scalar_one()
    state = slot_state().label("state")
    slot_rows = (await session.execute(scoped(
        select(state, func.count()).where(CounsellingSlot.starts_at >= lo, CounsellingSlot.starts_at < hi)
        .group_by(state), CounsellingSlot))).all()
    b = CounsellingBooking
    booking_rows = (await session.execute(scoped(
        select(b.status, b.mode, func.count(), func.sum(case((b.late_change.is_(True), 1), else_=0)),
               func.sum(case((b.risk_flag.is_(True), 1), else_=0)),
               func.sum(case((b.nickname.is_not(None), 1), else_=0)))
        .where(b.starts_at >= lo, b.starts_at < hi).group_by(b.status, b.mode), b))).all()
    by_status = dict.fromkeys(("booked", "attended", "no_show", "cancelled", "cancelled_by_centre"), 0)
    by_mode = dict.fromkeys(("in_person", "video", "phone"), 0)
    late = flagged = nick = 0
    for status, mode, n, n_late, n_risk, n_nick in booking_rows:
        by_status[status] = by_status.get(status, 0) + n
        by_mode[mode] = by_mode.get(mode, 0) + n
        late, flagged, nick = late + (n_late or 0), flagged + (n_risk or 0), nick + (n_nick or 0)
    slots = dict.fromkeys(("free", "booked", "withdrawn"), 0) | {s: n for s, n in slot_rows}
    awaiting, overdue = await risk.counts(session, org_id, now)
    return CounsellingStats(date_from=first, date_to=last, org_id=org_id, counsellors_published=published,
                            slots=slots, bookings=by_status, bookings_by_mode=by_mode, late_changes=late,
                            risk_flagged=flagged, nickname_bookings=nick, risk_awaiting=awaiting,
                            risk_overdue=overdue)
