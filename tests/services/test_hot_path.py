"""The shortcuts the busiest paths take (sign-up rush, housing search) keep their promises."""

from __future__ import annotations

import gc
import time

import pytest

from app import errors, security
from app.db import padded


def test_padded_keeps_order_drops_repeats_and_pads_to_a_power_of_two():
    assert padded([]) == []
    assert padded([3, 1, 3]) == [3, 1, 1, 1, 1, 1, 1, 1]
    assert len(padded(range(9))) == 16 and padded(range(9))[:9] == list(range(9))
    assert {len(padded(range(n))) for n in range(1, 21)} == {8, 16, 32}


def test_a_kept_access_token_still_expires(monkeypatch):
    token, ttl = security.create_access_token(user_id=7, role="youth")
    first = security.decode_access_token(token)
    assert security.decode_access_token(token) == first and first["sub"] == "7"
    later = time.time() + ttl + 5
    monkeypatch.setattr(security.time, "time", lambda: later)
    with pytest.raises(errors.TokenExpired):
        security.decode_access_token(token)


def test_a_refused_token_is_never_kept():
    token, _ = security.create_access_token(user_id=8, role="youth")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(errors.TokenInvalid):
            security.decode_access_token(tampered)
    assert all(t != tampered for _, t in security._verified)


async def test_startup_leaves_its_objects_out_of_the_collector(client):
    assert gc.get_freeze_count() > 10_000
    assert (await client.get("/healthz")).status_code == 200


def test_the_clock_freezes_nests_restores_and_refuses_naive_times():
    from datetime import UTC, datetime, timedelta

    from app import clock

    real = clock.now()
    assert real.tzinfo is not None
    a = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with clock.frozen(a):
        assert clock.now() == a
        with clock.frozen(a + timedelta(hours=1)):
            assert clock.now() == a + timedelta(hours=1)
        assert clock.now() == a
    assert abs(clock.now() - real) < timedelta(minutes=5)
    with pytest.raises(ValueError), clock.frozen(datetime(2026, 3, 1, 8, 0)):
        pass
