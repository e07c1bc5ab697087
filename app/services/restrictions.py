"""Fair penalties across services: one policy and one record of no-shows and late cancellations.

A service records a strike when a person did not come (``no_show``) or cancelled after the cut-off
(``late_cancel``); strikes are counted per service. When a person's unwaived strikes in one service
since their last restriction there, within ``restriction_window_days``, reach
``restriction_strike_threshold``, new sign-ups in that service are refused for ``restriction_days``;
the person is told why and until when. The same policy serves events, counselling and volunteering
(a no-show at a volunteer shift does not stop anyone booking a counsellor). A provider of the service
(or staff) may waive a strike with a reason: a waived strike counts no more, and a restriction that no
longer has enough strikes behind it is lifted.

Services check ``current(...)`` (or join ``Restriction`` in their own hot-path statement with
``service == …``) before a sign-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.config import ServiceSettings, settings_of
from app.kit.dialect import insert_for
from app.kit.time import display
from app.services.notifications.catalogue import define, notify
from models.restrictions import Restriction, Strike

SERVICES = {"events": "活动", "counselling": "心理咨询", "volunteer": "志愿服务"}
KINDS = {"no_show": "爽约", "late_cancel": "临时取消"}


class RestrictionSettings(ServiceSettings):
    # This many unwaived no-shows or late cancellations in one service within the window restrict new
    # sign-ups there for the given days (one policy for every service).
    restriction_strike_threshold: int = 2
    restriction_window_days: int = 90
    restriction_days: int = 30


def policy() -> RestrictionSettings:
    return settings_of(RestrictionSettings)


RESTRICTED = define(
    "restriction.applied", title="{service}报名已暂停",
    body="{reason}（{until}后恢复）。如有疑问请联系主办方。", params=("service", "reason", "until"),
    wechat="account", keywords={"thing1": "title", "thing2": "reason", "time3": "until"},
)
StrikeNotFound = errors.define("STRIKE_NOT_FOUND", 404, "找不到该爽约记录")


@dataclass(frozen=True)
class Current:
    until: datetime
    reason: str


async def record(session: AsyncSession, *, user_id: int, service: str, kind: str, source_kind: str, source_id: int,
                 at: datetime, now: datetime) -> bool:
    """Record one strike (idempotent per source and kind) and restrict the person if the policy says
    so. Returns whether a new strike was recorded."""
    assert service in SERVICES and kind in KINDS
    stmt = insert_for(session)(Strike).values(user_id=user_id, service=service, kind=kind, source_kind=source_kind,
                                               source_id=source_id, at=at, created_at=now)
    added = (await session.execute(stmt.on_conflict_do_nothing().returning(Strike.id))).first()
    if added is None:
        return False
    await apply_policy(session, [user_id], service, now)
    return True


async def record_many(session: AsyncSession, *, user_ids: dict[int, int], service: str, kind: str, source_kind: str,
                      at: datetime, now: datetime) -> int:
    """Strikes for many people at once (``user_ids``: user id → source id), e.g. an event's no-shows."""
    if not user_ids:
        return 0
    insert = insert_for(session)
    rows = [dict(user_id=uid, service=service, kind=kind, source_kind=source_kind, source_id=sid, at=at,
                 created_at=now) for uid, sid in user_ids.items()]
    added = (await session.execute(insert(Strike).values(rows).on_conflict_do_nothing().returning(Strike.user_id))
             ).scalars().all()
    if added:
        await apply_policy(session, list(added), service, now)
    return len(added)


async def apply_policy(session: AsyncSession, user_ids: list[int], service: str, now: datetime) -> None:
    """Restrict the people whose counted strikes in ``service`` reached the threshold."""
    p = policy()
    since = now - timedelta(days=p.restriction_window_days)
    R, S = Restriction, Strike
    rows = (await session.execute(
        select(S.user_id, func.count(), func.max(S.at))
        .outerjoin(R, (R.user_id == S.user_id) & (R.service == S.service))
        .where(S.user_id.in_(set(user_ids)), S.service == service, S.waived_at.is_(None), S.at >= since,
               (R.since.is_(None)) | (S.at > R.since))
        .group_by(S.user_id))).all()
    insert = insert_for(session)
    for uid, strikes, last in rows:
        if strikes < p.restriction_strike_threshold:
            continue
        until = now + timedelta(days=p.restriction_days)
        label = SERVICES[service]
        reason = _reason(strikes, service)
        stmt = insert(Restriction).values(user_id=uid, service=service, since=last, until=until, reason=reason,
                                          created_at=now, lifted_at=None)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[Restriction.user_id, Restriction.service],
            set_={"since": stmt.excluded.since, "until": stmt.excluded.until, "reason": stmt.excluded.reason,
                  "created_at": stmt.excluded.created_at, "lifted_at": None}))
        notify(session, RESTRICTED, uid, data={"service": service}, service=label, reason=reason, until=until)


