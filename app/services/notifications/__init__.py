"""Notification records: the person's inbox, and the outbox that WeChat subscribe messages are
delivered from (delivery itself happens after commit, never inside a request's transaction)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.config import get_settings
from app.db import session_scope
from app.deps import Principal
from app.kit import ratelimit
from app.kit.dialect import insert_for, is_postgres
from app.kit.pagination import Key, Page, keyset
from app.schemas.notifications import NotificationPublic
from app.validators import SHANGHAI
from app.wechat import get_wechat_client
from app.wechat.client import WeChatOutcomeUnknown
from models.accounts import User
from models.base import utcnow
from models.notifications import Notification, SubscribeCredit


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
    stmt = select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    page = await keyset(session, stmt, [Key("id", Notification.id, desc=True)], cursor=cursor, limit=limit,
                        tag="inbox")
    return page.page(lambda r: NotificationPublic.model_validate(r[0], from_attributes=True))


async def mark_read(session: AsyncSession, *, actor: Principal, up_to_id: int | None) -> None:
    stmt = update(Notification).where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    if up_to_id is not None:
        stmt = stmt.where(Notification.id <= up_to_id)
    await session.execute(stmt.values(read_at=utcnow()))


# --- delivery: WeChat subscribe messages from the outbox -------------------------------------------

SEND_LEASE = timedelta(minutes=2)
ratelimit.bucket("subscriptions", "30/60", description="订阅消息授权上报，每人")


async def grant_credits(session: AsyncSession, *, actor: Principal, template_ids: list[str]) -> dict[str, int]:
    """The mini-program reports the templates a person just accepted: one send each. Only our own
    templates count (any other id would only fill the table)."""
    ours = set(get_settings().wechat_templates.values())
    unknown = [t for t in template_ids if t not in ours]
    if unknown:
        raise errors.ValidationFailed(fields={"template_ids": "包含本小程序未使用的消息模板"})
    insert = insert_for(session)
    out: dict[str, int] = {}
    for template_id in dict.fromkeys(template_ids):
        stmt = insert(SubscribeCredit).values(user_id=actor.user_id, template_id=template_id, credits=1,
                                              updated_at=utcnow())
        stmt = stmt.on_conflict_do_update(
            index_elements=[SubscribeCredit.user_id, SubscribeCredit.template_id],
            set_={"credits": stmt.table.c.credits + 1, "updated_at": utcnow()},
        ).returning(SubscribeCredit.credits)
        out[template_id] = (await session.execute(stmt)).scalar_one()
    return out


async def deliver_due(*, limit: int = 50, now: datetime | None = None) -> Counter[str]:
    """Send due notifications once each. Rows are claimed (SKIP LOCKED on PostgreSQL) and leased, so
    concurrent workers never send the same row; WeChat being down puts a row back with a backoff;
    a lost answer (timeout) or a worker dying mid-send marks it ``unknown`` instead of resending."""
    now = now or utcnow()
    settings = get_settings()
    outcomes: Counter[str] = Counter()
    async with session_scope() as session:
        await session.execute(
            update(Notification)
            .where(Notification.delivery_status == "sending", Notification.lease_until < now)
            .values(delivery_status="unknown", last_error="worker stopped during the send")
        )
        claim = (
            select(Notification.id)
            .where(Notification.delivery_status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.id)
            .limit(limit)
        )
        if is_postgres(session):
            claim = claim.with_for_update(skip_locked=True)
        ids = list((await session.execute(claim)).scalars())
        if not ids:
            return outcomes
        await session.execute(
            update(Notification).where(Notification.id.in_(ids))
            .values(delivery_status="sending", lease_until=now + SEND_LEASE, attempts=Notification.attempts + 1)
        )
        rows = (
            await session.execute(
                select(Notification, User.openid).join(User, User.id == Notification.user_id)
                .where(Notification.id.in_(ids)).order_by(Notification.id)
            )
        ).all()
    client = get_wechat_client()
    for note, openid in rows:
        status, error = await _send_one(client, settings, note, openid)
        outcomes[status] += 1
        values: dict[str, Any] = {"delivery_status": status, "last_error": error, "lease_until": None}
        if status == "sent":
            values["delivered_at"] = utcnow()
        elif status == "pending":
            if note.attempts >= settings.notification_max_attempts:
                values["delivery_status"] = "failed"
            else:
                values["next_attempt_at"] = utcnow() + timedelta(seconds=min(3600, 30 * 2 ** (note.attempts - 1)))
        async with session_scope() as session:
            await session.execute(
                update(Notification)
                .where(Notification.id == note.id, Notification.delivery_status == "sending")
                .values(**values)
            )
    return outcomes


async def _send_one(client: Any, settings: Any, note: Notification, openid: str | None) -> tuple[str, str | None]:
    template = settings.wechat_templates.get(note.kind.split(".", 1)[0])
    if not openid or not template:
        return "skipped", "no openid or template"
    async with session_scope() as session:
        credit = await session.execute(
            update(SubscribeCredit)
            .where(SubscribeCredit.user_id == note.user_id, SubscribeCredit.template_id == template,
                   SubscribeCredit.credits > 0)
            .values(credits=SubscribeCredit.credits - 1, updated_at=utcnow())
        )
        if credit.rowcount != 1:
            return "skipped", "no subscribe credit"
    local = note.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    try:
        await client.send_subscribe(touser=openid, template_id=template,
                                    data={"thing1": note.title, "thing2": note.body, "time3": local},
                                    page=f"pages/inbox/index?id={note.id}")
    except WeChatOutcomeUnknown:
        return "unknown", "answer lost; not resent"
    except (errors.WeChatUnavailable, errors.WeChatRateLimited):
        await _refund(note.user_id, template)
        return "pending", "wechat unavailable"
    except errors.WeChatNoCredit:
        return "skipped", "wechat: no credit"
    except errors.AppError as exc:
        return "failed", exc.code
    return "sent", None


async def _refund(user_id: int, template: str) -> None:
    async with session_scope() as session:
        await session.execute(
            update(SubscribeCredit).where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template)
            .values(credits=SubscribeCredit.credits + 1)
        )
