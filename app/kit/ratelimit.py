"""Fixed-window rate limits shared by every process: in Redis when configured, else in the database.

A hit is counted in its own short transaction so that it sticks even when the request fails.

Services declare their buckets once, at import, with a default rule (``bucket("event_signup",
"10/60")``: ten per sixty seconds, per person). ``YOUTH_RATE_LIMITS`` overrides any of them
(``{"event_signup": "20/60"}``), and the README's table lists every bucket from this registry.
A bucket is used as a route dependency, ``dependencies=[limit("event_signup")]``: it counts per
verified access token (the request's own, verified once) or, for anonymous routes, per client
address, and runs before the request's session touches the database (on SQLite a second connection
would wait for the first one's write lock; on PostgreSQL a rush would hold two connections).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from fastapi import Depends, Request
from sqlalchemy import case

from app import errors
from app.config import get_settings
from app.contract import raises
from app.db import get_engine
from app.deps import TokenClaims, client_ip
from app.kit.dialect import insert_for
from app.metrics import RATE_LIMITED
from models.platform import RateCounter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rule:
        count, _, window = str(text).partition("/")
        rule = cls(int(count), int(window or 60))
        if rule.limit < 1 or rule.window_seconds < 1:
            raise ValueError(f"rate limit {text!r}: both numbers must be positive")
        return rule

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}"


@dataclass(frozen=True)
class Bucket:
    name: str
    default: Rule
    per: Literal["user", "ip", "user_or_ip"]
    description: str

    def rule(self) -> Rule:
        override = get_settings().rate_limits.get(self.name)
        return Rule.parse(override) if override else self.default

    async def hit(self, who: str | int) -> None:
        rule = self.rule()
        await hit(f"{self.name}:{who}", limit=rule.limit, window_seconds=rule.window_seconds)


BUCKETS: dict[str, Bucket] = {}


def bucket(name: str, default: str, *, per: Literal["user", "ip", "user_or_ip"] = "user",
           description: str = "") -> Bucket:
    """Declare a bucket (once, at import) with its default rule "count/seconds"."""
    if name in BUCKETS:
        raise RuntimeError(f"rate-limit bucket {name} declared twice")
    BUCKETS[name] = b = Bucket(name, Rule.parse(default), per, description)
    return b


def limit(name: str) -> Any:
    """The route dependency counting one hit in bucket ``name`` (see the module docstring)."""
    b = BUCKETS[name]

    @raises(errors.RateLimited)
    async def dep(request: Request, claims: TokenClaims) -> None:
        sub = claims.get("sub") if claims else None
        if b.per == "user" and sub is None:
            return  # the authentication dependency answers an anonymous caller
        if b.per == "ip" or sub is None:
            await b.hit(f"ip:{client_ip(request)}")
        else:
            await b.hit(sub)

    dep.__name__ = f"rate_limit_{name}"
    return Depends(dep)



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
        RATE_LIMITED.labels(key.split(":", 1)[0]).inc()
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
