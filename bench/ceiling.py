"""The ceiling: what FastAPI + asyncpg on this machine can do at best for a capacity-limited sign-up.

One endpoint, no authentication, no ORM, no rate limit, no idempotency: a conditional
``UPDATE … SET taken = taken + 1 WHERE taken < capacity`` and an insert, in one transaction. The
bench serves it with the same uvicorn worker count as the API and drives it with the same requests,
so every figure of the real API is printed next to this one.

Served by ``uvicorn bench.ceiling:app --workers N`` with ``BENCH_CEILING_DSN`` set; the bench creates
the schema (``SCHEMA``) before it starts the server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS ceiling;
CREATE TABLE IF NOT EXISTS ceiling.counters (
    id integer PRIMARY KEY,
    capacity integer NOT NULL,
    taken integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ceiling.takes (
    id bigserial PRIMARY KEY,
    counter_id integer NOT NULL REFERENCES ceiling.counters(id),
    user_id bigint NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (counter_id, user_id)
);
"""

_UPDATE = "UPDATE ceiling.counters SET taken = taken + 1 WHERE id = $1 AND taken < capacity RETURNING taken"
_INSERT = ("INSERT INTO ceiling.takes (counter_id, user_id, status) VALUES ($1, $2, $3) "
           "ON CONFLICT (counter_id, user_id) DO NOTHING RETURNING id")


class _Duplicate(Exception):
    pass


class TakeIn(BaseModel):
    counter: int
    user: int


class TakeOut(BaseModel):
    status: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The same pool bounds as the API's defaults (db_pool_size 10 + db_max_overflow 5).
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_CEILING_DSN"], min_size=2, max_size=15)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/take", response_model=TakeOut)
async def take(body: TakeIn) -> TakeOut:
    async with app.state.pool.acquire() as conn, conn.transaction():
        won = await conn.fetchval(_UPDATE, body.counter)
        status = "confirmed" if won is not None else "waitlisted"
        inserted = await conn.fetchval(_INSERT, body.counter, body.user, status)
        if inserted is None:
            # A duplicate: give back the place this request just took, as the real sign-up would.
            raise _Duplicate()
    return TakeOut(status=status)


@app.exception_handler(_Duplicate)
async def _duplicate(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "ALREADY"}, status_code=409)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
