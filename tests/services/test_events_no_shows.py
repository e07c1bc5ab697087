"""Events after the fact: no-shows are recorded by the sweeper, never by a read or a sign-up, and until
then every answer computes them; no-shows and late cancellations count in the shared restriction record
(service ``events``) and the organiser may waive one; an event's times cannot move into the past once
people signed up, and a change of time or place lets them step back freely and makes no no-shows of them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.kit import sweeper
from app.kit.time import display
from app.services.events import mark_no_shows
from models.events import Event, EventRegistration
from models.notifications import Notification
from models.restrictions import Restriction, Strike
from tests.api.test_events import (
    API,
    bulk_youth,
    create_event,
    notifications_of,
    now,
    sign_up,
    youth,
)

R = EventRegistration


async def snapshot(event_ids: list[int], user_ids: list[int]) -> list[list[tuple[Any, ...]]]:
    """What no read may change: the events' registrations and marks, the people's strikes and restrictions."""
    async with session_scope() as s:
        parts = [
            select(R.id, R.status, R.late_cancel, R.checked_in_at).where(R.event_id.in_(event_ids)).order_by(R.id),
            select(Event.id, Event.no_shows_marked_at, Event.updated_at)
            .where(Event.id.in_(event_ids)).order_by(Event.id),
            select(Strike.id, Strike.source_id, Strike.kind).where(Strike.user_id.in_(user_ids)).order_by(Strike.id),
            select(Restriction.user_id, Restriction.until, Restriction.lifted_at)
            .where(Restriction.user_id.in_(user_ids)).order_by(Restriction.user_id),
            select(Notification.id).where(Notification.user_id.in_(user_ids)).order_by(Notification.id),
        ]
        return [[tuple(r) for r in (await s.execute(q)).all()] for q in parts]


async def strikes_of(user_id: int) -> list[tuple[str, str, int]]:
    async with session_scope() as s:
        return [tuple(r) for r in (await s.execute(
            select(Strike.service, Strike.kind, Strike.source_id).where(Strike.user_id == user_id)
            .order_by(Strike.id))).all()]


async def statuses(event_id: int) -> dict[int, str]:
    async with session_scope() as s:
        return dict((await s.execute(select(R.user_id, R.status).where(R.event_id == event_id))).all())


async def sweep(when: datetime, event_ids: list[int]) -> int:
    async with session_scope() as s:
        return await mark_no_shows(s, now=when, event_ids=event_ids)


async def test_reads_and_sign_ups_compute_due_no_shows_and_only_the_sweeper_records_them(client, factory, travel):
    start = now() + timedelta(days=2)
    first, organiser = await create_event(client, factory, start=start)
    second, _ = await create_event(client, factory, organiser, start=start + timedelta(hours=3))
    later, _ = await create_event(client, factory, organiser, start=start + timedelta(days=3))
    absent, once = await youth(factory), await youth(factory)
    for eid in (first, second):
        assert (await sign_up(client, eid, absent)).json()["status"] == "confirmed"
    await sign_up(client, first, once)
    travel(start + timedelta(hours=8))  # both events are over; nobody checked in
    people = [absent.user_id, once.user_id]
    before = await snapshot([first, second], people)

    # The refusal counts both no-shows before anything recorded them, and names the reason and the end.
    until = start + timedelta(hours=6) + timedelta(days=30)  # from the second event's end
    r = await sign_up(client, later, absent)
    assert r.status_code == 403 and r.json()["code"] == "EVENT_SIGNUP_RESTRICTED"
    assert "2次爽约或临时取消" in r.json()["message"] and f"{display(until)}后可再报名" in r.json()["message"]
    shown = (await client.get(f"{API}/me/event-restriction", headers=absent.headers)).json()
    assert shown["restricted"] is True and datetime.fromisoformat(shown["until"]) == until
    mine = (await client.get(f"{API}/events/{first}/registrations/mine", headers=absent.headers)).json()
    assert mine["status"] == "no_show"
    listed = (await client.get(f"{API}/me/event-registrations", headers=absent.headers)).json()["items"]
    assert [i["status"] for i in listed] == ["no_show", "no_show"]
    detail = (await client.get(f"{API}/events/{first}", headers=absent.headers)).json()
    assert detail["my_registration"]["status"] == "no_show"
    own = (await client.get(f"{API}/provider/events/{first}", headers=organiser.headers)).json()
    assert [q["confirmed"] for q in own["quotas"]] == [0, 0]
    url = f"{API}/provider/events/{first}/attendees"
    assert {i["status"] for i in (await client.get(url, headers=organiser.headers)).json()["items"]} == {"no_show"}
    assert len((await client.get(url, params={"status": "no_show"}, headers=organiser.headers)).json()["items"]) == 2
    assert (await client.get(url, params={"status": "confirmed"}, headers=organiser.headers)).json()["items"] == []
    assert (await sign_up(client, later, once)).json()["status"] == "confirmed"  # one no-show only
    assert await snapshot([first, second], people) == before  # nothing above wrote any of it

    # The sweeper's job records what the reads showed, with the same end date.
    await sweeper.sweep(["events.mark_no_shows"])
    assert await statuses(first) == {absent.user_id: "no_show", once.user_id: "no_show"}
    assert sorted(k for _, k, _ in await strikes_of(absent.user_id)) == ["no_show", "no_show"]
    assert {s for s, _, _ in await strikes_of(absent.user_id)} == {"events"}
    async with session_scope() as s:
        stored = await s.get(Restriction, (absent.user_id, "events"))
    assert stored is not None and stored.until == until
    kinds = [n["kind"] for n in await notifications_of(client, absent)]
    assert kinds.count("event.no_show") == 2 and "restriction.applied" in kinds
    again = (await client.get(f"{API}/me/event-restriction", headers=absent.headers)).json()
    assert again == shown
    assert await sweeper.sweep(["events.mark_no_shows"]) == {"events.mark_no_shows": 0}


async def test_the_sweeper_records_each_no_show_once_and_leaves_checked_in_people_alone(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start)
    came, stayed_home = await youth(factory), await youth(factory)
    await sign_up(client, event_id, came)
    await sign_up(client, event_id, stayed_home)
    ticket = (await client.get(f"{API}/events/{event_id}/ticket", headers=came.headers)).json()["ticket"]
    travel(start)
    r = await client.post(f"{API}/provider/events/{event_id}/check-ins", json={"ticket": ticket},
                          headers=organiser.headers)
    assert r.status_code == 200
    assert await sweep(start + timedelta(hours=2), [event_id]) == 0  # still running
    assert await sweep(start + timedelta(hours=4), [event_id]) == 1
    assert await sweep(start + timedelta(hours=5), [event_id]) == 0  # once only
    assert await statuses(event_id) == {came.user_id: "confirmed", stayed_home.user_id: "no_show"}
    assert [k for _, k, _ in await strikes_of(stayed_home.user_id)] == ["no_show"]
    assert await strikes_of(came.user_id) == []


@pytest.mark.postgres
async def test_concurrent_sweepers_record_each_no_show_once(client, factory, travel):
    start = now() + timedelta(days=2)
    organiser = await factory.provider("event_organizer")
    ids = [(await create_event(client, factory, organiser, start=start + timedelta(minutes=i), capacity=10,
                               quotas=None))[0] for i in range(6)]
    people = await bulk_youth(["female"] * 8)
    for eid in ids:
        for p in people:
            assert (await sign_up(client, eid, p)).json()["status"] == "confirmed"
    when = start + timedelta(hours=5)
    travel(when)
    job = sweeper.JOBS["events.mark_no_shows"]
    # Four sweepers on the same events at once (each its own connection), and two full sweeper runs.
    done = await asyncio.gather(*[sweep(when, ids) for _ in range(4)], sweeper.run_job(job), sweeper.run_job(job))
    assert sum(done[:4]) <= len(ids)
    users = [p.user_id for p in people]
    async with session_scope() as s:
        strikes = (await s.execute(select(Strike.source_id).where(Strike.user_id.in_(users)))).scalars().all()
        notes = (await s.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id.in_(users), Notification.kind == "event.no_show"))).scalar_one()
        marked = (await s.execute(select(func.count()).select_from(Event).where(
            Event.id.in_(ids), Event.no_shows_marked_at.is_not(None)))).scalar_one()
        no_shows = (await s.execute(select(func.count()).select_from(R).where(
            R.event_id.in_(ids), R.status == "no_show"))).scalar_one()
    assert len(strikes) == len(set(strikes)) == len(ids) * len(people) == no_shows == notes
    assert marked == len(ids)


async def test_late_cancellations_count_in_the_shared_record_and_the_organiser_can_waive_one(client, factory, travel):
    start = now() + timedelta(days=3)
    person = await youth(factory)
    first, organiser = await create_event(client, factory, start=start)
    second, _ = await create_event(client, factory, organiser, start=start + timedelta(hours=4))
    third, _ = await create_event(client, factory, organiser, start=start + timedelta(days=2))
    regs = [(await sign_up(client, eid, person)).json()["id"] for eid in (first, second)]
    travel(start - timedelta(hours=3))  # inside both 24-hour cut-offs
    for eid in (first, second):
        assert (await client.delete(f"{API}/events/{eid}/registrations/mine", headers=person.headers)
                ).json()["late_cancel"] is True
    assert [(s, k) for s, k, _ in await strikes_of(person.user_id)] == [("events", "late_cancel")] * 2
    async with session_scope() as s:
        assert await s.get(Restriction, (person.user_id, "events")) is not None
    r = await sign_up(client, third, person)
    assert r.status_code == 403 and "后可再报名" in r.json()["message"]

    url = f"{API}/provider/events/{first}/registrations/{regs[0]}/waive-strike"
    stranger = await factory.provider("event_organizer")
    assert (await client.post(url, json={"reason": "因病住院"}, headers=stranger.headers)).status_code == 404
    wrong_event = f"{API}/provider/events/{second}/registrations/{regs[0]}/waive-strike"
    assert (await client.post(wrong_event, json={"reason": "因病住院"}, headers=organiser.headers)).status_code == 404
    r = await client.post(url, json={"reason": "因病住院"}, headers=organiser.headers)
    assert r.status_code == 200 and r.json()["registration_id"] == regs[0] and r.json()["status"] == "cancelled"
    assert "event.strike_waived" in [n["kind"] for n in await notifications_of(client, person)]
    assert (await client.get(f"{API}/me/event-restriction", headers=person.headers)).json()["restricted"] is False
    assert (await sign_up(client, third, person)).json()["status"] == "confirmed"
    again = await client.post(url, json={"reason": "因病住院"}, headers=organiser.headers)
    assert again.status_code == 409 and again.json()["code"] == "EVENT_NO_STRIKE"


async def test_the_organiser_can_waive_a_no_show_the_sweeper_has_not_recorded_yet(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start)
    person = await youth(factory)
    reg = (await sign_up(client, event_id, person)).json()["id"]
    travel(start + timedelta(hours=4))
    r = await client.post(f"{API}/provider/events/{event_id}/registrations/{reg}/waive-strike",
                          json={"reason": "提前请假但未取消"}, headers=organiser.headers)
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    async with session_scope() as s:
        waived = (await s.execute(select(Strike.waived_at, Strike.waive_reason).where(
            Strike.source_kind == "event_registration", Strike.source_id == reg))).one()
    assert waived.waived_at is not None and waived.waive_reason == "提前请假但未取消"


async def test_times_of_an_event_with_sign_ups_cannot_move_into_the_past(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start)
    person = await youth(factory)
    await sign_up(client, event_id, person)
    past = now() - timedelta(hours=3)
    back = {"starts_at": past.isoformat(), "ends_at": (past + timedelta(hours=2)).isoformat(),
            "signup_opens_at": (past - timedelta(days=3)).isoformat(),
            "signup_closes_at": (past - timedelta(hours=1)).isoformat()}
    url = f"{API}/provider/events/{event_id}"
    r = await client.patch(url, json=back, headers=organiser.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_TIME_IN_PAST"
    assert set(r.json()["fields"]) == {"starts_at", "ends_at"}
    kept = (await client.get(url, headers=organiser.headers)).json()
    assert datetime.fromisoformat(kept["starts_at"]) == start
    travel(start + timedelta(hours=1))  # running: its times stay as announced
    r = await client.patch(url, json={"ends_at": (start + timedelta(hours=5)).isoformat()}, headers=organiser.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_TIME_IN_PAST"
    travel(start + timedelta(hours=4))
    assert (await client.get(f"{url}/attendees", headers=organiser.headers)).json()["items"][0]["status"] == "no_show"


async def test_a_change_of_time_or_place_tells_people_and_lets_them_cancel_without_penalty(client, factory, travel):
    start = now() + timedelta(days=3)
    event_id, organiser = await create_event(client, factory, start=start, capacity=4, quotas=None)
    early = await youth(factory)
    await sign_up(client, event_id, early)
    r = await client.patch(f"{API}/provider/events/{event_id}", json={"venue_name": "翠湖宾馆三楼"},
                           headers=organiser.headers)
    assert r.status_code == 200
    notes = await notifications_of(client, early)
    assert notes[0]["kind"] == "event.changed" and "翠湖宾馆三楼" in notes[0]["body"] and "不计为临时取消" in notes[0]["body"]
    staff = await factory.reviewer()  # the place is public text: the edit went back to review
    r = await client.post(f"{API}/staff/reviews/event/{event_id}/approve", headers=staff.headers)
    assert r.status_code == 200, r.text
    newcomer = await youth(factory)  # signs up knowing the new place
    await sign_up(client, event_id, newcomer)
    travel(start - timedelta(hours=3))  # inside the 24-hour cut-off
    gone = lambda p: client.delete(f"{API}/events/{event_id}/registrations/mine", headers=p.headers)  # noqa: E731
    assert (await gone(early)).json()["late_cancel"] is False
    r = await gone(newcomer)
    assert r.status_code == 200 and r.json()["late_cancel"] is True, r.text
    assert await strikes_of(early.user_id) == []
    assert [k for _, k, _ in await strikes_of(newcomer.user_id)] == ["late_cancel"]


async def test_no_shows_are_recorded_only_for_people_who_agreed_to_the_event_as_it_ran(client, factory, travel):
    start = now() + timedelta(days=3)
    event_id, organiser = await create_event(client, factory, start=start, capacity=4, quotas=None)
    early = await youth(factory)
    await sign_up(client, event_id, early)
    moved = start + timedelta(days=1)
    r = await client.patch(f"{API}/provider/events/{event_id}", headers=organiser.headers, json={
        "starts_at": moved.isoformat(), "ends_at": (moved + timedelta(hours=3)).isoformat()})
    assert r.status_code == 200
    assert [n["kind"] for n in await notifications_of(client, early)] == ["event.changed"]
    newcomer = await youth(factory)
    await sign_up(client, event_id, newcomer)
    travel(moved + timedelta(hours=5))
    mine = lambda p: client.get(f"{API}/events/{event_id}/registrations/mine", headers=p.headers)  # noqa: E731
    assert (await mine(early)).json()["status"] == "confirmed"
    assert (await mine(newcomer)).json()["status"] == "no_show"
    assert await sweep(moved + timedelta(hours=5), [event_id]) == 1
    assert await statuses(event_id) == {early.user_id: "confirmed", newcomer.user_id: "no_show"}
    assert await strikes_of(early.user_id) == []
    assert [k for _, k, _ in await strikes_of(newcomer.user_id)] == ["no_show"]
    assert "event.no_show" not in [n["kind"] for n in await notifications_of(client, early)]
