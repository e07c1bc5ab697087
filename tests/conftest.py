"""Test set-up: a migrated database (SQLite file by default, PostgreSQL when TEST_DATABASE_URL is set),
the WeChat stand-in on a real port, the app behind httpx; the factories for people, organisations and
postings are in tests/factories.py.

Tests do not share a rolled-back transaction: several components (rate limits, the WeChat token cache)
commit on their own connections, and concurrency tests need real commits. Each test creates its own
people and organisations instead, and never depends on global counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
_RUN = uuid.uuid4().hex[:8]


def _prepare_database() -> str:
    from app.config import normalise_database_url

    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        # postgres:// and postgresql:// (as hosting platforms hand them out) mean the async driver too.
        return normalise_database_url(pg)
    path = ROOT / "var" / f"test-{_RUN}.db"
    path.parent.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


DB_URL = _prepare_database()
os.environ["YOUTH_ENV"] = "test"
# Every test client arrives from one of a few addresses and makes hundreds of accounts a minute: these
# buckets would refuse the suite itself. Tests of a limit set it (tests/api/test_limits.py).
os.environ["YOUTH_RATE_LIMITS"] = json.dumps(dict.fromkeys(
    ("wechat_login", "password_login", "provider_signup", "profile_update", "identity_bind", "identity_claim",
     "password_change", "report", "subscriptions"), "1000000/60"))
os.environ["YOUTH_DATABASE_URL"] = DB_URL
os.environ.pop("YOUTH_REDIS_URL", None)
# Searches in tests must see what the test just changed: the first-page cache is tested on its own.
os.environ["YOUTH_HOUSING_SEARCH_CACHE_SECONDS"] = "0"

from app.config import DEV_WECHAT_APPID, DEV_WECHAT_SECRET  # noqa: E402
from app.wechat.standin import StandinServer  # noqa: E402

_STANDIN = StandinServer(appid=DEV_WECHAT_APPID, secret=DEV_WECHAT_SECRET, host="127.0.0.1", port=0)
_STANDIN.start()
os.environ["YOUTH_WECHAT_BASE_URL"] = f"http://127.0.0.1:{_STANDIN.port}"

from app.config import get_settings  # noqa: E402

IS_POSTGRES = DB_URL.startswith("postgresql")


def alembic(*args: str, url: str = DB_URL) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, YOUTH_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)


# Runs its arguments as alembic commands in order, stopping at the first that fails.
_ALEMBIC_STEPS = """
import sys
from alembic.config import main
for step in sys.argv[1:]:
    print(f"== alembic {step}", flush=True)
    main(step.split())
"""


def alembic_steps(*steps: str, url: str = DB_URL) -> subprocess.CompletedProcess[str]:
    """Several alembic commands ("upgrade heads", "check") in one process: every new process pays
    seconds of importing the models and the app before its first statement."""
    env = dict(os.environ, YOUTH_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-c", _ALEMBIC_STEPS, *steps], cwd=ROOT, env=env, capture_output=True,
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


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every error code an operation answered during the run must be one it declares (app.contract:
    AnswerRecorder notes them under YOUTH_ENV=test). Only operations the run called are checked, so a
    subset of the suite checks its part; a mismatch fails the run even when every test passed."""
    from app import contract

    problems = contract.undeclared_answers()
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["errors answered but not declared (add them to the route's @raises, or stop raising them):",
             *(f"  {p}" for p in problems)]
    if reporter is not None:
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(lines), file=sys.stderr)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


# --- people, organisations, postings: tests/factories.py ----------------------------------------------

from tests.factories import (  # noqa: E402  (re-exported for the test modules)
    Actor,
    Factory,
    adult_birth,
    make_credit_code,
    make_id_number,
    unique,
)

__all__ = ["Actor", "Factory", "adult_birth", "make_credit_code", "make_id_number", "unique"]


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


@pytest.fixture(params=["fast", "portable"])
def signup_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a sign-up test down both of PostgreSQL's paths (``events_sign_up`` and the portable one);
    SQLite has only the portable path, so it runs once there."""
    if request.param == "fast" and not IS_POSTGRES:
        pytest.skip("SQLite has only the portable sign-up path")
    from app.services.events.settings import settings as event_settings

    monkeypatch.setattr(event_settings(), "event_signup_fast_path", request.param == "fast")
    return str(request.param)
