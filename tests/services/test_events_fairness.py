"""Events: a place standing free while people wait goes to the head of the waitlist, never to a newcomer
(see the package docstring of app.services.events). The free place is made by hand in the database —
a confirmed registration removed and its quota counter lowered — as a repair or a fault outside the
sign-up rules would leave it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from app.db import session_scope
from models.events import EventQuota, EventRegistration
from tests.api.test_events import (
    API,
    Actor,
    bulk_youth,
    create_event,
    notifications_of,
    patient_pool,
    sign_up,
)

__all__ = ["patient_pool"]  # a fixture, used by name below

R, Q = EventRegistration, EventQuota


async def signed_up(client: Any, event_id: int, people: list[Actor]) -> list[dict[str, Any]]:
    """One at a time, so that registration ids follow the list."""
    out = []
    for p in people:
        r = await sign_up(client, event_id, p)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


async def free_places(event_id: int, quota_key: str, n: int) -> None:
    """Remove the last ``n`` confirmed registrations of the quota and lower its counter by as much."""
    async with session_scope() as session:
        ids = (await session.execute(
            select(R.id).where(R.event_id == event_id, R.quota_key == quota_key, R.status == "confirmed")
            .order_by(R.id.desc()).limit(n))).scalars().all()
        assert len(ids) == n
        await session.execute(delete(R).where(R.id.in_(ids)))
        await session.execute(update(Q).where(Q.event_id == event_id, Q.quota_key == quota_key)
                              .values(taken=Q.taken - n))


async def state(event_id: int, quota_key: str) -> tuple[int, int, list[Any], list[Any]]:
    """(counter, capacity, confirmed rows, waitlisted rows) of the quota, rows in id order."""
    async with session_scope() as session:
        taken, capacity = (await session.execute(
            select(Q.taken, Q.capacity).where(Q.event_id == event_id, Q.quota_key == quota_key))).one()
        rows = (await session.execute(
            select(R.id, R.user_id, R.status, R.promoted_at).where(R.event_id == event_id, R.quota_key == quota_key)
            .order_by(R.id))).all()
    return (taken, capacity, [r for r in rows if r.status == "confirmed"],
            [r for r in rows if r.status == "waitlisted"])


async def mine(client: Any, event_id: int, person: Actor) -> dict[str, Any]:
    r = await client.get(f"{API}/events/{event_id}/registrations/mine", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_free_place_goes_to_the_head_of_the_waitlist_not_to_a_newcomer(client, factory, signup_path):
    event_id, _ = await create_event(client, factory, capacity=4, quotas=(2, 2))
    men = await bulk_youth(["male"] * 5)
    holders, waiting, newcomer = men[:2], men[2:4], men[4]
    answers = await signed_up(client, event_id, holders + waiting)
    assert [a["status"] for a in answers] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    await free_places(event_id, "male", 1)

    r = await sign_up(client, event_id, newcomer)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["waitlist_position"]) == ("waitlisted", 2)
    head = await mine(client, event_id, waiting[0])
    assert head["status"] == "confirmed" and head["promoted_at"]
    assert [n["kind"] for n in await notifications_of(client, waiting[0])] == ["event.promoted"]
    assert (await mine(client, event_id, waiting[1]))["waitlist_position"] == 1
    assert await notifications_of(client, waiting[1]) == []
    taken, capacity, confirmed, queue = await state(event_id, "male")
    assert taken == capacity == len(confirmed) == 2
    assert [q.user_id for q in queue] == [waiting[1].user_id, newcomer.user_id]
    # The other quota was never touched.
    assert (await state(event_id, "female"))[0] == 0


async def test_a_newcomer_gets_a_place_only_after_everyone_waiting_got_one(client, factory, signup_path):
    event_id, _ = await create_event(client, factory, capacity=3, quotas=None)
    people = await bulk_youth(["female"] * 5)
    holders, waiting, newcomer = people[:3], people[3], people[4]
    await signed_up(client, event_id, [*holders, waiting])
    await free_places(event_id, "all", 2)

    r = await sign_up(client, event_id, newcomer)
    assert r.json()["status"] == "confirmed" and r.json()["promoted_at"] is None
    head = await mine(client, event_id, waiting)
    assert head["status"] == "confirmed" and head["promoted_at"]
    taken, capacity, confirmed, queue = await state(event_id, "all")
    assert taken == capacity == len(confirmed) == 3 and queue == []


async def test_a_cancellation_fills_every_free_place_of_the_quota(client, factory, signup_path):
    event_id, _ = await create_event(client, factory, capacity=6, quotas=(3, 3))
    men = await bulk_youth(["male"] * 8)
    holders, waiting = men[:3], men[3:]
    await signed_up(client, event_id, men)
    await free_places(event_id, "male", 1)  # holders[2] is gone: one place stands free

    r = await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=holders[0].headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    taken, capacity, confirmed, queue = await state(event_id, "male")
    assert taken == capacity == len(confirmed) == 3
    assert [c.user_id for c in confirmed] == [holders[1].user_id, waiting[0].user_id, waiting[1].user_id]
    assert all(c.promoted_at for c in confirmed[1:])
    assert [q.user_id for q in queue] == [w.user_id for w in waiting[2:]]
    for w in waiting[:2]:
        assert [n["kind"] for n in await notifications_of(client, w)] == ["event.promoted"]

    # Someone leaving the waitlist also fills a place that stands free.
    await free_places(event_id, "male", 1)
    r = await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=waiting[4].headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    taken, capacity, confirmed, queue = await state(event_id, "male")
    assert taken == capacity == len(confirmed) == 3
    assert confirmed[-1].user_id == waiting[2].user_id and confirmed[-1].promoted_at
    assert [q.user_id for q in queue] == [waiting[3].user_id]


@pytest.mark.postgres
async def test_concurrent_newcomers_leave_free_places_to_the_earliest_waiting(client, factory, signup_path, patient_pool):
    quota, waiting_n, freed, newcomers_n = 10, 20, 3, 40
    event_id, _ = await create_event(client, factory, capacity=2 * quota, quotas=(quota, quota))
    early = await bulk_youth(["male"] * (quota + waiting_n))
    await signed_up(client, event_id, early)
    _, _, _, queue_before = await state(event_id, "male")
    await free_places(event_id, "male", freed)

    newcomers = await bulk_youth(["male"] * newcomers_n)
    calls = newcomers + newcomers[:10]  # some tap twice
    responses = await asyncio.gather(*(sign_up(client, event_id, p) for p in calls))
    assert all(r.status_code == 201 for r in responses), {r.text for r in responses if r.status_code != 201}
    assert all(r.json()["status"] == "waitlisted" for r in responses)

    taken, capacity, confirmed, queue = await state(event_id, "male")
    assert taken == capacity == len(confirmed) == quota
    promoted = [c for c in confirmed if c.promoted_at]
    assert [p.user_id for p in promoted] == [q.user_id for q in queue_before[:freed]]
    assert [q.user_id for q in queue[:waiting_n - freed]] == [q.user_id for q in queue_before[freed:]]
    assert {q.user_id for q in queue[waiting_n - freed:]} == {p.user_id for p in newcomers}
    async with session_scope() as session:
        per_user = (await session.execute(
            select(R.user_id, func.count()).where(R.event_id == event_id).group_by(R.user_id))).all()
    assert all(n == 1 for _, n in per_user) and len(per_user) == quota - freed + waiting_n + newcomers_n
    for p in queue_before[:freed]:
        person = next(a for a in early if a.user_id == p.user_id)
        assert [n["kind"] for n in await notifications_of(client, person)] == ["event.promoted"]
