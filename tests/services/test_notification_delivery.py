"""The outbox: subscribe messages go out once each, wait while WeChat is down, never twice."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app.db import session_scope
from app.services import notifications
from app.services.events.notices import PROMOTED
from app.services.notifications.catalogue import notify
from models.base import utcnow
from models.notifications import Notification


async def standin(url: str, path: str, body: dict | None = None) -> dict:
    async with httpx.AsyncClient(base_url=url) as c:
        r = await (c.post(path, json=body) if body is not None else c.get(path))
        r.raise_for_status()
        return r.json()


async def sent_to(url: str, openid: str) -> list[dict]:
    return [m for m in (await standin(url, "/_standin/stats"))["messages"] if m["touser"] == openid]


async def openid_of(user_id: int) -> str:
    from models.accounts import User

    async with session_scope() as s:
        return (await s.get(User, user_id)).openid


async def new_note(user_id: int) -> int:
    # An event name longer than WeChat's 20-character thing field: delivery has to shorten it.
    async with session_scope() as s:
        note = notify(s, PROMOTED, user_id, event="春城青年周末联谊活动·翠湖公园读书会第十二期（冬季特别场）",
                      starts_at=utcnow() + timedelta(days=3), venue="翠湖公园东门")
        await s.flush()
        return note.id


async def state(note_id: int) -> Notification:
    async with session_scope() as s:
        return (await s.execute(select(Notification).where(Notification.id == note_id))).scalar_one()


@pytest.fixture
async def normal_standin(standin_url):
    yield
    await standin(standin_url, "/_standin/behaviour", {"delay_seconds": 0, "down": False})


async def test_sent_once_with_a_credit(client, factory, standin_url, normal_standin):
    youth = await factory.youth()
    r = await client.post("/api/v1/me/notifications/subscriptions", json={"template_ids": ["tmpl-event-dev"]},
                          headers=youth.headers)
    assert r.status_code == 200 and r.json() == {"tmpl-event-dev": 1}
    note_id = await new_note(youth.user_id)
    await notifications.deliver_due(limit=1000)
    await notifications.deliver_due(limit=1000)
    msgs = await sent_to(standin_url, await openid_of(youth.user_id))
    assert len(msgs) == 1
    thing1 = msgs[0]["data"]["thing1"]["value"]
    assert len(thing1) <= 20 and thing1.startswith("春城青年周末联谊活动")
    assert all(keywords.check(k, v["value"]) is None for k, v in msgs[0]["data"].items())
    assert (await state(note_id)).delivery_status == "sent"


async def test_without_credit_nothing_is_sent(factory, standin_url, normal_standin):
    youth = await factory.youth()
    note_id = await new_note(youth.user_id)
    await notifications.deliver_due(limit=1000)
    assert (await state(note_id)).delivery_status == "skipped"
    assert await sent_to(standin_url, await openid_of(youth.user_id)) == []


async def test_wechat_down_retries_later_and_delivers_once(client, factory, standin_url, normal_standin):
    youth = await factory.youth()
    await client.post("/api/v1/me/notifications/subscriptions", json={"template_ids": ["tmpl-event-dev"]},
                      headers=youth.headers)
    note_id = await new_note(youth.user_id)
    await standin(standin_url, "/_standin/behaviour", {"down": True})
    await notifications.deliver_due(limit=1000)
    first = await state(note_id)
    assert first.delivery_status == "pending" and first.attempts == 1
    assert first.next_attempt_at > utcnow()
    await standin(standin_url, "/_standin/behaviour", {"down": False})
    await notifications.deliver_due(limit=1000)  # not due yet
    assert (await state(note_id)).delivery_status == "pending"
    await notifications.deliver_due(limit=1000, now=utcnow() + timedelta(hours=1))
    await notifications.deliver_due(limit=1000, now=utcnow() + timedelta(hours=2))
    assert (await state(note_id)).delivery_status == "sent"
    assert len(await sent_to(standin_url, await openid_of(youth.user_id))) == 1


# --- the catalogue's messages, failures as WeChat defines them, parked deliveries ---------------------

import asyncio  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from app.wechat import keywords  # noqa: E402
from models.notifications import SubscribeCredit  # noqa: E402
from tests.conftest import ROOT, unique  # noqa: E402
from tests.factories import bulk_youth, volunteer_shift  # noqa: E402


async def people_with_credits(n: int, template: str = "tmpl-account-dev", prefix: str = "o") -> list[tuple[int, str]]:
    openids = [f"{prefix}{unique('')}{i}"[:28] for i in range(n)]
    people = [(await bulk_youth(1, openid=oid))[0].user_id for oid in openids]
    async with session_scope() as s:
        s.add_all(SubscribeCredit(user_id=uid, template_id=template, credits=1) for uid in people)
    return list(zip(people, openids, strict=True))


async def account_note(user_id: int) -> int:
    from app.services.orgs import ORG_REJECTED

    async with session_scope() as s:
        note = notify(s, ORG_REJECTED, user_id, org="春城青年志愿者协会" * 3, reason="材料不全🙂\n请补充" * 5,
                      at=utcnow())
        await s.flush()
        return note.id


async def credits_of(user_id: int, template: str) -> int:
    async with session_scope() as s:
        return (await s.execute(select(SubscribeCredit.credits).where(
            SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template))).scalar_one()


async def test_a_waitlist_promotion_is_one_inbox_entry_and_one_valid_subscribe_message(client, standin_url,
                                                                                       normal_standin):
    from tests.factories import published

    _, p = await published(client, "volunteer_project", waitlist_enabled=True, shifts=[volunteer_shift(capacity=1)])
    sid = p["shifts"][0]["id"]
    a = (await bulk_youth(1))[0]
    openid = f"o{unique('')}"
    b = (await bulk_youth(1, openid=openid))[0]
    r = await client.post("/api/v1/me/notifications/subscriptions", json={"template_ids": ["tmpl-volunteer-dev"]},
                          headers=b.headers)
    assert r.status_code == 200
    for person in (a, b):
        assert (await client.post(f"/api/v1/volunteer/shifts/{sid}/signups", headers=person.headers)).status_code == 201
    await client.delete(f"/api/v1/volunteer/shifts/{sid}/signups/mine", headers=a.headers)
    inbox = (await client.get("/api/v1/me/notifications", headers=b.headers)).json()["items"]
    assert [n["kind"] for n in inbox].count("volunteer.promoted") == 1
    for _ in range(3):
        await notifications.deliver_due(limit=1000)
    msgs = await sent_to(standin_url, openid)
    # the waitlisting itself is sent with the same template; the person had one credit: the first only
    assert len(msgs) == 1 and msgs[0]["template_id"] == "tmpl-volunteer-dev"
    assert set(msgs[0]["data"]) == {"thing1", "time2", "thing3"}
    assert all(keywords.check(k, v["value"]) is None for k, v in msgs[0]["data"].items())


async def test_a_standin_failing_twice_then_succeeding_delivers_once(standin_url, normal_standin):
    (uid, openid), = await people_with_credits(1)
    note_id = await account_note(uid)
    await standin(standin_url, "/_standin/behaviour", {"fail_sends": 2})
    later = utcnow()
    for _ in range(4):
        await notifications.deliver_due(limit=1000, now=later)
        later += timedelta(hours=2)
    row = await state(note_id)
    assert (row.delivery_status, row.attempts) == ("sent", 3)
    msgs = await sent_to(standin_url, openid)
    assert len(msgs) == 1
    assert all(keywords.check(k, v["value"]) is None for k, v in msgs[0]["data"].items())
    assert await credits_of(uid, "tmpl-account-dev") == 0  # refunded on each failure, spent once


async def test_43101_is_final_and_resets_the_credit(standin_url, normal_standin):
    (uid, _), = await people_with_credits(1, prefix="nocredit")
    async with session_scope() as s:
        await s.execute(SubscribeCredit.__table__.update().where(SubscribeCredit.user_id == uid).values(credits=5))
    note_id = await account_note(uid)
    await notifications.deliver_due(limit=1000)
    row = await state(note_id)
    assert row.delivery_status == "skipped" and "43101" in row.last_error
    assert await credits_of(uid, "tmpl-account-dev") == 0


async def test_retries_run_out_then_staff_see_it_and_retry_it(client, factory, standin_url, normal_standin):
    (uid, openid), = await people_with_credits(1)
    staff, someone = await factory.staff(), await factory.youth()
    note_id = await account_note(uid)
    await standin(standin_url, "/_standin/behaviour", {"down": True})
    later = utcnow()
    for _ in range(12):
        await notifications.deliver_due(limit=1000, now=later)
        later += timedelta(hours=2)
    row = await state(note_id)
    assert row.delivery_status == "failed" and row.attempts == 8 and "gave up" in row.last_error
    listed = (await client.get("/api/v1/staff/notification-deliveries?status=failed&limit=100",
                               headers=staff.headers)).json()["items"]
    mine = [d for d in listed if d["id"] == note_id]
    assert mine and mine[0]["last_error"].startswith("wechat unavailable") and "title" not in mine[0]
    youth_view = await client.get("/api/v1/staff/notification-deliveries", headers=someone.headers)
    assert youth_view.status_code == 403
    await standin(standin_url, "/_standin/behaviour", {"down": False})
    r = await client.post(f"/api/v1/staff/notification-deliveries/{note_id}/retry", headers=staff.headers)
    assert r.status_code == 200 and r.json()["delivery_status"] == "pending"
    again = await client.post(f"/api/v1/staff/notification-deliveries/{note_id}/retry", headers=staff.headers)
    assert again.status_code == 409 and again.json()["code"] == "DELIVERY_NOT_PARKED"
    await notifications.deliver_due(limit=1000)
    assert (await state(note_id)).delivery_status == "sent"
    assert len(await sent_to(standin_url, openid)) == 1


async def test_a_worker_killed_mid_batch_then_another_delivers_each_once(standin_url, normal_standin):
    people = await people_with_credits(6)
    notes = [await account_note(uid) for uid, _ in people]
    before = (await standin(standin_url, "/_standin/stats"))["message_count"]
    await standin(standin_url, "/_standin/behaviour", {"delay_seconds": 0.4})
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "deliver-notifications"], cwd=ROOT,
                              env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while (await standin(standin_url, "/_standin/stats"))["message_count"] < before + 2:
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()[0]
            await asyncio.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    await standin(standin_url, "/_standin/behaviour", {"delay_seconds": 0})
    after_lease = utcnow() + notifications.SEND_LEASE + timedelta(seconds=2)
    await notifications.deliver_due(limit=1000, now=after_lease)
    await notifications.deliver_due(limit=1000, now=after_lease)
    statuses = [(await state(n)).delivery_status for n in notes]
    counts = [len(await sent_to(standin_url, oid)) for _, oid in people]
    assert max(counts) == 1, counts  # nobody twice
    # Everything the dead worker had not started went out; at most the one in flight is unknown.
    assert statuses.count("unknown") <= 1 and set(statuses) <= {"sent", "unknown"}, statuses
    assert all(c == 1 for c, s in zip(counts, statuses, strict=True) if s == "sent")


@pytest.mark.postgres
async def test_four_workers_at_once_send_each_notification_once(standin_url, normal_standin):
    people = await people_with_credits(40)
    notes = [await account_note(uid) for uid, _ in people]
    await asyncio.gather(*(notifications.deliver_due(limit=7) for _ in range(4)))
    await asyncio.gather(*(notifications.deliver_due(limit=50) for _ in range(4)))
    assert {(await state(n)).delivery_status for n in notes} == {"sent"}
    assert [len(await sent_to(standin_url, oid)) for _, oid in people] == [1] * 40
