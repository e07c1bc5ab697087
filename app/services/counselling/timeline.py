"""Counselling bookings on the person's timeline (app.services.timeline). Nothing of the intake, the
notes or the centre's handling of a risk answer appears here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import literal, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.schemas.timeline import NextStep, TimelineItem, TimelineStep
from app.services import timeline
from models.counselling import CounsellingBooking as B
from models.counselling import Counsellor

LABELS = {"booked": "已预约", "moved": "已改期", "cancelled": "已取消", "cancelled_by_centre": "咨询中心已取消",
          "attended": "已完成", "no_show": "未到场"}


def _items(user_id: int, now: datetime) -> Any:
    return select(B.id.label("item_id"), B.updated_at.label("activity_at"), literal(0).label("needs_action")
                  ).where(B.user_id == user_id)


async def _load(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, TimelineItem]:
    rows = (await session.execute(select(B, Counsellor.display_name).join(Counsellor, Counsellor.id == B.counsellor_id)
                                  .where(B.id.in_(ids)))).all()
    out = {}
    for b, counsellor in rows:
        history = [TimelineStep(status="booked", label=LABELS["booked"], at=b.created_at)]
        if b.reschedule_count:
            history.append(TimelineStep(status="moved", label=LABELS["moved"], at=b.updated_at if b.status == "booked"
                                        else b.created_at, reason=f"共改期 {b.reschedule_count} 次"))
        if b.cancelled_at is not None:
            history.append(TimelineStep(status=b.status, label=LABELS.get(b.status, b.status), at=b.cancelled_at,
                                        reason=b.cancel_reason))
        elif b.attendance_marked_at is not None:
            history.append(TimelineStep(status=b.status, label=LABELS.get(b.status, b.status),
                                        at=b.attendance_marked_at))
        upcoming = b.status == "booked" and b.starts_at > now
        out[b.id] = TimelineItem(
            service="counselling", kind="counselling_booking", id=b.id, title=f"心理咨询（{counsellor}老师）",
            status=b.status, status_label=LABELS.get(b.status, b.status), activity_at=b.updated_at, needs_action=False,
            next_step=NextStep(label="按时参加咨询", opens_at=b.starts_at) if upcoming else None,
            history=history, links={"booking_id": b.id, "counsellor_id": b.counsellor_id})
    return out


timeline.register("counselling", items=_items, load=_load)
