"""Reminders from the sweeper: for live items only, once each (also with several sweepers at once),
a new one when the item moves, none for a person who muted the kind."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.kit import sweeper
from app.services.notifications import reminders
from models.notifications import Notification
from tests.factories import Actor, bulk_youth, now, published, volunteer_shift

API = "/api/v1"
JOB = "remind.volunteer_shift"


async def shift_with(client: Any, people: list[Actor], *, start_in: timedelta = timedelta(days=2)
                     ) -> tuple[Actor, int, Any]:
    start = now().replace(microsecond=0) + start_in
    provider, p = await published(client, "volunteer_project", shifts=[volunteer_shift(start=start, capacity=50)])
    sid = p["shifts"][0]["id"]
    for person in people:
        r = await client.post(f"{API}/volunteer/shifts/{sid}/signups", headers=person.headers)
        assert r.status_code == 201, r.text
    return provider, sid, start


async def reminded(user_id: int, kind: str = JOB) -> list[Notification]:
    async with session_scope() as s:
        return list((await s.execute(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind).order_by(Notification.id))).scalars())


async def test_a_shift_is_reminded_once_two_hours_before_and_not_when_cancelled(client):
    stays, leaves = await bulk_youth(2)
    _, sid, start = await shift_with(client, [stays, leaves])
    assert (await client.delete(f"{API}/volunteer/shifts/{sid}/signups/mine", headers=leaves.headers)).status_code == 200
    await sweeper.sweep([JOB], now=start - timedelta(hours=3))  # not yet due
    assert await reminded(stays.user_id) == []
    for minutes in (119, 100, 30):
        await sweeper.sweep([JOB], now=start - timedelta(minutes=minutes))
    notes = await reminded(stays.user_id)
    assert len(notes) == 1 and "请到" in notes[0].body and notes[0].data["shift_id"] == sid
    assert await reminded(leaves.user_id) == []
    await sweeper.sweep([JOB], now=start + timedelta(minutes=1))  # started: nothing more
    assert len(await reminded(stays.user_id)) == 1


async def test_a_moved_shift_is_reminded_at_its_new_time_only(client):
    person, = await bulk_youth(1)
    provider, sid, start = await shift_with(client, [person])
    later = start + timedelta(days=1)
    r = await client.patch(f"{API}/provider/volunteer/shifts/{sid}", headers=provider.headers, json={
        "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=3)).isoformat()})
    assert r.status_code == 200, r.text
    await sweeper.sweep([JOB], now=start - timedelta(hours=1))  # the old time: no longer live
    assert await reminded(person.user_id) == []
    await sweeper.sweep([JOB], now=later - timedelta(hours=1))
    notes = await reminded(person.user_id)
    key = reminders.key_of(reminders.VOLUNTEER_SHIFT, await _signup_id(sid, person.user_id), later)
    assert len(notes) == 1 and notes[0].dedupe_key == key


async def _signup_id(shift_id: int, user_id: int) -> int:
    from models.volunteer import VolunteerSignup

    async with session_scope() as s:
        return (await s.execute(select(VolunteerSignup.id).where(
            VolunteerSignup.shift_id == shift_id, VolunteerSignup.user_id == user_id))).scalar_one()


async def test_sign_ups_inside_the_lead_are_not_reminded(client):
    person, = await bulk_youth(1)
    _, _, start = await shift_with(client, [person], start_in=timedelta(minutes=90))
    await sweeper.sweep([JOB], now=start - timedelta(minutes=60))
    assert await reminded(person.user_id) == []  # the sign-up's own confirmation just told them


async def test_a_muted_reminder_kind_is_not_written_and_decisions_cannot_be_muted(client):
    person, other = await bulk_youth(2)
    prefs = (await client.get(f"{API}/me/notifications/preferences", headers=person.headers)).json()["items"]
    from app.services.notifications.catalogue import KINDS

    assert {p["kind"] for p in prefs} == {k for k, kind in KINDS.items() if kind.reminder} >= set(reminders.REMINDERS)
    assert not any(p["muted"] for p in prefs)
    r = await client.put(f"{API}/me/notifications/preferences", json={"muted": ["posting.rejected"]},
                         headers=person.headers)
    assert r.status_code == 422 and r.json()["code"] == "NOTIFICATION_KIND_NOT_MUTABLE"
    r = await client.put(f"{API}/me/notifications/preferences", json={"muted": [JOB, JOB]}, headers=person.headers)
    assert r.status_code == 200 and [p["kind"] for p in r.json()["items"] if p["muted"]] == [JOB]
    _, _, start = await shift_with(client, [person, other])
    await sweeper.sweep([JOB], now=start - timedelta(hours=1))
    assert await reminded(person.user_id) == [] and len(await reminded(other.user_id)) == 1
    r = await client.put(f"{API}/me/notifications/preferences", json={"muted": []}, headers=person.headers)
    assert r.status_code == 200 and r.json()["items"] and not any(p["muted"] for p in r.json()["items"])


@pytest.mark.postgres
async def test_several_sweepers_at_once_write_each_reminder_once(client):
    people = await bulk_youth(12)
    _, _, start = await shift_with(client, people)
    at = start - timedelta(hours=1)
    reminder = reminders.REMINDERS[JOB]

    async def bare() -> int:  # without the sweeper's advisory lock: the unique key alone decides
        async with session_scope() as s:
            return await reminders.remind_due(s, reminder, at)

    async with session_scope() as s:  # an earlier test may have reminded at this very second
        before = (await s.execute(select(func.coalesce(func.max(Notification.id), 0)))).scalar_one()
    written = await asyncio.gather(*(bare() for _ in range(4)),
                                   *(sweeper.run_job(sweeper.JOBS[JOB], now=at) for _ in range(2)))
    async with session_scope() as s:
        # other tests' shifts may fall in the same window: every reminder written at ``at`` counts once
        total = (await s.execute(select(func.count()).select_from(Notification).where(
            Notification.kind == JOB, Notification.created_at == at,
            Notification.id > before))).scalar_one()
    assert sum(written) == total >= 12
    async with session_scope() as s:
        counts = (await s.execute(select(Notification.user_id, func.count()).where(
            Notification.kind == JOB, Notification.user_id.in_([p.user_id for p in people]))
            .group_by(Notification.user_id))).all()
    assert sorted(c for _, c in counts) == [1] * 12
