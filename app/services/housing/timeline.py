"""Housing applications on the person's timeline (app.services.timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.schemas.housing import STATUS_LABELS
from app.schemas.timeline import NextStep, TimelineItem, TimelineStep
from app.services import timeline
from app.services.housing.common import history_items, lapsed, shown_status
from models.housing import ApplicationStatus as S
from models.housing import HousingApplication as APP
from models.housing import HousingApplicationEvent, HousingProject


def _items(user_id: int, now: datetime) -> Any:
    # A lapsed offer's latest activity is its lapse, shown before the sweeper stores it.
    activity = case((and_(APP.status == S.offered, APP.offer_expires_at <= now), APP.offer_expires_at),
                    else_=APP.updated_at)
    return select(APP.id.label("item_id"), activity.label("activity_at"),
                  case((and_(APP.status == S.offered, APP.offer_expires_at > now), 1), else_=0).label("needs_action")
                  ).where(APP.user_id == user_id)


async def _load(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, TimelineItem]:
    rows = (await session.execute(select(APP, HousingProject.name).join(HousingProject, HousingProject.id ==
                                                                          APP.project_id).where(APP.id.in_(ids)))).all()
    events: dict[int, list[HousingApplicationEvent]] = {}
    for e in (await session.execute(select(HousingApplicationEvent).where(
            HousingApplicationEvent.application_id.in_(ids)).order_by(HousingApplicationEvent.at,
                                                                     HousingApplicationEvent.id))).scalars():
        events.setdefault(e.application_id, []).append(e)
    out = {}
    for app, name in rows:
        status = shown_status(app, now)
        offered = app.status == S.offered and not lapsed(app, now)
        history = [TimelineStep(status=h.to_status, label=h.to_status_label, at=h.at, reason=h.reason)
                   for h in history_items(app, events.get(app.id, []), now)]
        out[app.id] = TimelineItem(
            service="housing", kind="housing_application", id=app.id, title=name, status=status,
            status_label=STATUS_LABELS[status], activity_at=app.offer_expires_at if lapsed(app, now) else app.updated_at,
            needs_action=offered,
            next_step=NextStep(label="确认入住或放弃", by=app.offer_expires_at) if offered else None,
            history=history, links={"application_id": app.id, "project_id": app.project_id})
    return out


timeline.register("housing", items=_items, load=_load)
