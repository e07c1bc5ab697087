"""Reminders, written by the sweeper (``@job``): a while before something a person booked starts, or
before an offer they hold lapses.

Each reminder is a ``Reminder``: its catalogue kind, how far ahead it goes (a setting), and a query
for the live items whose moment falls inside that lead — cancelled, withdrawn or answered items are
not live, so they are never reminded. Every reminder carries a key — kind, item and the moment it
reminds of — in ``notifications.dedupe_key`` (unique): however many sweepers run, and however often,
each is written once; an item moved to another time has a new key, so its new time is reminded and
the old one never is. Items booked inside the lead are not reminded (the confirmation just told the
person). A person who muted the kind gets none.

A service adds a reminder by calling ``register`` at import with its kind and query (the query's rows:
``user_id``, ``item_id``, ``moment``, ``told`` — when the person last heard of the item — the kind's
parameters by name, and the ids named in ``ids`` for the page to open). Openings' offer and interview reminders come with that service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit import sweeper
from app.kit.dialect import insert_for
from app.services.notifications import catalogue
from app.services.notifications.catalogue import Kind, define
from app.services.notifications.settings import settings
from models.counselling import CounsellingBooking, Counsellor
from models.events import Event, EventRegistration
from models.housing import HousingApplication, HousingProject
from models.notifications import Notification, NotificationMute
from models.volunteer import VolunteerProject, VolunteerShift, VolunteerSignup

_R = "reminder"

EVENT = define(
    "remind.event", title="活动即将开始", body="您报名的「{event}」将于 {starts_at} 在{place}开始，请准时签到。",
    params=("event", "starts_at", "place"), wechat=_R, reminder=True,
    keywords={"thing1": "event", "time2": "starts_at", "thing3": "place"})
COUNSELLING = define(
    "remind.counselling", title="心理咨询预约提醒",
    body="您预约的心理咨询将于 {starts_at} 开始（{counsellor}老师）。如不能前来，请尽早取消。",
    params=("starts_at", "counsellor"), wechat=_R, reminder=True,
    keywords={"thing1": "=心理咨询预约", "time2": "starts_at", "thing3": "={counsellor}老师"})
VOLUNTEER_SHIFT = define(
    "remind.volunteer_shift", title="志愿服务即将开始", body="「{project}」的岗位将于 {starts_at} 开始，请到{place}签到。",
    params=("project", "starts_at", "place"), wechat=_R, reminder=True,
    keywords={"thing1": "project", "time2": "starts_at", "thing3": "place"})
HOUSING_OFFER = define(
    "remind.housing_offer", title="住房确认即将截止",
    body="「{project}」为您保留的房源将于 {answer_by} 截止确认，逾期将顺延给下一位申请人。",
    params=("project", "answer_by"), wechat=_R, reminder=True,
    keywords={"thing1": "project", "time2": "answer_by", "thing3": "=请尽快确认入住"})

Query = Callable[[datetime, datetime], Select[Any]]  # (now, now + lead) -> rows


@dataclass(frozen=True)
class Reminder:
    kind: Kind
    lead: Callable[[], timedelta]
    due: Query
    ids: tuple[str, ...] = ()


REMINDERS: dict[str, Reminder] = {}


def register(kind: Kind, *, lead: Callable[[], timedelta], due: Query, ids: tuple[str, ...] = (),
             every: float = 60) -> Reminder:
    if not kind.reminder:
        raise catalogue.CatalogueError(f"{kind.key} is not a reminder kind")
    REMINDERS[kind.key] = r = Reminder(kind, lead, due, ids)

    async def run(session: AsyncSession, now: datetime) -> int:
        return await remind_due(session, r, now)

    run.__doc__ = f"Reminders {kind.key}"
    sweeper.job(kind.key, every=every, description=f"提醒：{kind.title}")(run)
    return r


def key_of(kind: Kind, item_id: int, moment: datetime) -> str:
    return f"{kind.key}:{item_id}:{int(moment.timestamp())}"


async def remind_due(session: AsyncSession, r: Reminder, now: datetime) -> int:
    """Write the reminders due at ``now`` that are not written yet; returns how many were written.
    Three statements whatever the number of items: the due items, the people who muted the kind, and
    one INSERT … ON CONFLICT DO NOTHING (the key decides under concurrent sweepers)."""
    lead = r.lead()
    rows = [row for row in (await session.execute(r.due(now, now + lead))).mappings().all()
            if row["told"] < row["moment"] - lead]
    if not rows:
        return 0
    users = {row["user_id"] for row in rows}
    muted = set((await session.execute(
        select(NotificationMute.user_id).where(NotificationMute.kind == r.kind.key,
                                               NotificationMute.user_id.in_(users)))).scalars())
    values = []
    for row in rows:
        if row["user_id"] in muted:
            continue
        params = {p: row[p] for p in r.kind.params}
        title, body = r.kind.render(params)
        values.append(dict(
            user_id=row["user_id"], kind=r.kind.key, title=title[:100], body=body[:500],
            data={**{i: row[i] for i in r.ids}, "params": {k: catalogue._stored(v) for k, v in params.items()}},
            created_at=now, next_attempt_at=now, delivery_status="pending", attempts=0,
            dedupe_key=key_of(r.kind, row["item_id"], row["moment"]),
        ))
    if not values:
        return 0
    stmt = insert_for(session)(Notification).values(values).on_conflict_do_nothing(
        index_elements=[Notification.dedupe_key]).returning(Notification.id)
    return len((await session.execute(stmt)).all())


def _hours(name: str) -> Callable[[], timedelta]:
    return lambda: timedelta(hours=getattr(settings(), name))


# --- the reminders of today's services ------------------------------------------------------------


def _events(now: datetime, until: datetime) -> Select[Any]:
    R, E = EventRegistration, Event
    return (select(R.user_id, R.id.label("item_id"), E.starts_at.label("moment"),
                   func.coalesce(R.promoted_at, R.created_at).label("told"), E.title.label("event"),
                   E.starts_at.label("starts_at"), E.venue_name.label("place"), R.event_id)
            .join(E, E.id == R.event_id)
            .where(R.status == "confirmed", E.cancelled_at.is_(None), E.starts_at > now, E.starts_at <= until))


def _counselling(now: datetime, until: datetime) -> Select[Any]:
    B, C = CounsellingBooking, Counsellor
    return (select(B.user_id, B.id.label("item_id"), B.starts_at.label("moment"), B.updated_at.label("told"),
                   B.starts_at, C.display_name.label("counsellor"), B.id.label("booking_id"))
            .join(C, C.id == B.counsellor_id)
            .where(B.status == "booked", B.starts_at > now, B.starts_at <= until))


def _volunteer(now: datetime, until: datetime) -> Select[Any]:
    U, S, P = VolunteerSignup, VolunteerShift, VolunteerProject
    return (select(U.user_id, U.id.label("item_id"), S.starts_at.label("moment"),
                   func.coalesce(U.promoted_at, U.created_at).label("told"), S.starts_at,
                   P.title.label("project"), func.coalesce(S.place, P.place).label("place"), U.shift_id)
            .join(S, S.id == U.shift_id).join(P, P.id == U.project_id)
            .where(U.status == "signed_up", S.cancelled_at.is_(None), S.starts_at > now, S.starts_at <= until))


def _housing(now: datetime, until: datetime) -> Select[Any]:
    A, P = HousingApplication, HousingProject
    return (select(A.user_id, A.id.label("item_id"), A.offer_expires_at.label("moment"),
                   func.coalesce(A.offered_at, A.updated_at).label("told"), A.offer_expires_at.label("answer_by"),
                   P.name.label("project"), A.id.label("application_id"), A.project_id)
            .join(P, P.id == A.project_id)
            .where(A.status == "offered", A.offer_expires_at > now, A.offer_expires_at <= until))


register(EVENT, lead=_hours("notification_event_reminder_hours"), due=_events, ids=("event_id",))
register(COUNSELLING, lead=_hours("notification_counselling_reminder_hours"), due=_counselling, ids=("booking_id",))
register(VOLUNTEER_SHIFT, lead=_hours("notification_volunteer_reminder_hours"), due=_volunteer, ids=("shift_id",))
register(HOUSING_OFFER, lead=_hours("notification_housing_offer_reminder_hours"), due=_housing,
         ids=("application_id", "project_id"))
