"""The one restriction policy across services: strikes per service, threshold, window, waiving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db import session_scope
from app.services import restrictions
from app.services.notifications.catalogue import CatalogueError, notify
from models.notifications import Notification
from tests.factories import bulk_youth

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
_src = iter(range(10**6, 2 * 10**6))


async def strike(user_id: int, service: str, at: datetime, kind: str = "no_show") -> None:
    async with session_scope() as s:
        await restrictions.record(s, user_id=user_id, service=service, kind=kind, source_kind="test",
                                  source_id=next(_src), at=at, now=at)


async def current(user_id: int, service: str, now: datetime):
    async with session_scope() as s:
        return await restrictions.current(s, user_id, service, now)


async def test_two_strikes_restrict_in_that_service_only_and_tell_the_person(app):
    (person,) = await bulk_youth(1)
    await strike(person.user_id, "events", T0)
    assert await current(person.user_id, "events", T0) is None
    await strike(person.user_id, "events", T0 + timedelta(days=3), kind="late_cancel")
    c = await current(person.user_id, "events", T0 + timedelta(days=3))
    assert c is not None and c.until == T0 + timedelta(days=33) and "2次" in c.reason
    assert "后可再报名" in restrictions.message(c)
    assert await current(person.user_id, "volunteer", T0 + timedelta(days=3)) is None
    assert await current(person.user_id, "events", T0 + timedelta(days=34)) is None
    async with session_scope() as s:
        notes = (await s.execute(select(Notification).where(Notification.user_id == person.user_id))).scalars().all()
    assert [n.kind for n in notes] == ["restriction.applied"] and "活动" in notes[0].title


async def test_strikes_outside_the_window_or_recorded_twice_do_not_count(app):
    (person,) = await bulk_youth(1)
    async with session_scope() as s:
        for _ in range(2):  # the same source twice: one strike
            await restrictions.record(s, user_id=person.user_id, service="volunteer", kind="no_show",
                                      source_kind="test", source_id=424242 + person.user_id, at=T0, now=T0)
    await strike(person.user_id, "volunteer", T0 + timedelta(days=100))
    assert await current(person.user_id, "volunteer", T0 + timedelta(days=100)) is None


async def test_waiving_a_strike_lifts_the_restriction_it_caused(app):
    (person,) = await bulk_youth(1)
    await strike(person.user_id, "counselling", T0)
    await strike(person.user_id, "counselling", T0 + timedelta(days=1))
    now = T0 + timedelta(days=1)
    assert await current(person.user_id, "counselling", now) is not None
    async with session_scope() as s:
        from models.restrictions import Strike

        sid = (await s.execute(select(Strike.id).where(Strike.user_id == person.user_id).limit(1))).scalar_one()
        with pytest.raises(restrictions.StrikeNotFound):
            await restrictions.waive(s, strike_id=sid, service="events", by_user_id=1, reason="x", now=now)
    async with session_scope() as s:
        await restrictions.waive(s, strike_id=sid, service="counselling", by_user_id=person.user_id,
                                 reason="因病提前请假", now=now)
    assert await current(person.user_id, "counselling", now) is None


async def test_a_kind_refuses_missing_and_undeclared_parameters(app):
    async with session_scope() as s:
        with pytest.raises(CatalogueError):
            notify(s, restrictions.RESTRICTED, 1, service="活动", reason="r")
        with pytest.raises(CatalogueError):
            notify(s, restrictions.RESTRICTED, 1, service="活动", reason="r", until=T0, extra=1)
