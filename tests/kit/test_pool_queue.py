"""The connection pool's queue serves waiters first come, first served (app.pool_queue)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import Empty

from app.pool_queue import FairQueue


async def test_a_returned_connection_goes_to_the_longest_waiter_not_to_a_newcomer():
    q = FairQueue(maxsize=2)
    order: list[str] = []

    async def take(name: str) -> None:
        order.append(f"{name}:{await greenlet_spawn(q.get, True, 5)}")

    first = asyncio.create_task(take("waiting-1"))
    second = asyncio.create_task(take("waiting-2"))
    await asyncio.sleep(0.01)  # both wait: the queue is empty
    asyncio.get_running_loop().call_later(0.02, lambda: (q.put_nowait("b"), q.put_nowait("c")))
    q.put_nowait("a")
    await take("newcomer")  # asks the moment "a" comes back, before the woken waiter has run
    await asyncio.gather(first, second)
    assert order == ["waiting-1:a", "waiting-2:b", "newcomer:c"]


async def test_an_idle_item_is_taken_at_once_and_a_timeout_leaves_the_line():
    q = FairQueue(maxsize=2)
    q.put_nowait("x")
    assert await greenlet_spawn(q.get, True, 1) == "x"
    with pytest.raises(Empty):
        await greenlet_spawn(q.get, True, 0.01)
    with pytest.raises(Empty):
        await greenlet_spawn(q.get, False)
    q.put_nowait("y")  # the timed-out waiter is skipped: the item stays for the next one
    assert await greenlet_spawn(q.get, False) == "y"


async def test_a_waiter_cancelled_after_the_handover_loses_no_item():
    q = FairQueue(maxsize=2)
    first = asyncio.create_task(greenlet_spawn(q.get, True, 5))
    second = asyncio.create_task(greenlet_spawn(q.get, True, 5))
    await asyncio.sleep(0.01)
    q.put_nowait("a")  # handed to the first waiter ...
    first.cancel()  # ... which is cancelled before it runs
    try:
        kept = await first  # Python 3.11's wait_for may still deliver what was handed over
    except asyncio.CancelledError:
        kept = None
    if kept is None:
        assert await second == "a"  # passed on to the next in line
    else:
        assert kept == "a"
        q.put_nowait("b")
        assert await second == "b"
