"""Opening applications on the person's timeline (app.services.timeline).

An offer past its answer-by time that the sweeper has not lapsed yet is shown lapsed — status, the
lapse's history step and its activity time — as ``views`` shows it; nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.schemas.openings import REJECT_REASONS, STATUS_LABELS
from app.schemas.timeline import NextStep, TimelineItem, TimelineStep
from app.services import timeline
from app.services.openings.applying import histories
from app.services.openings.common import OP, A
from app.services.openings.pipeline import effective_status

ONLINE = "线上（链接见申请详情）"


def _items(user_id: int, now: datetime) -> Any:
    due = and_(A.status == "offered", A.answer_by <= now)
    return select(A.id.label("item_id"), case((due, A.answer_by), else_=A.updated_at).label("activity_at"),
                  case((and_(A.status == "offered", A.answer_by > now), 1), else_=0).label("needs_action")
                  ).where(A.user_id == user_id)


def _reason(code: str | None, text: str | None) -> str | None:
    label = REJECT_REASONS.get(code or "")
    return f"{label}（{text}）" if label and text else (text or label)


async def _load(session: AsyncSession, ids: list[int], now: datetime) -> dict[int, TimelineItem]:
    rows = (await session.execute(select(A, OP.title).join(OP, OP.id == A.opening_id).where(A.id.in_(ids)))).all()
    hist = await histories(session, ids)
    out = {}
    for app, title in rows:
        status = effective_status(app, now)
        history = [TimelineStep(status=h.to_status, label=h.status_label, at=h.at, reason=_reason(h.reason_code, h.reason))
                   for h in hist[app.id]]
        lapsed = status == "lapsed" and app.status == "offered"
        if lapsed:  # due, not swept yet
            history.append(TimelineStep(status="lapsed", label=STATUS_LABELS["lapsed"], at=app.answer_by,
                                        reason=REJECT_REASONS["offer_lapsed"]))
        next_step = None
        if status == "offered":
            next_step = NextStep(label="接受或婉拒录用", by=app.answer_by)
        elif status == "interview" and app.interview_at is not None and app.interview_at > now:
            where = app.interview_place or (ONLINE if app.interview_link else None)
            next_step = NextStep(label=f"参加面试：{where}" if where else "参加面试", opens_at=app.interview_at)
        out[app.id] = TimelineItem(
            service="openings", kind=f"{app.kind}_application", id=app.id, title=title, status=status,
            status_label=STATUS_LABELS[status], activity_at=app.answer_by if lapsed else app.updated_at,
            needs_action=status == "offered", next_step=next_step, history=history,
            links={"application_id": app.id, "opening_id": app.opening_id})
    return out


timeline.register("openings", items=_items, load=_load)
