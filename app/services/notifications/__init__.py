"""Notification records: the person's inbox, and the outbox that WeChat subscribe messages are
delivered from (delivery itself happens after commit, never inside a request's transaction)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors as app_errors  # (this package has its own errors module)
from app.config import get_settings
from app.db import session_scope
from app.deps import Principal
from app.kit import ratelimit
from app.kit.dialect import insert_for, is_postgres
from app.kit.pagination import Key, Page, keyset
from app.schemas.notifications import DeliveryPublic, NotificationPublic, PreferencePublic, Preferences
from app.services import audit
from app.services.notifications.catalogue import KINDS
from app.services.notifications.errors import DeliveryNotParked, UnknownReminderKind
from app.wechat import get_wechat_client
from app.wechat import keywords as kw
from app.wechat.client import WeChatOutcomeUnknown
from models.accounts import User
from models.base import utcnow
from models.notifications import Notification, NotificationMute, SubscribeCredit


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


# --- preferences: reminders a person turned off ---------------------------------------------------


async def preferences(session: AsyncSession, *, actor: Principal) -> Preferences:
    """Every kind a person may mute (the reminders), and whether they did. Decisions are not listed:
    an offer, a rejection or a restriction always reaches the person."""
    muted = set((await session.execute(
        select(NotificationMute.kind).where(NotificationMute.user_id == actor.user_id))).scalars())
    return Preferences(items=[PreferencePublic(kind=k.key, title=k.title, muted=k.key in muted)
                              for k in sorted(KINDS.values(), key=lambda k: k.key) if k.reminder])


async def set_preferences(session: AsyncSession, *, actor: Principal, muted: list[str]) -> Preferences:
    """Mute exactly ``muted`` (reminder kinds only); the rest are on."""
    wanted = set(muted)
    refused = sorted(k for k in wanted if k not in KINDS or not KINDS[k].reminder)
    if refused:
        raise UnknownReminderKind(fields={"muted": f"不能关闭：{'、'.join(refused)[:100]}"})
    await session.execute(delete(NotificationMute).where(NotificationMute.user_id == actor.user_id,
                                                         NotificationMute.kind.not_in(wanted or {""})))
    if wanted:
        stmt = insert_for(session)(NotificationMute).values(
            [{"user_id": actor.user_id, "kind": k, "created_at": utcnow()} for k in sorted(wanted)])
        await session.execute(stmt.on_conflict_do_nothing(index_elements=[NotificationMute.user_id,
                                                                          NotificationMute.kind]))
    return await preferences(session, actor=actor)


# --- delivery: WeChat subscribe messages from the outbox -------------------------------------------

SEND_LEASE = timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
ratelimit.bucket("subscriptions", "30/60", description="订阅消息授权上报，每人")


def template_ids() -> dict[str, str]:
    """Template name → id, for the templates a catalogue kind is sent with and an id is configured."""
    return get_settings().wechat_templates


async def grant_credits(session: AsyncSession, *, actor: Principal, template_ids: list[str]) -> dict[str, int]:
    """The mini-program reports the templates a person just accepted: one send each. Only our own
    templates count (any other id would only fill the table)."""
    ours = set(get_settings().wechat_templates.values())
    unknown = [t for t in template_ids if t not in ours]
    if unknown:
        raise app_errors.ValidationFailed(fields={"template_ids": "包含本小程序未使用的消息模板"})
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


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter: workers retrying after one outage spread out instead of
    arriving at WeChat together."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def message_for(note: Notification) -> tuple[str, dict[str, str]] | None:
    """(template name, keyword values) for a notification, from its kind in the catalogue; None when
    the kind is not sent through WeChat. Nothing writes a kind outside the catalogue any more, but
    rows written before it existed may still be in the outbox: those go by their kind's prefix with
    the generic fields, shaped like any other."""
    kind = KINDS.get(note.kind)
    if kind is not None:
        if kind.wechat is None:
            return None
        params = (note.data or {}).get("params") or {}
        return kind.wechat, kind.fill(params, title=note.title, body=note.body, sent_at=note.created_at)
    family = note.kind.split(".", 1)[0]
    at = note.created_at
    return family, {"thing1": kw.shape("thing1", note.title, fallback_at=at),
                    "thing2": kw.shape("thing2", note.body, fallback_at=at),
                    "time3": kw.shape("time3", at, fallback_at=at)}


async def deliver_due(*, limit: int = 50, now: datetime | None = None) -> Counter[str]:
    """Send due notifications once each.

    A batch is *claimed* (SKIP LOCKED on PostgreSQL, and a conditional UPDATE everywhere) under a
    lease; each row is then marked *sending* on its own, just before its send, and settled right
    after. A worker that dies leaves its claimed-but-untouched rows to return to ``pending`` when the
    lease runs out (nothing was sent: safe to send), and at most the one row it was sending as
    ``unknown`` (WeChat may have got it: never resent automatically, staff decide). WeChat being down
    puts a row back with a backoff, up to ``notification_max_attempts`` (then ``failed``)."""
    now = now or utcnow()
    settings = get_settings()
    outcomes: Counter[str] = Counter()
    lease = now + SEND_LEASE + timedelta(microseconds=random.randrange(1_000_000))  # also this claim's token
    async with session_scope() as session:
        await session.execute(
            update(Notification)
            .where(Notification.delivery_status == "claimed", Notification.lease_until < now)
            .values(delivery_status="pending", lease_until=None)
        )
        await session.execute(
            update(Notification)
            .where(Notification.delivery_status == "sending", Notification.lease_until < now)
            .values(delivery_status="unknown", last_error="worker stopped during the send; not resent")
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
        # Conditional: on SQLite (no row locks) a second worker that read the same ids claims none.
        claimed = await session.execute(
            update(Notification).where(Notification.id.in_(ids), Notification.delivery_status == "pending")
            .values(delivery_status="claimed", lease_until=lease, attempts=Notification.attempts + 1)
            .returning(Notification.id)
        )
        ids = list(claimed.scalars())
        rows = (
            await session.execute(
                select(Notification, User.openid).join(User, User.id == Notification.user_id)
                .where(Notification.id.in_(ids)).order_by(Notification.id)
            )
        ).all()
    client = get_wechat_client()
    for note, openid in rows:
        settled = await _send_one(client, settings, note, openid, lease)
        if settled is None:
            continue  # the lease ran out and another worker has the row now
        status, error = settled
        outcomes[status] += 1
        values: dict[str, Any] = {"delivery_status": status, "last_error": error, "lease_until": None}
        if status == "sent":
            values["delivered_at"] = utcnow()
        elif status == "pending":
            if note.attempts >= settings.notification_max_attempts:
                values["delivery_status"] = "failed"
                values["last_error"] = f"{error}; gave up after {note.attempts} attempts"
            else:
                values["next_attempt_at"] = utcnow() + backoff(note.attempts)
        async with session_scope() as session:
            await session.execute(
                update(Notification)
                .where(Notification.id == note.id, Notification.delivery_status.in_(("sending", "claimed")))
                .values(**values)
            )
    return outcomes


async def _send_one(client: Any, settings: Any, note: Notification, openid: str | None, lease: datetime
                    ) -> tuple[str, str | None] | None:
    message = message_for(note)
    template = settings.wechat_templates.get(message[0]) if message else None
    async with session_scope() as session:
        if message is None or not openid or not template:
            # Nothing to send: settled by the caller (the row is still ours under the claim).
            if message is None:
                return "skipped", "not sent through WeChat"
            return "skipped", "no openid" if not openid else f"no template id configured for {message[0]}"
        mine = await session.execute(
            update(Notification)
            .where(Notification.id == note.id, Notification.delivery_status == "claimed",
                   Notification.lease_until == lease)
            .values(delivery_status="sending", lease_until=utcnow() + SEND_LEASE)
        )
        if mine.rowcount != 1:
            return None
        kind = KINDS.get(note.kind)
        if kind is not None and kind.reminder and await session.get(NotificationMute, (note.user_id, note.kind)):
            # Reminders the sweeper writes are not written at all for a muted kind; this covers the
            # reminder kinds a service writes itself (the inbox keeps them, nothing is pushed).
            return "skipped", "muted by the person"
        credit = await session.execute(
            update(SubscribeCredit)
            .where(SubscribeCredit.user_id == note.user_id, SubscribeCredit.template_id == template,
                   SubscribeCredit.credits > 0)
            .values(credits=SubscribeCredit.credits - 1, updated_at=utcnow())
        )
        if credit.rowcount != 1:
            return "skipped", "no subscribe credit"
    try:
        await client.send_subscribe(touser=openid, template_id=template, data=message[1],
                                    page=f"pages/inbox/index?id={note.id}")
    except WeChatOutcomeUnknown:
        return "unknown", "answer lost; not resent"
    except (app_errors.WeChatUnavailable, app_errors.WeChatRateLimited) as exc:
        await _refund(note.user_id, template)
        return "pending", f"wechat unavailable ({exc.code})"
    except app_errors.WeChatNoCredit:
        # 43101: the person refused or their acceptances are used up; our count was wrong. Final.
        await _reset_credits(note.user_id, template)
        return "skipped", "wechat 43101: no credit left; credits reset"
    except app_errors.AppError as exc:
        return "failed", exc.code
    return "sent", None


async def _refund(user_id: int, template: str) -> None:
    async with session_scope() as session:
        await session.execute(
            update(SubscribeCredit).where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template)
            .values(credits=SubscribeCredit.credits + 1)
        )


async def _reset_credits(user_id: int, template: str) -> None:
    async with session_scope() as session:
        await session.execute(
            update(SubscribeCredit).where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template)
            .values(credits=0, updated_at=utcnow())
        )


# --- staff: failed and parked deliveries -----------------------------------------------------------

PARKED = ("failed", "unknown")


async def deliveries(session: AsyncSession, *, status: str | None, cursor: str | None, limit: int
                     ) -> Page[DeliveryPublic]:
    """Deliveries that need a person to look: failed (a final error, or retries used up) and unknown
    (WeChat may have got it: retrying may send it twice)."""
    stmt = select(Notification).where(Notification.delivery_status.in_([status] if status else PARKED))
    page = await keyset(session, stmt, [Key("id", Notification.id, desc=True)], cursor=cursor, limit=limit,
                        tag=f"deliveries:{status or ''}")
    return page.page(lambda r: DeliveryPublic.model_validate(r[0], from_attributes=True))


async def retry_delivery(session: AsyncSession, *, actor: Principal, note_id: int) -> DeliveryPublic:
    note = (await session.execute(
        select(Notification).where(Notification.id == note_id).with_for_update())).scalar_one_or_none()
    if note is None:
        raise app_errors.NotFound()
    if note.delivery_status not in PARKED:
        raise DeliveryNotParked()
    note.delivery_status, note.attempts, note.next_attempt_at = "pending", 0, utcnow()
    note.last_error = f"retry requested by staff {actor.user_id} after: {note.last_error or ''}"[:200]
    await session.flush()
    await audit.record(session, actor=actor, action="notification.retry", target_kind="notification",
                       target_id=note.id)
    return DeliveryPublic.model_validate(note, from_attributes=True)


# Registers the reminder kinds, their sweeper jobs and their settings section.
from app.services.notifications import reminders  # noqa: E402,F401  (imports its settings too)
