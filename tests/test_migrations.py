"""Migrations are the only way the schema is made: they agree with the models and run both ways."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import IS_POSTGRES, ROOT, alembic, alembic_steps


def test_models_and_migrations_agree(db_url):
    res = alembic("check", url=db_url)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "No new upgrade operations detected" in res.stdout + res.stderr


def test_single_head():
    res = alembic("heads")
    heads = [line for line in res.stdout.splitlines() if line.strip()]
    assert len(heads) == 1, heads


@pytest.fixture
def scratch_url(db_url):
    if not IS_POSTGRES:
        path = ROOT / "var" / f"scratch-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite+aiosqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import asyncio

    import asyncpg

    name = f"scratch_{uuid.uuid4().hex[:8]}"
    plain = db_url.replace("postgresql+asyncpg", "postgresql")
    admin = plain.rsplit("/", 1)[0] + "/postgres"

    async def run(sql):
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    yield db_url.rsplit("/", 1)[0] + "/" + name
    asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_upgrade_downgrade_upgrade(scratch_url):
    steps = ("upgrade heads", "downgrade base", "upgrade heads", "check")
    res = alembic_steps(*steps, url=scratch_url)
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    assert [line for line in res.stdout.splitlines() if line.startswith("== alembic ")] == [
        f"== alembic {step}" for step in steps]
    assert "No new upgrade operations detected" in res.stdout + res.stderr


async def test_audit_log_is_append_only():
    from sqlalchemy.exc import DBAPIError

    from app.db import session_scope

    async with session_scope() as session:
        await session.execute(text("INSERT INTO audit_log (at, action) VALUES (CURRENT_TIMESTAMP, 'test.append')"))
    for sql in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError):
            async with session_scope() as session:
                await session.execute(text(sql))


def test_trust_migration_renames_case_clashes_and_reports_non_ascii_id_numbers(scratch_url):
    """Usernames unique whatever their case, and ID numbers stored from full-width spellings found."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from app import crypto

    assert alembic("upgrade", "volunteer01", url=scratch_url).returncode == 0
    wide = crypto.encrypt("5301\uff102199303031318", "users.id_number")
    plain = crypto.encrypt("530102199303031318", "users.id_number")
    rows = [("admin", "admin", None, None), ("provider", "Admin", None, None), ("youth", None, wide, "h1"),
            ("provider", "owner1", plain, "h2")]

    async def seed():
        engine = create_async_engine(scratch_url)
        async with engine.begin() as conn:
            for role, username, number, digest in rows:
                await conn.execute(text(
                    "INSERT INTO users (role, status, username, id_number, id_number_hash, created_at, updated_at) "
                    "VALUES (:r, 'active', :u, :n, :h, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"r": role, "u": username, "n": number, "h": digest})
        async with engine.connect() as conn:
            ids = dict((await conn.execute(text("SELECT username, id FROM users WHERE username IS NOT NULL"))).all())
        await engine.dispose()
        return ids

    ids = asyncio.run(seed())
    res = alembic("upgrade", "heads", url=scratch_url)
    assert res.returncode == 0, res.stderr
    log = res.stdout + res.stderr
    assert f"renamed to 'Admin.dup{ids['Admin']}'" in log
    assert "not spelled in ASCII digits" in log and f"user {ids['owner1']} (provider) carries an ID number" in log

    async def names():
        engine = create_async_engine(scratch_url)
        async with engine.connect() as conn:
            found = set((await conn.execute(text("SELECT username FROM users WHERE username IS NOT NULL"))).scalars())
        await engine.dispose()
        return found

    assert asyncio.run(names()) == {"admin", f"Admin.dup{ids['Admin']}", "owner1"}
