"""Shared platform mechanisms: Idempotency-Key, rate limits, cursors, field encryption."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app import crypto, errors
from app.context import configure_logging
from app.db import session_scope
from app.deps import SessionDep, YouthUser
from app.idempotency import IdempotencyDep
from app.kit import ratelimit
from app.kit.pagination import Key, decode_cursor, encode_cursor
from app.main import install_error_handlers
from app.services.events.notices import PROMOTED
from app.services.notifications.catalogue import notify
from models.base import utcnow
from models.notifications import Notification
from tests.conftest import unique


@pytest.fixture(scope="module")
def idem_app():
    """A tiny app whose POST writes one notification per executed request."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def create(body: dict, user: YouthUser, session: SessionDep, idem: IdempotencyDep):
        async def work():
            note = notify(session, PROMOTED, user.user_id, event=f"活动{body.get('n')}", starts_at=utcnow(),
                          venue="翠湖")
            await session.flush()
            await asyncio.sleep(0.05)  # widen the window for concurrent duplicates
            return {"id": note.id, "n": body.get("n")}

        return await idem.run(session, user, work, status_code=201)

    return app


async def count_notes(user_id: int) -> int:
    async with session_scope() as s:
        return (await s.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.kind == PROMOTED.key))).scalar_one()


async def test_same_key_same_body_replays_other_body_conflicts(idem_app, factory):
    youth = await factory.youth()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idem_app), base_url="http://t") as c:
        h = dict(youth.headers, **{"Idempotency-Key": "k-1"})
        first = await c.post("/things", json={"n": 1}, headers=h)
        second = await c.post("/things", json={"n": 1}, headers=h)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers.get("idempotent-replay") == "true"
        other = await c.post("/things", json={"n": 2}, headers=h)
        assert other.status_code == 409 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        # Keys belong to a person: another person's same key is independent.
        someone = await factory.youth()
        r = await c.post("/things", json={"n": 1}, headers=dict(someone.headers, **{"Idempotency-Key": "k-1"}))
        assert r.status_code == 201 and r.json()["id"] != first.json()["id"]
    assert await count_notes(youth.user_id) == 1


async def test_concurrent_duplicates_run_the_work_once(idem_app, factory):
    youth = await factory.youth()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idem_app), base_url="http://t") as c:
        h = dict(youth.headers, **{"Idempotency-Key": "burst"})
        answers = await asyncio.gather(*[c.post("/things", json={"n": 7}, headers=h) for _ in range(8)])
    ok = [a for a in answers if a.status_code == 201]
    assert ok, [a.text for a in answers]
    assert {a.json()["id"] for a in ok} == {ok[0].json()["id"]}
    assert all(a.status_code in (201, 409) for a in answers)
    assert await count_notes(youth.user_id) == 1


async def test_rate_limit_counts_across_calls_and_says_when():
    key = unique("rl")
    for _ in range(3):
        await ratelimit.hit(key, limit=3, window_seconds=60)
    with pytest.raises(errors.RateLimited) as exc:
        await ratelimit.hit(key, limit=3, window_seconds=60)
    assert 1 <= int(exc.value.headers["Retry-After"]) <= 61


def test_cursor_round_trip_and_garbage():
    order = [Key("id", None)]
    assert decode_cursor(order, encode_cursor(order, [5])) == [5]
    for bad in ("%%%", "bm90IGpzb24", encode_cursor([Key("x", None)], [1]), encode_cursor(order, ["5"])):
        with pytest.raises(errors.InvalidCursor):
            decode_cursor(order, bad)


def test_encryption_is_randomised_and_bound_to_purpose():
    a, b = crypto.encrypt("530102199003071238", "users.id_number"), crypto.encrypt("530102199003071238",
                                                                                    "users.id_number")
    assert a != b and "530102" not in a
    assert crypto.decrypt(a, "users.id_number") == "530102199003071238"
    with pytest.raises(ValueError):
        crypto.decrypt(a, "users.phone")


async def test_rate_limit_in_redis_when_configured(settings, monkeypatch):
    redis = pytest.importorskip("redis.asyncio")
    try:
        probe = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1)
        await probe.ping()
        await probe.aclose()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    monkeypatch.setattr(settings, "redis_url", "redis://127.0.0.1:6379/15")
    key = unique("rlr")
    await ratelimit.hit(key, limit=1, window_seconds=30)
    with pytest.raises(errors.RateLimited):
        await ratelimit.hit(key, limit=1, window_seconds=30)
    # One counter for the window, and it expires with it.
    probe = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1)
    keys = [k async for k in probe.scan_iter(f"rl:{key}:*")]
    assert len(keys) == 1 and await probe.get(keys[0]) == b"2"
    assert 0 < await probe.ttl(keys[0]) <= 35
    await probe.aclose()
    # Nothing of it went to the database.
    from models.platform import RateCounter

    async with session_scope() as s:
        assert await s.get(RateCounter, key) is None


async def test_inbox_lists_and_marks_read(client, factory):
    youth = await factory.youth()
    async with session_scope() as s:
        for i in range(3):
            notify(s, PROMOTED, youth.user_id, event=f"读书会{i}", starts_at=utcnow(), venue="翠湖")
    page = (await client.get("/api/v1/me/notifications", params={"limit": 2}, headers=youth.headers)).json()
    assert [n["data"]["params"]["event"] for n in page["items"]] == ["读书会2", "读书会1"] and page["next_cursor"]
    assert all(n["kind"] == "event.promoted" and "「读书会" in n["body"] for n in page["items"])
    rest = (await client.get("/api/v1/me/notifications", params={"cursor": page["next_cursor"]},
                             headers=youth.headers)).json()
    assert [n["data"]["params"]["event"] for n in rest["items"]] == ["读书会0"] and rest["next_cursor"] is None
    assert (await client.post("/api/v1/me/notifications/read", headers=youth.headers)).status_code == 204
    unread = (await client.get("/api/v1/me/notifications", params={"unread_only": True}, headers=youth.headers)).json()
    assert unread["items"] == []
    other = await factory.youth()
    assert (await client.get("/api/v1/me/notifications", headers=other.headers)).json()["items"] == []


@pytest.fixture
def uvicorn_loggers():
    """Put back the root and uvicorn loggers as they were: uvicorn's Config reconfigures them."""
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    yield
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers, lg.propagate, lg.disabled = handlers, propagate, disabled
        lg.setLevel(level)


@pytest.mark.parametrize("log_config", ["default", None], ids=["uvicorn's log config", "log_config=None"])
def test_logging_set_up_respects_uvicorns_access_log_switch(uvicorn_loggers, log_config):
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    access = logging.getLogger("uvicorn.access")
    for access_log in (True, False):  # uvicorn re-enables nothing once off, so "on" goes first
        # uvicorn configures logging when its Config is built, before the app's lifespan runs ours.
        uvicorn.Config("app.main:create_app", factory=True, access_log=access_log,
                       log_config=LOGGING_CONFIG if log_config else None)
        configure_logging(json_logs=False)
        # What uvicorn asks each connection before writing an access line.
        assert access.hasHandlers() is access_log
        if access_log:
            assert access.handlers == [] and access.propagate, "the access log goes through our handler"
