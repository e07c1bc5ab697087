"""PostgreSQL's sign-up path (app.services.events.signup_pg and the ``events_sign_up`` function of
migration events03): two statements for a sign-up, one for a replay, and the function's refusals roll
back everything it wrote. Its decisions are the portable path's: the behavioural tests of sign-up run
on it (and, with the ``signup_path`` fixture, on both paths)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from app.db import get_engine, session_scope
from app.services.events.common import QUOTA_LOCK_CLASS
from models.events import EventQuota, EventRegistration
from models.platform import IdempotencyRecord
from tests.api.test_events import bulk_youth, create_event, sign_up

pytestmark = pytest.mark.postgres


class _Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "rate_counters" not in statement:  # the rate limit's own counter (Redis in production)
            self.seen.append(statement)


@pytest.fixture
def statements() -> Iterator[_Statements]:
    seen = _Statements()
    engine = get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    yield seen
    event.remove(engine, "before_cursor_execute", seen)


async def test_a_sign_up_is_two_statements_and_a_replay_one(client, factory, statements):
    event_id, _ = await create_event(client, factory, capacity=2, quotas=(1, 1))
    first, second, third = await bulk_youth(["female", "female", "female"])
    assert (await sign_up(client, event_id, first)).status_code == 201  # warms the event's rules

    key = uuid.uuid4().hex
    statements.seen.clear()
    r = await sign_up(client, event_id, second, **{"Idempotency-Key": key})
    assert r.status_code == 201 and r.json()["status"] == "waitlisted" and r.json()["waitlist_position"] == 1
    assert len(statements.seen) == 2 and "events_sign_up" in statements.seen[1], statements.seen

    statements.seen.clear()
    again = await sign_up(client, event_id, second, **{"Idempotency-Key": key})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replay") == "true"
    assert again.json() == r.json()
    assert len(statements.seen) == 1, statements.seen

    statements.seen.clear()  # a new key, a registration already held: the read and the stored answer
    tap = await sign_up(client, event_id, second, **{"Idempotency-Key": uuid.uuid4().hex})
    assert tap.status_code == 201 and tap.json()["id"] == r.json()["id"]
    assert tap.json()["waitlist_position"] == 1
    assert len(statements.seen) == 2, statements.seen

    statements.seen.clear()  # no key: nothing stored
    plain = await sign_up(client, event_id, third)
    assert plain.status_code == 201 and plain.json()["waitlist_position"] == 2
    assert len(statements.seen) == 2, statements.seen


async def test_the_stored_answer_is_the_answer_given(client, factory):
    event_id, _ = await create_event(client, factory, capacity=2, quotas=(1, 1))
    (person,) = await bulk_youth(["male"])
    key = uuid.uuid4().hex
    r = await sign_up(client, event_id, person, **{"Idempotency-Key": key})
    assert r.status_code == 201 and r.json()["status"] == "confirmed"
    async with session_scope() as session:
        stored = (await session.execute(select(IdempotencyRecord.status_code, IdempotencyRecord.response_body)
                                        .where(IdempotencyRecord.key == key))).one()
    assert stored.status_code == 201 and stored.response_body == r.json()


async def _call(conn: Any, **over: Any) -> Any:
    params = {"scope": "1", "key": uuid.uuid4().hex, "route": "POST /x", "hash": "h", "status_code": 201,
              "body": "{}", "take": True, "lock_class": QUOTA_LOCK_CLASS, "now": None, **over}
    return (await conn.execute(text(
        "SELECT * FROM events_sign_up(:scope, :key, :route, :hash, :status_code, CAST(:body AS json), :event_id, "
        ":user_id, :quota_id, :quota_key, :take, :lock_class, coalesce(:now, now()))"), params)).one()


async def _counts(event_id: int, key: str) -> tuple[int, int]:
    async with session_scope() as session:
        regs = (await session.execute(select(func.count()).select_from(EventRegistration)
                                      .where(EventRegistration.event_id == event_id))).scalar_one()
        keys = (await session.execute(select(func.count()).select_from(IdempotencyRecord)
                                      .where(IdempotencyRecord.key == key))).scalar_one()
    return regs, keys


async def _quota(event_id: int, key: str) -> Any:
    async with session_scope() as session:
        return (await session.execute(select(EventQuota).where(EventQuota.event_id == event_id,
                                                               EventQuota.quota_key == key))).scalar_one()


@pytest.mark.parametrize(("case", "sqlstate"), [("closed", "YE001"), ("held", "YE002"), ("free_with_queue", "YE003")])
async def test_each_refusal_of_the_function_leaves_nothing_written(client, factory, case, sqlstate):
    event_id, _ = await create_event(client, factory, capacity=2, quotas=(1, 1))
    person, other = await bulk_youth(["female", "female"])
    quota = await _quota(event_id, "female")
    take = True
    async with get_engine().connect() as conn:
        if case == "closed":
            await conn.execute(text("UPDATE event_quotas SET open = false, taken = capacity WHERE id = :q"),
                               {"q": quota.id})
        elif case == "held":
            await _call(conn, event_id=event_id, user_id=person.user_id, quota_id=quota.id, quota_key="female")
        else:  # someone waits while the counter says a place is free
            await conn.execute(text("INSERT INTO event_registrations (event_id, user_id, quota_key, status, "
                                    "created_at, late_cancel) VALUES (:e, :u, 'female', 'waitlisted', now(), false)"),
                               {"e": event_id, "u": other.user_id})
            take = False
        await conn.commit()
        before = await _counts(event_id, "k-" + case)
        taken_before = (await _quota(event_id, "female")).taken
        with pytest.raises(DBAPIError) as raised:
            await _call(conn, key="k-" + case, event_id=event_id, user_id=person.user_id, quota_id=quota.id,
                        quota_key="female", take=take)
        await conn.rollback()
    assert raised.value.orig.sqlstate == sqlstate
    assert await _counts(event_id, "k-" + case) == before
    assert before[1] == 0
    assert (await _quota(event_id, "female")).taken == taken_before  # the counter is untouched too
