"""A small world for the authorisation matrix: two young people, two organisations of each service kind,
staff, and one resource of each kind owned by the first of each pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Actor, Factory, make_credit_code, unique
from tests.factories import account

API = "/api/v1"


@dataclass
class World:
    anon: None
    youth: Actor
    other_youth: Actor
    moderator: Actor
    admin: Actor
    owners: dict[str, Actor] = field(default_factory=dict)  # by service
    others: dict[str, Actor] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)  # path parameter → value


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def _ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()


async def build(client: Any) -> World:
    f = Factory(client)
    youth = await f.youth(profile=True, gender="male")
    other = await f.youth(profile=True, gender="female")
    w = World(None, youth, other, await f.staff("moderator"), await f.staff("admin"))
    for service, kind in (("housing", "housing_operator"), ("events", "event_organizer"),
                          ("counselling", "counselling_center"), ("volunteer", "volunteer_org"),
                          ("openings", "employer")):
        w.owners[service] = await f.provider(kind)
        w.others[service] = await f.provider(kind)
    w.owners["platform"], w.others["platform"] = w.owners["housing"], w.others["housing"]
    staff = w.moderator

    async def publish(kind: str, pid: int, owner: Actor) -> None:
        await _ok(await client.post(f"{API}/provider/postings/{kind}/{pid}/submit", headers=owner.headers))
        await _ok(await client.post(f"{API}/staff/reviews/{kind}/{pid}/approve", headers=staff.headers))

    # housing: a published project the young person applied to and likes, and one waiting for review
    h = w.owners["housing"]
    project = {
        "name": f"春城青居{unique('m')}", "district": "五华区", "address": "昆明市五华区人民中路1号", "lat": 25.04,
        "lng": 102.71, "description": "近地铁", "allocation": "first_come",
        "unit_types": [{"layout": "studio", "area_sqm": 30, "rent_fen": 120000, "total_units": 10,
                        "available_units": 3}],
    }
    p = await _ok(await client.post(f"{API}/provider/housing/projects", json=project, headers=h.headers), 201)
    await publish("housing_project", p["id"], h)
    app = await _ok(await client.post(f"{API}/housing/projects/{p['id']}/applications",
                                      json={"unit_type_id": p["unit_types"][0]["id"]}, headers=youth.headers), 201)
    await _ok(await client.put(f"{API}/housing/projects/{p['id']}/favourite", headers=youth.headers))
    pending = await _ok(await client.post(f"{API}/provider/housing/projects", json=dict(project, name=unique("q")),
                                          headers=h.headers), 201)
    await _ok(await client.post(f"{API}/provider/postings/housing_project/{pending['id']}/submit", headers=h.headers))
    w.ids.update(project_id=p["id"], unit_type_id=p["unit_types"][0]["id"], application_id=app["id"],
                 kind="housing_project", posting_id=pending["id"])

    # events: a published event with sign-up open; the young person holds a place
    e = w.owners["events"]
    start = _now() + timedelta(days=3)
    event = {
        "title": "周末单身青年交友活动", "description": "破冰游戏", "venue_name": "翠湖公园", "venue_address": "昆明市五华区",
        "district": "五华区", "latitude": 25.048, "longitude": 102.704, "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "signup_opens_at": (_now() - timedelta(hours=1)).isoformat(),
        "signup_closes_at": (start - timedelta(hours=2)).isoformat(), "capacity": 10,
        "quotas": {"male": 5, "female": 5},
    }
    ev = await _ok(await client.post(f"{API}/provider/events", json=event, headers=e.headers), 201)
    await publish("event", ev["id"], e)
    reg = await _ok(await client.post(f"{API}/events/{ev['id']}/registrations", headers=youth.headers), 201)
    w.ids["event_id"] = ev["id"]
    w.ids["registration_id"] = reg["id"]

    # counselling: a published counsellor with free slots (the owner's account is the counsellor, so the
    # owner is the booked counsellor); the young person booked one, the other young person booked one
    # with a risk answer and missed an earlier session (a no-show)
    c = w.owners["counselling"]
    counsellor = {"display_name": "周老师", "gender": "female", "qualifications": ["国家二级心理咨询师"],
                  "specialties": ["emotions"], "modes": ["video"], "languages": ["普通话"], "user_id": c.user_id}
    co = await _ok(await client.post(f"{API}/provider/counselling/counsellors", json=counsellor, headers=c.headers), 201)
    await publish("counsellor", co["id"], c)
    slots = []
    for day in (3, 4, 5, 6):
        s = await _ok(await client.post(f"{API}/provider/counselling/counsellors/{co['id']}/slots",
                                        json={"starts_at": (_now() + timedelta(days=day)).isoformat()},
                                        headers=c.headers), 201)
        slots.append(s["id"])
    booking = await _ok(await client.post(f"{API}/counselling/bookings", json={
        "slot_id": slots[0], "mode": "video",
        "intake": {"topic": "study_stress", "description": "考试压力", "self_harm_thoughts": False}},
        headers=youth.headers), 201)
    w.ids.update(counsellor_id=co["id"], slot_id=slots[2], booking_id=booking["id"], free_slot=slots[1])
    w.ids["past_booking_id"] = await _past_booking(c, co["id"], youth)
    risky = await _ok(await client.post(f"{API}/counselling/bookings", json={
        "slot_id": slots[3], "mode": "video",
        "intake": {"topic": "emotions", "description": "", "self_harm_thoughts": True}}, headers=other.headers), 201)
    struck = await _past_booking(c, co["id"], other, hours_ago=3)
    await _ok(await client.post(f"{API}/provider/counselling/bookings/{struck}/attendance",
                                json={"status": "no_show"}, headers=c.headers))
    w.ids.update(risk_booking_id=risky["id"], struck_booking_id=struck)

    await _volunteering(client, w, publish)
    await _openings(client, w, publish)

    # platform: an organisation waiting for verification, a report, an editor of the platform owner's organisation
    signup = {"name": "待审核机构", "kind": "employer", "credit_code": make_credit_code(), "contact_name": "李",
              "contact_phone": "0871-1234567", "owner_username": unique("pend"), "owner_password": "pending-pass-123"}
    org = await _ok(await client.post(f"{API}/provider/signup", json=signup), 201)
    report = await _ok(await client.post(f"{API}/reports", json={"target_kind": "event", "target_id": ev["id"],
                                                                 "reason_code": "spam"}, headers=other.headers), 201)
    editor = await account("provider", org_id=w.owners["platform"].org_id, org_role="editor")
    w.ids.update(org_id=org["id"], report_id=report["id"], member_id=editor.user_id)

    # identity: a claim of the other young person's, waiting for staff
    from tests.factories import adult_birth, make_id_number

    claim = await _ok(await client.post(f"{API}/me/identity/claims", json={
        "real_name": "测试青年", "id_number": make_id_number(adult_birth(26)), "evidence": "可到窗口出示身份证"},
        headers=other.headers), 202)
    w.ids["claim_id"] = claim["id"]
    w.ids["notification_id"] = await _parked_delivery(w.youth.user_id)
    return w


async def _parked_delivery(user_id: int) -> int:
    """A notification whose WeChat delivery failed, for staff to see and retry."""
    from app.db import session_scope
    from models.notifications import Notification

    async with session_scope() as session:
        note = Notification(user_id=user_id, kind="account.test", title="t", body="b", delivery_status="failed",
                            attempts=8, last_error="WECHAT_UNAVAILABLE")
        session.add(note)
        await session.flush()
        return note.id


async def _volunteering(client: Any, w: World, publish: Any) -> None:
    """A project with a shift to come (the young person signed up) and one served three days ago whose
    hours are confirmed and certified."""
    from app import clock
    from tests.factories import volunteer_project_body, volunteer_shift

    v = w.owners["volunteer"]
    served = _now() - timedelta(days=3)
    with clock.frozen(served - timedelta(days=1)):
        body = volunteer_project_body(shifts=[volunteer_shift(start=_now() + timedelta(days=4), capacity=10),
                                              volunteer_shift(start=served, hours=2)])
        p = await _ok(await client.post(f"{API}/provider/volunteer/projects", json=body, headers=v.headers), 201)
        await publish("volunteer_project", p["id"], v)
        past, upcoming = (s["id"] for s in p["shifts"])  # in time order
        signup = await _ok(await client.post(f"{API}/volunteer/shifts/{upcoming}/signups", headers=w.youth.headers),
                           201)
        await _ok(await client.post(f"{API}/volunteer/shifts/{past}/signups", headers=w.youth.headers), 201)
    here = {"lat": p["lat"], "lng": p["lng"], "accuracy_m": 10}
    with clock.frozen(served):
        await _ok(await client.post(f"{API}/volunteer/shifts/{past}/self-check-in", json=here, headers=w.youth.headers))
    with clock.frozen(served + timedelta(hours=2)):
        out = await _ok(await client.post(f"{API}/volunteer/shifts/{past}/self-check-out", json=here,
                                          headers=w.youth.headers))
    hours_id = out["hours"]["id"]
    await _ok(await client.post(f"{API}/provider/volunteer/hours/confirm", json={"ids": [hours_id]}, headers=v.headers))
    cert = await _ok(await client.post(f"{API}/me/volunteer-certificates", json={"scope": "project",
                                                                                 "project_id": p["id"]},
                                       headers=w.youth.headers), 201)
    w.ids.update(v_project_id=p["id"], shift_id=upcoming, signup_id=signup["id"], hours_id=hours_id, certificate_id=cert["id"],
                 code=cert["code"])


async def _openings(client: Any, w: World, publish: Any) -> None:
    """A published internship (any major) the young person applied to."""
    from tests.factories import opening_body

    o = w.owners["openings"]
    post = await _ok(await client.post(f"{API}/provider/openings", json=opening_body(majors=[], max_age=35),
                                       headers=o.headers), 201)
    await publish("opening", post["id"], o)
    app = await _ok(await client.post(f"{API}/openings/{post['id']}/applications", json={"resume": {
        "school": "云南大学", "major": "统计学", "phone": "13812345678"}}, headers=w.youth.headers), 201)
    w.ids.update(opening_id=post["id"], o_application_id=app["id"])


async def _past_booking(centre: Actor, counsellor_id: int, person: Actor, *, hours_ago: int = 1) -> int:
    """A session that started ``hours_ago``, booked the day before (through the services, the clock moved back)."""
    from app import clock
    from app.db import session_scope
    from app.deps import Principal
    from app.schemas.counselling import BookingIn, SlotIn
    from app.services import counselling

    start = _now() - timedelta(hours=hours_ago)
    principal = Principal(centre.user_id, "provider", centre.org_id, "owner", "counselling_center", "verified")
    with clock.frozen(start - timedelta(days=1)):
        async with session_scope() as session:
            slot = await counselling.create_slot(session, actor=principal, counsellor_id=counsellor_id,
                                                 data=SlotIn(starts_at=start))
            booking = await counselling.book(session, actor=Principal(person.user_id, "youth"), data=BookingIn(
                slot_id=slot.id, mode="video",
                intake={"topic": "emotions", "description": "", "self_harm_thoughts": False}))
    return booking.id
