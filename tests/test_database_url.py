"""A database URL as hosting platforms hand it out (postgres://, postgresql://) works wherever the
project takes one: the app's settings, the engine, migrations and the test suite's TEST_DATABASE_URL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.config import Settings, get_settings, normalise_database_url
from tests.conftest import DB_URL, _prepare_database, alembic

BARE_FORMS = ("postgres://", "postgresql://")


@pytest.mark.parametrize("prefix", [*BARE_FORMS, "postgresql+asyncpg://"])
def test_every_postgres_form_means_the_async_driver(prefix):
    url = f"{prefix}app:secret@db.example:5432/youth?sslmode=require"
    assert normalise_database_url(url) == "postgresql+asyncpg://app:secret@db.example:5432/youth?sslmode=require"
    assert Settings(database_url=url).database_url.startswith("postgresql+asyncpg://")


def test_sqlite_urls_are_left_alone():
    assert normalise_database_url("sqlite+aiosqlite:///./var/youth.db") == "sqlite+aiosqlite:///./var/youth.db"


@pytest.mark.parametrize("prefix", BARE_FORMS)
def test_the_suite_takes_a_bare_test_database_url(prefix, monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", f"{prefix}postgres@127.0.0.1/youth_test")
    assert _prepare_database() == "postgresql+asyncpg://postgres@127.0.0.1/youth_test"


def _bare(prefix: str) -> str:
    return DB_URL.replace("postgresql+asyncpg://", prefix, 1)


@pytest.mark.postgres
@pytest.mark.parametrize("prefix", BARE_FORMS)
async def test_an_engine_and_migrations_connect_with_a_bare_url(prefix):
    from app.db import make_engine

    engine = make_engine(get_settings(), _bare(prefix))
    try:
        async with engine.connect() as conn:
            assert engine.dialect.driver == "asyncpg"
            assert (await conn.execute(text("SELECT count(*) FROM alembic_version"))).scalar_one() == 1
    finally:
        await engine.dispose()
    res = alembic("current", url=_bare(prefix))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "(head)" in res.stdout
