"""Async engine and sessions for PostgreSQL (asyncpg) and SQLite (aiosqlite) behind the same code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.config import Settings, get_settings, normalise_database_url

_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def make_engine(settings: Settings, url: str | None = None, **overrides: Any) -> AsyncEngine:
    url = normalise_database_url(url or settings.database_url)
    # Bound parameters would otherwise be printed in every DBAPI error's text (which error handlers log)
    # and in SQLAlchemy's own statement logging: they can carry personal data such as ID or phone numbers.
    if url.startswith("sqlite"):
        options: dict[str, Any] = {"connect_args": {"timeout": 30}, "hide_parameters": True, **overrides}
        engine = create_async_engine(url, **options)
        _configure_sqlite(engine)
        return engine
    kwargs: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_seconds,
        # No pre-ping: it costs a round trip on every checkout. A connection broken by a database restart
        # fails its request with 503 DB_UNAVAILABLE, and SQLAlchemy then recycles the whole pool.
        "pool_pre_ping": False,
        "pool_recycle": 1800,
        "hide_parameters": True,
        "connect_args": {
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "application_name": "spring-city-youth",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "idle_in_transaction_session_timeout": "60000",
            },
        },
    }
    if settings.bench_round_trips_dir:
        from app import roundtrips

        kwargs["connect_args"]["connection_class"] = roundtrips.connection_class(settings.bench_round_trips_dir)
    kwargs.update(overrides)
    if kwargs.get("poolclass") is not None:
        for key in ("pool_size", "max_overflow", "pool_timeout"):
            kwargs.pop(key, None)
    else:
        kwargs["poolclass"] = metrics.metered_pool_class()
    engine = create_async_engine(url, **kwargs)
    metrics.instrument_pool(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so turn off the driver's own transaction handling.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite allows one writer. Taking the write lock at BEGIN makes every transaction
        # serialisable and avoids SQLITE_BUSY on a read-then-write upgrade; PostgreSQL is the
        # production database and keeps its row-level concurrency.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine() -> AsyncEngine:
    global _engine
    if _engine is None:
        _engine = make_engine(get_settings())
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    global _sessionmaker
    if _sessionmaker is None:
        _sessionmaker = async_sessionmaker(get_engine(), class_=AsyncSession, expire_on_commit=False)
    return _sessionmaker


async def dispose_engine() -> None:
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session that commits on success, for work outside a request (CLI, background jobs)."""
    async with get_sessionmaker()() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def padded(values: Iterable[Any]) -> list[Any]:
    """``values`` for an ``IN (...)``, padded with repeats of the last one to a power of two (8 at least).
    Each distinct list length is another SQL text, so another prepared statement on PostgreSQL: pages
    of 1–20 ids would otherwise churn the per-connection statement cache on every page size."""
    out = list(dict.fromkeys(values))
    if not out:
        return out
    size = 8
    while size < len(out):
        size *= 2
    return out + [out[-1]] * (size - len(out))
