"""Notification records: the person's inbox, and the outbox that WeChat subscribe messages are
delivered from (delivery itself happens after commit, never inside a request's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.notifications import NotificationPublic
from models.base import utcnow
from models.notifications import Notification


def notify(session: AsyncSession, *, user_id: int, kind: str, title: str, body: str,
           data: dict[str, Any] | None = None) -> Notification:
    """Write a notification in the caller's transaction, so it exists exactly when the change does."""
    note = Notification(user_id=user_id, kind=kind, title=title[:100], body=body[:500], data=data,
                        next_attempt_at=utcnow())
    session.add(note)
    return note


def notify_many(session: AsyncSession, *, user_ids: list[int], kind: str, title: str, body: str,
                data: dict[str, Any] | None = None) -> None:
    for uid in user_ids:
        notify(session, user_id=uid, kind=kind, title=title, body=body, data=data)


async def inbox(session: AsyncSession, *, actor: Principal, unread_only: bool, cursor: str | None, limit: int
                ) -> Page[NotificationPublic]:
    stmt = (select(Notification).where(Notification.user_id == actor.user_id)
            .order_by(Notification.id.desc()).limit(limit + 1))
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(Notification.id < int(after["id"]))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = list((await session.execute(stmt)).scalars())
    nxt = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return Page(items=[NotificationPublic.model_validate(n, from_attributes=True) for n in rows[:limit]],
                next_cursor=nxt)


async def mark_read(session: AsyncSession, *, actor: Principal, up_to_id: int | None) -> None:
    stmt = update(Notification).where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    if up_to_id is not None:
        stmt = stmt.where(Notification.id <= up_to_id)
    await session.execute(stmt.values(read_at=utcnow()))
