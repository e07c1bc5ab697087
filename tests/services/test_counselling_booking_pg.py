"""PostgreSQL's first read of a booking (``app.services.counselling.bookings.book_request``): a person
who loses the slot, or retries a booking they won, is answered by one statement in autocommit (no
transaction, nothing written); only a slot still free goes on to the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from app.db import get_engine
from tests.api.test_counselling import add_slot, book, centre_with_counsellor, key_rows, young
from tests.factories import now

pytestmark = pytest.mark.postgres


class _Trips:
    """Statements sent, and the transactions begun on the DBAPI connection (BEGIN is a round trip of its
    own that ``before_cursor_execute`` does not see)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)

    def begin(self, conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.seen.append("BEGIN")


@pytest.fixture
def trips() -> Iterator[_Trips]:
    seen = _Trips()
    engine = get_engine().sync_engine
    event.listen(engine, "before_cursor_execute", seen.statement)
    event.listen(engine, "begin", seen.begin)
    yield seen
    event.remove(engine, "before_cursor_execute", seen.statement)
    event.remove(engine, "begin", seen.begin)


async def test_a_loser_and_a_replay_are_one_statement_and_no_transaction(client, factory, trips):
    centre, cid = await centre_with_counsellor(client)
    slot = await add_slot(client, centre, cid, now() + timedelta(days=1))
    winner, loser = await young(), await young()
    key = uuid.uuid4().hex
    trips.seen.clear()
    won = await book(client, winner, slot, headers={"Idempotency-Key": key})
    assert won.status_code == 201, won.text
    assert trips.seen[0].lstrip().startswith("SELECT") and "BEGIN" in trips.seen, trips.seen

    lost_key = uuid.uuid4().hex
    trips.seen.clear()
    lost = await book(client, loser, slot, headers={"Idempotency-Key": lost_key})
    assert lost.status_code == 409 and lost.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert len(trips.seen) == 1 and "idempotency_records" in trips.seen[0], trips.seen
    assert await key_rows(lost_key) == 0

    trips.seen.clear()
    again = await book(client, winner, slot, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == won.json()
    assert len(trips.seen) == 1, trips.seen

    trips.seen.clear()  # without a key: the same one statement
    plain = await book(client, loser, slot)
    assert plain.status_code == 409 and plain.json()["code"] == "COUNSELLING_SLOT_TAKEN"
    assert len(trips.seen) == 1, trips.seen


async def test_refusals_of_the_slot_are_answered_by_the_first_read(client, factory, trips):
    centre, cid = await centre_with_counsellor(client, modes=["in_person"])
    soon = await add_slot(client, centre, cid, now() + timedelta(minutes=30))
    later = await add_slot(client, centre, cid, now() + timedelta(days=1))
    person = await young()
    for slot, mode, status, code in ((soon, "in_person", 409, "COUNSELLING_NOTICE_TOO_SHORT"),
                                     (later, "phone", 422, "COUNSELLING_MODE_NOT_OFFERED"),
                                     (10**9, "in_person", 404, "NOT_FOUND")):
        trips.seen.clear()
        r = await book(client, person, slot, mode=mode)
        assert r.status_code == status and r.json()["code"] == code, r.text
        assert len(trips.seen) == 1, trips.seen
