"""The centre's own settings — opening hours and the duty list — and who in a centre may do what.

Opening hours: each centre sets seven spans, Monday first, in Shanghai wall-clock time
(``PATCH /provider/counselling/centre``); until it does, ``YOUTH_COUNSELLING_DEFAULT_OPENING_HOURS``
applies. The time a flagged booking must be acknowledged in (``YOUTH_COUNSELLING_RISK_ACK_HOURS``) is
counted only while the centre is open: a flag raised at night is due the set time after the next
opening. Public holidays are not taken out: on a holiday the clock runs as on that weekday, so an
unanswered flag escalates earlier, never later.

Roles inside a centre (all of them members of the organisation):
- the *booked counsellor*: the member account linked to the booking's counsellor profile;
- the *duty* list: members the owner names (in order; the first is told of every new risk flag);
- the *care team* of a booking is its booked counsellor and the duty list: only they read the
  intake and the risk follow-ups (each read audited), mark attendance and record follow-ups;
- other members (reception, editors) see the centre's booking list and may cancel for the centre,
  but never read an intake; owners manage profiles, slots and the duty list, and read intakes only
  when they are on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.deps import Principal
from app.kit.time import day_start, local_day
from app.schemas.counselling import CentreSettings, CentreSettingsUpdate, DutyMember
from app.services import audit
from app.services.counselling import errors as cerr
from app.services.counselling.settings import settings
from models.accounts import User
from models.base import utcnow
from models.counselling import CounsellingBooking, CounsellingCentre, CounsellingDuty, Counsellor
from models.orgs import Organisation, OrgMember

CENTRE = "counselling_centre"  # audit target kind


# --- opening hours ---------------------------------------------------------------------------------


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


async def opening_hours(session: AsyncSession, org_id: int) -> tuple[list[str | None], bool]:
    """The centre's week, and whether it is the platform default."""
    row = (await session.execute(select(CounsellingCentre.opening_hours).where(CounsellingCentre.org_id == org_id))
           ).scalar_one_or_none()
    if row is None:
        return list(settings().counselling_default_opening_hours), True
    return list(row), False


def due_after(start: datetime, hours: float, week: list[str | None]) -> datetime:
    """The instant ``hours`` of opening time after ``start`` (``week``: seven spans, Monday first)."""
    left = timedelta(hours=hours)
    day = local_day(start)
    at = start
    # Every week has an open span (checked when hours are set); a week with very little open time
    # falls back to plain hours, which is earlier, never later.
    for _ in range(7 * (int(hours) + 2)):
        span = week[day.isoweekday() - 1]
        if span:
            begin_text, end_text = span.split("-")
            opens = day_start(day) + timedelta(minutes=_minutes(begin_text))
            closes = day_start(day) + timedelta(minutes=_minutes(end_text))
            at = max(at, opens)
            if at < closes:
                if closes - at >= left:
                    return (at + left).astimezone(UTC)
                left -= closes - at
        day += timedelta(days=1)
        at = max(at, day_start(day))
    return (start + timedelta(hours=hours)).astimezone(UTC)


# --- the duty list and roles -----------------------------------------------------------------------


async def duty_ids(session: AsyncSession, org_id: int) -> list[int]:
    """The duty list in order; only people still members of the centre."""
    rows = await session.execute(
        select(CounsellingDuty.user_id)
        .join(OrgMember, (OrgMember.user_id == CounsellingDuty.user_id) & (OrgMember.org_id == CounsellingDuty.org_id))
        .where(CounsellingDuty.org_id == org_id).order_by(CounsellingDuty.position, CounsellingDuty.id))
    return list(rows.scalars())


async def owner_ids(session: AsyncSession, org_id: int) -> list[int]:
    rows = await session.execute(select(OrgMember.user_id).where(OrgMember.org_id == org_id, OrgMember.role == "owner")
                                 .order_by(OrgMember.id))
    return list(rows.scalars())


async def is_on_duty(session: AsyncSession, actor: Principal, org_id: int) -> bool:
    if not actor.is_provider or actor.org_id != org_id:
        return False
    found = await session.execute(select(CounsellingDuty.id).where(CounsellingDuty.org_id == org_id,
                                                                   CounsellingDuty.user_id == actor.user_id))
    return found.first() is not None


