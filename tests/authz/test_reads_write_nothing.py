"""No GET changes domain state (the platform kit's rule, so that reads can go to a replica): every GET
of the authorisation matrix, as every kind of caller, today and again with the clock 100 days on —
when every event has ended, every offer has expired and every deadline has passed, which is where a
read that "catches up" on due work would write. Due work belongs to the sweeper; a read that must show
a due state computes it.

Every statement the app sends is watched at the engine; only the bookkeeping that a read may do is
allowed: the audit record of who read sensitive data, rate-limit counters, and the cached WeChat
access token.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from app import clock
from app.db import get_engine
from tests.authz.test_matrix import MATRIX, ROLES, _caller
from tests.authz.world import World, build

ALLOWED = {"audit_log", "rate_counters", "service_tokens"}
_WRITE = re.compile(r'^\s*(?:WITH\b.*?\)\s*)?(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+"?(\w+)"?',
                    re.IGNORECASE | re.DOTALL)


class Writes:
    """The tables written by statements seen while ``watching``."""

    def __init__(self) -> None:
        self.watching = False
        self.seen: list[tuple[str, str]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if not self.watching:
            return
        m = _WRITE.match(statement)
        if m and m.group(2).lower() not in ALLOWED:
            self.seen.append((m.group(1).split()[0].upper(), m.group(2)))


@pytest.fixture(scope="module")
async def world(client) -> World:
    return await build(client)


@pytest.fixture
def writes():
    watcher = Writes()
    target = get_engine().sync_engine
    event.listen(target, "before_cursor_execute", watcher)
    yield watcher
    event.remove(target, "before_cursor_execute", watcher)


def test_the_watcher_sees_writes():
    # The pattern must catch what SQLAlchemy sends, or the test below could never fail.
    w = Writes()
    w.watching = True
    for sql in ('INSERT INTO events (title) VALUES ($1)', 'UPDATE "event_registrations" SET status=$1',
                'DELETE FROM strikes WHERE id = ?', 'WITH x AS (SELECT 1) UPDATE offers SET a = 1',
                'INSERT INTO audit_log (a) VALUES (1)', 'SELECT * FROM events FOR UPDATE'):
        w(None, None, sql, None, None, False)
    assert w.seen == [("INSERT", "events"), ("UPDATE", "event_registrations"), ("DELETE", "strikes"),
                      ("UPDATE", "offers")]


@pytest.mark.parametrize("days_on", [0, 100])
async def test_no_get_writes(client_at, world, writes, days_on):
    client = client_at("10.77.0.2")
    gets = [(path, MATRIX[("GET", path)]) for (method, path) in MATRIX if method == "GET"]
    assert len(gets) > 40  # the matrix is where the routes come from; an empty list would prove nothing
    offenders: dict[str, set[tuple[str, str]]] = {}
    with clock.frozen(clock.now() + timedelta(days=days_on)):
        for path, (service, _expect, _body, *override) in gets:
            url = path.format(**dict(world.ids, **(override[0](world) if override else {})))
            for role in ROLES:
                writes.watching = True
                r = await client.get(url, headers=_caller(world, role, service))
                writes.watching = False
                assert r.status_code < 500, (path, role, r.text)
                if writes.seen:
                    offenders.setdefault(f"GET {path} as {role}", set()).update(writes.seen)
                    writes.seen.clear()
    assert not offenders, "\n".join(f"{k}: {sorted(v)}" for k, v in offenders.items())
