"""The organiser's view of a shift: who signed up, who came, their hours; and the same as CSV."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import csv
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.volunteer import SignupProvider
from app.services import audit, restrictions
from app.services.volunteer import errors as verr
from app.services.volunteer.common import SERVICE, SIGNUP_SOURCE, U
from app.services.volunteer.projects import own_shift
from app.validators import age_on, mask_phone
from models.accounts import User
from models.restrictions import Strike
from models.volunteer import VolunteerHours, VolunteerSignup

_STATUS_LABELS = {"signed_up": "已报名", "waitlisted": "候补", "cancelled": "已取消", "no_show": "未到场",
                  "shift_cancelled": "岗位取消", "released": "时间冲突已取消"}


def _statement(shift_id: int, status: str | None) -> Any:
    ahead = aliased(VolunteerSignup)
    position = (select(func.count()).select_from(ahead)
                .where(ahead.shift_id == U.shift_id, ahead.status == "waitlisted", ahead.id <= U.id).scalar_subquery())
    stmt = (select(VolunteerSignup, User.nickname, User.real_name, User.birth_date, VolunteerHours.id,
                   VolunteerHours.minutes, VolunteerHours.status, position)
            .join(User, User.id == U.user_id).outerjoin(VolunteerHours, VolunteerHours.signup_id == U.id)
            .where(U.shift_id == shift_id))
    if status:
        stmt = stmt.where(U.status == status)
    return stmt


def _item(r: Any, day: Any) -> SignupProvider:
    s = r[0]
    return SignupProvider(
        signup_id=s.id, user_id=s.user_id, nickname=r[1], real_name=r[2], age=age_on(r[3], day) if r[3] else None,
        status=s.status, waitlist_position=r[7] if s.status == "waitlisted" else None, created_at=s.created_at,
        guardian_name=s.guardian_name, guardian_phone_masked=mask_phone(s.guardian_phone) if s.guardian_phone else None,
        guardian_consent_at=s.guardian_consent_at, checked_in_at=s.checked_in_at,
        checked_out_at=s.checked_out_at, check_in_distance_m=s.check_in_distance_m, hours_id=r[4], minutes=r[5],
        hours_status=r[6])


async def waive_strike(session: AsyncSession, *, actor: Principal, signup_id: int, reason: str) -> SignupProvider:
    """The organiser excuses a no-show or late cancellation (ill, an emergency): under the one policy
    (app.services.restrictions) the strike counts no more, and a restriction it caused is lifted."""
    signup = await session.get(VolunteerSignup, signup_id)
    if signup is None:
        raise errors.NotFound()
    shift, _ = await own_shift(session, actor, signup.shift_id)
    strikes = (await session.execute(select(Strike.id).where(
        Strike.source_kind == SIGNUP_SOURCE, Strike.source_id == signup.id, Strike.waived_at.is_(None)))).scalars().all()
    if not strikes:
        raise verr.NoStrike()
    now = clock.now()
    for strike_id in strikes:
        await restrictions.waive(session, strike_id=strike_id, service=SERVICE, by_user_id=actor.user_id,
                                 reason=reason, now=now)
    await audit.record(session, actor=actor, action="volunteer.waive_strike", target_kind=SIGNUP_SOURCE,
                       target_id=signup.id, reason=reason)
    row = (await session.execute(_statement(shift.id, None).where(U.id == signup.id))).one()
    return _item(row, local_day(shift.starts_at))


async def shift_signups(session: AsyncSession, *, actor: Principal, shift_id: int, status: str | None,
                        cursor: str | None, limit: int) -> Page[SignupProvider]:
    shift, _ = await own_shift(session, actor, shift_id)
    day = local_day(shift.starts_at)
    page = await keyset(session, _statement(shift_id, status), [Key("i", U.id)], cursor=cursor, limit=limit,
                        tag="shift-signups")
    return page.page(lambda r: _item(r, day))


HEADER = ["报名编号", "昵称", "姓名", "年龄", "状态", "候补位次", "报名时间", "监护人", "监护人电话", "签到时间", "签退时间",
          "签到距离（米）", "服务时长（小时）", "时长状态"]


async def shift_signups_csv(session: AsyncSession, *, actor: Principal, shift_id: int, status: str | None
                            ) -> csv.CsvExport:
    shift, project = await own_shift(session, actor, shift_id)
    day = local_day(shift.starts_at)
    await audit.record(session, actor=actor, action="volunteer_shift.export", target_kind="volunteer_shift",
                       target_id=shift_id, detail={"status": status})

    def row(r: Any) -> list[Any]:
        i = _item(r, day)
        return [i.signup_id, i.nickname, i.real_name, i.age, _STATUS_LABELS.get(i.status, i.status),
                i.waitlist_position, i.created_at, i.guardian_name, i.guardian_phone_masked, i.checked_in_at,
                i.checked_out_at,
                i.check_in_distance_m, None if i.minutes is None else f"{i.minutes / 60:g}",
                {"pending": "待确认", "confirmed": "已确认"}.get(i.hours_status or "", "")]

    stamp = clock.now()
    name = f"志愿岗位报名-{project.id}-{shift.id}-{local_day(stamp):%Y%m%d}.csv"
    return csv.CsvExport(name, HEADER, csv.batched(_statement(shift_id, status), Key("i", U.id), row))

