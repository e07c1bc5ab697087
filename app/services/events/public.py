"""What everyone sees: upcoming events and an event's detail with the places left per quota."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.deps import Principal
from app.kit.pagination import Key, Page, keyset
from app.kit.time import day_span
from app.schemas.events import (
    EventPublic,
    EventSummary,
    QuotaPublic,
)
from app.services.events.common import (
    KIND,
    R,
    cancel_deadline,
    choice_window,
    quota_rows,
    visible_event,
)
from app.services.events.registrations import registration_views
from models.events import Event, EventRegistration
from models.orgs import Organisation

_ORDER = [Key("t", Event.starts_at, datetime), Key("i", Event.id)]


def _signup_state(ev: Any, places_left: int, now: datetime) -> str:
    if ev.cancelled_at is not None:
        return "cancelled"
    if ev.status != "published" or now >= ev.signup_closes_at:
        return "closed"
    if now < ev.signup_opens_at:
        return "not_open"
    return "open" if places_left > 0 else "full"


async def list_events(session: AsyncSession, *, district: str | None, date_from: date | None,
                      date_to: date | None, cursor: str | None, limit: int) -> Page[EventSummary]:
    """Upcoming public events, soonest first."""
    now = clock.now()
    stmt = (select(Event, Organisation.name).join(Organisation, Organisation.id == Event.org_id)
            .where(KIND.listed(), Event.cancelled_at.is_(None), Event.starts_at > now))
    if district:
        stmt = stmt.where(Event.district == district)
    start, end = day_span(date_from, date_to)
    if start is not None:
        stmt = stmt.where(Event.starts_at >= start)
    if end is not None:
        stmt = stmt.where(Event.starts_at < end)
    page = await keyset(session, stmt, _ORDER, cursor=cursor, limit=limit, tag="events")
    quotas = await quota_rows(session, [r[0].id for r in page.rows])
    return page.page(lambda r: _summary(r[0], r[1], quotas.get(r[0].id, []), now))


def _summary(ev: Event, org_name: str, quotas: list[Any], now: datetime) -> EventSummary:
    left = sum(max(q.capacity - q.taken, 0) for q in quotas)
    return EventSummary(
        id=ev.id, title=ev.title, org_name=org_name, venue_name=ev.venue_name, district=ev.district,
        starts_at=ev.starts_at, ends_at=ev.ends_at, signup_opens_at=ev.signup_opens_at,
        signup_closes_at=ev.signup_closes_at, capacity=ev.capacity, places_left=left,
        gender_quotas=ev.quota_male is not None, min_age=ev.min_age, max_age=ev.max_age,
        require_single=ev.require_single, signup_state=_signup_state(ev, left, now),
    )


async def get_event(session: AsyncSession, *, actor: Principal | None, event_id: int) -> EventPublic:
    ev, org_name = await visible_event(session, event_id)
    now = clock.now()
    quotas = (await quota_rows(session, [ev.id])).get(ev.id, [])
    waiting = dict((await session.execute(
        select(R.quota_key, func.count()).where(R.event_id == ev.id, R.status == "waitlisted")
        .group_by(R.quota_key))).all())
    mine = None
    if actor is not None and actor.is_youth:
        reg = (await session.execute(
            select(EventRegistration).where(R.event_id == ev.id, R.user_id == actor.user_id)
            .order_by(R.id.desc()).limit(1))).scalar_one_or_none()
        if reg is not None:
            mine = (await registration_views(session, [reg], {ev.id: ev}))[0]
    window = choice_window(ev)
    return EventPublic(
        **_summary(ev, org_name, quotas, now).model_dump(),
        description=ev.description, venue_address=ev.venue_address, latitude=ev.latitude,
        longitude=ev.longitude, require_real_name=ev.require_real_name, cancel_cutoff_hours=ev.cancel_cutoff_hours,
        cancel_deadline=cancel_deadline(ev.starts_at, ev.cancel_cutoff_hours),
        choice_opens_at=window[0] if window else None, choice_closes_at=window[1] if window else None,
        cancelled_at=ev.cancelled_at, cancel_reason=ev.cancel_reason, my_registration=mine,
        quotas=[QuotaPublic(key=q.quota_key, capacity=q.capacity, places_left=max(q.capacity - q.taken, 0),
                            waitlisted=waiting.get(q.quota_key, 0)) for q in quotas],
    )
