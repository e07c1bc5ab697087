"""WeChat's server token, cached once for every API process.

WeChat honours only its newest token after a refresh, so processes that each fetched their own would
keep invalidating one another. Each store keeps an in-process copy in front of one shared copy (a
database row or a Redis key) that is refreshed under a lock, with a re-check once the lock is held.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeGuard

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto
from app.config import get_settings
from app.db import make_engine
from app.kit.dialect import insert_for
from models.base import utcnow
from models.platform import ServiceToken

log = logging.getLogger("youth.wechat")

_PURPOSE = "service_tokens.token"  # the same purpose as the database column, so ciphertexts agree
SQLITE_LOCK_WAIT_MS = 1000


@dataclass(frozen=True, slots=True)
class FetchedToken:
    """A token as WeChat returned it."""

    token: str = field(repr=False)
    expires_in: int


Fetch = Callable[[], Awaitable[FetchedToken]]


@dataclass(frozen=True, slots=True)
class _Cached:
    token: str = field(repr=False)
    expires_at: datetime


def _cached(fetched: FetchedToken) -> _Cached:
    return _Cached(fetched.token, utcnow() + timedelta(seconds=fetched.expires_in))


class TokenStore(ABC):
    """The in-process copy and its lock; subclasses provide the shared copy."""

    # What an outage of the shared store raises; anything else (WeChat's own errors) propagates.
    store_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)

    def __init__(self, *, name: str, margin_seconds: float) -> None:
        self.name = name
        self._margin = timedelta(seconds=margin_seconds)
        self._local: _Cached | None = None
        # One task per process asks the shared store at a time; the others wait and reuse its answer.
        self._lock = asyncio.Lock()

    def _fresh(self, cached: _Cached | None) -> TypeGuard[_Cached]:
        return cached is not None and cached.expires_at - self._margin > utcnow()

    async def get(self, fetch: Fetch) -> str:
        """The current token; ``fetch`` asks WeChat for one and runs only while the shared lock is held."""
        local = self._local
        if self._fresh(local):
            return local.token
        async with self._lock:
            local = self._local
            if self._fresh(local):
                return local.token
            try:
                self._local = await self._shared_get(fetch)
            except self.store_errors as exc:
                if _sqlite_busy(exc):
                    log.info("wechat token store %s: SQLite's write lock is held (usually by the request that "
                             "needs the token); using the in-process copy or asking WeChat directly", self.name)
                else:
                    log.error("wechat token store %s unavailable (%s): using the in-process copy",
                              self.name, type(exc).__name__)
                if local is not None and local.expires_at > utcnow():
                    return local.token
                # Without force_refresh, stable_token hands every caller the same token, so asking
                # WeChat directly does not invalidate the copies other processes hold.
                self._local = _cached(await fetch())
            return self._local.token

    async def invalidate(self, token: str) -> None:
        """Drop ``token`` if it is still the cached one; a newer token (another process's refresh) stays."""
        async with self._lock:
            if self._local is not None and self._local.token == token:
                self._local = None
            try:
                await self._shared_drop(token)
            except self.store_errors as exc:
                log.error("wechat token store %s unavailable (%s) while dropping a refused token",
                          self.name, type(exc).__name__)

    async def aclose(self) -> None:  # noqa: B027  (a hook; most stores hold nothing to close)
        """Release connections the store holds."""

    @abstractmethod
    async def _shared_get(self, fetch: Fetch) -> _Cached:
        """The shared token, refreshed through ``fetch`` under the shared lock when missing or near expiry."""

    @abstractmethod
    async def _shared_drop(self, token: str) -> None:
        """Compare-and-drop on the shared copy."""


def _sqlite_busy(exc: BaseException) -> bool:
    # Expected on SQLite, not an outage: the request asking for the token took the one write lock with its
    # first query (BEGIN IMMEDIATE), so the store gives up after SQLITE_LOCK_WAIT_MS and falls back.
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def _short_sqlite_lock_wait(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_MS}")
    cursor.close()


class DbTokenStore(TokenStore):
    """The shared copy is a ``service_tokens`` row, locked with SELECT ... FOR UPDATE on PostgreSQL
    (SQLite's BEGIN IMMEDIATE already serialises every transaction)."""

    store_errors = (SQLAlchemyError, OSError)

    def __init__(self, *, name: str, margin_seconds: float,
                 sessionmaker: async_sessionmaker[AsyncSession] | None = None) -> None:
        super().__init__(name=name, margin_seconds=margin_seconds)
        self._sessionmaker = sessionmaker
        self._own_engine: AsyncEngine | None = None

    def _session(self) -> AsyncSession:
        if self._sessionmaker is not None:
            return self._sessionmaker()
        settings = get_settings()
        # An engine of its own, not the app's pool: under load the requests waiting for the token hold
        # every pooled connection, and the one fetching it must not queue behind them. On SQLite every
        # transaction holds the one write lock, often the very request now waiting for a token: wait
        # briefly for it, then fall back to asking WeChat directly (harmless with stable_token).
        self._own_engine = make_engine(settings, poolclass=NullPool)
        if settings.is_sqlite:
            event.listen(self._own_engine.sync_engine, "connect", _short_sqlite_lock_wait)
        self._sessionmaker = async_sessionmaker(self._own_engine, class_=AsyncSession, expire_on_commit=False)
        return self._sessionmaker()

    async def aclose(self) -> None:
        if self._own_engine is not None:
            await self._own_engine.dispose()

    async def _locked_row(self, session: AsyncSession) -> ServiceToken:
        insert = insert_for(session)
        await session.exec(
            insert(ServiceToken).values(name=self.name, fetch_count=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        stmt = (select(ServiceToken).where(ServiceToken.name == self.name).with_for_update()
                .execution_options(populate_existing=True))
        return (await session.exec(stmt)).one()

    async def _shared_get(self, fetch: Fetch) -> _Cached:
        # Its own session and transaction, apart from any request's, committed here.
        async with self._session() as session, session.begin():
            row = await self._locked_row(session)
            if row.token is not None and row.expires_at is not None:
                current = _Cached(row.token, row.expires_at)
                if self._fresh(current):
                    return current  # another process refreshed it while we waited for the lock
            fetched = await fetch()
            now = utcnow()
            row.token = fetched.token
            row.expires_at = now + timedelta(seconds=fetched.expires_in)
            row.fetched_at = now
            row.fetch_count += 1
            row.updated_at = now
            return _Cached(fetched.token, row.expires_at)

    async def _shared_drop(self, token: str) -> None:
        async with self._session() as session, session.begin():
            # The column is encrypted with a random nonce, so compare after decrypting, under the lock.
            row = await self._locked_row(session)
            if row.token == token:
                row.token = None
                row.expires_at = None
                row.updated_at = utcnow()


class RedisTokenStore(TokenStore):
    """The shared copy is a Redis hash (token encrypted, a keyed fingerprint for compare-and-drop),
    refreshed under a SET NX lock that expires on its own if its holder dies."""

    store_errors = (RedisError, OSError)

    # Compare-and-delete, atomic inside Redis: the lock by its owner, the token by its fingerprint.
    _RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
    _DROP = ("if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
             "return 0")

    def __init__(self, *, url: str, name: str, margin_seconds: float, lock_seconds: float) -> None:
        super().__init__(name=name, margin_seconds=margin_seconds)
        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        self._lock_key = f"{name}:lock"
        self._lock_seconds = lock_seconds

    @staticmethod
    def _fingerprint(token: str) -> str:
        return crypto.lookup_hash(token, "wechat_token")

    async def _read(self) -> _Cached | None:
        fields = await self._redis.hgetall(self.name)
        try:
            token = crypto.decrypt(fields["token"], _PURPOSE)
            expires_at = datetime.fromtimestamp(float(fields["expires_at"]), UTC)
        except (KeyError, ValueError):
            return None  # missing, or written under another key: treat as absent and refresh
        return _Cached(token, expires_at)

    async def _shared_get(self, fetch: Fetch) -> _Cached:
        current = await self._read()
        if self._fresh(current):
            return current
        owner = secrets.token_hex(16)
        give_up = time.monotonic() + 2 * self._lock_seconds
        while not await self._redis.set(self._lock_key, owner, nx=True, px=int(self._lock_seconds * 1000)):
            await asyncio.sleep(0.05)
            current = await self._read()
            if self._fresh(current):
                return current
            if time.monotonic() > give_up:
                raise TimeoutError("wechat token lock not released")  # an OSError: handled as an outage
        try:
            current = await self._read()
            if self._fresh(current):
                return current  # refreshed by the lock's previous holder
            fresh = _cached(await fetch())
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self.name, mapping={
                "token": crypto.encrypt(fresh.token, _PURPOSE),
                "fp": self._fingerprint(fresh.token),
                "expires_at": str(fresh.expires_at.timestamp()),
            })
            pipe.expireat(self.name, fresh.expires_at)
            await pipe.execute()
            return fresh
        finally:
            await self._redis.eval(self._RELEASE, 1, self._lock_key, owner)

    async def _shared_drop(self, token: str) -> None:
        await self._redis.eval(self._DROP, 1, self.name, self._fingerprint(token))

    async def aclose(self) -> None:
        await self._redis.aclose()
