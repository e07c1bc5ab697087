"""Faults that are fast enough for the suite: WeChat slower than our timeout, or down. The slow ones
(a worker killed in a rush, PostgreSQL restarted under load) are in ``make bench``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.wechat import close_wechat_client

TIMEOUT = 0.3  # seconds
SLOW = 1.0  # the stand-in's delay when it is slow: well past the timeout


@pytest.fixture
async def short_timeout(settings: Any) -> AsyncIterator[None]:
    """A short WeChat timeout. The client is built once per process from the settings, so drop it
    before and after: the next call builds a new one with the timeout in force."""
    saved = settings.wechat_timeout_seconds
    settings.wechat_timeout_seconds = TIMEOUT
    await close_wechat_client()
    try:
        yield
    finally:
        settings.wechat_timeout_seconds = saved
        await close_wechat_client()


@pytest.fixture
async def standin(standin_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The stand-in's hooks; its behaviour is back to normal after the test, whatever happened."""
    async with httpx.AsyncClient(base_url=standin_url, timeout=10) as http:
        try:
            yield http
        finally:
            (await http.post("/_standin/behaviour", json={"delay_seconds": 0, "down": False})).raise_for_status()
            # The stand-in finishes the slow answers nobody waits for any more; let them end here
            # rather than in another test or at the stand-in's shutdown.
            await asyncio.sleep(SLOW)


async def behave(standin: httpx.AsyncClient, **behaviour: Any) -> None:
    (await standin.post("/_standin/behaviour", json=behaviour)).raise_for_status()


def login_code() -> str:
    return f"dev:fault{uuid.uuid4().hex[:10]}:{uuid.uuid4().hex[:6]}"


async def login(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/api/v1/auth/wechat/login", json={"code": login_code()})


async def test_wechat_slower_than_timeout_answers_503_then_login_works(
        client: httpx.AsyncClient, standin: httpx.AsyncClient, short_timeout: None) -> None:
    await behave(standin, delay_seconds=SLOW)
    r = await login(client)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "WECHAT_UNAVAILABLE"

    await behave(standin, delay_seconds=0)
    r = await login(client)
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]


async def test_wechat_down_answers_503_then_login_works(
        client: httpx.AsyncClient, standin: httpx.AsyncClient, short_timeout: None) -> None:
    await behave(standin, down=True)
    r = await login(client)
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "WECHAT_UNAVAILABLE"

    await behave(standin, down=False)
    r = await login(client)
    assert r.status_code == 200, r.text


async def test_many_slow_logins_do_not_stick_the_app(
        client: httpx.AsyncClient, standin: httpx.AsyncClient, short_timeout: None) -> None:
    """More slow logins at once than the WeChat client's connection pool keeps alive: every one ends
    in WECHAT_UNAVAILABLE, requests that need no WeChat are served meanwhile, and the next login
    after WeChat recovers works (no connection or database session left stuck)."""
    await behave(standin, delay_seconds=SLOW)
    slow = [asyncio.ensure_future(login(client)) for _ in range(30)]
    ready = await client.get("/readyz")
    answers = await asyncio.gather(*slow)
    assert ready.status_code == 200
    assert {(r.status_code, r.json()["code"]) for r in answers} == {(503, "WECHAT_UNAVAILABLE")}

    await behave(standin, delay_seconds=0)
    answers = await asyncio.gather(*(login(client) for _ in range(5)))
    assert [r.status_code for r in answers] == [200] * 5


async def test_a_saturated_pool_answers_server_busy_then_serves_again(client, factory, settings, monkeypatch):
    """Every pooled connection busy past the pool timeout is a rush, not an outage: 503 SERVER_BUSY with
    Retry-After (not DB_UNAVAILABLE), and the next request once a connection is free is served."""
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app import db

    youth = await factory.youth()
    small = db.make_engine(settings, pool_size=1, max_overflow=0, pool_timeout=0.3)
    monkeypatch.setattr(db, "_engine", small)
    monkeypatch.setattr(db, "_sessionmaker", async_sessionmaker(small, class_=AsyncSession, expire_on_commit=False))
    try:
        held = await small.connect()  # the pool's only connection, checked out
        try:
            busy = await client.get("/api/v1/me", headers=youth.headers)
        finally:
            await held.close()
        assert busy.status_code == 503, busy.text
        assert busy.json()["code"] == "SERVER_BUSY" and busy.headers["retry-after"] == "2"
        again = await client.get("/api/v1/me", headers=youth.headers)
        assert again.status_code == 200, again.text
    finally:
        await small.dispose()
