"""Capacity counters: a place is taken by one conditional UPDATE on the counter row,

    UPDATE t SET taken = taken + :n WHERE id = :id AND taken + :n <= capacity [AND …] RETURNING taken

so places given can never exceed the capacity whatever runs concurrently (the database decides, not
Python: Engelsystem's "2/1 angels" came from counting in application code). On PostgreSQL the row
lock of the UPDATE is held to the end of the transaction, so concurrent takers queue on it; SQLite
serialises writers anyway. Releasing never goes below zero.

A ``Counter`` is declared once per table, next to the model, and builds its statements once (they
run on hot paths: event quotas, counselling slots, housing unit types, volunteer shifts, openings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, update


class Counter:
    def __init__(self, table: Table | Any, *, taken: str = "taken", capacity: str = "capacity", key: str = "id",
                 when: Callable[[Table], Sequence[Any]] = lambda t: ()) -> None:
        """``when`` adds conditions a place may only be taken under (e.g. the quota is open)."""
        t = table if isinstance(table, Table) else table.__table__
        self.table = t
        col_taken, col_capacity, col_key = t.c[taken], t.c[capacity], t.c[key]
        n = bindparam("n")
        self._take = (update(t).where(col_key == bindparam("row_id"), col_taken + n <= col_capacity, *when(t))
                      .values({col_taken: col_taken + n}).returning(col_taken))
        self._release = (update(t).where(col_key == bindparam("row_id"), col_taken >= n)
                         .values({col_taken: col_taken - n}).returning(col_taken))

    async def take(self, db: Any, row_id: int, n: int = 1) -> int | None:
        """Take ``n`` places of row ``row_id``: the new count taken, or None when they are not free."""
        return (await db.execute(self._take, {"row_id": row_id, "n": n})).scalar_one_or_none()

    async def release(self, db: Any, row_id: int, n: int = 1) -> int | None:
        """Give ``n`` places back: the new count taken, or None when fewer than ``n`` were taken."""
        return (await db.execute(self._release, {"row_id": row_id, "n": n})).scalar_one_or_none()
