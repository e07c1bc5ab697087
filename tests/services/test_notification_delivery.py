"""The outbox: subscribe messages go out once each, wait while WeChat is down, never twice."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app.db import session_scope
from app.services import notifications
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


async def new_note(user_id: int, kind: str = "event.promoted") -> int:
    async with session_scope() as s:
        note = notifications.notify(s, user_id=user_id, kind=kind, title="候补转正：周末联谊活动报名成功啦",
                                    body="您已从候补转为正式报名，请准时参加")
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
    assert len(msgs[0]["data"]["thing1"]["value"]) <= 20
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
