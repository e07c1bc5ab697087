"""My timeline: everything a person applied for, across services, newest activity first, with history
and what to do next; keyset pages; filters; a page costs the same statements however long the history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from app.db import get_engine, session_scope
from models.openings import OpeningApplication
from tests.api.test_openings import RESUME, interview_body
from tests.factories import Actor, bulk_youth, now, published, volunteer_shift

API = "/api/v1"


async def everything(client: Any, person: Actor) -> dict[str, Any]:
    """One item in each service: a housing offer, an event registration, a counselling booking, a
    volunteer sign-up that was cancelled, an opening application invited to an interview and one
    offered a place."""
    provider, project = await published(client, "housing_project")
    r = await client.post(f"{API}/housing/projects/{project['id']}/applications",
                          json={"unit_type_id": project["unit_types"][0]["id"]}, headers=person.headers)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = await client.post(f"{API}/provider/housing/applications/{app_id}/decision", json={"decision": "eligible"},
                          headers=provider.headers)
    assert r.status_code == 200, r.text

    _, ev = await published(client, "event")
    r = await client.post(f"{API}/events/{ev['id']}/registrations", headers=person.headers)
    assert r.status_code == 201, r.text

    centre, counsellor = await published(client, "counsellor")
    r = await client.post(f"{API}/provider/counselling/counsellors/{counsellor['id']}/slots", headers=centre.headers,
                          json={"starts_at": (now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
                                .isoformat(), "duration_minutes": 50})
    assert r.status_code == 201, r.text
    r = await client.post(f"{API}/counselling/bookings", headers=person.headers, json={
        "slot_id": r.json()["id"], "mode": "video",
        "intake": {"topic": "study_stress", "description": "", "self_harm_thoughts": False}})
    assert r.status_code == 201, r.text

    _, vp = await published(client, "volunteer_project", shifts=[volunteer_shift()])
    sid = vp["shifts"][0]["id"]
    assert (await client.post(f"{API}/volunteer/shifts/{sid}/signups", headers=person.headers)).status_code == 201
    assert (await client.delete(f"{API}/volunteer/shifts/{sid}/signups/mine", headers=person.headers)).status_code == 200

    interviewed = await opening_application(client, person, "interview", interview_body())
    offered = await opening_application(client, person, "offer", {"note": "欢迎加入"})
    return {"application_id": app_id, "event_id": ev["id"], "shift_id": sid, "interviewed": interviewed,
            "offered": offered}


async def opening_application(client: Any, person: Actor, move: str, body: dict[str, Any]) -> int:
    """An application to an internship of its own, taken by its employer through ``move``."""
    employer, post = await published(client, "opening")
    r = await client.post(f"{API}/openings/{post['id']}/applications", json={"resume": RESUME}, headers=person.headers)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = await client.post(f"{API}/provider/opening-applications/{app_id}/{move}", json=body, headers=employer.headers)
    assert r.status_code == 200, r.text
    return app_id


async def page(client: Any, person: Actor, **params: Any) -> dict[str, Any]:
    r = await client.get(f"{API}/me/timeline", params=params, headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_timeline_lists_every_service_with_history_and_next_steps(client):
    person, stranger = await bulk_youth(2)
    ids = await everything(client, person)
    items = (await page(client, person))["items"]
    assert [i["service"] for i in items] == [  # newest first
        "openings", "openings", "volunteer", "counselling", "events", "housing"]
    by = {i["service"]: i for i in items[2:]}
    housing = by["housing"]
    assert housing["status"] == "offered" and housing["needs_action"] is True
    assert housing["next_step"]["by"] and housing["links"]["application_id"] == ids["application_id"]
    assert [h["status"] for h in housing["history"]][-1] == "offered" and len(housing["history"]) >= 2
    assert by["events"]["status"] == "confirmed" and by["events"]["next_step"]["opens_at"]
    assert by["counselling"]["status"] == "booked" and by["counselling"]["needs_action"] is False
    assert "intake" not in str(by["counselling"])
    volunteer = by["volunteer"]
    assert volunteer["status"] == "cancelled" and [h["status"] for h in volunteer["history"]] == [
        "signed_up", "cancelled"] and volunteer["next_step"] is None
    offered, interviewed = items[:2]
    assert (offered["id"], interviewed["id"]) == (ids["offered"], ids["interviewed"])
    assert offered["kind"] == "internship_application" and offered["status"] == "offered"
    assert offered["needs_action"] is True and offered["next_step"]["by"]
    assert [h["status"] for h in offered["history"]] == ["submitted", "offered"]
    assert offered["links"] == {"application_id": ids["offered"], "opening_id": offered["links"]["opening_id"]}
    assert interviewed["status"] == "interview" and interviewed["needs_action"] is False
    assert interviewed["next_step"]["opens_at"] and "春融街" in interviewed["next_step"]["label"]
    assert "resume" not in str(interviewed) and "13812345678" not in str(items)

    acting = (await page(client, person, needs_action="true"))["items"]
    assert {i["service"] for i in acting} == {"housing", "events", "openings"}
    assert [i["id"] for i in acting if i["service"] == "openings"] == [ids["offered"]]
    only = (await page(client, person, service="counselling"))["items"]
    assert [i["service"] for i in only] == ["counselling"]
    assert (await page(client, stranger))["items"] == []

    # keyset pages, one item each, give the same list; a cursor from another filter is refused
    seen, cursor = [], None
    while True:
        p = await page(client, person, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [(i["service"], i["id"]) for i in p["items"]]
        cursor = p["next_cursor"]
        if not cursor:
            break
    assert seen == [(i["service"], i["id"]) for i in items]
    first = await page(client, person, limit=1)
    r = await client.get(f"{API}/me/timeline", params={"cursor": first["next_cursor"], "service": "housing"},
                         headers=person.headers)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CURSOR"
    r = await client.get(f"{API}/me/timeline", params={"service": "nope"}, headers=person.headers)
    assert r.status_code == 422


async def test_a_lapsed_offer_shows_as_lapsed_before_the_sweeper_runs(client, travel):
    person, = await bulk_youth(1)
    ids = await everything(client, person)
    travel(now() + timedelta(days=30))
    housing = next(i for i in (await page(client, person, service="housing"))["items"]
               if i["id"] == ids["application_id"])
    assert housing["status"] == "expired" and housing["needs_action"] is False
    assert housing["history"][-1]["status"] == "expired" and housing["history"][-1]["reason"]
    # the event has ended without a check-in: a no-show, shown before the sweeper records it
    ev = (await page(client, person, service="events"))["items"][0]
    assert ev["status"] == "no_show" and ev["history"][-1]["status"] == "no_show" and ev["needs_action"] is False
    openings = {i["id"]: i for i in (await page(client, person, service="openings"))["items"]}
    lapsed, passed = openings[ids["offered"]], openings[ids["interviewed"]]
    assert lapsed["status"] == "lapsed" and lapsed["needs_action"] is False and lapsed["next_step"] is None
    assert [h["status"] for h in lapsed["history"]] == ["submitted", "offered", "lapsed"]
    assert lapsed["history"][-1]["reason"] and lapsed["activity_at"] == lapsed["history"][-1]["at"]
    assert passed["status"] == "interview" and passed["next_step"] is None  # the interview is over
    async with session_scope() as s:  # shown, not written: the sweeper stores the lapse
        assert (await s.get(OpeningApplication, ids["offered"])).status == "offered"


async def test_a_page_costs_the_same_statements_however_long_the_history(client):
    person, = await bulk_youth(1)
    await everything(client, person)

    async def statements() -> int:
        count = 0

        def seen(*_: Any) -> None:
            nonlocal count
            count += 1

        engine = get_engine().sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            await page(client, person, limit=50)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        return count

    small = await statements()
    # nine more sign-ups (and cancellations), each in a project of its own
    start = now() + timedelta(days=5)
    for i in range(9):
        _, vp = await published(client, "volunteer_project",
                                shifts=[volunteer_shift(start=start + timedelta(hours=4 * i), hours=1)])
        sid = vp["shifts"][0]["id"]
        assert (await client.post(f"{API}/volunteer/shifts/{sid}/signups", headers=person.headers)).status_code == 201
    # and three more opening applications, in other states
    for move, body in (("offer", {}), ("interview", interview_body(3)), ("reject", {"reason_code": "not_qualified", "reason": "名额已有人选"})):
        await opening_application(client, person, move, body)
    assert len((await page(client, person, limit=50))["items"]) == 18
    assert await statements() == small
