"""The password-login throttle: atomic counters that slow guessing without letting a stranger lock
anybody out.

Two counters per attempt, each one row of ``login_throttles`` taken with one conditional upsert:

- ``pair:<username>|<address>``: one address guessing one account. After ``YOUTH_LOGIN_MAX_FAILURES``
  failures the pair waits ``auth_login_pair_delay_seconds``, doubling with each further failure, up to
  the window. Only that address is slowed for that account, so it can only ever lock itself out.
- ``user:<username>``: many addresses guessing one account. ``auth_login_user_free_failures`` pass
  freely; then each attempt waits a delay that doubles from 1 s up to ``auth_login_user_delay_cap_seconds``.
  Addresses that logged in to the account lately (``known:<username>|<address>``) skip it, so the
  account's owner is never held up by strangers, and nobody else waits longer than the cap.

An attempt is counted as a failure *before* its password is checked, in its own short transaction,
and a correct password then clears the pair: fifty parallel guesses get exactly the allowed number
of tries, however they interleave. The reservation runs before the request's own session touches
the database (on SQLite that session holds the one write lock from its first statement).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.config import get_settings, settings_of
from app.db import get_engine
from app.kit import sweeper
from app.kit.dialect import insert_for
from app.services.auth.settings import AuthSettings
from models.accounts import LoginThrottle

_T = LoginThrottle.__table__


def _keys(username: str, ip: str) -> tuple[str, str, str]:
    name = username.lower()
    return f"pair:{name}|{ip}"[:200], f"user:{name}"[:200], f"known:{name}|{ip}"[:200]


def _pair_delay(failures: int) -> float:
    s, a = get_settings(), settings_of(AuthSettings)
    if failures < s.login_max_failures:
        return 0.0
    return min(float(s.login_failure_window_seconds),
               a.auth_login_pair_delay_seconds * 2.0 ** (failures - s.login_max_failures))


def _user_delay(failures: int) -> float:
    a = settings_of(AuthSettings)
    if failures < a.auth_login_user_free_failures:
        return 0.0
    return min(float(a.auth_login_user_delay_cap_seconds), 2.0 ** (failures - a.auth_login_user_free_failures))


async def _take(conn, key: str, now: datetime, delay) -> datetime | None:  # type: ignore[no-untyped-def]
    """Count one failure on ``key`` unless it is waiting; None when counted, else when it may retry."""
    window = timedelta(seconds=get_settings().login_failure_window_seconds)
    insert = insert_for(conn)
    stmt = insert(LoginThrottle).values(key=key, failures=1, last_at=now, blocked_until=now)
    stale = _T.c.last_at <= now - window  # the last failure is older than the window: start again
    stmt = stmt.on_conflict_do_update(
        index_elements=[_T.c.key],
        set_={"failures": case((stale, 1), else_=_T.c.failures + 1), "last_at": now},
        where=_T.c.blocked_until <= now,
    ).returning(_T.c.failures)
    failures = (await conn.execute(stmt)).scalar_one_or_none()
    if failures is None:
        return (await conn.execute(select(_T.c.blocked_until).where(_T.c.key == key))).scalar_one()
    wait = delay(failures)
    if wait:
        # The row is ours until commit: nobody can slip in between the count and the block.
        await conn.execute(_T.update().where(_T.c.key == key).values(blocked_until=now + timedelta(seconds=wait)))
    return None


async def reserve(username: str, ip: str) -> bool:
    """Count this attempt as a failure before its password is checked; raise LoginLocked (with
    Retry-After) when the pair, or the username from an unknown address, must wait. Returns whether
    the username's own counter was counted (not for an address known to the account)."""
    now = clock.now()
    pair, user, known = _keys(username, ip)
    recent = now - timedelta(days=settings_of(AuthSettings).auth_known_address_days)
    async with get_engine().begin() as conn:
        retry_at = await _take(conn, pair, now, _pair_delay)
        is_known = False
        if retry_at is None:
            is_known = (await conn.execute(
                select(_T.c.key).where(_T.c.key == known, _T.c.last_at >= recent))).first() is not None
            if not is_known:
                retry_at = await _take(conn, user, now, _user_delay)
        if retry_at is not None:
            await conn.rollback()  # a refused attempt is not counted
    if retry_at is not None:
        retry = max(1, int((retry_at - now).total_seconds() + 0.999))
        raise errors.LoginLocked(headers={"Retry-After": str(retry)})
    return not is_known


async def succeeded(session: AsyncSession, username: str, ip: str, *, counted_user: bool) -> None:
    """The password was right: clear the pair, take back the username's count that this attempt
    reserved, and remember the address (in the request's transaction)."""
    now = clock.now()
    pair, user, known = _keys(username, ip)
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair))
    if counted_user:
        await session.execute(
            _T.update().where(_T.c.key == user, _T.c.failures > 0)
            .values(failures=_T.c.failures - 1,
                    blocked_until=case((_T.c.failures <= settings_of(AuthSettings).auth_login_user_free_failures,
                                        now), else_=_T.c.blocked_until)))
    insert = insert_for(session)
    stmt = insert(LoginThrottle).values(key=known, failures=0, last_at=now, blocked_until=now)
    await session.execute(stmt.on_conflict_do_update(index_elements=[_T.c.key], set_={"last_at": now}))


@sweeper.job("auth.forget_login_throttles", every=3600)
async def forget(session: AsyncSession, now: datetime) -> int:
    """Drop throttle rows whose window has passed (and known addresses older than the memory)."""
    window = timedelta(seconds=get_settings().login_failure_window_seconds)
    known_for = timedelta(days=settings_of(AuthSettings).auth_known_address_days)
    done = await session.execute(delete(LoginThrottle).where(
        ((~LoginThrottle.key.startswith("known:")) & (LoginThrottle.last_at < now - window)
         & (LoginThrottle.blocked_until < now))
        | (LoginThrottle.key.startswith("known:") & (LoginThrottle.last_at < now - known_for))))
    return int(done.rowcount or 0)
