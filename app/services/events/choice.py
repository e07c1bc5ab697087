"""The mutual choice (互选) after an event: picks by badge number, mutual matches only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit.pagination import Page
from app.kit.time import display
from app.schemas.events import (
    ChoiceSummary,
    MatchPublic,
    PicksIn,
    PicksPublic,
)
from app.services.events import errors as everr
from app.services.events.common import R, choice_window, visible_event
from models.accounts import User
from models.events import Event, EventRegistration


async def _chooser(session: AsyncSession, actor: Principal, event_id: int) -> tuple[Event, EventRegistration,
                                                                                     tuple[datetime, datetime]]:
    ev, _ = await visible_event(session, event_id)
    window = choice_window(ev)
    if window is None or ev.cancelled_at is not None:
        raise everr.ChoiceNotOpen("本活动没有互选环节")
    reg = (await session.execute(
        select(EventRegistration).where(R.event_id == event_id, R.user_id == actor.user_id,
                                        R.status == "confirmed", R.checked_in_at.is_not(None)))).scalar_one_or_none()
    if reg is None:
        raise everr.ChoiceNotEligible()
    return ev, reg, window


async def submit_picks(session: AsyncSession, *, actor: Principal, event_id: int, data: PicksIn) -> PicksPublic:
    """Replace the person's picks (up to 3 badge numbers) while the choice window is open."""
    _, reg, (opens, closes) = await _chooser(session, actor, event_id)
    now = clock.now()
    if not opens <= now < closes:
        raise everr.ChoiceNotOpen(f"互选时间为{display(opens)}至{display(closes)}")
    if reg.badge_number in data.badges:
        raise errors.ValidationFailed(fields={"badges": "不能选择自己"})
    present = set((await session.execute(
        select(R.badge_number).where(R.event_id == event_id, R.badge_number.in_(data.badges),
                                     R.checked_in_at.is_not(None), R.status == "confirmed"))).scalars())
    missing = [b for b in data.badges if b not in present]
    if missing:
        raise errors.ValidationFailed(fields={"badges": f"本场没有签到的{'、'.join(map(str, missing))}号嘉宾"})
    await session.refresh(reg, with_for_update=True)
    reg.picks, reg.pick_contact, reg.picks_at = list(data.badges), data.contact, now
    await session.flush()
    return PicksPublic(badges=reg.picks, contact=reg.pick_contact, submitted_at=now, choice_closes_at=closes)


async def my_picks(session: AsyncSession, *, actor: Principal, event_id: int) -> PicksPublic:
    _, reg, (_, closes) = await _chooser(session, actor, event_id)
    return PicksPublic(badges=reg.picks or [], contact=reg.pick_contact, submitted_at=reg.picks_at,
                       choice_closes_at=closes)


async def matches(session: AsyncSession, *, actor: Principal, event_id: int) -> Page[MatchPublic]:
    """Mutual picks only, after the window closes (so picks cannot be used to probe who picked you).
    Only the people this person picked are even read: at most three, so always one page."""
    _, reg, (_, closes) = await _chooser(session, actor, event_id)
    if clock.now() < closes:
        raise everr.ChoiceResultsPending(f"互选结果将于{display(closes)}公布")
    mine = reg.picks or []
    if not mine:
        return Page(items=[])
    rows = (await session.execute(
        select(R.badge_number, R.picks, R.pick_contact, User.nickname).join(User, User.id == R.user_id)
        .where(R.event_id == event_id, R.badge_number.in_(mine), R.checked_in_at.is_not(None),
               R.status == "confirmed").order_by(R.badge_number))).all()
    return Page(items=[MatchPublic(badge_number=r.badge_number, nickname=r.nickname, contact=r.pick_contact)
                       for r in rows if reg.badge_number in (r.picks or [])])


async def choice_summary(session: AsyncSession, *, ev: Event) -> ChoiceSummary:
    """``ev``: the organiser's own event (app.kit.postings.owned)."""
    rows = (await session.execute(
        select(R.badge_number, R.picks).where(R.event_id == ev.id, R.checked_in_at.is_not(None),
                                              R.status == "confirmed"))).all()
    picked = {r.badge_number: set(r.picks or []) for r in rows}
    mutual = sum(1 for a, theirs in picked.items() for b in theirs if a < b and a in picked.get(b, ()))
    window = choice_window(ev)
    return ChoiceSummary(checked_in=len(rows), participants=sum(1 for p in picked.values() if p),
                         picks=sum(len(p) for p in picked.values()), mutual_matches=mutual,
                         choice_closes_at=window[1] if window else None)
