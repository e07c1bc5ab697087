"""Volunteer sign-ups on the person's timeline (app.services.timeline)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit.dialect import greatest
from app.schemas.timeline import NextStep, TimelineItem, TimelineStep
from app.services import timeline
from app.services.volunteer.settings import settings
from models.volunteer import VolunteerProject, VolunteerShift, VolunteerSignup

U = VolunteerSignup
LABELS = {"waitlisted": "候补中", "signed_up": "报名成功", "promoted": "候补转正", "checked_in": "已签到",
          "checked_out": "已签退", "cancelled": "已取消", "no_show": "未到场", "shift_cancelled": "岗位已取消",
          "released": "时间冲突，报名已取消"}


def activity() -> Any:
    at = U.created_at
    return greatest(at, *(func.coalesce(c, at) for c in (U.promoted_at, U.cancelled_at, U.checked_in_at,
                                                           U.checked_out_at)))


def _items(user_id: int, now: datetime) -> Any:
    return select(U.id.label("item_id"), activity().label("activity_at"),
                  case((and_(U.status == "signed_up", U.checked_in_at.is_(None), U.ends_at > now), 1), else_=0)
                  .label("needs_action")).where(U.user_id == user_id)


async def _load(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, TimelineItem]:
    rows = (await session.execute(
        select(U, VolunteerProject.title, VolunteerShift.cancel_reason)
        .join(VolunteerProject, VolunteerProject.id == U.project_id).join(VolunteerShift, VolunteerShift.id == U.shift_id)
        .where(U.id.in_(ids)))).all()
    opens_before = timedelta(minutes=settings().volunteer_check_in_opens_minutes)
    out = {}
    for u, title, shift_reason in rows:
        first = "waitlisted" if u.promoted_at else ("signed_up" if u.status != "waitlisted" else "waitlisted")
        history = [TimelineStep(status=first, label=LABELS[first], at=u.created_at)]
        if u.promoted_at:
            history.append(TimelineStep(status="promoted", label=LABELS["promoted"], at=u.promoted_at))
        if u.checked_in_at:
            history.append(TimelineStep(status="checked_in", label=LABELS["checked_in"], at=u.checked_in_at))
        if u.checked_out_at:
            history.append(TimelineStep(status="checked_out", label=LABELS["checked_out"], at=u.checked_out_at))
        if u.cancelled_at:
            history.append(TimelineStep(status=u.status, label=LABELS.get(u.status, u.status), at=u.cancelled_at,
                                        reason=shift_reason if u.status == "shift_cancelled" else None))
        act = max(s.at for s in history)
        due = u.status == "signed_up" and u.checked_in_at is None and u.ends_at > now
        out[u.id] = TimelineItem(
            service="volunteer", kind="volunteer_signup", id=u.id, title=title, status=u.status,
            status_label=LABELS.get(u.status, u.status), activity_at=act, needs_action=due,
            next_step=NextStep(label="到场签到", opens_at=u.starts_at - opens_before, by=u.ends_at) if due else None,
            history=history, links={"signup_id": u.id, "shift_id": u.shift_id, "project_id": u.project_id})
    return out


timeline.register("volunteer", items=_items, load=_load)
