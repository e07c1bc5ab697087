"""Counselling (青少年心理健康服务): reviewed counsellor profiles, weekly slots, one booking per slot under
contention, per-person limits, atomic reschedule, the risk answer acted on (duty list, acknowledgement,
escalation), late cancellations and no-shows under the shared restriction policy, and the privacy of
intake, notes and follow-ups within a centre."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.db import session_scope
from app.deps import Principal
from app.kit import sweeper
from app.kit.time import SHANGHAI
from tests.factories import Actor, account, bulk_youth, counsellor_body, draft, now, organisation, published

API = "/api/v1"
YOUTH = f"{API}/counselling"
CENTRE = f"{API}/provider/counselling"
ALWAYS_OPEN = ["00:00-24:00"] * 7


async def young(**profile: Any) -> Actor:
    """A young person with a complete real-name profile."""
    return (await bulk_youth(1, **profile))[0]


async def add_counsellor(client: Any, centre: Actor, *, publish: bool = True, **over: Any) -> int:
    """A counsellor profile of ``centre``, through review unless ``publish`` is false."""
    make = published if publish else draft
    return (await make(client, "counsellor", centre, **over))[1]["id"]


async def centre_with_counsellor(client: Any, **over: Any) -> tuple[Actor, int]:
    """A centre whose owner is also its one counsellor (the profile is linked to the owner's account),
    as in a small practice: the owner is the booked counsellor of every booking."""
    centre = await organisation("counselling_center")
    return centre, await add_counsellor(client, centre, **{"user_id": centre.user_id, **over})


@dataclass
class Staffed:
    owner: Actor
    counsellor: Actor  # the account linked to the counsellor profile
    duty: list[Actor]
    editor: Actor  # a member who is neither
    cid: int


async def staffed_centre(client: Any, *, duty: int = 1, hours: list[str | None] | None = None) -> Staffed:
    owner = await organisation("counselling_center")
    members = [await account("provider", org_id=owner.org_id, org_role="editor") for _ in range(duty + 2)]
    counsellor, editor, on_duty = members[0], members[1], members[2:]
    cid = await add_counsellor(client, owner, user_id=counsellor.user_id)
    r = await client.patch(f"{CENTRE}/centre", json={"duty_user_ids": [d.user_id for d in on_duty],
                                                     "opening_hours": hours or ALWAYS_OPEN}, headers=owner.headers)
    assert r.status_code == 200, r.text
    return Staffed(owner, counsellor, on_duty, editor, cid)


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


async def book(client: Any, who: Actor, slot_id: int, **kw: Any) -> Any:
    headers = dict(who.headers, **kw.pop("headers", {}))
    return await client.post(f"{YOUTH}/bookings", json=booking_body(slot_id, **kw), headers=headers)


def centre_principal(centre: Actor) -> Principal:
    return Principal(centre.user_id, "provider", centre.org_id, "owner", "counselling_center", "verified")


async def past_booking(centre: Actor, counsellor_id: int, who: Actor, *, hours_ago: int = 2) -> int:
    """A booking whose session has started: made through the services with the clock a day before it."""
    from app import clock
    from app.schemas.counselling import BookingIn, SlotIn
    from app.services import counselling

    start = now() - timedelta(hours=hours_ago)
    with clock.frozen(start - timedelta(days=1)):
        async with session_scope() as session:
            slot = await counselling.create_slot(session, actor=centre_principal(centre),
                                                 counsellor_id=counsellor_id, data=SlotIn(starts_at=start))
            booking = await counselling.book(session, actor=Principal(who.user_id, "youth"),
                                             data=BookingIn(**booking_body(slot.id)))
    return booking.id


async def slot_status(slot_id: int) -> str:
    from app.services.counselling.common import slot_state
    from models.counselling import CounsellingSlot

    async with session_scope() as session:
        return (await session.execute(select(slot_state()).where(CounsellingSlot.id == slot_id))).scalar_one()


async def inbox(client: Any, who: Actor, kind: str) -> list[dict[str, Any]]:
    items = (await client.get(f"{API}/me/notifications", params={"limit": 100}, headers=who.headers)).json()["items"]
    return [n for n in items if n["kind"] == kind]


async def escalate() -> None:
    await sweeper.sweep(["counselling.risk_escalation"])


# --- profiles and slots -------------------------------------------------------------------------------


async def test_counsellor_is_public_only_after_review_and_list_filters(client, factory):
    centre = await organisation("counselling_center")
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
                          json={"starts_at": f"{monday + timedelta(days=1)}T14:30:00+08:00"}, headers=centre.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SLOT_OVERLAP"


async def test_other_centres_cannot_touch_counsellor_or_slots(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=2))
    other = await organisation("counselling_center")
    r = await client.post(f"{CENTRE}/counsellors/{cid}/slots", json={"starts_at": (now() + timedelta(days=3)).isoformat()},
                          headers=other.headers)
    assert r.status_code == 404
    assert (await client.delete(f"{CENTRE}/slots/{slot}", headers=other.headers)).status_code == 404
    events = await organisation("event_organizer")
    assert (await client.post(f"{CENTRE}/counsellors", json=counsellor_body(),
                              headers=events.headers)).status_code == 403


async def test_free_slots_only_and_minimum_notice(client, factory):
    centre, cid = await centre_with_counsellor(client)
    soon = await add_slot(client, centre, cid, now() + timedelta(hours=1))
    later = await add_slot(client, centre, cid, now() + timedelta(hours=3))
    taken = await add_slot(client, centre, cid, now() + timedelta(hours=5))
    withdrawn = await add_slot(client, centre, cid, now() + timedelta(hours=7))
    assert (await client.delete(f"{CENTRE}/slots/{withdrawn}", headers=centre.headers)).json()["status"] == "withdrawn"
    person = await young()
    assert (await book(client, person, taken)).status_code == 201
    listed = [s["id"] for s in (await client.get(f"{YOUTH}/counsellors/{cid}/slots")).json()["items"]]
    assert listed == [later]
    r = await book(client, await young(), soon)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_NOTICE_TOO_SHORT"
    assert (await book(client, await young(), withdrawn)).status_code == 404
    r = await client.delete(f"{CENTRE}/slots/{taken}", headers=centre.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SLOT_BOOKED"


async def test_extreme_times_are_refused_not_crashing(client):
    centre, cid = await centre_with_counsellor(client)
    for params in ({"date_from": "9999-12-31"}, {"date_from": "0001-01-01"},
                   {"date_from": "2030-01-01", "date_to": "2031-01-01"},
                   {"date_from": "2030-01-02", "date_to": "2030-01-01"}):
        r = await client.get(f"{YOUTH}/counsellors/{cid}/slots", params=params)
        assert r.status_code == 422, (params, r.text)
    for starts in ("9999-12-31T23:59:00+08:00", "0001-01-01T00:00:00", "2030-01-01T14:00:00"):
        r = await client.post(f"{CENTRE}/counsellors/{cid}/slots", json={"starts_at": starts}, headers=centre.headers)
        assert r.status_code == 422, (starts, r.text)
    r = await client.post(f"{CENTRE}/counsellors/{cid}/slots/pattern", json={
        "weekdays": [1], "day_start": "09:00", "day_end": "10:00", "start_date": "9999-12-25"}, headers=centre.headers)
    assert r.status_code == 422
    r = await client.get(f"{CENTRE}/bookings", params={"date_from": "9999-12-31"}, headers=centre.headers)
    assert r.status_code == 422


# --- booking rules -------------------------------------------------------------------------------------


async def test_a_booked_slot_refuses_the_next_person(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    first = await book(client, await young(), slot)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "booked" and first.json()["crisis_resources"] is None
    second = await book(client, await young(), slot)
    assert second.status_code == 409 and second.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert await slot_status(slot) == "booked"


async def test_booking_needs_real_name_profile_and_offered_mode(client, factory):
    centre, cid = await centre_with_counsellor(client, modes=["in_person"])
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    r = await book(client, await factory.youth(), slot, mode="in_person")
    assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_PROFILE_REQUIRED"
    r = await book(client, await young(), slot, mode="phone")
    assert r.status_code == 422 and r.json()["code"] == "COUNSELLING_MODE_NOT_OFFERED"
    assert await slot_status(slot) == "free"  # refusals leave nothing behind


async def test_overlap_and_third_upcoming_booking_are_refused(client, factory):
    centre = await organisation("counselling_center")
    a = await add_counsellor(client, centre)
    b = await add_counsellor(client, centre, display_name="钱老师")
    t = now() + timedelta(days=2)
    person = await young()
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
    person = await young()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await book(client, person, slot, headers=key)
    again = await book(client, person, slot, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers.get("Idempotent-Replay") == "true"
    mine = (await client.get(f"{YOUTH}/bookings", headers=person.headers)).json()["items"]
    assert [b["id"] for b in mine] == [first.json()["id"]]


async def key_rows(key: str) -> int:
    from models.platform import IdempotencyRecord

    async with session_scope() as session:
        return (await session.execute(select(func.count()).select_from(IdempotencyRecord)
                                      .where(IdempotencyRecord.key == key))).scalar_one()


async def test_a_won_booking_replays_after_the_slot_is_full_and_a_loser_leaves_no_key(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    winner, loser = await young(), await young()
    won_key, lost_key = uuid.uuid4().hex, uuid.uuid4().hex
    won = await book(client, winner, slot, headers={"Idempotency-Key": won_key})
    assert won.status_code == 201, won.text
    lost = await book(client, loser, slot, headers={"Idempotency-Key": lost_key})
    assert lost.status_code == 409 and lost.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert await key_rows(lost_key) == 0  # a refusal stores nothing: the same key may be retried
    again = await book(client, winner, slot, headers={"Idempotency-Key": won_key})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replay") == "true"
    assert again.json() == won.json()
    other = await book(client, winner, slot, mode="phone", headers={"Idempotency-Key": won_key})
    assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED", other.text
    retry = await book(client, loser, slot, headers={"Idempotency-Key": lost_key})
    assert retry.status_code == 409 and retry.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert retry.headers.get("Idempotent-Replay") is None and await key_rows(lost_key) == 0
    assert await key_rows(won_key) == 1


async def test_cancel_frees_the_slot_and_late_cancel_is_marked(client, factory):
    centre, cid = await centre_with_counsellor(client)
    early = await add_slot(client, centre, cid, now() + timedelta(days=2))
    close = await add_slot(client, centre, cid, now() + timedelta(hours=5))
    person = await young()
    b1 = (await book(client, person, early)).json()["id"]
    b2 = (await book(client, person, close)).json()["id"]
    r = await client.delete(f"{YOUTH}/bookings/{b1}", headers=person.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["late_change"] is False
    r = await client.delete(f"{YOUTH}/bookings/{b2}", headers=person.headers)
    assert r.json()["late_change"] is True
    assert await slot_status(early) == "free"
    assert (await book(client, await young(), early)).status_code == 201
    stranger = await young()
    assert (await client.delete(f"{YOUTH}/bookings/{b1}", headers=stranger.headers)).status_code == 404


async def test_reschedule_moves_the_booking_or_leaves_it_untouched(client, factory):
    centre, cid = await centre_with_counsellor(client)
    old = await add_slot(client, centre, cid, now() + timedelta(days=2))
    new = await add_slot(client, centre, cid, now() + timedelta(days=3))
    taken = await add_slot(client, centre, cid, now() + timedelta(days=4))
    person = await young()
    booking = (await book(client, person, old)).json()["id"]
    assert (await book(client, await young(), taken)).status_code == 201

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


async def test_a_risk_answer_alerts_the_first_on_duty_and_the_counsellor_and_tells_the_person_only_outreach(
        client, travel):
    c = await staffed_centre(client, duty=2)
    t0 = travel(now())
    slot = await add_slot(client, c.owner, c.cid, t0 + timedelta(days=1))
    who = await young()
    r = await book(client, who, slot, risk=True)
    assert r.status_code == 201, r.text
    booking = r.json()
    assert [x["phone"] for x in booking["crisis_resources"]] == ["12356", "110", "120"]
    assert "主动联系您" in booking["outreach"]
    # The first on the duty list and the booked counsellor are told at once; nobody else.
    for told in (c.duty[0], c.counsellor):
        (alert,) = await inbox(client, told, "counselling.risk_flagged")
        assert alert["data"]["booking_id"] == booking["id"] and "考试" not in alert["body"]
    for not_told in (c.duty[1], c.editor, c.owner):
        assert await inbox(client, not_told, "counselling.risk_flagged") == []
    day = (t0 + timedelta(days=1)).astimezone(SHANGHAI).date().isoformat()
    listed = (await client.get(f"{CENTRE}/bookings", params={"date_from": day, "flagged": True},
                               headers=c.editor.headers)).json()["items"]
    assert [(b["id"], b["risk_flag"]) for b in listed] == [(booking["id"], True)] and "intake" not in listed[0]

    # Whatever the centre does about it, the person's own views stay exactly as they were.
    def views() -> Any:
        return asyncio.gather(client.get(f"{YOUTH}/bookings/{booking['id']}", headers=who.headers),
                              client.get(f"{YOUTH}/bookings", headers=who.headers))

    before = [x.json() for x in await views()]
    travel(t0 + timedelta(hours=2))
    await escalate()
    r = await client.post(f"{CENTRE}/bookings/{booking['id']}/risk-followups",
                          json={"action": "called_back", "note": "已电话联系，来访者情绪稳定，约定提前见面。"},
                          headers=c.duty[1].headers)
    assert r.status_code == 201, r.text
    after = [x.json() for x in await views()]
    assert after == before
    shown = str(after)
    assert all(word not in shown for word in ("escalat", "acknowledg", "due", "duty", "followup", "已电话联系"))


async def test_a_flag_raised_after_hours_is_due_the_set_time_into_the_next_opening(client, travel):
    c = await staffed_centre(client, hours=["09:00-18:00"] * 5 + [None, None])
    today = datetime.now(SHANGHAI).date()
    friday = today + timedelta(days=(4 - today.weekday()) % 7 + 7)
    travel(datetime.combine(friday, time(17, 30), SHANGHAI))  # half an hour before closing
    slot = await add_slot(client, c.owner, c.cid, datetime.combine(friday + timedelta(days=4), time(10), SHANGHAI))
    booking = (await book(client, await young(), slot, risk=True)).json()["id"]
    r = await client.get(f"{CENTRE}/bookings/{booking}", headers=c.duty[0].headers)
    assert r.status_code == 200, r.text
    # 30 minutes counted on Friday, the other 30 from Monday's opening.
    monday = friday + timedelta(days=3)
    assert datetime.fromisoformat(r.json()["risk"]["due_at"]) == datetime.combine(monday, time(9, 30), SHANGHAI)
    assert r.json()["risk"]["overdue"] is False


async def test_an_unacknowledged_flag_escalates_to_the_whole_duty_list_once_and_staff_see_counts(client, travel):
    from models.counselling import CounsellingBooking

    c = await staffed_centre(client, duty=2)
    staff = await account("moderator")
    t0 = travel(now())
    slot = await add_slot(client, c.owner, c.cid, t0 + timedelta(days=1))
    booking = (await book(client, await young(), slot, risk=True)).json()["id"]

    async def counts() -> tuple[int, int]:
        s = (await client.get(f"{API}/staff/counselling/stats", params={"org_id": c.owner.org_id},
                              headers=staff.headers)).json()
        return s["risk_awaiting"], s["risk_overdue"]

    async def escalated_at() -> Any:
        async with session_scope() as session:
            return (await session.execute(select(CounsellingBooking.risk_escalated_at)
                                          .where(CounsellingBooking.id == booking))).scalar_one()

    travel(t0 + timedelta(minutes=59))
    await escalate()
    assert await counts() == (1, 0)
    for d in c.duty:
        assert await inbox(client, d, "counselling.risk_escalated") == []

    travel(t0 + timedelta(minutes=61))
    # Due but not yet swept: the reads compute it, and write nothing.
    assert await counts() == (0, 1)
    queue = (await client.get(f"{CENTRE}/risk-queue", headers=c.duty[1].headers)).json()["items"]
    assert [(q["booking_id"], q["overdue"], q["escalated_at"]) for q in queue] == [(booking, True, None)]
    assert await escalated_at() is None

    await escalate()
    await escalate()  # a second sweep finds nothing more to do
    for d in c.duty:
        (note,) = await inbox(client, d, "counselling.risk_escalated")
        assert note["data"]["booking_id"] == booking
    assert await inbox(client, c.editor, "counselling.risk_escalated") == []
    assert await escalated_at() is not None
    assert (await client.get(f"{CENTRE}/risk-queue", headers=c.editor.headers)).json()["items"] == []
    mine = (await client.get(f"{CENTRE}/risk-queue", headers=c.counsellor.headers)).json()["items"]
    assert [q["booking_id"] for q in mine] == [booking]

    r = await client.post(f"{CENTRE}/bookings/{booking}/risk-followups",
                          json={"action": "referred", "note": "已转介至市精神卫生中心，并电话确认。"}, headers=c.duty[1].headers)
    assert r.status_code == 201, r.text
    assert r.json()["acknowledged_by"] == c.duty[1].user_id and r.json()["escalated_at"] is not None
    assert await counts() == (0, 0)
    assert (await client.get(f"{CENTRE}/risk-queue", headers=c.duty[0].headers)).json()["items"] == []


async def test_an_acknowledged_flag_never_escalates(client, travel):
    c = await staffed_centre(client)
    t0 = travel(now())
    booking = (await book(client, await young(), await add_slot(client, c.owner, c.cid, t0 + timedelta(days=1)),
                          risk=True)).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{booking}/risk-followups",
                          json={"action": "moved_earlier", "note": "已与来访者商定改到今天下午。"}, headers=c.counsellor.headers)
    assert r.status_code == 201 and r.json()["acknowledged_by"] == c.counsellor.user_id
    travel(t0 + timedelta(hours=5))
    await escalate()
    assert await inbox(client, c.duty[0], "counselling.risk_escalated") == []
    unflagged = (await book(client, await young(), await add_slot(client, c.owner, c.cid, t0 + timedelta(days=2))
                            )).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{unflagged}/risk-followups",
                          json={"action": "other", "note": "无需处理"}, headers=c.duty[0].headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_NOT_FLAGGED"


async def test_only_the_booked_counsellor_and_the_duty_list_read_intake_and_follow_ups_each_read_audited(client):
    c = await staffed_centre(client)
    secret = f"想和家人谈谈-{uuid.uuid4().hex[:6]}"
    slot = await add_slot(client, c.owner, c.cid, now() + timedelta(days=1))
    booking = (await book(client, await young(), slot, risk=True, description=secret)).json()["id"]
    note = f"已回访-{uuid.uuid4().hex[:6]}"
    r = await client.post(f"{CENTRE}/bookings/{booking}/risk-followups", json={"action": "called_back", "note": note},
                          headers=c.duty[0].headers)
    assert r.status_code == 201, r.text
    for reader in (c.counsellor, c.duty[0]):
        r = await client.get(f"{CENTRE}/bookings/{booking}", headers=reader.headers)
        assert r.status_code == 200, r.text
        assert r.json()["intake"]["description"] == secret
        assert [f["note"] for f in r.json()["risk"]["followups"]] == [note]
    # The owner (not on the duty list) and an editor who is not the counsellor: members, but not the care team.
    for member in (c.owner, c.editor):
        r = await client.get(f"{CENTRE}/bookings/{booking}", headers=member.headers)
        assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_CARE_TEAM_ONLY"
        assert secret not in r.text and note not in r.text
        r = await client.post(f"{CENTRE}/bookings/{booking}/risk-followups",
                              json={"action": "other", "note": "试图记录"}, headers=member.headers)
        assert r.status_code == 403
    other = await organisation("counselling_center")
    assert (await client.get(f"{CENTRE}/bookings/{booking}", headers=other.headers)).status_code == 404
    staff = await account("moderator")
    log = await client.get(f"{API}/staff/audit-log", params={"target_kind": "counselling_booking",
                                                              "target_id": booking}, headers=staff.headers)
    reads = [e for e in log.json()["items"] if e["action"] == "counselling.intake_read"]
    assert sorted(e["actor_id"] for e in reads) == sorted([c.counsellor.user_id, c.duty[0].user_id])
    assert secret not in log.text and note not in log.text


async def test_the_owner_sets_opening_hours_and_the_duty_list_of_members(client):
    c = await staffed_centre(client)
    got = (await client.get(f"{CENTRE}/centre", headers=c.editor.headers)).json()
    assert got["opening_hours"] == ALWAYS_OPEN and got["default_hours"] is False and got["risk_ack_hours"] == 1
    assert [d["user_id"] for d in got["duty"]] == [c.duty[0].user_id]
    r = await client.patch(f"{CENTRE}/centre", json={"duty_user_ids": [c.editor.user_id]}, headers=c.editor.headers)
    assert r.status_code == 403 and r.json()["code"] == "NOT_ORG_OWNER"
    stranger = await account("provider", org_id=(await organisation("counselling_center")).org_id, org_role="editor")
    r = await client.patch(f"{CENTRE}/centre", json={"duty_user_ids": [c.editor.user_id, stranger.user_id]},
                           headers=c.owner.headers)
    assert r.status_code == 422 and r.json()["code"] == "COUNSELLING_DUTY_NOT_MEMBER"
    for hours in (["25:00-26:00"] + [None] * 6, [None] * 7, ["18:00-09:00"] * 7, ["09:00-18:00"] * 6):
        r = await client.patch(f"{CENTRE}/centre", json={"opening_hours": hours}, headers=c.owner.headers)
        assert r.status_code == 422, hours
    r = await client.patch(f"{CENTRE}/centre", json={"duty_user_ids": [c.editor.user_id, c.owner.user_id]},
                           headers=c.owner.headers)
    assert r.status_code == 200
    assert [d["user_id"] for d in r.json()["duty"]] == [c.editor.user_id, c.owner.user_id]
    # Now on the list, the owner reads intakes; the former duty member no longer does.
    booking = (await book(client, await young(), await add_slot(client, c.owner, c.cid, now() + timedelta(days=1))
                          )).json()["id"]
    assert (await client.get(f"{CENTRE}/bookings/{booking}", headers=c.owner.headers)).status_code == 200
    assert (await client.get(f"{CENTRE}/bookings/{booking}", headers=c.duty[0].headers)).status_code == 403
    fresh = await organisation("counselling_center")
    got = (await client.get(f"{CENTRE}/centre", headers=fresh.headers)).json()
    assert got["default_hours"] is True and got["opening_hours"][:5] == ["09:00-18:00"] * 5 and got["duty"] == []


async def test_intake_and_notes_are_404_to_staff_other_orgs_and_strangers(client, factory):
    centre, cid = await centre_with_counsellor(client)
    person = await young()
    booking = await past_booking(centre, cid, person)
    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "来访者情绪平稳，约定两周后复诊。"},
                         headers=centre.headers)
    assert r.status_code == 200, r.text
    staff = await account("moderator")
    admin = await account("admin")
    other_centre = await organisation("counselling_center")
    stranger = await young()
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
    booking = (await book(client, await young(), slot, description=secret)).json()["id"]
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
    person = await young()
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
    hidden = await young(real_name="隐名者", age=22)
    named = await young(real_name="显名者", age=27)
    b1 = (await book(client, hidden, await add_slot(client, centre, cid, t), nickname="小树")).json()
    b2 = (await book(client, named, await add_slot(client, centre, cid, t + timedelta(hours=1)))).json()
    day = t.astimezone(SHANGHAI).date()
    lst = await client.get(f"{CENTRE}/bookings", params={"date_from": day.isoformat(),
                                                          "date_to": (day + timedelta(days=1)).isoformat()},
                           headers=centre.headers)
    by_id = {b["id"]: b for b in lst.json()["items"]}
    assert (by_id[b1["id"]]["client_name"], by_id[b1["id"]]["age_band"]) == ("小树", "18-24")
    assert by_id[b1["id"]]["client_uses_nickname"] is True
    assert (by_id[b2["id"]]["client_name"], by_id[b2["id"]]["age_band"]) == ("显名者", "25-29")
    detail = await client.get(f"{CENTRE}/bookings/{b1['id']}", headers=centre.headers)
    assert detail.json()["client_name"] == "小树"
    assert "隐名者" not in lst.text and "隐名者" not in detail.text


# --- the counsellor's side ----------------------------------------------------------------------------------


async def test_notes_are_written_by_the_booked_counsellor_and_read_by_nobody_else(client):
    from models.counselling import CounsellingNote

    c = await staffed_centre(client)
    booking = await past_booking(c.owner, c.cid, await young())
    note = f"首次访谈，建立关系；睡眠改善-{uuid.uuid4().hex[:6]}"
    for not_counsellor in (c.owner, c.duty[0], c.editor):
        r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "想写一条"},
                             headers=not_counsellor.headers)
        assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_NOTE_NOT_ALLOWED"
    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": "草稿"}, headers=c.counsellor.headers)
    assert r.status_code == 200
    r = await client.put(f"{CENTRE}/bookings/{booking}/notes", json={"body": note}, headers=c.counsellor.headers)
    assert r.status_code == 200 and r.json()["body"] == note
    r = await client.get(f"{CENTRE}/bookings/{booking}/notes", headers=c.counsellor.headers)
    assert r.status_code == 200 and r.json()["body"] == note
    # The note exists, and still nobody else of the centre (duty and owner included) gets to it.
    async with session_scope() as session:
        stored = (await session.execute(select(CounsellingNote).where(CounsellingNote.booking_id == booking))
                  ).scalars().all()
    assert [(n.author_id, n.body) for n in stored] == [(c.counsellor.user_id, note)]
    for other in (c.owner, c.duty[0], c.editor):
        r = await client.get(f"{CENTRE}/bookings/{booking}/notes", headers=other.headers)
        assert r.status_code == 404 and note not in r.text
        detail = await client.get(f"{CENTRE}/bookings/{booking}", headers=other.headers)
        assert note not in detail.text
    day = (now() - timedelta(hours=2)).astimezone(SHANGHAI).date().isoformat()
    mine = await client.get(f"{CENTRE}/bookings", params={"date_from": day, "mine": True},
                            headers=c.counsellor.headers)
    assert [b["id"] for b in mine.json()["items"]] == [booking]


async def test_the_care_team_marks_attendance_once_the_session_has_started(client):
    c = await staffed_centre(client)
    future = (await book(client, await young(),
                         await add_slot(client, c.owner, c.cid, now() + timedelta(days=1)))).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{future}/attendance", json={"status": "attended"},
                          headers=c.counsellor.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_SESSION_NOT_STARTED"
    r = await client.put(f"{CENTRE}/bookings/{future}/notes", json={"body": "x"}, headers=c.counsellor.headers)
    assert r.status_code == 409
    past = await past_booking(c.owner, c.cid, await young())
    r = await client.post(f"{CENTRE}/bookings/{past}/attendance", json={"status": "attended"},
                          headers=c.editor.headers)
    assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_CARE_TEAM_ONLY"
    r = await client.post(f"{CENTRE}/bookings/{past}/attendance", json={"status": "attended"},
                          headers=c.counsellor.headers)
    assert r.status_code == 200 and r.json()["status"] == "attended"
    r = await client.post(f"{CENTRE}/bookings/{past}/attendance", json={"status": "no_show"},
                          headers=c.duty[0].headers)
    assert r.status_code == 200 and r.json()["status"] == "no_show" and r.json()["strike"]["kind"] == "no_show"
    other = await organisation("counselling_center")
    r = await client.post(f"{CENTRE}/bookings/{past}/attendance", json={"status": "attended"}, headers=other.headers)
    assert r.status_code == 404


async def test_centre_cancel_notifies_the_person_and_withdraws_the_slot(client, factory):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    person = await young()
    booking = (await book(client, person, slot)).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{booking}/cancel", json={}, headers=centre.headers)
    assert r.status_code == 422
    r = await client.post(f"{CENTRE}/bookings/{booking}/cancel", json={"reason": "咨询师临时外出培训"},
                          headers=centre.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled_by_centre"
    (note,) = await inbox(client, person, "counselling.cancelled_by_centre")
    assert "咨询师临时外出培训" in note["body"]
    assert await slot_status(slot) == "withdrawn"
    mine = (await client.get(f"{YOUTH}/bookings/{booking}", headers=person.headers)).json()
    assert mine["cancel_reason"] == "咨询师临时外出培训"


async def test_staff_stats_are_counts_only(client, factory):
    centre, cid = await centre_with_counsellor(client)
    secret = f"秘密{uuid.uuid4().hex[:6]}"
    await book(client, await young(), await add_slot(client, centre, cid, now() + timedelta(days=1)),
               risk=True, nickname="匿名", description=secret)
    await add_slot(client, centre, cid, now() + timedelta(days=2))
    staff = await account("moderator")
    r = await client.get(f"{API}/staff/counselling/stats", params={"org_id": centre.org_id}, headers=staff.headers)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["counsellors_published"] == 1 and s["slots"]["free"] == 1 and s["slots"]["booked"] == 1
    assert s["bookings"]["booked"] == 1 and s["risk_flagged"] == 1 and s["nickname_bookings"] == 1
    assert (s["risk_awaiting"], s["risk_overdue"]) == (1, 0)
    assert secret not in r.text and "匿名" not in r.text
    assert (await client.get(f"{API}/staff/counselling/stats", headers=centre.headers)).status_code == 403


# --- late cancellations and no-shows (the shared restriction policy) ---------------------------------------


async def test_two_late_cancellations_pause_self_booking_with_reason_until_crisis_lines_and_the_centre(
        client, travel):
    centre, cid = await centre_with_counsellor(client)
    editor = await account("provider", org_id=centre.org_id, org_role="editor")
    who = await young()
    t0 = travel(now())
    late = [await add_slot(client, centre, cid, t0 + timedelta(hours=h)) for h in (5, 7)]
    booked = [(await book(client, who, s)).json()["id"] for s in late]
    for b in booked:
        r = await client.delete(f"{YOUTH}/bookings/{b}", headers=who.headers)
        assert r.status_code == 200 and r.json()["late_change"] is True
    r = await client.get(f"{API}/me/counselling-restriction", headers=who.headers)
    shown = r.json()
    assert shown["restricted"] is True and "2次" in shown["reason"] and shown["crisis_resources"]
    until = datetime.fromisoformat(shown["until"])
    assert until == t0 + timedelta(days=30)
    (told,) = await inbox(client, who, "restriction.applied")
    assert "心理咨询" in told["title"]

    later = await add_slot(client, centre, cid, t0 + timedelta(days=2))
    for risk in (False, True):
        r = await book(client, who, later, risk=risk)
        assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_BOOKING_RESTRICTED", r.text
        message = r.json()["message"]
        assert shown["reason"] in message and until.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M") in message
        assert "12356" in message and "0871-12345678" in message
    assert await slot_status(later) == "free"

    # The centre's duty or owner may waive one, with a reason the person is told; the restriction lifts.
    r = await client.post(f"{CENTRE}/bookings/{booked[0]}/waive-strike", json={"reason": "来访者当天住院"},
                          headers=editor.headers)
    assert r.status_code == 403 and r.json()["code"] == "COUNSELLING_DUTY_OR_OWNER_ONLY"
    r = await client.post(f"{CENTRE}/bookings/{booked[0]}/waive-strike", json={"reason": "来访者当天住院"},
                          headers=centre.headers)
    assert r.status_code == 200, r.text
    assert r.json()["strike"] == {"kind": "late_cancel", "waived": True, "waive_reason": "来访者当天住院"}
    (waived,) = await inbox(client, who, "counselling.strike_waived")
    assert "来访者当天住院" in waived["body"]
    assert (await client.get(f"{API}/me/counselling-restriction", headers=who.headers)).json()["restricted"] is False
    assert (await book(client, who, later)).status_code == 201
    again = await client.post(f"{CENTRE}/bookings/{booked[0]}/waive-strike", json={"reason": "重复提交"},
                              headers=centre.headers)
    assert again.status_code == 200 and again.json()["strike"]["waive_reason"] == "来访者当天住院"
    assert len(await inbox(client, who, "counselling.strike_waived")) == 1


async def test_no_shows_count_and_correcting_one_to_attended_waives_it(client):
    centre, cid = await centre_with_counsellor(client)
    who = await young()
    held = [await past_booking(centre, cid, who, hours_ago=h) for h in (3, 5)]
    upcoming = (await book(client, who, await add_slot(client, centre, cid, now() + timedelta(days=3)))).json()["id"]
    for b in held:
        r = await client.post(f"{CENTRE}/bookings/{b}/attendance", json={"status": "no_show"}, headers=centre.headers)
        assert r.status_code == 200, r.text
    assert (await client.get(f"{API}/me/counselling-restriction", headers=who.headers)).json()["restricted"] is True
    # A restriction stops new self-bookings only: a booking already held can still be moved.
    moved = await client.post(f"{YOUTH}/bookings/{upcoming}/reschedule",
                              json={"slot_id": await add_slot(client, centre, cid, now() + timedelta(days=4))},
                              headers=who.headers)
    assert moved.status_code == 200, moved.text
    refused = await book(client, who, await add_slot(client, centre, cid, now() + timedelta(days=5)))
    assert refused.status_code == 403
    r = await client.post(f"{CENTRE}/bookings/{held[1]}/attendance", json={"status": "attended"},
                          headers=centre.headers)
    assert r.status_code == 200 and r.json()["strike"]["waived"] is True
    assert (await client.get(f"{API}/me/counselling-restriction", headers=who.headers)).json()["restricted"] is False
    on_time = await add_slot(client, centre, cid, now() + timedelta(days=2))
    r = await client.post(f"{CENTRE}/bookings/{held[1]}/waive-strike", json={"reason": "已更正"}, headers=centre.headers)
    assert r.status_code == 200
    fine = (await book(client, who, on_time)).json()["id"]
    r = await client.post(f"{CENTRE}/bookings/{fine}/waive-strike", json={"reason": "没有记录"}, headers=centre.headers)
    assert r.status_code == 409 and r.json()["code"] == "COUNSELLING_NOTHING_TO_WAIVE"


# --- concurrency (PostgreSQL) ----------------------------------------------------------------------------


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
    centre = await organisation("counselling_center")
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


@pytest.mark.postgres
async def test_two_sweepers_at_once_escalate_each_flag_once(client, travel):
    from app import clock
    from app.services.counselling import risk

    c = await staffed_centre(client, duty=2)
    t0 = travel(now())
    flagged = [(await book(client, await young(), await add_slot(client, c.owner, c.cid, t0 + timedelta(days=1, hours=i)),
                           risk=True)).json()["id"] for i in range(6)]
    travel(t0 + timedelta(hours=2))

    async def sweep_once() -> int:
        async with session_scope() as session:
            return await risk.escalate(session, clock.now())

    await asyncio.gather(sweep_once(), sweep_once(), sweep_once())
    for d in c.duty:
        got = sorted(n["data"]["booking_id"] for n in await inbox(client, d, "counselling.risk_escalated"))
        assert got == sorted(flagged)
