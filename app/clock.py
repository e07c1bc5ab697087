"""The platform's clock: what time it is for every rule that depends on the time.

The rule for services: anything that *decides* by comparing with now — a sign-up window, a deadline,
an expiry, "upcoming", "today" — reads ``clock.now()``, once per operation, and hands that value down
so that one request sees one instant. A service function keeps an explicit ``now`` argument only
where a caller legitimately passes one (a periodic job processing "as of" a time, or one rule handing
its instant to another); its default is still ``clock.now()``. Bookkeeping stamps that decide nothing
(``created_at``, ``updated_at``, ``reviewed_at``) may use ``models.base.utcnow()``. Things that must
follow real time whatever the clock says stay on it too: the expiry of signed tokens (app.security),
rate-limit windows, timeouts and retries.

Tests move time with ``frozen(at)`` — ``with clock.frozen(at): ...`` — or with the ``travel``
fixture of tests/conftest.py, which freezes the clock until the end of the test. Frozen time stands
still (no sleeping, and a deadline falls exactly where the test put it).

Why one process-wide value rather than a ContextVar: the app under test runs in the test's event loop
but not always in the test's context. Requests run concurrently through ``asyncio.gather`` are tasks
that copied their context when created, background work runs in other tasks and threads, and
pytest-asyncio runs synchronous fixtures outside the test's task, so a ContextVar set in a fixture
never reaches the test, and one set mid-test misses tasks already started. Moving the world's clock
is what a test means, and a module-level value is seen by every task and thread at once. The price:
two tests running at the same time in one process would share it, which pytest never does (xdist
runs tests in separate processes). Production never freezes the clock; ``now()`` is one global read
on top of ``utcnow()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from models.base import utcnow

_frozen_at: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    at = _frozen_at
    return utcnow() if at is None else at


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Stop the clock at ``at`` (timezone-aware) for the block; nests, and restores the time it found."""
    global _frozen_at
    if at.tzinfo is None:
        raise ValueError("naive datetime given to clock.frozen")
    before, _frozen_at = _frozen_at, at.astimezone(UTC)
    try:
        yield _frozen_at
    finally:
        _frozen_at = before
