"""``Idempotency-Key`` for POSTs: the same key and body replay the stored response; the same key with
another body is a 409. The key is claimed inside the request's own transaction, so a failed request
stores nothing and may be retried with the same key, and two concurrent requests with one key run
the work once (the second waits on the unique index, then replays)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.db import insert_for
from app.deps import Principal
from models.base import utcnow
from models.platform import IdempotencyRecord


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
            return JSONResponse(jsonable_encoder(await work()), status_code=status_code)
        scope = str(actor.user_id)
        # Claim the key: one statement. A concurrent request with the same key waits here on the
        # unique index until the first commits, then inserts nothing and replays the stored answer.
        insert = insert_for(session)
        claimed = (
            await session.execute(
                insert(IdempotencyRecord)
                .values(scope=scope, key=self.key, route=self.route, request_hash=self.request_hash,
                        status_code=0, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["scope", "key"])
                .returning(IdempotencyRecord.id)
            )
        ).scalar_one_or_none()
        if claimed is None:
            stored = await self._load(session, scope)
            if stored is None:
                raise errors.IdempotencyInProgress()
            return self._replay(stored)
        body = jsonable_encoder(await work())
        await session.execute(
            update(IdempotencyRecord).where(IdempotencyRecord.id == claimed)
            .values(status_code=status_code, response_body=body)
        )
        return JSONResponse(body, status_code=status_code)

    async def _load(self, session: AsyncSession, scope: str) -> Any:
        return (
            await session.execute(
                select(IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response_body)
                .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == self.key)
            )
        ).first()

    def _replay(self, stored: Any) -> JSONResponse:
        if stored.request_hash != self.request_hash:
            raise errors.IdempotencyConflict()
        if stored.status_code == 0:
            raise errors.IdempotencyInProgress()
        return JSONResponse(stored.response_body, status_code=stored.status_code, headers={"Idempotent-Replay": "true"})


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
