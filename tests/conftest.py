"""Test set-up: a migrated database (SQLite file by default, PostgreSQL when TEST_DATABASE_URL is set),
the WeChat stand-in on a real port, the app behind httpx, and factories that create people the way
they arrive in production (WeChat login, provider sign-up, staff CLI).

Tests do not share a rolled-back transaction: several components (rate limits, the WeChat token cache)
commit on their own connections, and concurrency tests need real commits. Each test creates its own
people and organisations instead, and never depends on global counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
_RUN = uuid.uuid4().hex[:8]


def _prepare_database() -> str:
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        return pg
    path = ROOT / "var" / f"test-{_RUN}.db"
    path.parent.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


DB_URL = _prepare_database()
os.environ["YOUTH_ENV"] = "test"
os.environ["YOUTH_DATABASE_URL"] = DB_URL
os.environ.pop("YOUTH_REDIS_URL", None)

from app.config import DEV_WECHAT_APPID, DEV_WECHAT_SECRET  # noqa: E402
from app.wechat.standin import StandinServer  # noqa: E402

_STANDIN = StandinServer(appid=DEV_WECHAT_APPID, secret=DEV_WECHAT_SECRET, host="127.0.0.1", port=0)
_STANDIN.start()
os.environ["YOUTH_WECHAT_BASE_URL"] = f"http://127.0.0.1:{_STANDIN.port}"

from app.config import get_settings  # noqa: E402
from app.validators import credit_code_check_char, id_check_char  # noqa: E402

IS_POSTGRES = DB_URL.startswith("postgresql")


def alembic(*args: str, url: str = DB_URL) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, YOUTH_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)


def _reset_postgres(url: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(run())


def pytest_configure(config: pytest.Config) -> None:
    if IS_POSTGRES:
        _reset_postgres(DB_URL)
    res = alembic("upgrade", "heads")
    if res.returncode != 0:
        raise pytest.UsageError(f"migrations failed:\n{res.stdout}\n{res.stderr}")


def pytest_unconfigure(config: pytest.Config) -> None:
    _STANDIN.stop()
    if not IS_POSTGRES:
        for suffix in ("", "-wal", "-shm"):
            Path(DB_URL.removeprefix("sqlite+aiosqlite:///") + suffix).unlink(missing_ok=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def db_url() -> str:
    return DB_URL


@pytest.fixture(scope="session")
def standin_url() -> str:
    return f"http://127.0.0.1:{_STANDIN.port}"


@pytest.fixture(scope="session")
async def app() -> Any:
    from app.main import create_app

    application = create_app(start_standin=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: Any) -> Any:
    import httpx

    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
        yield c


@pytest.fixture
async def client_at(app: Any) -> Any:
    """A client arriving from its own address (password lockout also counts per address)."""
    import httpx

    clients = []

    def make(ip: str | None = None) -> httpx.AsyncClient:
        ip = ip or f"10.9.{random.randrange(256)}.{random.randrange(1, 255)}"
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://test",
                              timeout=60)
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


# --- people ----------------------------------------------------------------------------------------

_seq = itertools.count(1)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{_RUN}{next(_seq)}"


_id_seq = itertools.count(random.randrange(500))
_AREAS = ("530102", "530103", "530111", "530112", "530114", "530181")


def make_id_number(birth: date, gender: str = "female", area: str | None = None) -> str:
    """A valid resident ID number, unique within the run (sequence digits come from a counter)."""
    n = next(_id_seq)
    seq = (n % 500) * 2 + (1 if gender == "male" else 0)
    area = area or _AREAS[(n // 500) % len(_AREAS)]
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def make_credit_code() -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "9153" + "".join(random.choice("0123456789") for _ in range(4)) + "".join(
        random.choice(chars) for _ in range(9))
    return first17 + credit_code_check_char(first17)


@dataclass
class Actor:
    user_id: int
    role: str
    headers: dict[str, str]
    access_token: str
    refresh_token: str | None = None
    org_id: int | None = None
    username: str | None = None
    password: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


def adult_birth(age: int = 25) -> date:
    """A birth date of someone exactly ``age`` today (varied, so ID numbers rarely collide)."""
    from datetime import timedelta

    today = date.today()
    try:
        last_birthday = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        last_birthday = today.replace(year=today.year - age, day=28)
    return last_birthday - timedelta(days=random.randrange(1, 300))


class Factory:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def youth(self, name: str | None = None, *, profile: dict[str, Any] | bool | None = None,
                    age: int = 25, gender: str = "female") -> Actor:
        """A young person logged in through the WeChat stand-in. ``profile=True`` fills a complete
        real-name profile (adult, single, Kunming); a dict is sent as is (merged over that)."""
        name = name or unique("y")
        r = await self.client.post("/api/v1/auth/wechat/login", json={"code": f"dev:{name}:{uuid.uuid4().hex[:6]}"})
        assert r.status_code == 200, r.text
        body = r.json()
        actor = Actor(body["user"]["id"], "youth", {"Authorization": f"Bearer {body['access_token']}"},
                      body["access_token"], body["refresh_token"])
        if profile:
            data = {
                "nickname": name[:32], "real_name": "测试青年", "id_number": make_id_number(adult_birth(age), gender),
                "district": "五华区", "education": "bachelor", "graduation_year": date.today().year - 1,
                "employment_status": "employed", "marital_status": "single", "owns_home_in_kunming": False,
                "works_in_kunming": True,
            }
            if isinstance(profile, dict):
                data.update(profile)
            r = await self.client.patch("/api/v1/me", json=data, headers=actor.headers)
            assert r.status_code == 200, r.text
            actor.profile = r.json()
        return actor

    _staff_cache: dict[str, tuple[float, Actor]] = {}

    async def reviewer(self) -> Actor:
        """A moderator shared by the tests that only need someone to approve things (saves hashing)."""
        import time

        cached = Factory._staff_cache.get("moderator")
        if cached is None or time.monotonic() - cached[0] > 600:
            cached = (time.monotonic(), await self.staff())
            Factory._staff_cache["moderator"] = cached
        return cached[1]

    async def staff(self, role: str = "moderator") -> Actor:
        from app.db import session_scope
        from app.services import auth

        username, password = unique("staff"), "staff-password-123"
        async with session_scope() as session:
            await auth.create_staff(session, username=username, password=password, role=role)
        return await self.login(username, password, role)

    async def login(self, username: str, password: str, role: str) -> Actor:
        r = await self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        body = r.json()
        return Actor(body["user"]["id"], role, {"Authorization": f"Bearer {body['access_token']}"},
                     body["access_token"], body["refresh_token"], org_id=body["user"].get("org_id"),
                     username=username, password=password)

    async def provider(self, kind: str, *, verified: bool = True, name: str | None = None) -> Actor:
        """An organisation of ``kind`` with its owner logged in; verified by a staff member by default."""
        username, password = unique("org"), "provider-password-123"
        r = await self.client.post("/api/v1/provider/signup", json={
            "name": name or f"测试机构{unique('')}", "kind": kind, "credit_code": make_credit_code(),
            "contact_name": "张老师", "contact_phone": "0871-12345678", "owner_username": username,
            "owner_password": password,
        })
        assert r.status_code == 201, r.text
        org_id = r.json()["id"]
        if verified:
            staff = await self.reviewer()
            r = await self.client.post(f"/api/v1/staff/orgs/{org_id}/verify", headers=staff.headers)
            assert r.status_code == 200, r.text
        actor = await self.login(username, password, "provider")
        assert actor.org_id == org_id
        return actor

    async def approve(self, kind: str, posting_id: int, provider: Actor) -> None:
        """Submit a posting for review as its provider and approve it as staff."""
        r = await self.client.post(f"/api/v1/provider/postings/{kind}/{posting_id}/submit", headers=provider.headers)
        assert r.status_code == 200, r.text
        staff = await self.reviewer()
        r = await self.client.post(f"/api/v1/staff/reviews/{kind}/{posting_id}/approve", headers=staff.headers)
        assert r.status_code == 200, r.text


@pytest.fixture
def factory(client: Any) -> Factory:
    return Factory(client)


@pytest.fixture(scope="session")
def settings() -> Any:
    return get_settings()


@pytest.fixture
def travel() -> Iterator[Callable[[datetime], datetime]]:
    """``travel(when)`` stops the platform clock (app.clock) at ``when`` until the test ends; no sleeping."""
    from app import clock

    with contextlib.ExitStack() as stack:
        yield lambda when: stack.enter_context(clock.frozen(when))
