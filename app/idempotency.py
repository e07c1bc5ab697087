"""``Idempotency-Key`` for POSTs: the same key and body replay the stored response; the same key with
another body is a 409. The key is claimed inside the request's own transaction, so a failed request
stores nothing and may be retried with the same key, and two concurrent requests with one key run
the work once (the second waits on the unique index, then replays)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.contract import raises
from app.deps import Principal
from app.kit.dialect import insert_for
from models.base import utcnow
from models.platform import IdempotencyRecord

_records = IdempotencyRecord.__table__
# Built once: these run on every keyed POST, and sign-up rushes are made of them.
_LOAD = (select(_records.c.request_hash, _records.c.status_code, _records.c.response_body)
         .where(_records.c.scope == bindparam("scope"), _records.c.key == bindparam("key")))
_STORE = (update(_records).where(_records.c.id == bindparam("record_id"))
          .values(status_code=bindparam("status_code"), response_body=bindparam("body")))
_claims: dict[str, Any] = {}


def _claim_statement(conn: AsyncConnection) -> Any:
    dialect = conn.dialect.name
    if dialect not in _claims:
        _claims[dialect] = (insert_for(conn)(_records)
                            .on_conflict_do_nothing(index_elements=["scope", "key"])
                            .returning(_records.c.id))
    return _claims[dialect]


def _encode(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return jsonable_encoder(result)


class _StoredAnswer(NamedTuple):
    request_hash: str
    status_code: int
    response_body: Any


class Idempotency:
    def __init__(self, key: str | None, route: str, body: bytes) -> None:
        self.key = key
        self.route = route
        self.request_hash = hashlib.sha256(route.encode() + b"\n" + body).hexdigest()

    async def run(
        self,
        session: AsyncSession,
        actor: Principal,
        work: Callable[[], Awaitable[Any]],
        *,
        status_code: int = 200,
    ) -> Any:
        if not self.key:
            return JSONResponse(_encode(await work()), status_code=status_code)
        scope = str(actor.user_id)
        conn = await session.connection()
        # Claim the key: one statement. A concurrent request with the same key waits here on the
        # unique index until the first commits, then inserts nothing and replays the stored answer.
        claimed = (await conn.execute(_claim_statement(conn), {
            "scope": scope, "key": self.key, "route": self.route, "request_hash": self.request_hash,
            "status_code": 0, "created_at": utcnow()})).scalar_one_or_none()
        if claimed is None:
            stored = (await conn.execute(_LOAD, {"scope": scope, "key": self.key})).first()
            if stored is None:
                raise errors.IdempotencyInProgress()
            return self._replay(stored)
        body = _encode(await work())
        await conn.execute(_STORE, {"record_id": claimed, "status_code": status_code, "body": body})
        return JSONResponse(body, status_code=status_code)

    async def answer_once(self, conn: AsyncConnection, actor: Principal, body: Any, status_code: int) -> JSONResponse:
        """Store an answer already known (no work left to do) under the key, in one statement; a
        concurrent twin that stored first is replayed instead. For callers in autocommit."""
        if not self.key:
            return JSONResponse(body, status_code=status_code)
        scope = str(actor.user_id)
        stored_id = (await conn.execute(_claim_statement(conn), {
            "scope": scope, "key": self.key, "route": self.route, "request_hash": self.request_hash,
            "status_code": status_code, "response_body": body, "created_at": utcnow()})).scalar_one_or_none()
        if stored_id is None:
            return self.replay((await conn.execute(_LOAD, {"scope": scope, "key": self.key})).first())
        return JSONResponse(body, status_code=status_code)

    def replay_stored(self, request_hash: str, status_code: int, response_body: Any) -> JSONResponse:
        """The answer stored under this key, read by the caller's own statement."""
        return self._replay(_StoredAnswer(request_hash, status_code, response_body))

    def replay(self, stored: Any) -> JSONResponse:
        """The answer stored under this key (a row of request_hash, status_code, response_body)."""
        if stored is None:
            raise errors.IdempotencyInProgress()
        return self._replay(stored)

    def _replay(self, stored: Any) -> JSONResponse:
        if stored.request_hash != self.request_hash:
            raise errors.IdempotencyConflict()
        if stored.status_code == 0:
            raise errors.IdempotencyInProgress()
        return JSONResponse(stored.response_body, status_code=stored.status_code, headers={"Idempotent-Replay": "true"})


@raises(errors.IdempotencyConflict, errors.IdempotencyInProgress)
async def idempotency(
    request: Request,
    idempotency_key: Annotated[str | None, Header(max_length=100, description="Retry-safe request id")] = None,
) -> Idempotency:
    body = await request.body()
    # Canonicalise JSON so that key order or whitespace does not count as "another body".
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, RecursionError):
        pass
    return Idempotency(idempotency_key, f"{request.method} {request.url.path}", body)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
