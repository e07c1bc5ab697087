"""Events (青年联谊交友): publishing, sign-up under quotas, waitlist and promotion, tickets and check-in,
no-shows and restrictions, mutual choice, organiser tools — and no overselling under a rush."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.validators import SHANGHAI
from tests import factories
from tests.factories import API, Actor, approve, now
from tests.factories import event_body as body

_DAY_SEQ = iter(range(400, 4000, 7))


async def create_event(client: Any, factory: Any, organiser: Actor | None = None, *, publish: bool = True,
                       **kw: Any) -> tuple[int, Actor]:
    organiser = organiser or await factory.provider("event_organizer")
    kw.setdefault("start", now() + timedelta(days=3))
    r = await client.post(f"{API}/provider/events", json=body(**kw), headers=organiser.headers)
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    if publish:
        await approve(client, "event", event_id, organiser)
    return event_id, organiser


async def youth(factory: Any, *, gender: str = "female", age: int = 25, **profile: Any) -> Actor:
    """A young person logged in through WeChat with a complete real-name profile (``profile`` over it)."""
    return await factory.youth(profile=profile or True, age=age, gender=gender)


async def bulk_youth(genders: list[str]) -> list[Actor]:
    """Many complete real-name profiles at once, straight into the database (a rush needs hundreds)."""
    return await factories.bulk_youth(len(genders), genders=genders)


async def sign_up(client: Any, event_id: int, person: Actor, **headers: str) -> Any:
    return await client.post(f"{API}/events/{event_id}/registrations", headers={**person.headers, **headers})


async def notifications_of(client: Any, person: Actor) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/me/notifications", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


# --- publishing and browsing ----------------------------------------------------------------------


async def test_event_is_public_only_after_review_and_listed_by_district_and_date(client, factory):
    day = date.today() + timedelta(days=next(_DAY_SEQ))
    start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)  # 14:00 in Kunming
    organiser = await factory.provider("event_organizer")
    draft_id, _ = await create_event(client, factory, organiser, publish=False, start=start)
    assert (await client.get(f"{API}/events/{draft_id}")).status_code == 404
    ids = [draft_id]
    for district in ("五华区", "呈贡区"):
        eid, _ = await create_event(client, factory, organiser, start=start, district=district)
        ids.append(eid)
    query = {"date_from": day.isoformat(), "date_to": day.isoformat()}
    listed = (await client.get(f"{API}/events", params=query)).json()["items"]
    assert [e["id"] for e in listed] == ids[1:]
    assert listed[0]["places_left"] == 4 and listed[0]["signup_state"] == "open"
    only = (await client.get(f"{API}/events", params={**query, "district": "呈贡区"})).json()["items"]
    assert [e["id"] for e in only] == [ids[2]]
    next_day = (day + timedelta(days=1)).isoformat()
    assert (await client.get(f"{API}/events", params={"date_from": next_day, "date_to": next_day})).json()["items"] == []


async def test_listing_pages_with_a_cursor(client, factory):
    day = date.today() + timedelta(days=next(_DAY_SEQ))
    organiser = await factory.provider("event_organizer")
    ids = []
    for hour in (1, 2, 3):
        eid, _ = await create_event(client, factory, organiser, start=datetime(day.year, day.month, day.day, hour,
                                                                                tzinfo=UTC))
        ids.append(eid)
    query = {"date_from": day.isoformat(), "date_to": day.isoformat(), "limit": 2}
    first = (await client.get(f"{API}/events", params=query)).json()
    assert [e["id"] for e in first["items"]] == ids[:2] and first["next_cursor"]
    second = (await client.get(f"{API}/events", params={**query, "cursor": first["next_cursor"]})).json()
    assert [e["id"] for e in second["items"]] == ids[2:] and second["next_cursor"] is None
    bad = await client.get(f"{API}/events", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CURSOR"


async def test_event_times_and_quotas_are_validated(client, factory):
    organiser = await factory.provider("event_organizer")
    start = now() + timedelta(days=3)
    r = await client.post(f"{API}/provider/events", headers=organiser.headers,
                          json=body(start=start, hours=-1, closes=start + timedelta(hours=1)))
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"ends_at", "signup_closes_at"}
    r = await client.post(f"{API}/provider/events", json=body(start=start, capacity=5, quotas=(2, 2)),
                          headers=organiser.headers)
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"
    r = await client.post(f"{API}/provider/events", json=body(start=start, min_age=16), headers=organiser.headers)
    assert r.status_code == 422 and "min_age" in r.json()["fields"]


async def test_only_event_organisers_create_events_and_others_get_404(client, factory):
    housing = await factory.provider("housing_operator")
    r = await client.post(f"{API}/provider/events", json=body(start=now() + timedelta(days=3)), headers=housing.headers)
    assert r.status_code == 403
    event_id, _ = await create_event(client, factory)
    stranger = await factory.provider("event_organizer")
    for method, path in (("GET", ""), ("GET", "/attendees"), ("GET", "/choice-summary")):
        r = await client.request(method, f"{API}/provider/events/{event_id}{path}", headers=stranger.headers)
        assert r.status_code == 404, path
    r = await client.patch(f"{API}/provider/events/{event_id}", json={"title": "改名"}, headers=stranger.headers)
    assert r.status_code == 404


async def test_editing_text_of_a_published_event_sends_it_back_to_review(client, factory):
    event_id, organiser = await create_event(client, factory)
    r = await client.patch(f"{API}/provider/events/{event_id}", json={"description": "新的活动介绍"},
                           headers=organiser.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"
    assert (await client.get(f"{API}/events/{event_id}")).status_code == 404


# --- sign-up ---------------------------------------------------------------------------------------


async def test_sign_up_confirms_then_waitlists_within_the_gender_quota(client, factory):
    event_id, _ = await create_event(client, factory, capacity=2, quotas=(1, 1))
    m1, m2, m3 = [await youth(factory, gender="male") for _ in range(3)]
    f1 = await youth(factory, gender="female")
    r = await sign_up(client, event_id, m1)
    assert r.status_code == 201 and r.json()["status"] == "confirmed" and r.json()["quota_key"] == "male"
    r2, r3 = await sign_up(client, event_id, m2), await sign_up(client, event_id, m3)
    assert (r2.json()["status"], r2.json()["waitlist_position"]) == ("waitlisted", 1)
    assert (r3.json()["status"], r3.json()["waitlist_position"]) == ("waitlisted", 2)
    r = await sign_up(client, event_id, f1)
    assert r.json()["status"] == "confirmed" and r.json()["quota_key"] == "female"


async def test_event_detail_shows_places_per_quota_and_never_other_peoples_names(client, factory):
    event_id, _ = await create_event(client, factory, capacity=3, quotas=(2, 1))
    woman = await youth(factory, nickname="隐私昵称甲", gender="female")
    man = await youth(factory, nickname="隐私昵称乙", gender="male")
    await sign_up(client, event_id, woman)
    await sign_up(client, event_id, man)
    viewer = await youth(factory, gender="female")
    r = await client.get(f"{API}/events/{event_id}", headers=viewer.headers)
    assert r.status_code == 200
    quotas = {q["key"]: q for q in r.json()["quotas"]}
    assert quotas["male"]["places_left"] == 1 and quotas["female"]["places_left"] == 0
    assert r.json()["places_left"] == 1 and r.json()["my_registration"] is None
    assert "隐私昵称" not in r.text
    anonymous = await client.get(f"{API}/events/{event_id}")
    assert anonymous.status_code == 200 and anonymous.json()["my_registration"] is None


async def test_second_sign_up_returns_the_existing_registration_and_keys_replay(client, factory):
    event_id, _ = await create_event(client, factory)
    person = await youth(factory)
    first = await sign_up(client, event_id, person)
    again = await sign_up(client, event_id, person)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = await youth(factory)
    key = uuid.uuid4().hex
    a = await sign_up(client, event_id, other, **{"Idempotency-Key": key})
    b = await sign_up(client, event_id, other, **{"Idempotency-Key": key})
    assert a.json() == b.json() and b.headers.get("Idempotent-Replay") == "true"
    r = await client.get(f"{API}/events/{event_id}", headers=person.headers)
    assert r.json()["quotas"][1]["places_left"] == 0  # two women, two places: counted once each


async def test_sign_up_is_refused_outside_the_window(client, factory):
    start = now() + timedelta(days=5)
    later_id, _ = await create_event(client, factory, start=start, opens=now() + timedelta(days=1))
    person = await youth(factory)
    r = await sign_up(client, later_id, person)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_SIGNUP_NOT_OPEN"
    closed_id, _ = await create_event(client, factory, start=start, opens=now() - timedelta(days=2),
                                      closes=now() - timedelta(hours=1))
    r = await sign_up(client, closed_id, person)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_SIGNUP_CLOSED"


async def test_sign_up_is_refused_to_people_who_are_not_eligible(client, factory):
    event_id, _ = await create_event(client, factory, min_age=22, max_age=30)
    cases = [
        (await youth(factory, age=34), "EVENT_AGE_INELIGIBLE"),
        (await youth(factory, age=20), "EVENT_AGE_INELIGIBLE"),
        (await youth(factory, marital_status="married"), "EVENT_SINGLE_REQUIRED"),
        (await factory.youth(), "EVENT_PROFILE_REQUIRED"),
    ]
    for person, code in cases:
        r = await sign_up(client, event_id, person)
        assert (r.status_code, r.json()["code"]) == (403, code)
    organiser = await factory.provider("event_organizer")
    assert (await sign_up(client, event_id, organiser)).status_code == 403
    assert (await client.get(f"{API}/provider/events/{event_id}")).status_code == 401


async def test_divorced_people_count_as_single(client, factory):
    event_id, _ = await create_event(client, factory)
    person = await youth(factory, marital_status="divorced")
    assert (await sign_up(client, event_id, person)).json()["status"] == "confirmed"


# --- cancellation and promotion --------------------------------------------------------------------


async def test_cancellation_promotes_the_first_waitlisted_of_the_same_quota_and_notifies_them(client, factory):
    event_id, _ = await create_event(client, factory, capacity=2, quotas=(1, 1))
    m1 = await youth(factory, gender="male")
    f1 = await youth(factory, gender="female")
    await sign_up(client, event_id, m1)
    await sign_up(client, event_id, f1)
    f2 = await youth(factory, gender="female")
    m2 = await youth(factory, gender="male")
    m3 = await youth(factory, gender="male")
    await sign_up(client, event_id, f2)  # waiting in the other quota, earlier than m2
    await sign_up(client, event_id, m2)
    await sign_up(client, event_id, m3)
    r = await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=m1.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["late_cancel"] is False
    mine = lambda p: client.get(f"{API}/events/{event_id}/registrations/mine", headers=p.headers)  # noqa: E731
    promoted = (await mine(m2)).json()
    assert promoted["status"] == "confirmed" and promoted["promoted_at"]
    assert (await mine(f2)).json()["status"] == "waitlisted"
    assert (await mine(m3)).json()["waitlist_position"] == 1
    assert [n["kind"] for n in await notifications_of(client, m2)] == ["event.promoted"]
    assert await notifications_of(client, m3) == []
    detail = (await client.get(f"{API}/events/{event_id}")).json()
    assert {q["key"]: q["places_left"] for q in detail["quotas"]} == {"male": 0, "female": 0}


async def test_cancellation_without_a_waitlist_frees_the_place(client, factory):
    event_id, _ = await create_event(client, factory, capacity=1, quotas=None)
    first, second = await youth(factory), await youth(factory)
    await sign_up(client, event_id, first)
    await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=first.headers)
    assert (await client.get(f"{API}/events/{event_id}")).json()["places_left"] == 1
    assert (await sign_up(client, event_id, second)).json()["status"] == "confirmed"
    again = await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=first.headers)
    assert again.status_code == 404 and again.json()["code"] == "EVENT_NOT_REGISTERED"


async def test_late_cancellations_count_and_two_restrict_new_sign_ups(client, factory, travel):
    start = now() + timedelta(days=3)
    person = await youth(factory)
    first, organiser = await create_event(client, factory, start=start)
    second, _ = await create_event(client, factory, organiser, start=start + timedelta(hours=4))
    third, _ = await create_event(client, factory, organiser, start=start + timedelta(days=2))
    for eid in (first, second):
        assert (await sign_up(client, eid, person)).json()["status"] == "confirmed"
    travel(start - timedelta(hours=3))  # inside both 24-hour cut-offs
    r = await client.delete(f"{API}/events/{first}/registrations/mine", headers=person.headers)
    assert r.json()["late_cancel"] is True
    assert (await client.get(f"{API}/me/event-restriction", headers=person.headers)).json()["restricted"] is False
    await client.delete(f"{API}/events/{second}/registrations/mine", headers=person.headers)
    restriction = (await client.get(f"{API}/me/event-restriction", headers=person.headers)).json()
    assert restriction["restricted"] is True and "2次爽约或临时取消" in restriction["reason"]
    r = await sign_up(client, third, person)
    assert r.status_code == 403 and r.json()["code"] == "EVENT_SIGNUP_RESTRICTED"
    assert "2次爽约或临时取消" in r.json()["message"]
    travel(start - timedelta(hours=3) + timedelta(days=31))
    assert (await client.get(f"{API}/me/event-restriction", headers=person.headers)).json()["restricted"] is False


async def test_cancelling_after_the_start_is_refused(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, _ = await create_event(client, factory, start=start)
    person = await youth(factory)
    await sign_up(client, event_id, person)
    travel(start + timedelta(minutes=5))
    r = await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=person.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_ALREADY_STARTED"


# --- tickets and check-in ---------------------------------------------------------------------------


async def test_a_real_ticket_checks_in_once_and_forged_or_foreign_tickets_fail(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start)
    other_id, _ = await create_event(client, factory, organiser, start=start)
    person = await youth(factory, nickname="签到人", gender="male")
    await sign_up(client, event_id, person)
    await sign_up(client, other_id, person)
    ticket = (await client.get(f"{API}/events/{event_id}/ticket", headers=person.headers)).json()["ticket"]
    foreign = (await client.get(f"{API}/events/{other_id}/ticket", headers=person.headers)).json()["ticket"]
    scan = lambda t: client.post(f"{API}/provider/events/{event_id}/check-ins", json={"ticket": t},  # noqa: E731
                                 headers=organiser.headers)
    r = await scan(ticket)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_CHECK_IN_NOT_OPEN"
    travel(start - timedelta(minutes=10))
    head, payload, signature = ticket.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    for bad in (forged, person.access_token, "not-a-ticket"):
        r = await scan(bad)
        assert (r.status_code, r.json()["code"]) == (422, "EVENT_TICKET_INVALID")
    r = await scan(foreign)
    assert (r.status_code, r.json()["code"]) == (422, "EVENT_TICKET_WRONG_EVENT")
    r = await scan(ticket)
    assert r.status_code == 200
    assert r.json()["badge_number"] == 1 and r.json()["nickname"] == "签到人" and r.json()["gender"] == "male"
    again = await scan(ticket)
    assert again.status_code == 409 and again.json()["code"] == "EVENT_ALREADY_CHECKED_IN"
    first_at = datetime.fromisoformat(r.json()["checked_in_at"]).astimezone(SHANGHAI)
    assert first_at.strftime("%H:%M") in again.json()["message"]
    stranger = await factory.provider("event_organizer")
    r = await client.post(f"{API}/provider/events/{event_id}/check-ins", json={"ticket": ticket},
                          headers=stranger.headers)
    assert r.status_code == 404


async def test_waitlisted_and_cancelled_people_have_no_valid_ticket(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start, capacity=1, quotas=None)
    holder, waiting = await youth(factory), await youth(factory)
    await sign_up(client, event_id, holder)
    await sign_up(client, event_id, waiting)
    r = await client.get(f"{API}/events/{event_id}/ticket", headers=waiting.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_TICKET_UNAVAILABLE"
    ticket = (await client.get(f"{API}/events/{event_id}/ticket", headers=holder.headers)).json()["ticket"]
    await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=holder.headers)
    travel(start)
    r = await client.post(f"{API}/provider/events/{event_id}/check-ins", json={"ticket": ticket},
                          headers=organiser.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_TICKET_REVOKED"


# --- no-shows and restrictions: tests/services/test_events_no_shows.py ---------------------------


# --- mutual choice ----------------------------------------------------------------------------------


async def test_mutual_choice_reveals_only_mutual_matches_and_organisers_see_counts(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start, capacity=6, quotas=(3, 3))
    a, b = [await youth(factory, gender="male") for _ in range(2)]
    c, d = [await youth(factory, gender="female") for _ in range(2)]
    absent = await youth(factory, gender="male")
    badge = {}
    for p in (a, b, c, d, absent):
        await sign_up(client, event_id, p)
    travel(start)
    for p in (a, b, c, d):
        ticket = (await client.get(f"{API}/events/{event_id}/ticket", headers=p.headers)).json()["ticket"]
        r = await client.post(f"{API}/provider/events/{event_id}/check-ins", json={"ticket": ticket},
                              headers=organiser.headers)
        badge[p.user_id] = r.json()["badge_number"]
    pick = lambda p, who, contact: client.post(  # noqa: E731
        f"{API}/events/{event_id}/picks", json={"badges": [badge[w.user_id] for w in who], "contact": contact},
        headers=p.headers)
    r = await pick(a, [c], "微信 a")
    assert r.status_code == 409 and r.json()["code"] == "EVENT_CHOICE_NOT_OPEN"  # the event is still running
    travel(start + timedelta(hours=4))
    assert (await pick(a, [c, d], "微信 a_contact")).status_code == 200
    assert (await pick(c, [a], "微信 c_contact")).status_code == 200
    assert (await pick(d, [b], "微信 d_contact")).status_code == 200
    r = await pick(absent, [c], "微信 x")
    assert r.status_code == 403 and r.json()["code"] == "EVENT_CHOICE_NOT_ELIGIBLE"
    r = await client.post(f"{API}/events/{event_id}/picks", json={"badges": [99], "contact": "x"}, headers=b.headers)
    assert r.status_code == 422
    r = await client.post(f"{API}/events/{event_id}/picks", json={"badges": [1, 2, 3, 4], "contact": "x"},
                          headers=b.headers)
    assert r.status_code == 422
    r = await client.get(f"{API}/events/{event_id}/matches", headers=c.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_CHOICE_RESULTS_PENDING"
    travel(start + timedelta(hours=3 + 48, minutes=1))
    pages = {p.user_id: (await client.get(f"{API}/events/{event_id}/matches", headers=p.headers)).json()
             for p in (a, b, c, d)}
    assert all(page["next_cursor"] is None for page in pages.values())
    got = {uid: page["items"] for uid, page in pages.items()}
    assert got[a.user_id] == [{"badge_number": badge[c.user_id], "nickname": c.profile["nickname"],
                               "contact": "微信 c_contact"}]
    assert got[c.user_id] == [{"badge_number": badge[a.user_id], "nickname": a.profile["nickname"],
                               "contact": "微信 a_contact"}]
    assert got[b.user_id] == [] and got[d.user_id] == []  # d picked b, b picked nobody: b never learns it
    summary = await client.get(f"{API}/provider/events/{event_id}/choice-summary", headers=organiser.headers)
    assert {k: summary.json()[k] for k in ("checked_in", "participants", "picks", "mutual_matches")} == {
        "checked_in": 4, "participants": 3, "picks": 4, "mutual_matches": 1}
    assert "contact" not in summary.text


# --- organiser tools --------------------------------------------------------------------------------


async def test_attendee_list_shows_badge_nickname_gender_and_age_only(client, factory, travel):
    start = now() + timedelta(days=2)
    event_id, organiser = await create_event(client, factory, start=start, capacity=1, quotas=None)
    holder = await youth(factory, nickname="名单甲", real_name="真名甲", age=26)
    waiting = await youth(factory, nickname="名单乙")
    await sign_up(client, event_id, holder)
    await sign_up(client, event_id, waiting)
    r = await client.get(f"{API}/provider/events/{event_id}/attendees", headers=organiser.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["nickname"], i["status"], i["waitlist_position"]) for i in items] == [
        ("名单甲", "confirmed", None), ("名单乙", "waitlisted", 1)]
    assert items[0]["age"] == 26 and items[0]["gender"] == "female"
    assert set(items[0]) == {"registration_id", "badge_number", "nickname", "gender", "age", "status",
                             "waitlist_position", "checked_in_at"}
    assert "真名甲" not in r.text and holder.profile["id_number_masked"][-4:] not in r.text
    assert "id_number" not in r.text and "phone" not in r.text
    only = await client.get(f"{API}/provider/events/{event_id}/attendees", params={"status": "waitlisted"},
                            headers=organiser.headers)
    assert [i["nickname"] for i in only.json()["items"]] == ["名单乙"]


async def test_capacity_never_drops_below_confirmed_and_added_places_promote_the_waitlist(client, factory):
    event_id, organiser = await create_event(client, factory, capacity=4, quotas=(2, 2))
    men = [await youth(factory, gender="male") for _ in range(3)]
    for m in men:
        await sign_up(client, event_id, m)
    url = f"{API}/provider/events/{event_id}/capacity"
    r = await client.put(url, json={"capacity": 3, "quotas": {"male": 1, "female": 2}}, headers=organiser.headers)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_CAPACITY_BELOW_CONFIRMED"
    r = await client.put(url, json={"capacity": 4}, headers=organiser.headers)
    assert r.status_code == 422  # this event splits places by gender
    r = await client.put(url, json={"capacity": 5, "quotas": {"male": 3, "female": 2}}, headers=organiser.headers)
    assert r.status_code == 200
    male = next(q for q in r.json()["quotas"] if q["key"] == "male")
    assert (male["capacity"], male["confirmed"], male["waitlisted"]) == (3, 3, 0)
    assert [n["kind"] for n in await notifications_of(client, men[2])] == ["event.promoted"]
    r = await client.put(url, json={"capacity": 4, "quotas": {"male": 3, "female": 1}}, headers=organiser.headers)
    assert r.status_code == 200 and r.json()["capacity"] == 4


async def test_cancelling_the_event_notifies_everyone_and_stops_sign_ups(client, factory):
    event_id, organiser = await create_event(client, factory, capacity=2, quotas=(1, 1))
    people = [await youth(factory, gender="male") for _ in range(2)]
    for p in people:
        await sign_up(client, event_id, p)
    r = await client.post(f"{API}/provider/events/{event_id}/cancel", json={"reason": "场地临时维修"},
                          headers=organiser.headers)
    assert r.status_code == 200 and r.json()["cancelled_at"]
    for p in people:
        mine = (await client.get(f"{API}/events/{event_id}/registrations/mine", headers=p.headers)).json()
        assert mine["status"] == "event_cancelled"
        notes = await notifications_of(client, p)
        assert notes[0]["kind"] == "event.cancelled" and "场地临时维修" in notes[0]["body"]
    newcomer = await youth(factory, gender="female")
    r = await sign_up(client, event_id, newcomer)
    assert r.status_code == 409 and r.json()["code"] == "EVENT_CANCELLED"
    again = await client.post(f"{API}/provider/events/{event_id}/cancel", json={"reason": "再次取消"},
                              headers=organiser.headers)
    assert again.status_code == 409


# --- rush ---------------------------------------------------------------------------------------------


async def rush(client: Any, factory: Any, *, per_gender: int, quota: int, dup_keyed: int, dup_plain: int
               ) -> tuple[int, list[Actor], list[tuple[Actor, Any]]]:
    event_id, _ = await create_event(client, factory, capacity=2 * quota, quotas=(quota, quota))
    people = await bulk_youth(["male"] * per_gender + ["female"] * per_gender)
    gender = {p.user_id: ("male" if i < per_gender else "female") for i, p in enumerate(people)}
    calls: list[tuple[Actor, dict[str, str]]] = []
    for i, p in enumerate(people):
        if i < dup_keyed:
            key = {"Idempotency-Key": uuid.uuid4().hex}
            calls += [(p, key), (p, key)]
        elif i < dup_keyed + dup_plain:
            calls += [(p, {}), (p, {})]
        else:
            calls.append((p, {}))
    random.shuffle(calls)
    responses = await asyncio.gather(*(sign_up(client, event_id, p, **h) for p, h in calls))
    for p in people:
        p.profile = {"gender": gender[p.user_id]}
    return event_id, people, list(zip((p for p, _ in calls), responses, strict=True))


async def assert_no_overselling(event_id: int, people: list[Actor], results: list[tuple[Actor, Any]], quota: int
                                ) -> dict[str, list[Any]]:
    from app.db import session_scope
    from models.events import EventQuota
    from models.events import EventRegistration as Reg

    assert all(r.status_code == 201 for _, r in results), {r.text for _, r in results if r.status_code != 201}
    async with session_scope() as session:
        regs = (await session.execute(select(Reg).where(Reg.event_id == event_id).order_by(Reg.id))).scalars().all()
        quotas = {q.quota_key: q for q in (await session.execute(
            select(EventQuota).where(EventQuota.event_id == event_id))).scalars()}
        per_user = (await session.execute(
            select(Reg.user_id, func.count()).where(Reg.event_id == event_id).group_by(Reg.user_id))).all()
    assert len(regs) == len(people) and all(n == 1 for _, n in per_user)  # nobody holds two
    by_id = {r.id: r for r in regs}
    queues: dict[str, list[Any]] = {}
    for key in ("male", "female"):
        confirmed = [r for r in regs if r.quota_key == key and r.status == "confirmed"]
        queues[key] = [r for r in regs if r.quota_key == key and r.status == "waitlisted"]
        assert len(confirmed) == quota == quotas[key].taken
        assert len(queues[key]) == len(people) // 2 - quota
    answered: dict[int, set[int]] = {}
    for person, r in results:
        data = r.json()
        answered.setdefault(person.user_id, set()).add(data["id"])
        assert by_id[data["id"]].user_id == person.user_id and data["quota_key"] == person.profile["gender"]
        if data["status"] == "confirmed":  # told "confirmed" → still confirmed
            assert by_id[data["id"]].status == "confirmed"
    assert all(len(ids) == 1 for ids in answered.values())  # duplicates got the same registration
    return queues


async def test_a_small_rush_with_duplicates_confirms_exactly_the_quotas(client, factory, signup_path):
    event_id, people, results = await rush(client, factory, per_gender=12, quota=3, dup_keyed=3, dup_plain=3)
    await assert_no_overselling(event_id, people, results, quota=3)


@pytest.fixture
async def patient_pool(settings: Any) -> Any:
    """Hundreds of requests queue for a pooled connection; on a slow or busy machine the default checkout
    and connect timeouts would turn that queue into 503s, which is not what the rush test is about."""
    from app.db import dispose_engine

    before = settings.db_pool_timeout_seconds, settings.db_connect_timeout_seconds
    await dispose_engine()
    settings.db_pool_timeout_seconds, settings.db_connect_timeout_seconds = 120, 60
    yield
    await dispose_engine()
    settings.db_pool_timeout_seconds, settings.db_connect_timeout_seconds = before


@pytest.mark.postgres
async def test_400_concurrent_sign_ups_never_oversell_and_waitlist_in_arrival_order(client, factory, signup_path, patient_pool):
    event_id, people, results = await rush(client, factory, per_gender=180, quota=20, dup_keyed=20, dup_plain=20)
    queues = await assert_no_overselling(event_id, people, results, quota=20)
    by_user = {p.user_id: p for p in people}
    for key, queue in queues.items():  # positions follow arrival at the database (registration order)
        for expected, reg in list(enumerate(queue, start=1))[:5]:
            r = await client.get(f"{API}/events/{event_id}/registrations/mine", headers=by_user[reg.user_id].headers)
            assert r.json()["waitlist_position"] == expected, key
    # A confirmed man cancels: the earliest waiting man gets the place, nobody else moves.
    leaver = next(p for p, r in results if r.json()["status"] == "confirmed" and p.profile["gender"] == "male")
    await client.delete(f"{API}/events/{event_id}/registrations/mine", headers=leaver.headers)
    first_man = by_user[queues["male"][0].user_id]
    mine = (await client.get(f"{API}/events/{event_id}/registrations/mine", headers=first_man.headers)).json()
    assert mine["status"] == "confirmed"
    second_man = by_user[queues["male"][1].user_id]
    mine = (await client.get(f"{API}/events/{event_id}/registrations/mine", headers=second_man.headers)).json()
    assert mine["waitlist_position"] == 1


def test_the_events_settings_and_the_restriction_policy_are_documented():
    from app.services.events.settings import EventSettings
    from app.services.restrictions import RestrictionSettings
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for cls in (EventSettings, RestrictionSettings):
        for name in cls.model_fields:
            assert f"`YOUTH_{name.upper()}`" in readme, name