async def counsellor_member(session: AsyncSession, counsellor: Counsellor) -> int | None:
    """The booked counsellor's account, if it is still a member of the centre."""
    if counsellor.user_id is None:
        return None
    found = await session.execute(select(OrgMember.user_id).where(OrgMember.user_id == counsellor.user_id,
                                                                  OrgMember.org_id == counsellor.org_id))
    return found.scalar_one_or_none()


async def care_role(session: AsyncSession, actor: Principal, booking: CounsellingBooking, counsellor: Counsellor
                    ) -> str | None:
    """"counsellor" or "duty" when the actor is on the booking's care team, else None."""
    if not actor.is_provider or actor.org_id != booking.org_id:
        return None
    if counsellor.user_id == actor.user_id:
        return "counsellor"
    return "duty" if await is_on_duty(session, actor, booking.org_id) else None


async def require_care_team(session: AsyncSession, actor: Principal, booking: CounsellingBooking,
                            counsellor: Counsellor) -> str:
    role = await care_role(session, actor, booking, counsellor)
    if role is None:
        raise cerr.CareTeamOnly()
    return role


async def require_duty_or_owner(session: AsyncSession, actor: Principal, org_id: int) -> None:
    if actor.org_role == "owner" and actor.org_id == org_id:
        return
    if not await is_on_duty(session, actor, org_id):
        raise cerr.DutyOrOwnerOnly()


# --- the centre's settings (its members read them; owners change them) -------------------------------


async def centre_settings(session: AsyncSession, *, actor: Principal) -> CentreSettings:
    assert actor.org_id is not None
    hours, default = await opening_hours(session, actor.org_id)
    rows = await session.execute(
        select(User.id, User.nickname, User.username).join(CounsellingDuty, CounsellingDuty.user_id == User.id)
        .join(OrgMember, (OrgMember.user_id == User.id) & (OrgMember.org_id == CounsellingDuty.org_id))
        .where(CounsellingDuty.org_id == actor.org_id).order_by(CounsellingDuty.position, CounsellingDuty.id))
    return CentreSettings(opening_hours=hours, default_hours=default,
                          risk_ack_hours=settings().counselling_risk_ack_hours,
                          duty=[DutyMember(user_id=i, nickname=n, username=u) for i, n, u in rows.all()])


async def update_centre(session: AsyncSession, *, actor: Principal, data: CentreSettingsUpdate) -> CentreSettings:
    if actor.org_role != "owner":
        raise errors.NotOrgOwner()
    assert actor.org_id is not None
    # One change of a centre's settings at a time (the duty list is replaced as a whole). NO KEY
    # UPDATE: rows that merely reference the organisation (new bookings) are not held up.
    await session.execute(select(Organisation.id).where(Organisation.id == actor.org_id)
                          .with_for_update(key_share=True))
    detail: dict[str, object] = {}
    if data.opening_hours is not None:
        row = await session.get(CounsellingCentre, actor.org_id, with_for_update=True)
        if row is None:
            session.add(CounsellingCentre(org_id=actor.org_id, opening_hours=data.opening_hours,
                                          updated_by=actor.user_id))
        else:
            row.opening_hours, row.updated_by, row.updated_at = data.opening_hours, actor.user_id, utcnow()
        detail["opening_hours"] = data.opening_hours
    if data.duty_user_ids is not None:
        members = set((await session.execute(select(OrgMember.user_id).where(
            OrgMember.org_id == actor.org_id, OrgMember.user_id.in_(data.duty_user_ids)))).scalars())
        if set(data.duty_user_ids) - members:
            raise cerr.DutyNotMember(fields={"duty_user_ids": "值班名单只能包含本机构的成员账号"})
        await session.execute(delete(CounsellingDuty).where(CounsellingDuty.org_id == actor.org_id))
        session.add_all([CounsellingDuty(org_id=actor.org_id, user_id=uid, position=i, added_by=actor.user_id)
                         for i, uid in enumerate(data.duty_user_ids)])
        detail["duty_user_ids"] = data.duty_user_ids
    await session.flush()
    if detail:
        await audit.record(session, actor=actor, action="counselling.centre_update", target_kind=CENTRE,
                           target_id=actor.org_id, detail=detail)
    return await centre_settings(session, actor=actor)
