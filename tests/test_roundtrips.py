"""The bench's round-trip counter (app.roundtrips) counts what the driver waits for, and nothing when off."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from app.config import get_settings
from app.db import make_engine
from app.roundtrips import read_counts

pytestmark = pytest.mark.postgres


async def test_every_wait_for_the_server_counts_once(tmp_path: Path, db_url: str) -> None:
    settings = get_settings().model_copy(update={"bench_round_trips_dir": str(tmp_path)})
    engine = make_engine(settings, db_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:  # connecting, introspection, first Parse: not counted here
            await conn.execute(text("SELECT 1"))
        start = sum(read_counts(tmp_path).values())
        assert start > 0
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))  # prepared on this connection already
            await conn.execute(text("SELECT 2"))  # a new statement: Parse/Describe, then execute
        # BEGIN, execute, Parse, execute, COMMIT
        assert sum(read_counts(tmp_path).values()) - start == 5
    finally:
        await engine.dispose()


async def test_off_unless_asked(db_url: str) -> None:
    engine = make_engine(get_settings(), db_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert type(raw.driver_connection) is asyncpg.Connection
    finally:
        await engine.dispose()
