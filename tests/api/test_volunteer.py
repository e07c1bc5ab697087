"""Volunteering (志愿之城) as its people meet it: organisers post projects through review, young people
find and sign up for shifts, check in and out, get their hours confirmed, disputed and corrected, see
their record and star level, and get certificates that anyone can verify."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app import clock
from app.db import session_scope
from app.kit import sweeper
from app.kit.time import local_day
from tests.api.test_events import patient_pool  # noqa: F401  (the rush waits for a connection, never a 503)
from tests.factories import (
    Actor,
    bulk_youth,
    draft,
    now,
    organisation,
    published,
    volunteer_project_body,
    volunteer_shift,
)

API = "/api/v1"
DIANCHI = (24.9637, 102.6644)  # the project's place in the builder


async def project(client: Any, provider: Actor | None = None, **over: Any) -> tuple[Actor, dict[str, Any]]:
    return await published(client, "volunteer_project", provider, **over)


def shift_ids(p: dict[str, Any]) -> list[int]:
    return [s["id"] for s in p["shifts"]]


async def sign_up(client: Any, person: Actor, shift_id: int, body: dict[str, Any] | None = None,
                  key: str | None = None) -> Any:
    headers = {**person.headers, **({"Idempotency-Key": key} if key else {})}
    return await client.post(f"{API}/volunteer/shifts/{shift_id}/signups", json=body, headers=headers)


async def notes(client: Any, person: Actor) -> list[dict[str, Any]]:
    r = await client.get(f"{API}/me/notifications", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def youth(n: int = 1, *, age: int = 25) -> list[Actor]:
    today = date.today()
    return await bulk_youth(n, birth_date=date(today.year - age - 1, today.month, 1) + timedelta(days=200))


def birth_for_age(age: int, on: date) -> date:
    """Somebody who is ``age`` on day ``on`` (and the weeks around it)."""
    return date(on.year - age, 1, 1) if on.month > 2 else date(on.year - age - 1, 6, 1)


async def sweep(*names: str, at: datetime) -> dict[str, int]:
    return await sweeper.sweep(list(names), now=at)


# --- publishing and browsing --------------------------------------------------------------------------


async def test_a_project_is_public_only_after_review_with_places_left_per_shift(client, factory):
    provider, p = await draft(client, "volunteer_project", shifts=[volunteer_shift(capacity=3),
                                                                   volunteer_shift(start=now() + timedelta(days=4))])
    assert p["status"] == "draft" and [s["capacity"] for s in p["shifts"]] == [3, 5]
    assert (await client.get(f"{API}/volunteer/projects/{p['id']}")).status_code == 404
    await factory.approve("volunteer_project", p["id"], provider)
    detail = (await client.get(f"{API}/volunteer/projects/{p['id']}")).json()
    assert [s["places_left"] for s in detail["shifts"]] == [3, 5] and detail["places_left"] == 8
    assert detail["contact_phone"] is None  # only for people signed up
    (person,) = await youth()
    assert (await sign_up(client, person, p["shifts"][0]["id"])).status_code == 201
    detail = (await client.get(f"{API}/volunteer/projects/{p['id']}", headers=person.headers)).json()
    assert detail["shifts"][0]["places_left"] == 2 and detail["contact_phone"] == "0871-63100000"
    assert [m["status"] for m in detail["my_signups"]] == ["signed_up"]


async def test_signing_up_is_taking_part_in_the_organisation(client):
    from app.kit.postings import took_part

    organiser, p = await project(client)
    other, _ = await project(client)
    volunteer, bystander = await youth(2)
    assert (await sign_up(client, volunteer, p["shifts"][0]["id"])).status_code == 201
    async with session_scope() as s:
        assert await took_part(s, volunteer.user_id, organiser.org_id)
        assert not await took_part(s, volunteer.user_id, other.org_id)
        assert not await took_part(s, bystander.user_id, organiser.org_id)


async def test_a_provider_of_another_kind_cannot_post_and_another_org_sees_404(client, factory):
    events = await factory.provider("event_organizer")
    r = await client.post(f"{API}/provider/volunteer/projects", json={"title": "x"}, headers=events.headers)
    assert r.status_code == 403
    _, p = await draft(client, "volunteer_project")
    other = await factory.provider("volunteer_org")
    assert (await client.get(f"{API}/provider/volunteer/projects/{p['id']}", headers=other.headers)).status_code == 404
    r = await client.patch(f"{API}/provider/volunteer/shifts/{p['shifts'][0]['id']}", json={"capacity": 9},
                           headers=other.headers)
    assert r.status_code == 404


async def test_shift_times_are_checked(client, factory):
    provider = await factory.provider("volunteer_org")
    start = now() + timedelta(days=2)
    bad = [volunteer_shift(start=start, hours=-1), volunteer_shift(start=now() - timedelta(hours=1)),
           volunteer_shift(start=start, signup_closes_at=(start + timedelta(hours=1)).isoformat()),
           volunteer_shift(start=start, hours=30)]
    for shift in bad:
        r = await client.post(f"{API}/provider/volunteer/projects",
                              json=volunteer_project_body(shifts=[shift]),
                              headers=provider.headers)
        assert r.status_code == 422, r.text
        assert any(k.startswith("shifts.0.") for k in r.json()["fields"])


async def test_listing_filters_by_category_district_dates_open_places_and_distance(client, factory):
    tag = f"筛选{now().timestamp():.0f}"
    soon = now() + timedelta(days=40)
    _, lake = await project(client, title=f"{tag}湖", shifts=[volunteer_shift(start=soon, capacity=1)])
    await project(client, title=f"{tag}校", category="double_reduction", district="五华区", place="翠湖小学",
                              lat=25.0479, lng=102.7039,
                              shifts=[volunteer_shift(start=soon + timedelta(days=2))])

    async def titles(**params: Any) -> list[str]:
        out, cursor = [], None
        while True:
            r = await client.get(f"{API}/volunteer/projects", params={**params, "limit": 50,
                                                                        **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            body = r.json()
            out += [i["title"] for i in body["items"] if i["title"].startswith(tag)]
            cursor = body["next_cursor"]
            if not cursor:
                return out

    day = (soon + timedelta(hours=8)).date()
    assert await titles(date_from=day.isoformat(), date_to=(day + timedelta(days=3)).isoformat()) == [
        f"{tag}湖", f"{tag}校"]
    assert await titles(category="double_reduction", date_from=day.isoformat()) == [f"{tag}校"]
    assert await titles(district="西山区", date_from=day.isoformat()) == [f"{tag}湖"]
    # 1.5 km around the lake shore: the school (15 km away) is not near
    near = await titles(lat=DIANCHI[0] + 0.01, lng=DIANCHI[1], radius_km=1.5, date_from=day.isoformat())
    assert near == [f"{tag}湖"]
    r = await client.get(f"{API}/volunteer/projects", params={"lat": DIANCHI[0], "lng": DIANCHI[1], "limit": 100})
    item = next(i for i in r.json()["items"] if i["id"] == lake["id"])
    assert item["distance_km"] == 0.0
    (person,) = await youth()
    assert (await sign_up(client, person, lake["shifts"][0]["id"])).status_code == 201
    assert await titles(open_only="true", date_from=day.isoformat()) == [f"{tag}校"]


# --- sign-up ------------------------------------------------------------------------------------------


async def test_sign_up_is_idempotent_and_a_full_shift_refuses_with_its_code(client):
    _, p = await project(client, shifts=[volunteer_shift(capacity=1)])
    sid = p["shifts"][0]["id"]
    a, b = await youth(2)
    first = await sign_up(client, a, sid, key="k1")
    replay = await sign_up(client, a, sid, key="k1")
    again = await sign_up(client, a, sid)
    assert first.status_code == replay.status_code == again.status_code == 201
    assert first.json()["id"] == replay.json()["id"] == again.json()["id"]
    assert replay.headers.get("idempotent-replay") == "true"
    r = await sign_up(client, b, sid)
    assert r.status_code == 409 and r.json()["code"] == "VOLUNTEER_SHIFT_FULL"
    assert "1个名额已满" in r.json()["message"]
    assert [n["kind"] for n in await notes(client, a)] == ["volunteer.signed_up"]


async def test_waitlist_when_enabled_and_a_cancellation_promotes_the_first_waiting(client):
    _, p = await project(client, waitlist_enabled=True, shifts=[volunteer_shift(capacity=1)])
    sid = p["shifts"][0]["id"]
    a, b, c = await youth(3)
    assert (await sign_up(client, a, sid)).json()["status"] == "signed_up"
    wb = (await sign_up(client, b, sid)).json()
    wc = (await sign_up(client, c, sid)).json()
    assert (wb["status"], wb["waitlist_position"], wc["waitlist_position"]) == ("waitlisted", 1, 2)
    r = await client.delete(f"{API}/volunteer/shifts/{sid}/signups/mine", headers=a.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["late_cancel"] is False
    mine_b = (await client.get(f"{API}/volunteer/shifts/{sid}/signups/mine", headers=b.headers)).json()
    mine_c = (await client.get(f"{API}/volunteer/shifts/{sid}/signups/mine", headers=c.headers)).json()
    assert (mine_b["status"], mine_c["status"], mine_c["waitlist_position"]) == ("signed_up", "waitlisted", 1)
    assert "volunteer.promoted" in [n["kind"] for n in await notes(client, b)]


async def test_my_sign_ups_list_the_live_upcoming_ones_unless_upcoming_only_is_false(client):
    start = now() + timedelta(days=3)
    _, p = await project(client, shifts=[volunteer_shift(start=start), volunteer_shift(start=start + timedelta(days=1))])
    first, second = shift_ids(p)
    (person,) = await youth()
    assert (await sign_up(client, person, first)).status_code == 201
    assert (await sign_up(client, person, second)).status_code == 201
    assert (await client.delete(f"{API}/volunteer/shifts/{second}/signups/mine", headers=person.headers)).status_code == 200

    async def listed(**params: Any) -> list[tuple[int, str]]:
        r = await client.get(f"{API}/me/volunteer-signups", params=params, headers=person.headers)
        assert r.status_code == 200, r.text
        return [(i["shift_id"], i["status"]) for i in r.json()["items"]]

    assert await listed() == [(first, "signed_up")]  # upcoming_only is the default
    assert await listed(upcoming_only="true") == [(first, "signed_up")]
    assert await listed(upcoming_only="false") == [(second, "cancelled"), (first, "signed_up")]  # newest first


async def test_overlapping_shifts_are_refused_and_back_to_back_shifts_are_fine(client):
    start = now() + timedelta(days=5)
    _, p = await project(client, shifts=[volunteer_shift(start=start, hours=3),
                                         volunteer_shift(start=start + timedelta(hours=3), hours=2),
                                         volunteer_shift(start=start + timedelta(hours=4), hours=2)])
    first, back_to_back, overlapping = shift_ids(p)
    (person,) = await youth()
    assert (await sign_up(client, person, first)).status_code == 201
    assert (await sign_up(client, person, back_to_back)).status_code == 201
    r = await sign_up(client, person, overlapping)
    assert r.status_code == 409 and r.json()["code"] == "VOLUNTEER_SHIFT_OVERLAP"
    # Overlaps count across projects too, and a cancelled sign-up no longer does.
    _, other = await project(client, shifts=[volunteer_shift(start=start + timedelta(hours=1), hours=1)])
    r = await sign_up(client, person, other["shifts"][0]["id"])
    assert r.json()["code"] == "VOLUNTEER_SHIFT_OVERLAP"
    assert (await client.delete(f"{API}/volunteer/shifts/{first}/signups/mine", headers=person.headers)).status_code == 200
    assert (await sign_up(client, person, other["shifts"][0]["id"])).status_code == 201


async def test_age_and_guardian_consent(client, factory):
    start = now() + timedelta(days=6)
    _, adults = await project(client, min_age=18, shifts=[volunteer_shift(start=start)])
    organiser, teens = await project(client, shifts=[volunteer_shift(start=start + timedelta(days=1))])
    (minor,) = await bulk_youth(1, birth_date=birth_for_age(16, start.date()))
    r = await sign_up(client, minor, adults["shifts"][0]["id"])
    assert r.status_code == 403 and r.json()["code"] == "VOLUNTEER_UNDER_AGE" and "18" in r.json()["message"]
    r = await sign_up(client, minor, teens["shifts"][0]["id"])
    assert r.status_code == 403 and r.json()["code"] == "VOLUNTEER_GUARDIAN_CONSENT_REQUIRED"
    body = {"guardian": {"name": "李妈妈", "phone": "13900001111", "consent": True}}
    ok = await sign_up(client, minor, teens["shifts"][0]["id"], body)
    assert ok.status_code == 201, ok.text
    (no_id,) = await bulk_youth(1, birth_date=None)
    r = await sign_up(client, no_id, teens["shifts"][0]["id"])
    assert r.json()["code"] == "VOLUNTEER_PROFILE_REQUIRED"
    # The organiser sees that a guardian agreed; the guardian's phone stays encrypted at rest.
    provider_signups = await client.get(f"{API}/provider/volunteer/shifts/{teens['shifts'][0]['id']}/signups",
                                        headers=organiser.headers)
    row = provider_signups.json()["items"][0]
    assert row["guardian_name"] == "李妈妈" and row["guardian_consent_at"] and row["age"] == 16
    assert row["guardian_phone_masked"] == "139****1111"
    async with session_scope() as s:
        stored = (await s.execute(text("SELECT guardian_phone FROM volunteer_signups WHERE id = :i"),
                                  {"i": ok.json()["id"]})).scalar_one()
    assert "13900001111" not in stored


async def test_closed_started_and_cancelled_shifts_refuse_with_their_codes(client, travel):
    start = now() + timedelta(days=2)
    _, p = await project(client, shifts=[volunteer_shift(start=start, signup_closes_at=(start - timedelta(days=1))
                                                         .isoformat())])
    sid = p["shifts"][0]["id"]
    (person,) = await youth()
    travel(start - timedelta(hours=12))
    assert (await sign_up(client, person, sid)).json()["code"] == "VOLUNTEER_SIGNUP_CLOSED"
    travel(start + timedelta(minutes=1))
    assert (await sign_up(client, person, sid)).json()["code"] == "VOLUNTEER_SHIFT_STARTED"


async def test_cancelling_a_shift_tells_everyone_and_refuses_new_sign_ups(client):
    provider, p = await project(client)
    sid = p["shifts"][0]["id"]
    a, b = await youth(2)
    await sign_up(client, a, sid)
    r = await client.post(f"{API}/provider/volunteer/shifts/{sid}/cancel", json={"reason": "暴雨预警，活动取消"},
                          headers=provider.headers)
    assert r.status_code == 200 and r.json()["shifts"][0]["state"] == "cancelled"
    assert (await sign_up(client, b, sid)).json()["code"] == "VOLUNTEER_SHIFT_CANCELLED"
    body = next(n for n in await notes(client, a) if n["kind"] == "volunteer.shift_cancelled")["body"]
    assert "暴雨预警" in body


async def test_moving_a_shift_notifies_people_and_releases_those_it_would_overlap(client):
    start = now() + timedelta(days=8)
    provider, p = await project(client, shifts=[volunteer_shift(start=start), volunteer_shift(start=start + timedelta(
        hours=5))])
    first, second = shift_ids(p)
    stays, clashes = await youth(2)
    await sign_up(client, stays, first)
    await sign_up(client, clashes, first)
    await sign_up(client, clashes, second)
    moved = start + timedelta(hours=4)
    r = await client.patch(f"{API}/provider/volunteer/shifts/{first}", json={
        "starts_at": moved.isoformat(), "ends_at": (moved + timedelta(hours=2)).isoformat(),
        "signup_closes_at": moved.isoformat(), "place": "海埂公园东门"}, headers=provider.headers)
    assert r.status_code == 200, r.text
    assert r.json()["shifts"][0]["signed_up"] == 1 and r.json()["shifts"][0]["place"] == "海埂公园东门"
    kinds = [n["kind"] for n in await notes(client, stays)]
    assert "volunteer.shift_changed" in kinds
    assert "volunteer.shift_released" in [n["kind"] for n in await notes(client, clashes)]
    mine = (await client.get(f"{API}/volunteer/shifts/{first}/signups/mine", headers=clashes.headers)).json()
    assert mine["status"] == "released"
    kept = (await client.get(f"{API}/volunteer/shifts/{first}/signups/mine", headers=stays.headers)).json()
    assert kept["starts_at"].startswith(moved.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
    r = await client.patch(f"{API}/provider/volunteer/shifts/{first}", json={"capacity": 0}, headers=provider.headers)
    assert r.status_code == 422


# --- late cancellations, no-shows, restrictions --------------------------------------------------------


async def test_late_cancellations_and_no_shows_restrict_through_the_shared_policy(client, travel):
    start = now() + timedelta(days=3)
    provider, p = await project(client, shifts=[volunteer_shift(start=start),
                                                volunteer_shift(start=start + timedelta(days=1)),
                                                volunteer_shift(start=start + timedelta(days=3))])
    late, absent, later = shift_ids(p)
    (person,) = await youth()
    signups = {}
    for sid in (late, absent, later):
        r = await sign_up(client, person, sid)
        assert r.status_code == 201
        signups[sid] = r.json()["id"]
    travel(start - timedelta(hours=2))  # inside the 3-hour cut-off
    r = await client.delete(f"{API}/volunteer/shifts/{late}/signups/mine", headers=person.headers)
    assert r.json()["late_cancel"] is True
    travel(start + timedelta(days=1, hours=5))  # the second shift is over; nobody checked in
    mine = (await client.get(f"{API}/volunteer/shifts/{absent}/signups/mine", headers=person.headers)).json()
    assert mine["status"] == "no_show"  # shown before the sweeper records it
    done = await sweep("volunteer.no_shows", at=start + timedelta(days=1, hours=5))
    assert done["volunteer.no_shows"] >= 1
    kinds = [n["kind"] for n in await notes(client, person)]
    assert "volunteer.no_show" in kinds and "restriction.applied" in kinds
    _, other = await project(client, shifts=[volunteer_shift(start=start + timedelta(days=10))])
    r = await sign_up(client, person, other["shifts"][0]["id"])
    assert r.status_code == 403 and r.json()["code"] == "VOLUNTEER_SIGNUP_RESTRICTED" and "后可再报名" in r.json()["message"]
    # The organiser excuses the no-show (the person was ill): the restriction it caused is lifted.
    waive = f"{API}/provider/volunteer/signups/{signups[absent]}/waive-strike"
    r = await client.post(waive, json={"reason": "当天生病，已电话请假"}, headers=provider.headers)
    assert r.status_code == 200, r.text
    r = await client.post(waive, json={"reason": "当天生病，已电话请假"}, headers=provider.headers)
    assert r.json()["code"] == "VOLUNTEER_NO_STRIKE"
    assert (await sign_up(client, person, other["shifts"][0]["id"])).status_code == 201


# --- attendance -----------------------------------------------------------------------------------------


async def test_self_check_in_refuses_with_the_distance_the_accuracy_or_the_time(client, travel):
    start = now() + timedelta(days=2)
    _, p = await project(client, shifts=[volunteer_shift(start=start, hours=3, check_in_radius_m=300)])
    sid = p["shifts"][0]["id"]
    (person,) = await youth()
    await sign_up(client, person, sid)
    here = {"lat": DIANCHI[0], "lng": DIANCHI[1], "accuracy_m": 20}
    travel(start - timedelta(hours=1))
    r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json=here, headers=person.headers)
    assert r.json()["code"] == "VOLUNTEER_CHECK_IN_NOT_OPEN" and "还早30分钟" in r.json()["message"]
    travel(start - timedelta(minutes=10))
    away = dict(here, lat=DIANCHI[0] + 800 / 111_195)  # 800 m north
    r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json=away, headers=person.headers)
    assert r.status_code == 409 and r.json()["code"] == "VOLUNTEER_TOO_FAR"
    assert "约800米" in r.json()["message"] and "300米" in r.json()["message"]
    r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json=dict(here, accuracy_m=1500),
                          headers=person.headers)
    assert r.json()["code"] == "VOLUNTEER_LOCATION_INACCURATE" and "1.5公里" in r.json()["message"]
    r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json=here, headers=person.headers)
    assert r.status_code == 200 and r.json()["distance_m"] == 0
    r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json=here, headers=person.headers)
    assert r.json()["code"] == "VOLUNTEER_ALREADY_CHECKED_IN"
    travel(start + timedelta(hours=3, minutes=20))  # 3 h 30 min after check-in: capped at the 3-hour shift
    r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-out", json=here, headers=person.headers)
    assert r.status_code == 200, r.text
    hours = r.json()["hours"]
    assert (hours["measured_minutes"], hours["status"]) == (180, "pending")


async def test_an_organiser_scans_tickets_and_hours_round_to_a_quarter_hour(client, travel):
    start = now() + timedelta(days=2)
    provider, p = await project(client, shifts=[volunteer_shift(start=start, hours=4),
                                                volunteer_shift(start=start + timedelta(days=1))])
    sid, other_sid = shift_ids(p)
    (person,) = await youth()
    await sign_up(client, person, sid)
    ticket = (await client.get(f"{API}/volunteer/shifts/{sid}/ticket", headers=person.headers)).json()["ticket"]
    travel(start + timedelta(minutes=5))
    scan = f"{API}/provider/volunteer/shifts"
    r = await client.post(f"{scan}/{other_sid}/check-ins", json={"ticket": ticket}, headers=provider.headers)
    assert r.json()["code"] == "VOLUNTEER_TICKET_WRONG_SHIFT"
    r = await client.post(f"{scan}/{sid}/check-ins", json={"ticket": ticket + "x"}, headers=provider.headers)
    assert r.json()["code"] == "VOLUNTEER_TICKET_INVALID"
    r = await client.post(f"{scan}/{sid}/check-ins", json={"ticket": ticket}, headers=provider.headers)
    assert r.status_code == 200 and r.json()["checked_in_at"]
    travel(start + timedelta(hours=2, minutes=13))  # 2 h 8 min served: 2 h 15 min to the nearest quarter
    r = await client.post(f"{scan}/{sid}/check-outs", json={"ticket": ticket}, headers=provider.headers)
    assert r.status_code == 200 and r.json()["hours"]["measured_minutes"] == 135
    page = (await client.get(f"{scan}/{sid}/signups", headers=provider.headers)).json()
    assert page["items"][0]["minutes"] == 135 and page["items"][0]["hours_status"] == "pending"
    r = await client.get(f"{scan}/{sid}/signups.csv", headers=provider.headers)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["报名编号", "昵称", "姓名"] and rows[1][-2:] == ["2.25", "待确认"]


# --- hours, disputes, the record ----------------------------------------------------------------------


async def _served(client: Any, travel: Any, *, hours: float = 3, person: Actor | None = None,
                  start: datetime | None = None, **over: Any) -> tuple[Actor, Actor, dict[str, Any], int]:
    """A person who served a whole shift (self check-in and out): (organiser, person, project, hours id)."""
    start = start or now() + timedelta(days=2)
    provider, p = await project(client, shifts=[volunteer_shift(start=start, hours=hours)], **over)
    sid = p["shifts"][0]["id"]
    person = person or (await youth())[0]
    assert (await sign_up(client, person, sid)).status_code == 201
    here = {"lat": p["lat"], "lng": p["lng"], "accuracy_m": 10}
    with clock.frozen(start):
        assert (await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json=here,
                                  headers=person.headers)).status_code == 200
    with clock.frozen(start + timedelta(hours=hours)):
        r = await client.post(f"{API}/volunteer/shifts/{sid}/self-check-out", json=here, headers=person.headers)
    assert r.status_code == 200, r.text
    return provider, person, p, r.json()["hours"]["id"]


async def test_hours_count_only_once_confirmed_and_a_dispute_changes_them_with_history(client, travel):
    provider, person, p, hid = await _served(client, travel, hours=3)
    record = (await client.get(f"{API}/me/volunteer-record", headers=person.headers)).json()
    assert (record["total_hours"], record["pending_hours"]) == (0, 3)
    r = await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [hid]}, headers=provider.headers)
    assert r.status_code == 200 and r.json()["updated"][0]["status"] == "confirmed"
    record = (await client.get(f"{API}/me/volunteer-record", headers=person.headers)).json()
    assert record["total_hours"] == 3 and record["by_category"][0]["label"] == "滇池保护"
    assert record["by_project"] == [{"key": str(p["id"]), "label": p["title"], "hours": 3.0}]
    assert record["by_year"][0]["hours"] == 3.0
    r = await client.post(f"{API}/me/volunteer-hours/{hid}/dispute", json={"reason": "我还参加了收尾清点，实际服务4小时"},
                          headers=person.headers)
    assert r.status_code == 200 and r.json()["dispute_status"] == "open"
    r = await client.post(f"{API}/me/volunteer-hours/{hid}/dispute", json={"reason": "再提一次"}, headers=person.headers)
    assert r.json()["code"] == "VOLUNTEER_HOURS_STATE"
    opened = [n for n in await notes(client, provider) if n["kind"] == "volunteer.dispute_opened"]
    assert len(opened) == 1 and "收尾清点" in opened[0]["body"]
    listed = (await client.get(f"{API}/provider/volunteer/hours", params={"dispute_status": "open"},
                               headers=provider.headers)).json()["items"]
    assert [i["id"] for i in listed] == [hid]
    r = await client.post(f"{API}/provider/volunteer/hours/{hid}/answer",
                          json={"reason": "核实签到表，收尾工作确有一小时", "minutes": 240}, headers=provider.headers)
    assert r.status_code == 200 and r.json()["minutes"] == 240
    for dispute_status, expected in (("answered", [hid]), ("open", []), ("none", []), (None, [hid])):
        params = {"dispute_status": dispute_status} if dispute_status else {}
        r = await client.get(f"{API}/provider/volunteer/hours", params=params, headers=provider.headers)
        assert [i["id"] for i in r.json()["items"]] == expected, dispute_status
    detail = (await client.get(f"{API}/me/volunteer-hours/{hid}", headers=person.headers)).json()
    assert [e["action"] for e in detail["history"]] == ["measured", "confirmed", "disputed", "answered"]
    assert detail["history"][-1]["minutes_before"] == 180 and detail["history"][-1]["minutes_after"] == 240
    assert detail["history"][-1]["reason"] == "核实签到表，收尾工作确有一小时"
    assert (await client.get(f"{API}/me/volunteer-record", headers=person.headers)).json()["total_hours"] == 4
    assert "volunteer.dispute_answered" in [n["kind"] for n in await notes(client, person)]


async def test_the_history_is_append_only():
    from sqlalchemy.exc import DBAPIError

    for sql in ("UPDATE volunteer_hours_events SET reason = 'changed'", "DELETE FROM volunteer_hours_events"):
        with pytest.raises(DBAPIError):
            async with session_scope() as s:
                await s.execute(text("INSERT INTO volunteer_hours_events (hours_id, at, action) SELECT id, "
                                     "CURRENT_TIMESTAMP, 'measured' FROM volunteer_hours LIMIT 1"))
                await s.execute(text(sql))


async def test_adjusting_needs_a_reason_and_disputes_close_after_seven_days(client, travel):
    provider, person, _, hid = await _served(client, travel, hours=2)
    r = await client.post(f"{API}/provider/volunteer/hours/adjust", json={"items": [{"id": hid, "minutes": 60}]},
                          headers=provider.headers)
    assert r.status_code == 422
    r = await client.post(f"{API}/provider/volunteer/hours/adjust",
                          json={"items": [{"id": hid, "minutes": 70, "reason": "提前离开"}]}, headers=provider.headers)
    assert r.status_code == 422  # whole quarter hours only
    r = await client.post(f"{API}/provider/volunteer/hours/adjust",
                          json={"items": [{"id": hid, "minutes": 60, "reason": "中途离开一小时"}]}, headers=provider.headers)
    assert r.status_code == 200 and r.json()["updated"][0]["status"] == "confirmed"
    other = await organisation("volunteer_org")
    r = await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [hid]}, headers=other.headers)
    assert r.status_code == 404
    travel(now() + timedelta(days=8))
    r = await client.post(f"{API}/me/volunteer-hours/{hid}/dispute", json={"reason": "时间不对"}, headers=person.headers)
    assert r.json()["code"] == "VOLUNTEER_DISPUTE_WINDOW_CLOSED"


async def test_the_star_level_follows_the_totals(client, travel, monkeypatch):
    from app.services.volunteer.settings import settings

    monkeypatch.setattr(settings(), "volunteer_star_thresholds_hours", [2, 5, 10, 20, 30])
    provider, person, _, first = await _served(client, travel, hours=3)
    await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [first]}, headers=provider.headers)
    record = (await client.get(f"{API}/me/volunteer-record", headers=person.headers)).json()
    assert (record["star_level"], record["next_level"], record["hours_to_next_level"]) == (1, 2, 2.0)
    provider2, _, _, second = await _served(client, travel, hours=2, person=person,
                                            start=now() + timedelta(days=3))
    await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [second]}, headers=provider2.headers)
    record = (await client.get(f"{API}/me/volunteer-record", headers=person.headers)).json()
    assert (record["total_hours"], record["star_level"], record["next_level_hours"]) == (5, 2, 10)


async def test_unconfirmed_hours_remind_the_organiser_once_and_late_organisations_are_listed(client, travel, factory):
    start = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    travel(start - timedelta(days=3))
    provider, _, p, hid = await _served(client, travel, hours=2, start=start)

    async def reminders() -> list[dict[str, Any]]:
        return [n for n in await notes(client, provider) if n["kind"] == "volunteer.hours_overdue"]

    # Seven working days after Monday 11:00 is Wednesday of the next week, 11:00.
    await sweep("volunteer.hours_reminders", at=start + timedelta(days=8, hours=9))
    assert await reminders() == []
    await sweep("volunteer.hours_reminders", at=start + timedelta(days=9, hours=2))
    await sweep("volunteer.hours_reminders", at=start + timedelta(days=9, hours=3))
    overdue = await reminders()
    assert len(overdue) == 1 and p["title"] in overdue[0]["body"]
    staff = await factory.reviewer()

    async def late() -> list[int]:
        r = await client.get(f"{API}/staff/volunteer/late-organisations", params={"limit": 100},
                             headers=staff.headers)
        assert r.status_code == 200, r.text
        return [o["org_id"] for o in r.json()["items"]]

    travel(start + timedelta(days=12))  # working day 9
    assert provider.org_id not in await late()
    travel(start + timedelta(days=15))  # past 10 working days
    assert provider.org_id in await late()
    await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [hid]}, headers=provider.headers)
    assert provider.org_id not in await late()


async def test_checked_in_without_checking_out_leaves_zero_hours_for_the_organiser(client, travel):
    start = now() + timedelta(days=2)
    provider, p = await project(client, shifts=[volunteer_shift(start=start, hours=2)])
    sid = p["shifts"][0]["id"]
    (person,) = await youth()
    await sign_up(client, person, sid)
    travel(start)
    await client.post(f"{API}/volunteer/shifts/{sid}/self-check-in", json={"lat": p["lat"], "lng": p["lng"],
                                                                           "accuracy_m": 5}, headers=person.headers)
    await sweep("volunteer.no_shows", at=start + timedelta(hours=4))
    items = (await client.get(f"{API}/provider/volunteer/hours", params={"shift_id": sid},
                              headers=provider.headers)).json()["items"]
    assert [(i["minutes"], i["missing_check_out"], i["status"]) for i in items] == [(0, True, "pending")]


# --- certificates -----------------------------------------------------------------------------------------


async def _certified(client: Any, travel: Any) -> tuple[Actor, Actor, dict[str, Any], int, dict[str, Any]]:
    provider, person, p, hid = await _served(client, travel, hours=3)
    await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [hid]}, headers=provider.headers)
    r = await client.post(f"{API}/me/volunteer-certificates", json={"scope": "project", "project_id": p["id"]},
                          headers=person.headers)
    assert r.status_code == 201, r.text
    return provider, person, p, hid, r.json()


async def test_a_certificate_verifies_publicly_and_mistyped_or_forged_codes_do_not(client, travel):
    from app.services.volunteer.certificates import ALPHABET, check_char

    _, _, p, _, cert = await _certified(client, travel)
    assert cert["total_hours"] == 3 and cert["organisations"][0]["hours"] == 3
    assert cert["projects"][0]["title"] == p["title"] and cert["holder_id_number_masked"].startswith("5301")
    code = cert["code"]
    assert len(code.replace("-", "")) == 17 and cert["verify_url"].endswith(f"/api/v1/certificates/{code}")
    r = await client.get(f"{API}/certificates/{code.lower()}")
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["valid"] is True and v["total_hours"] == 3 and v["organisations"] == [cert["organisations"][0]["name"]]
    assert v["holder_name"] != cert["holder_name"] and "*" in v["holder_name"]
    assert "5301" not in r.text and "全国志愿服务信息系统" in v["notice"]
    raw = code.replace("-", "")
    typo = raw[:3] + ALPHABET[(ALPHABET.index(raw[3]) + 1) % 32] + raw[4:]
    swapped = raw[:5] + raw[6] + raw[5] + raw[7:] if raw[5] != raw[6] else typo
    for bad in (typo, swapped, raw[:-1]):
        r = await client.get(f"{API}/certificates/{bad}")
        assert r.status_code == 400 and r.json()["code"] == "CERTIFICATE_CODE_MISTYPED", bad
    payload = "".join(reversed(raw[:-1]))
    forged = payload + check_char(payload)
    r = await client.get(f"{API}/certificates/{forged}")
    assert r.status_code == 404 and r.json()["code"] == "CERTIFICATE_NOT_FOUND"


async def test_a_corrected_record_revokes_the_certificate_and_a_new_one_can_be_issued(client, travel, factory):
    provider, person, p, hid, cert = await _certified(client, travel)
    r = await client.post(f"{API}/provider/volunteer/hours/adjust",
                          json={"items": [{"id": hid, "minutes": 120, "reason": "核对签到表后更正"}]},
                          headers=provider.headers)
    assert r.status_code == 200
    v = (await client.get(f"{API}/certificates/{cert['code']}")).json()
    assert (v["valid"], v["status"], v["revoke_kind"]) == (False, "revoked", "hours_corrected")
    mine = (await client.get(f"{API}/me/volunteer-certificates/{cert['id']}", headers=person.headers)).json()
    assert mine["status"] == "revoked" and "更正" in mine["revoked_reason"]
    assert "volunteer.certificate_revoked" in [n["kind"] for n in await notes(client, person)]
    r = await client.get(f"{API}/me/volunteer-certificates/{cert['id']}/pdf", headers=person.headers)
    assert r.json()["code"] == "CERTIFICATE_ALREADY_REVOKED"
    again = await client.post(f"{API}/me/volunteer-certificates", json={"scope": "project", "project_id": p["id"]},
                              headers=person.headers)
    assert again.status_code == 201 and again.json()["total_hours"] == 2 and again.json()["code"] != cert["code"]
    # Staff find every certificate and may revoke one; the look-up is audited.
    staff = await factory.reviewer()
    found = (await client.get(f"{API}/staff/volunteer/certificates", params={"user_id": person.user_id},
                              headers=staff.headers)).json()["items"]
    assert [c["status"] for c in found] == ["valid", "revoked"]
    issued = local_day(datetime.fromisoformat(found[0]["issued_at"]))
    for date_from, date_to, n in ((issued, issued, 2), (issued - timedelta(days=9), issued - timedelta(days=1), 0),
                                  (issued + timedelta(days=1), None, 0)):
        params = {"user_id": person.user_id, "date_from": date_from.isoformat(),
                  **({"date_to": date_to.isoformat()} if date_to else {})}
        r = await client.get(f"{API}/staff/volunteer/certificates", params=params, headers=staff.headers)
        assert len(r.json()["items"]) == n, params
    r = await client.get(f"{API}/staff/volunteer/certificates", params={"code": "NOT-A-CODE"}, headers=staff.headers)
    assert r.json()["code"] == "CERTIFICATE_CODE_MISTYPED"
    r = await client.post(f"{API}/staff/volunteer/certificates/{found[0]['id']}/revoke", json={"reason": "持有人申请作废"},
                          headers=staff.headers)
    assert r.status_code == 200 and r.json()["revoke_kind"] == "staff"
    log = (await client.get(f"{API}/staff/audit-log", params={"action": "volunteer_certificate.search"},
                            headers=staff.headers)).json()["items"]
    assert log and log[0]["actor_id"] == staff.user_id


async def test_a_period_certificate_needs_confirmed_hours_and_a_real_name(client, travel):
    (person,) = await bulk_youth(1, real_name=None)
    r = await client.post(f"{API}/me/volunteer-certificates", json={"scope": "period", "date_from": "2026-01-01",
                                                                     "date_to": "2026-12-31"}, headers=person.headers)
    assert r.json()["code"] == "VOLUNTEER_CERTIFICATE_PROFILE_REQUIRED"
    (named,) = await youth()
    r = await client.post(f"{API}/me/volunteer-certificates", json={"scope": "period", "date_from": "2026-01-01",
                                                                     "date_to": "2026-12-31"}, headers=named.headers)
    assert r.json()["code"] == "VOLUNTEER_NO_HOURS"
    r = await client.post(f"{API}/me/volunteer-certificates", json={"scope": "period", "date_from": "2026-12-31",
                                                                     "date_to": "2026-01-01"}, headers=named.headers)
    assert r.status_code == 422


def _pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and pixels of a binary PGM (P5) as pdftoppm -gray writes it."""
    data = path.read_bytes()
    fields: list[bytes] = []
    i = 0
    while len(fields) < 4:  # magic, width, height, maxval: separated by whitespace, then one byte
        while data[i:i + 1].isspace():
            i += 1
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(data[i:j])
        i = j
    assert fields[0] == b"P5" and fields[3] == b"255"
    return int(fields[1]), int(fields[2]), data[i + 1:]


