"""Openings' reminders from the sweeper: an offer's answer-by time and an interview, each once, for
live applications only (not declined, withdrawn or moved on), a rescheduled interview at its new time
only, nothing for what was made inside the lead; with several sweepers at once, each once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.db import session_scope
from app.kit import sweeper
from app.services.notifications import reminders
from app.services.openings import reminders as opening_reminders
from app.wechat import keywords
from models.notifications import Notification
from tests.api.test_openings import RESUME
from tests.factories import Actor, bulk_youth, now, published

API = "/api/v1"
OFFER, INTERVIEW = "remind.opening_offer", "remind.opening_interview"


async def applications(client: Any, people: list[Actor]) -> tuple[Actor, list[int]]:
    employer, post = await published(client, "opening", places=50)
    ids = []
    for person in people:
        r = await client.post(f"{API}/openings/{post['id']}/applications", json={"resume": RESUME},
                              headers=person.headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return employer, ids


async def move(client: Any, employer: Actor, app_id: int, what: str, **body: Any) -> dict[str, Any]:
    r = await client.post(f"{API}/provider/opening-applications/{app_id}/{what}",
                          json={k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()},
                          headers=employer.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def reminded(user_id: int, kind: str) -> list[Notification]:
    async with session_scope() as s:
        return list((await s.execute(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind).order_by(Notification.id))).scalars())


async def sweep_at(travel: Any, when: datetime, job: str) -> None:
    travel(when)
    await sweeper.sweep([job])


async def test_an_offer_is_reminded_once_a_day_before_its_answer_by_and_not_once_answered(client, travel):
    keeps, answers = await bulk_youth(2)
    employer, (kept, answered) = await applications(client, [keeps, answers])
    answer_by = now().replace(microsecond=0) + timedelta(days=3)
    for app_id in (kept, answered):
        await move(client, employer, app_id, "offer", answer_by=answer_by)
    r = await client.post(f"{API}/me/opening-applications/{answered}/decline", headers=answers.headers)
    assert r.status_code == 200, r.text
    await sweep_at(travel, answer_by - timedelta(hours=25), OFFER)  # not yet due
    assert await reminded(keeps.user_id, OFFER) == []
    for hours in (23, 12, 1):
        await sweep_at(travel, answer_by - timedelta(hours=hours), OFFER)
    (note,) = await reminded(keeps.user_id, OFFER)
    assert note.data["application_id"] == kept and note.data["opening_id"] and "前答复" in note.body
    assert note.dedupe_key == reminders.key_of(opening_reminders.OFFER, kept, answer_by)
    assert await reminded(answers.user_id, OFFER) == []  # answered: not live
    await sweep_at(travel, answer_by + timedelta(minutes=1), OFFER)  # lapsed: nothing more
    assert len(await reminded(keeps.user_id, OFFER)) == 1


async def test_an_interview_is_reminded_at_its_new_time_only_and_not_once_withdrawn(client, travel):
    goes, leaves = await bulk_youth(2)
    employer, (going, leaving) = await applications(client, [goes, leaves])
    first = now().replace(microsecond=0) + timedelta(days=2)
    for app_id in (going, leaving):
        await move(client, employer, app_id, "interview", at=first, place="呈贡区春融街1号5楼会议室")
    r = await client.post(f"{API}/me/opening-applications/{leaving}/withdraw", json={}, headers=leaves.headers)
    assert r.status_code == 200, r.text
    later = first + timedelta(days=2)
    await move(client, employer, going, "interview", at=later, link="https://meeting.example.cn/r/42")
    await sweep_at(travel, first - timedelta(hours=1), INTERVIEW)  # the old time: no longer live
    assert await reminded(goes.user_id, INTERVIEW) == []
    for hours in (20, 2):
        await sweep_at(travel, later - timedelta(hours=hours), INTERVIEW)
    (note,) = await reminded(goes.user_id, INTERVIEW)
    assert note.dedupe_key == reminders.key_of(opening_reminders.INTERVIEW, going, later)
    assert "线上" in note.body and note.data["application_id"] == going
    assert await reminded(leaves.user_id, INTERVIEW) == []


async def test_an_interview_moved_on_to_an_offer_is_not_reminded_and_inside_the_lead_nothing_is(client, travel):
    offered, soon = await bulk_youth(2)
    employer, (moved_on, close) = await applications(client, [offered, soon])
    at = now().replace(microsecond=0) + timedelta(days=2)
    await move(client, employer, moved_on, "interview", at=at, place="会议室")
    await move(client, employer, moved_on, "offer", answer_by=at + timedelta(days=5))
    close_at = now().replace(microsecond=0) + timedelta(hours=6)
    await move(client, employer, close, "interview", at=close_at, place="会议室")
    await sweep_at(travel, close_at - timedelta(hours=1), INTERVIEW)
    assert await reminded(soon.user_id, INTERVIEW) == []  # the invitation itself just told them
    await sweep_at(travel, at - timedelta(hours=1), INTERVIEW)
    assert await reminded(offered.user_id, INTERVIEW) == []


def test_the_reminder_kinds_fill_every_keyword_of_the_reminder_template_with_its_moment():
    from app.services.notifications.catalogue import TEMPLATES, _stored

    moment = datetime(2027, 3, 5, 1, 30, tzinfo=UTC)  # 09:30 in Kunming
    params = {"opening": "数据分析见习生" * 5, "answer_by": moment, "at": moment, "where": "线上（链接见申请详情）"}
    for kind in (opening_reminders.OFFER, opening_reminders.INTERVIEW):
        assert kind.reminder and kind.wechat == "reminder"
        stored = {p: _stored(params[p]) for p in kind.params}
        title, body = kind.render(stored)
        data = kind.fill(stored, title=title, body=body, sent_at=moment - timedelta(days=1))
        assert set(data) == set(TEMPLATES["reminder"].fields) == {"thing1", "time2", "thing3"}
        assert all(keywords.check(f, v) is None for f, v in data.items()), data
        assert data["time2"] == "2027年3月5日 09:30" and data["thing1"].startswith("数据分析见习生")


@pytest.mark.postgres
async def test_several_sweepers_at_once_write_each_offer_reminder_once(client):
    people = await bulk_youth(12)
    employer, ids = await applications(client, people)
    answer_by = now().replace(microsecond=0) + timedelta(days=3)
    for app_id in ids:
        await move(client, employer, app_id, "offer", answer_by=answer_by)
    at = answer_by - timedelta(hours=1)
    reminder = reminders.REMINDERS[OFFER]

    async def bare() -> int:  # without the sweeper's advisory lock: the unique key alone decides
        async with session_scope() as s:
            return await reminders.remind_due(s, reminder, at)

    async with session_scope() as s:  # an earlier test may have reminded at this very second
        before = (await s.execute(select(func.coalesce(func.max(Notification.id), 0)))).scalar_one()
    written = await asyncio.gather(*(bare() for _ in range(4)),
                                   *(sweeper.run_job(sweeper.JOBS[OFFER], now=at) for _ in range(2)))
    async with session_scope() as s:
        total = (await s.execute(select(func.count()).select_from(Notification).where(
            Notification.kind == OFFER, Notification.created_at == at,
            Notification.id > before))).scalar_one()
        counts = (await s.execute(select(Notification.user_id, func.count()).where(
            Notification.kind == OFFER, Notification.user_id.in_([p.user_id for p in people]))
            .group_by(Notification.user_id))).all()
    assert sum(written) == total >= 12
    assert sorted(c for _, c in counts) == [1] * 12
