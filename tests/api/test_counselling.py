"""Counselling (青少年心理健康服务): reviewed counsellor profiles, weekly slots, one booking per slot under
contention, per-person limits, atomic reschedule, the risk answer, and privacy of intake and notes."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.db import session_scope
from app.deps import Principal
from app.validators import SHANGHAI
from tests.conftest import Actor, adult_birth, make_credit_code, make_id_number

API = "/api/v1"
YOUTH = f"{API}/counselling"
CENTRE = f"{API}/provider/counselling"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def youth(factory: Any, *, age: int = 25, **profile: Any) -> Actor:
    """A person with a complete real-name profile and an ID number unlikely to collide with another
    test's (the shared factory draws from a few hundred numbers per birth date)."""
    birth = adult_birth(age) - timedelta(days=random.randrange(0, 200))
    number = make_id_number(birth, "female", area=random.choice(("530102", "530103", "530111", "530112", "530114")))
    return await factory.youth(profile={"id_number": number, **profile}, age=age)


def counsellor_body(**over: Any) -> dict[str, Any]:
    data = {
        "display_name": "周老师", "gender": "female", "qualifications": ["国家二级心理咨询师"],
        "specialties": ["emotions", "study_stress"], "modes": ["in_person", "video"], "languages": ["普通话"],
        "introduction": "擅长情绪调节与学业压力。",
    }
    data.update(over)
    return data


async def account(role: str, *, org_id: int | None = None, org_role: str = "owner") -> Actor:
    """An account made straight in the database with a real access token: password hashing in the
    shared factory costs about a second per provider or staff member, and these tests need many."""
    from app.security import create_access_token
    from models.accounts import User
    from models.orgs import OrgMember

    async with session_scope() as session:
        user = User(role=role, username=f"c{uuid.uuid4().hex[:12]}", nickname="测试账号")
        session.add(user)
        await session.flush()
        if org_id is not None:
            session.add(OrgMember(org_id=org_id, user_id=user.id, role=org_role))
        uid = user.id
    token = create_access_token(user_id=uid, role=role)[0]
    return Actor(uid, role, {"Authorization": f"Bearer {token}"}, token, org_id=org_id)


async def provider(kind: str = "counselling_center") -> Actor:
    """The owner of a verified organisation of ``kind``."""
    from models.base import utcnow
    from models.orgs import Organisation

    async with session_scope() as session:
        org = Organisation(name=f"测试心理中心{uuid.uuid4().hex[:6]}", kind=kind, credit_code=make_credit_code(),
                           contact_name="张老师", contact_phone="0871-12345678", status="verified",
                           reviewed_at=utcnow())
        session.add(org)
        await session.flush()
        org_id = org.id
    return await account("provider", org_id=org_id)


async def centre_with_counsellor(client: Any, **over: Any) -> tuple[Actor, int]:
    centre = await provider()
    return centre, await add_counsellor(client, centre, **over)


async def add_counsellor(client: Any, centre: Actor, *, publish: bool = True, **over: Any) -> int:
    r = await client.post(f"{CENTRE}/counsellors", json=counsellor_body(**over), headers=centre.headers)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    if publish:  # through the shared review workflow
        r = await client.post(f"{API}/provider/postings/counsellor/{cid}/submit", headers=centre.headers)
        assert r.status_code == 200, r.text
        staff = await account("moderator")
        r = await client.post(f"{API}/staff/reviews/counsellor/{cid}/approve", headers=staff.headers)
        assert r.status_code == 200, r.text
    return cid