def _reason(strikes: int, service: str) -> str:
    p = policy()
    return (f"{p.restriction_window_days}天内有{strikes}次爽约或临时取消，"
            f"{p.restriction_days}天内不能报名新的{SERVICES[service]}")


async def current(session: AsyncSession, user_id: int, service: str, now: datetime) -> Current | None:
    row = (await session.execute(select(Restriction.until, Restriction.reason).where(
        Restriction.user_id == user_id, Restriction.service == service, Restriction.lifted_at.is_(None),
        Restriction.until > now))).first()
    return Current(row.until, row.reason) if row else None


async def current_with(session: AsyncSession, user_id: int, service: str, now: datetime,
                       pending: Sequence[tuple[datetime, datetime]]) -> Current | None:
    """The restriction the person has once ``pending`` strikes are recorded, computed and stored
    nowhere: strikes that are due but that the sweeper has not recorded yet, as (``at``, the moment it
    became due) pairs. A service that records such strikes later passes the due moment as ``now`` to
    ``record_many``, so the stored restriction is the one computed here. Reads and eligibility checks
    use this, so that a sweeper running late never changes an answer."""
    found = await current(session, user_id, service, now)
    if found is not None or not pending:
        return found
    p = policy()
    window = timedelta(days=p.restriction_window_days)
    first = min(due for _, due in pending)
    R, S = Restriction, Strike
    since = (await session.execute(select(R.since).where(R.user_id == user_id, R.service == service))
             ).scalar_one_or_none()
    stored = (await session.execute(select(S.at, S.created_at).where(
        S.user_id == user_id, S.service == service, S.waived_at.is_(None), S.at >= first - window))).all()
    # Replay apply_policy at each moment a strike was (or would have been) recorded from the first
    # pending one on, over the strikes recorded by then.
    known = [at for at, recorded in stored if recorded <= first]
    steps = sorted([(at, recorded) for at, recorded in stored if recorded > first] + list(pending),
                   key=lambda step: step[1])
    out = None
    for at, when in steps:
        known.append(at)
        counted = [a for a in known if a >= when - window and (since is None or a > since)]
        if len(counted) >= p.restriction_strike_threshold:
            since = max(counted)
            out = Current(when + timedelta(days=p.restriction_days), _reason(len(counted), service))
    return out if out is not None and out.until > now else None


def message(c: Current) -> str:
    """What a refused sign-up tells the person: why, and from when they may sign up again."""
    return f"{c.reason}（{display(c.until)}后可再报名）"


async def waive(session: AsyncSession, *, strike_id: int, service: str, by_user_id: int, reason: str,
                now: datetime) -> Strike:
    """Waive one strike (the caller checked that ``by_user_id`` may); lift the restriction it caused
    when the strikes left behind it no longer reach the threshold."""
    strike = await session.get(Strike, strike_id, with_for_update=True)
    if strike is None or strike.service != service:
        raise StrikeNotFound()
    if strike.waived_at is None:
        strike.waived_at, strike.waived_by, strike.waive_reason = now, by_user_id, reason
        await session.flush()
        await _lift_if_unfounded(session, strike.user_id, service, now)
    return strike


async def _lift_if_unfounded(session: AsyncSession, user_id: int, service: str, now: datetime) -> None:
    r = await session.get(Restriction, (user_id, service), with_for_update=True)
    if r is None or r.lifted_at is not None or r.until <= now:
        return
    p = policy()
    counted = (await session.execute(select(func.count()).select_from(Strike).where(
        Strike.user_id == user_id, Strike.service == service, Strike.waived_at.is_(None),
        Strike.at <= r.since, Strike.at >= r.since - timedelta(days=p.restriction_window_days)))).scalar_one()
    if counted < p.restriction_strike_threshold:
        r.lifted_at = now
        await session.flush()
