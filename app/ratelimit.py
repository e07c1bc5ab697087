"""Fixed-window rate limits shared by every process: in Redis when configured, else in the database.

A hit is counted in its own short transaction so that it sticks even when the request fails.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from sqlalchemy import case

from app import errors
from app.config import get_settings
from app.db import get_engine, insert_for
from models.platform import RateCounter

log = logging.getLogger(__name__)


@lru_cache
def _redis(url: str):  # type: ignore[no-untyped-def]
    from redis.asyncio import BlockingConnectionPool, Redis

    # Blocking pool: a burst waits briefly for a connection instead of failing with "too many connections".
    pool = BlockingConnectionPool.from_url(url, max_connections=64, timeout=2.0, socket_timeout=1.0,
                                           socket_connect_timeout=1.0)
    return Redis(connection_pool=pool)


async def hit(key: str, *, limit: int, window_seconds: int) -> None:
    """Count one event for ``key``; raise RateLimited (with Retry-After) past ``limit`` per window."""
    now = time.time()
    window = int(now // window_seconds) * window_seconds
    settings = get_settings()
    if settings.redis_url:
        from redis.exceptions import RedisError

        try:
            count = await _hit_redis(settings.redis_url, key, window, window_seconds)
        except RedisError as exc:
            # Fail open: an unreachable counter store must not lock everybody out of logging in.
            log.warning("rate limit store unavailable (%s): not counting %s", type(exc).__name__, key.split(":")[0])
            return
    else:
        count = await _hit_db(key, window)
    if count > limit:
        retry_after = max(1, int(window + window_seconds - now) + 1)
        raise errors.RateLimited(headers={"Retry-After": str(retry_after)})


# Count and set the expiry in one atomic round trip (a MULTI/EXEC pipeline is four commands).
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@lru_cache
def _count_script(url: str):  # type: ignore[no-untyped-def]
    return _redis(url).register_script(_COUNT)


async def _hit_redis(url: str, key: str, window: int, window_seconds: int) -> int:
    return int(await _count_script(url)(keys=[f"rl:{key}:{window}"], args=[window_seconds + 5]))


async def _hit_db(key: str, window: int) -> int:
    engine = get_engine()
    insert = insert_for(engine)
    stmt = insert(RateCounter).values(key=key, window_start=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateCounter.key],
        set_={
            "count": case((stmt.table.c.window_start == window, stmt.table.c.count + 1), else_=1),
            "window_start": window,
        },
    ).returning(RateCounter.count)
    # A bare connection, not an ORM session: this runs on hot paths such as event sign-up.
    async with engine.begin() as conn:
        count = (await conn.execute(stmt)).scalar_one()
    return int(count)
