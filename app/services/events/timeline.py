"""Event registrations on the person's timeline (app.services.timeline). Registered from
app.services.events by a single import; nothing else of the events service changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit.dialect import greatest
from app.schemas.timeline import NextStep, TimelineItem, TimelineStep
from app.services import timeline
from app.services.events.common import shown_status
from app.services.events.settings import settings as event_settings
from models.events import Event, EventRegistration

R = EventRegistration
LABELS = {"waitlisted": "候补中", "confirmed": "报名成功", "promoted": "候补转正", "checked_in": "已签到",
          "cancelled": "已取消", "no_show": "未到场", "event_cancelled": "活动已取消"}


def _items(user_id: int, now: datetime) -> Any:
    at = R.created_at
    activity = greatest(at, *(func.coalesce(c, at) for c in (R.promoted_at, R.cancelled_at, R.checked_in_at)))
    live = (select(Event.id).where(Event.id == R.event_id, Event.ends_at > now, Event.cancelled_at.is_(None))
            .exists())
    return select(R.id.label("item_id"), activity.label("activity_at"),
                  case((and_(R.status == "confirmed", R.checked_in_at.is_(None), live), 1), else_=0)
                  .label("needs_action")).where(R.user_id == user_id)


async def _load(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, TimelineItem]:
    rows = (await session.execute(select(R, Event).join(Event, Event.id == R.event_id).where(R.id.in_(ids)))).all()
    opens_before = timedelta(minutes=event_settings().event_check_in_opens_minutes)
    out = {}
    for r, ev in rows:
        first = "waitlisted" if r.promoted_at or r.status == "waitlisted" else "confirmed"
        history = [TimelineStep(status=first, label=LABELS[first], at=r.created_at)]
        if r.promoted_at:
            history.append(TimelineStep(status="promoted", label=LABELS["promoted"], at=r.promoted_at))
        if r.checked_in_at:
            history.append(TimelineStep(status="checked_in", label=LABELS["checked_in"], at=r.checked_in_at))
        if r.cancelled_at:
            history.append(TimelineStep(status=r.status, label=LABELS.get(r.status, r.status), at=r.cancelled_at,
                                        reason=ev.cancel_reason if r.status == "event_cancelled" else None))
        status = shown_status(r, ev, now)  # a due no-show shows before the sweeper records it
        if status == "no_show":
            history.append(TimelineStep(status=status, label=LABELS[status], at=ev.ends_at))
        due = (r.status == "confirmed" and r.checked_in_at is None and ev.ends_at > now and ev.cancelled_at is None)
        out[r.id] = TimelineItem(
            service="events", kind="event_registration", id=r.id, title=ev.title, status=status,
            status_label=LABELS.get(status, status), activity_at=max(s.at for s in history), needs_action=due,
            next_step=NextStep(label="到场出示入场码签到", opens_at=ev.starts_at - opens_before, by=ev.ends_at)
            if due else None,
            history=history, links={"registration_id": r.id, "event_id": ev.id})
    return out


timeline.register("events", items=_items, load=_load)