async def add_slot(client: Any, centre: Actor, counsellor_id: int, starts_at: datetime, minutes: int = 50) -> int:
    r = await client.post(f"{CENTRE}/counsellors/{counsellor_id}/slots",
                          json={"starts_at": starts_at.isoformat(), "duration_minutes": minutes},
                          headers=centre.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def booking_body(slot_id: int, *, mode: str = "video", risk: bool = False, nickname: str | None = None,
                 description: str = "最近考试压力很大，晚上睡不着。") -> dict[str, Any]:
    data: dict[str, Any] = {"slot_id": slot_id, "mode": mode, "intake": {
        "topic": "study_stress", "description": description, "self_harm_thoughts": risk}}
    if nickname:
        data["nickname"] = nickname
    return data


async def book(client: Any, person: Actor, slot_id: int, **kw: Any) -> Any:
    headers = dict(person.headers, **kw.pop("headers", {}))
    return await client.post(f"{YOUTH}/bookings", json=booking_body(slot_id, **kw), headers=headers)


def centre_principal(centre: Actor) -> Principal:
    return Principal(centre.user_id, "provider", centre.org_id, "owner", "counselling_center", "verified")


async def past_booking(centre: Actor, counsellor_id: int, person: Actor, *, hours_ago: int = 2) -> int:
    """A booking whose session has started: made through the services with the clock a day before it."""
    from app import clock
    from app.schemas.counselling import BookingIn, SlotIn
    from app.services import counselling

    start = now() - timedelta(hours=hours_ago)
    with clock.frozen(start - timedelta(days=1)):
        async with session_scope() as session:
            slot = await counselling.create_slot(session, actor=centre_principal(centre),
                                                 counsellor_id=counsellor_id, data=SlotIn(starts_at=start))
            booking = await counselling.book(session, actor=Principal(person.user_id, "youth"),
                                             data=BookingIn(**booking_body(slot.id)))
    return booking.id


async def slot_status(slot_id: int) -> str:
    from models.counselling import CounsellingSlot

    async with session_scope() as session:
        return (await session.execute(select(CounsellingSlot.status).where(CounsellingSlot.id == slot_id))).scalar_one()


# --- profiles and slots -------------------------------------------------------------------------------


async def test_counsellor_is_public_only_after_review_and_list_filters(client, factory):
    centre = await provider()
    draft = await add_counsellor(client, centre, publish=False)
    her = await add_counsellor(client, centre, specialties=["family"], modes=["phone"])
    him = await add_counsellor(client, centre, display_name="孙老师", gender="male",
                               specialties=["career", "family"], modes=["video"])

    async def ids(**params: Any) -> list[int]:
        r = await client.get(f"{YOUTH}/counsellors", params={"org_id": centre.org_id, **params})
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await ids() == [her, him]
    assert draft not in await ids()
    assert await ids(specialty="family") == [her, him]
    assert await ids(specialty="career") == [him]
    assert await ids(mode="phone") == [her]
    assert await ids(gender="male") == [him]
    assert (await client.get(f"{YOUTH}/counsellors/{draft}")).status_code == 404
    item = (await client.get(f"{YOUTH}/counsellors/{him}")).json()
    assert item["specialty_labels"] == ["职场", "家庭"]
    assert (await client.get(f"{YOUTH}/counsellors", params={"specialty": "astrology"})).status_code == 422


async def test_editing_public_text_sends_profile_back_to_review(client, factory):
    centre, cid = await centre_with_counsellor(client)
    r = await client.patch(f"{CENTRE}/counsellors/{cid}", json={"introduction": "新的介绍"}, headers=centre.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"
    assert (await client.get(f"{YOUTH}/counsellors/{cid}")).status_code == 404
    r = await client.patch(f"{CENTRE}/counsellors/{cid}", json={"display_name": None}, headers=centre.headers)
    assert r.status_code == 422


async def test_weekly_pattern_makes_local_sessions_and_is_repeatable(client, factory):
    centre, cid = await centre_with_counsellor(client)
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    pattern = {"weekdays": [2, 4], "day_start": "14:00", "day_end": "18:00", "session_minutes": 50,
               "break_minutes": 10, "weeks": 2, "start_date": monday.isoformat()}
    r = await client.post(f"{CENTRE}/counsellors/{cid}/slots/pattern", json=pattern, headers=centre.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["created"] == 16 and out["skipped"] == 0  # 4 sessions × Tue/Thu × 2 weeks
    first = [datetime.fromisoformat(s["starts_at"]) for s in out["slots"][:4]]
    assert [t.strftime("%a %H:%M%z") for t in first] == ["Tue 14:00+0800", "Tue 15:00+0800", "Tue 16:00+0800",
                                                        "Tue 17:00+0800"]
    assert datetime.fromisoformat(out["slots"][0]["ends_at"]) - first[0] == timedelta(minutes=50)
    again = (await client.post(f"{CENTRE}/counsellors/{cid}/slots/pattern", json=pattern,
                               headers=centre.headers)).json()
    assert again["created"] == 0 and again["skipped"] == 16
    r = await client.post(f"{CENTRE}/counsellors/{cid}/slots",
                          json={"starts_at": f"{monday + timedelta(days=1)}T14:30:00"}, headers=centre.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SLOT_OVERLAP"


async def test_other_centres_cannot_touch_counsellor_or_slots(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=2))
    other = await provider()
    r = await client.post(f"{CENTRE}/counsellors/{cid}/slots", json={"starts_at": (now() + timedelta(days=3)).isoformat()},
                          headers=other.headers)
    assert r.status_code == 404
    assert (await client.delete(f"{CENTRE}/slots/{slot}", headers=other.headers)).status_code == 404
    events = await provider("event_organizer")
    assert (await client.post(f"{CENTRE}/counsellors", json=counsellor_body(),
                              headers=events.headers)).status_code == 403


async def test_free_slots_only_and_minimum_notice(client, factory):
    centre, cid = await centre_with_counsellor(client)
    soon = await add_slot(client, centre, cid, now() + timedelta(hours=1))
    later = await add_slot(client, centre, cid, now() + timedelta(hours=3))
    taken = await add_slot(client, centre, cid, now() + timedelta(hours=5))
    withdrawn = await add_slot(client, centre, cid, now() + timedelta(hours=7))
    assert (await client.delete(f"{CENTRE}/slots/{withdrawn}", headers=centre.headers)).json()["status"] == "withdrawn"
    person = await youth(factory)
    assert (await book(client, person, taken)).status_code == 201
    listed = [s["id"] for s in (await client.get(f"{YOUTH}/counsellors/{cid}/slots")).json()]
    assert listed == [later]
    r = await book(client, await youth(factory), soon)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_NOTICE_TOO_SHORT"
    assert (await book(client, await youth(factory), withdrawn)).status_code == 404
    r = await client.delete(f"{CENTRE}/slots/{taken}", headers=centre.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SLOT_BOOKED"


async def test_extreme_times_are_refused_not_crashing(client):
    centre, cid = await centre_with_counsellor(client)
    for params in ({"from": "9999-12-31T23:00:00"}, {"from": "0001-01-01T00:00:00"},
                   {"from": "2030-01-01T00:00:00", "to": "2031-01-01T00:00:00"}):
        r = await client.get(f"{YOUTH}/counsellors/{cid}/slots", params=params)
        assert r.status_code == 422, (params, r.text)
    for starts in ("9999-12-31T23:59:00+08:00", "0001-01-01T00:00:00"):
        r = await client.post(f"{CENTRE}/counsellors/{cid}/slots", json={"starts_at": starts}, headers=centre.headers)
        assert r.status_code == 422, (starts, r.text)
    r = await client.post(f"{CENTRE}/counsellors/{cid}/slots/pattern", json={
        "weekdays": [1], "day_start": "09:00", "day_end": "10:00", "start_date": "9999-12-25"}, headers=centre.headers)
    assert r.status_code == 422
    r = await client.get(f"{CENTRE}/bookings", params={"from_date": "9999-12-31"}, headers=centre.headers)
    assert r.status_code == 422


# --- booking rules -------------------------------------------------------------------------------------


async def test_a_booked_slot_refuses_the_next_person(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    first = await book(client, await youth(factory), slot)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "booked" and first.json()["crisis_resources"] is None
    second = await book(client, await youth(factory), slot)
    assert second.status_code == 409 and second.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert await slot_status(slot) == "booked"


async def test_booking_needs_real_name_profile_and_offered_mode(client, factory):
    centre, cid = await centre_with_counsellor(client, modes=["in_person"])
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    r = await book(client, await factory.youth(), slot, mode="in_person")
    assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_PROFILE_REQUIRED"
    r = await book(client, await youth(factory), slot, mode="phone")
    assert r.status_code == 422 and r.json()["code"] == "COUNSELLING_MODE_NOT_OFFERED"
    assert await slot_status(slot) == "free"  # refusals leave nothing behind


async def test_overlap_and_third_upcoming_booking_are_refused(client, factory):
    centre = await provider()
    a = await add_counsellor(client, centre)
    b = await add_counsellor(client, centre, display_name="钱老师")
    t = now() + timedelta(days=2)
    person = await youth(factory)
    assert (await book(client, person, await add_slot(client, centre, a, t))).status_code == 201
    r = await book(client, person, await add_slot(client, centre, b, t + timedelta(minutes=30)))
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_OVERLAP"
    assert (await book(client, person, await add_slot(client, centre, a, t + timedelta(days=1)))).status_code == 201
    third = await add_slot(client, centre, b, t + timedelta(days=2))
    r = await book(client, person, third)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_TOO_MANY_UPCOMING"
    assert await slot_status(third) == "free"


async def test_idempotency_key_replays_the_same_booking(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    person = await youth(factory)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await book(client, person, slot, headers=key)
    again = await book(client, person, slot, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers.get("Idempotent-Replay") == "true"
    mine = (await client.get(f"{YOUTH}/bookings", headers=person.headers)).json()["items"]
    assert [b["id"] for b in mine] == [first.json()["id"]]


async def test_cancel_frees_the_slot_and_late_cancel_is_marked(client, factory):
    centre, cid = await centre_with_counsellor(client)
    early = await add_slot(client, centre, cid, now() + timedelta(days=2))
    close = await add_slot(client, centre, cid, now() + timedelta(hours=5))
    person = await youth(factory)
    b1 = (await book(client, person, early)).json()["id"]
    b2 = (await book(client, person, close)).json()["id"]
    r = await client.delete(f"{YOUTH}/bookings/{b1}", headers=person.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["late_change"] is False
    r = await client.delete(f"{YOUTH}/bookings/{b2}", headers=person.headers)
    assert r.json()["late_change"] is True
    assert await slot_status(early) == "free"
    assert (await book(client, await youth(factory), early)).status_code == 201
    stranger = await youth(factory)
    assert (await client.delete(f"{YOUTH}/bookings/{b1}", headers=stranger.headers)).status_code == 404


async def test_reschedule_moves_the_booking_or_leaves_it_untouched(client, factory):
    centre, cid = await centre_with_counsellor(client)
    old = await add_slot(client, centre, cid, now() + timedelta(days=2))
    new = await add_slot(client, centre, cid, now() + timedelta(days=3))
    taken = await add_slot(client, centre, cid, now() + timedelta(days=4))
    person = await youth(factory)
    booking = (await book(client, person, old)).json()["id"]
    assert (await book(client, await youth(factory), taken)).status_code == 201

    r = await client.post(f"{YOUTH}/bookings/{booking}/reschedule", json={"slot_id": taken}, headers=person.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert await slot_status(old) == "booked"  # still holds the old one
    detail = (await client.get(f"{YOUTH}/bookings/{booking}", headers=person.headers)).json()
    assert detail["status"] == "booked" and detail["reschedule_count"] == 0

    r = await client.post(f"{YOUTH}/bookings/{booking}/reschedule", json={"slot_id": new}, headers=person.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == booking and r.json()["reschedule_count"] == 1
    assert (await slot_status(old), await slot_status(new)) == ("free", "booked")
    assert "intake" not in r.json()  # answers to the person's writes never carry the intake

    other_centre, other_cid = await centre_with_counsellor(client)
    elsewhere = await add_slot(client, other_centre, other_cid, now() + timedelta(days=5))
    r = await client.post(f"{YOUTH}/bookings/{booking}/reschedule", json={"slot_id": elsewhere}, headers=person.headers)
    assert r.status_code == 422 and r.json()["code"] == "COUNSELLING_OTHER_CENTRE"
    assert await slot_status(new) == "booked" and await slot_status(elsewhere) == "free"


# --- risk, privacy, nickname ----------------------------------------------------------------------------


async def test_risk_answer_returns_crisis_resources_and_alerts_the_centre(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    r = await book(client, await youth(factory), slot, risk=True)
    assert r.status_code == 201, r.text
    phones = [c["phone"] for c in r.json()["crisis_resources"]]
    assert phones == ["12356", "110", "120"]
    inbox = (await client.get(f"{API}/me/notifications", headers=centre.headers)).json()["items"]
    alert = next(n for n in inbox if n["kind"] == "counselling.risk_flagged")
    assert alert["data"] == {"booking_id": r.json()["id"]} and "考试" not in alert["body"]
    local_day = (now() + timedelta(days=1)).astimezone(SHANGHAI).date().isoformat()
    listed = (await client.get(f"{CENTRE}/bookings", params={"from_date": local_day, "flagged": True},
                               headers=centre.headers)).json()["items"]
    assert [(b["id"], b["risk_flag"]) for b in listed] == [(r.json()["id"], True)]
    assert "intake" not in listed[0]


async def test_intake_and_notes_are_404_to_staff_other_orgs_and_strangers(client, factory):
    centre, cid = await centre_with_counsellor(client)
    person = await youth(factory)
    booking = await past_booking(centre, cid, person)
    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "来访者情绪平稳，约定两周后复诊。"},
                         headers=centre.headers)
    assert r.status_code == 200, r.text
    staff = await account("moderator")
    admin = await account("admin")
    other_centre = await provider()
    stranger = await youth(factory)
    for who in (staff, admin, other_centre, stranger):
        for path in (f"{CENTRE}/bookings/{booking}", f"{CENTRE}/bookings/{booking}/notes"):
            got = await client.get(path, headers=who.headers)
            assert got.status_code == 404, (who.role, path, got.text)
        assert (await client.get(f"{YOUTH}/bookings/{booking}", headers=who.headers)).status_code == 404
    # The person sees their own intake; not the counsellor's notes.
    mine = await client.get(f"{YOUTH}/bookings/{booking}", headers=person.headers)
    assert mine.status_code == 200 and mine.json()["intake"]["topic"] == "study_stress"
    assert (await client.get(f"{CENTRE}/bookings/{booking}/notes", headers=person.headers)).status_code == 404
    assert (await client.get(f"{CENTRE}/bookings", headers=staff.headers)).status_code == 403


async def test_every_intake_read_is_audited_without_its_content(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    secret = f"想和家人谈谈-{uuid.uuid4().hex[:6]}"
    booking = (await book(client, await youth(factory), slot, description=secret)).json()["id"]
    for _ in range(2):
        r = await client.get(f"{CENTRE}/bookings/{booking}", headers=centre.headers)
        assert r.status_code == 200 and r.json()["intake"]["description"] == secret
    staff = await account("moderator")
    log = await client.get(f"{API}/staff/audit-log",
                           params={"target_kind": "counselling_booking", "target_id": booking}, headers=staff.headers)
    reads = [e for e in log.json()["items"] if e["action"] == "counselling.intake_read"]
    assert len(reads) == 2 and all(e["actor_id"] == centre.user_id for e in reads)
    assert secret not in log.text


async def test_intake_and_notes_are_encrypted_in_the_database(client, factory):
    centre, cid = await centre_with_counsellor(client)
    person = await youth(factory)
    booking = await past_booking(centre, cid, person)
    note = f"记录-{uuid.uuid4().hex[:8]}"
    await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": note}, headers=centre.headers)
    async with session_scope() as session:
        intake = (await session.execute(text("SELECT intake FROM counselling_bookings WHERE id = :id"),
                                        {"id": booking})).scalar()
        body = (await session.execute(text("SELECT body FROM counselling_notes WHERE booking_id = :id"),
                                      {"id": booking})).scalar()
    assert intake.startswith("v1:") and "考试" not in intake and "study_stress" not in intake
    assert body.startswith("v1:") and note not in body


async def test_nickname_booking_hides_the_real_name_from_the_centre(client, factory):
    centre, cid = await centre_with_counsellor(client)
    t = now() + timedelta(days=1)
    hidden = await youth(factory, real_name="隐名者", age=22)
    named = await youth(factory, real_name="显名者", age=27)
    b1 = (await book(client, hidden, await add_slot(client, centre, cid, t), nickname="小树")).json()
    b2 = (await book(client, named, await add_slot(client, centre, cid, t + timedelta(hours=1)))).json()
    day = t.astimezone(SHANGHAI).date()
    lst = await client.get(f"{CENTRE}/bookings", params={"from_date": day.isoformat(),
                                                          "to_date": (day + timedelta(days=1)).isoformat()},
                           headers=centre.headers)
    by_id = {b["id"]: b for b in lst.json()["items"]}
    assert (by_id[b1["id"]]["client_name"], by_id[b1["id"]]["age_band"]) == ("小树", "18-24")
    assert by_id[b1["id"]]["client_uses_nickname"] is True
    assert (by_id[b2["id"]]["client_name"], by_id[b2["id"]]["age_band"]) == ("显名者", "25-29")
    detail = await client.get(f"{CENTRE}/bookings/{b1['id']}", headers=centre.headers)
    assert detail.json()["client_name"] == "小树"
    assert "隐名者" not in lst.text and "隐名者" not in detail.text


# --- the counsellor's side ----------------------------------------------------------------------------------


async def test_only_the_linked_counsellor_writes_and_reads_notes(client, factory):
    centre = await provider()
    counsellor_user = await account("provider", org_id=centre.org_id, org_role="editor")
    cid = await add_counsellor(client, centre, user_id=counsellor_user.user_id)
    person = await youth(factory)
    booking = await past_booking(centre, cid, person)

    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "首次访谈"}, headers=centre.headers)
    assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_NOTE_NOT_ALLOWED"
    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "首次访谈，建立关系。"},
                         headers=counsellor_user.headers)
    assert r.status_code == 200
    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "首次访谈，补充：睡眠改善。"},
                         headers=counsellor_user.headers)
    assert r.json()["body"] == "首次访谈，补充：睡眠改善。"
    assert (await client.get(f"{CENTRE}/bookings/{booking}/notes", headers=counsellor_user.headers)).status_code == 200
    assert (await client.get(f"{CENTRE}/bookings/{booking}/notes", headers=centre.headers)).status_code == 404
    day = (now() - timedelta(hours=2)).astimezone(SHANGHAI).date().isoformat()
    mine = await client.get(f"{CENTRE}/bookings", params={"from_date": day, "mine": True},
                            headers=counsellor_user.headers)
    assert [b["id"] for b in mine.json()["items"]] == [booking]


async def test_attendance_only_once_the_session_has_started(client, factory):
    centre, cid = await centre_with_counsellor(client)
    future = (await book(client, await youth(factory),
                         await add_slot(client, centre, cid, now() + timedelta(days=1)))).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{future}/attendance", json={"status": "attended"},
                          headers=centre.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SESSION_NOT_STARTED"
    r = await client.put(f"{CENTRE}/bookings/{future}/notes", json={"body": "x"}, headers=centre.headers)
    assert r.status_code == 409
    past = await past_booking(centre, cid, await youth(factory))
    r = await client.post(f"{CENTRE}/bookings/{past}/attendance", json={"status": "no_show"}, headers=centre.headers)
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    other = await provider()
    r = await client.post(f"{CENTRE}/bookings/{past}/attendance", json={"status": "attended"}, headers=other.headers)
    assert r.status_code == 404


async def test_centre_cancel_notifies_the_person_and_withdraws_the_slot(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    person = await youth(factory)
    booking = (await book(client, person, slot)).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{booking}/cancel", json={}, headers=centre.headers)
    assert r.status_code == 422
    r = await client.post(f"{CENTRE}/bookings/{booking}/cancel", json={"reason": "咨询师临时外出培训"},
                          headers=centre.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled_by_centre"
    inbox = (await client.get(f"{API}/me/notifications", headers=person.headers)).json()["items"]
    note = next(n for n in inbox if n["kind"] == "counselling.cancelled_by_centre")
    assert "咨询师临时外出培训" in note["body"]
    assert await slot_status(slot) == "withdrawn"
    mine = (await client.get(f"{YOUTH}/bookings/{booking}", headers=person.headers)).json()
    assert mine["cancel_reason"] == "咨询师临时外出培训"


async def test_staff_stats_are_counts_only(client, factory):
    centre, cid = await centre_with_counsellor(client)
    secret = f"秘密{uuid.uuid4().hex[:6]}"
    await book(client, await youth(factory), await add_slot(client, centre, cid, now() + timedelta(days=1)),
               risk=True, nickname="匿名", description=secret)
    await add_slot(client, centre, cid, now() + timedelta(days=2))
    staff = await account("moderator")
    r = await client.get(f"{API}/staff/counselling/stats", params={"org_id": centre.org_id}, headers=staff.headers)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["counsellors_published"] == 1 and s["slots"]["free"] == 1 and s["slots"]["booked"] == 1
    assert s["bookings"]["booked"] == 1 and s["risk_flagged"] == 1 and s["nickname_bookings"] == 1
    assert secret not in r.text and "匿名" not in r.text
    assert (await client.get(f"{API}/staff/counselling/stats", headers=centre.headers)).status_code == 403


# --- concurrency (PostgreSQL) ----------------------------------------------------------------------------


async def bulk_youth(n: int) -> list[Actor]:
    """Many complete real-name profiles straight in the database (a rush needs many people)."""
    from app.security import create_access_token
    from models.accounts import User

    async with session_scope() as session:
        users = [User(role="youth", nickname=f"c{i}", real_name="测试青年", id_number_hash=uuid.uuid4().hex,
                      birth_date=adult_birth(23), gender="female") for i in range(n)]
        session.add_all(users)
        await session.flush()
        ids = [u.id for u in users]
    out = []
    for uid in ids:
        token = create_access_token(user_id=uid, role="youth")[0]
        out.append(Actor(uid, "youth", {"Authorization": f"Bearer {token}"}, token))
    return out


async def holding(slot_ids: list[int]) -> dict[int, int]:
    from models.counselling import HOLDING_STATUSES
    from models.counselling import CounsellingBooking as B

    async with session_scope() as session:
        rows = (await session.execute(select(B.slot_id, func.count()).where(
            B.slot_id.in_(slot_ids), B.status.in_(HOLDING_STATUSES)).group_by(B.slot_id))).all()
    return dict(rows)


@pytest.mark.postgres
async def test_many_people_racing_for_few_slots_get_one_booking_each_slot(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slots = [await add_slot(client, centre, cid, now() + timedelta(days=1, hours=i)) for i in range(3)]
    people = await bulk_youth(60)
    results = await asyncio.gather(*(book(client, p, slots[i % 3]) for i, p in enumerate(people)))
    won = [r for r in results if r.status_code == 201]
    assert len(won) == 3
    assert {r.json()["code"] for r in results if r.status_code != 201} == {"COUNSELLING_SLOT_TAKEN"}
    assert await holding(slots) == dict.fromkeys(slots, 1)
    assert [await slot_status(s) for s in slots] == ["booked"] * 3


@pytest.mark.postgres
async def test_one_person_in_parallel_cannot_pass_the_limits(client, factory):
    centre = await provider()
    a = await add_counsellor(client, centre)
    b = await add_counsellor(client, centre, display_name="吴老师")
    t = now() + timedelta(days=3)
    person = (await bulk_youth(1))[0]
    spread = [await add_slot(client, centre, a, t + timedelta(hours=2 * i)) for i in range(6)]
    results = await asyncio.gather(*(book(client, person, s) for s in spread))
    assert sorted(r.status_code for r in results) == [201, 201, 409, 409, 409, 409]
    assert sum((await holding(spread)).values()) == 2

    other = (await bulk_youth(1))[0]
    same_time = [await add_slot(client, centre, cid, t + timedelta(days=1)) for cid in (a, b)]
    results = await asyncio.gather(*(book(client, other, s) for s in same_time))
    assert sorted(r.status_code for r in results) == [201, 409]
    assert sum((await holding(same_time)).values()) == 1


@pytest.mark.postgres
async def test_reschedule_racing_a_booking_never_leaves_both_or_neither(client, factory):
    centre, cid = await centre_with_counsellor(client)
    for i in range(5):
        old = await add_slot(client, centre, cid, now() + timedelta(days=4, hours=2 * i))
        target = await add_slot(client, centre, cid, now() + timedelta(days=4, hours=2 * i + 1))
        mover, rival = await bulk_youth(2)
        booking = (await book(client, mover, old)).json()["id"]
        moved, rival_r = await asyncio.gather(
            client.post(f"{YOUTH}/bookings/{booking}/reschedule", json={"slot_id": target}, headers=mover.headers),
            book(client, rival, target))
        assert (moved.status_code, rival_r.status_code) in {(200, 409), (409, 201)}
        held = await holding([old, target])
        assert held.get(target) == 1  # someone has the target, exactly once
        if moved.status_code == 200:
            assert held.get(old) is None and await slot_status(old) == "free"
        else:
            assert held.get(old) == 1 and await slot_status(old) == "booked"