async def test_the_pdf_shows_chinese_text_and_a_qr_code_of_the_verification_link(client, travel):
    zxingcpp = pytest.importorskip("zxingcpp")
    _, person, p, _, cert = await _certified(client, travel)
    r = await client.get(f"{API}/me/volunteer-certificates/{cert['id']}/pdf", headers=person.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "c.pdf"
        pdf.write_bytes(r.content)
        words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        # Typst spaces Latin characters apart from Chinese ones; compare without any whitespace.
        flat = "".join(words.split())
        for expected in ("志愿服务证明", cert["holder_name"], p["title"], "滇池保护", "累计志愿服务时长3小时", cert["code"]):
            assert expected in flat, (expected, words)
        subprocess.run(["pdftoppm", "-r", "150", "-gray", "-singlefile", str(pdf), str(Path(tmp) / "page")],
                       check=True)
        width, height, pixels = _pgm(Path(tmp) / "page.pgm")
        found = zxingcpp.read_barcodes(memoryview(pixels).cast("B", shape=[height, width]))
    assert [b.text for b in found] == [cert["verify_url"]]


async def test_certificates_of_someone_else_are_not_found(client, travel):
    _, _, _, _, cert = await _certified(client, travel)
    (other,) = await youth()
    for path in (f"/me/volunteer-certificates/{cert['id']}", f"/me/volunteer-certificates/{cert['id']}/pdf"):
        assert (await client.get(f"{API}{path}", headers=other.headers)).status_code == 404


# --- concurrency ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("patient_pool")
async def test_two_hundred_people_at_once_fill_exactly_twenty_places(client):
    _, p = await project(client, shifts=[volunteer_shift(capacity=20)])
    sid = p["shifts"][0]["id"]
    people = await youth(200)
    answers = await asyncio.gather(*(sign_up(client, person, sid) for person in people))
    codes = sorted({r.status_code for r in answers})
    assert codes == [201, 409], codes
    assert sum(r.status_code == 201 for r in answers) == 20
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"VOLUNTEER_SHIFT_FULL"}
    async with session_scope() as s:
        from models.volunteer import VolunteerShift, VolunteerSignup

        taken = (await s.execute(select(VolunteerShift.taken).where(VolunteerShift.id == sid))).scalar_one()
        rows = (await s.execute(select(VolunteerSignup.status).where(VolunteerSignup.shift_id == sid))).scalars().all()
    assert taken == 20 and rows == ["signed_up"] * 20


@pytest.mark.usefixtures("patient_pool")
async def test_two_overlapping_shifts_signed_up_for_at_the_same_moment_leave_one(client):
    start = now() + timedelta(days=9)
    _, a = await project(client, shifts=[volunteer_shift(start=start, hours=3, capacity=20)])
    _, b = await project(client, shifts=[volunteer_shift(start=start + timedelta(hours=1), hours=3, capacity=20)])
    people = await youth(10)
    for person in people:
        first, second = await asyncio.gather(sign_up(client, person, a["shifts"][0]["id"]),
                                             sign_up(client, person, b["shifts"][0]["id"]))
        assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
        assert {first.json().get("code"), second.json().get("code")} >= {"VOLUNTEER_SHIFT_OVERLAP"}
