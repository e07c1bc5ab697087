"""Demo volunteering: a Dianchi-protection project (滇池卫士) and a tutoring project (青蜗牛流动教室)
with shifts to come, a few sign-ups, and 小李 (demo1), a one-star volunteer with a year of confirmed
Saturday mornings at the lake."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.demo import DemoContext
from app.deps import Principal
from app.kit.time import SHANGHAI, add_working_days, local_day
from app.services import volunteer
from models.volunteer import (
    VolunteerHours,
    VolunteerHoursEvent,
    VolunteerProject,
    VolunteerShift,
    VolunteerSignup,
)

_PROJECTS = [
    dict(title="滇池卫士·海埂湿地守护", category="dianchi",
         description="沿海埂大坝和湿地步道拾捡垃圾、清理入湖口漂浮物，向游客宣传不投喂海鸥、不乱扔垃圾。"
                     "每班3小时，组织方提供手套、夹子和饮用水，结束时统一清点。",
         requirements="需在水边行走，请穿防滑鞋、戴帽子；雨天照常，暴雨预警时取消并提前通知。", skills=["体力好"],
         district="西山区", place="海埂大坝游客中心", address="昆明市西山区海埂路海埂大坝入口", lat=24.9637,
         lng=102.6644, contact_name="赵老师", contact_phone="0871-64100000", min_age=14, waitlist_enabled=True),
    dict(title="“青蜗牛”流动教室·周末学业辅导", category="double_reduction",
         description="为翠湖周边社区的小学生辅导作业、带读绘本，一对二或一对三。首次参加前有半小时培训。",
         requirements="需年满18周岁；擅长语文、数学或英语任一科目；请守时，不得单独带孩子离开教室。",
         skills=["小学辅导", "耐心"], district="五华区", place="翠湖社区青年之家", address="昆明市五华区翠湖南路12号",
         lat=25.0462, lng=102.7045, contact_name="陈老师", contact_phone="0871-63200000", min_age=18),
]


def _saturday(after: datetime, weeks: int, hour: int) -> datetime:
    day = local_day(after) + timedelta(days=(5 - local_day(after).weekday()) % 7 + 7 * weeks)
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    org = ctx.orgs["volunteer_org"]
    now = clock.now()
    projects = []
    for data in _PROJECTS:
        p = VolunteerProject(**data, org_id=org.id, status="published", submitted_at=now, published_at=now,
                             reviewed_by=ctx.moderator.id, reviewed_at=now)
        session.add(p)
        projects.append(p)
    await session.flush()
    lake, school = projects
    upcoming: list[VolunteerShift] = []
    for week in range(1, 4):
        start = _saturday(now, week, 9)
        upcoming.append(VolunteerShift(project_id=lake.id, starts_at=start, ends_at=start + timedelta(hours=3),
                                       signup_closes_at=start - timedelta(hours=12), capacity=20))
        start = _saturday(now, week, 14)
        upcoming.append(VolunteerShift(project_id=school.id, starts_at=start, ends_at=start + timedelta(hours=3),
                                       signup_closes_at=start - timedelta(days=1), capacity=8,
                                       check_in_radius_m=200))
    session.add_all(upcoming)
    await session.flush()
    for person in ctx.youth[1:4]:
        await volunteer.sign_up(session, actor=Principal(person.id, "youth"), shift_id=upcoming[0].id, data=None)
    await volunteer.sign_up(session, actor=Principal(ctx.youth[4].id, "youth"), shift_id=upcoming[1].id, data=None)
    await _history(session, ctx, lake, now)


async def _history(session: AsyncSession, ctx: DemoContext, lake: VolunteerProject, now: datetime) -> None:
    """40 past Saturday mornings of 小李 at the lake: 39 confirmed (117 hours, one star), the last one
    still waiting for the organiser."""
    person, organiser = ctx.youth[0], ctx.owners["volunteer_org"]
    for week in range(40, 0, -1):
        start = _saturday(now, -week - 1, 9)
        end = start + timedelta(hours=3)
        shift = VolunteerShift(project_id=lake.id, starts_at=start, ends_at=end, signup_closes_at=start,
                               capacity=20, taken=1, no_shows_marked_at=end + timedelta(hours=2))
        session.add(shift)
        await session.flush()
        signup = VolunteerSignup(shift_id=shift.id, project_id=lake.id, user_id=person.id, status="signed_up",
                                 starts_at=start, ends_at=end, created_at=start - timedelta(days=3),
                                 checked_in_at=start - timedelta(minutes=5), check_in_distance_m=40,
                                 checked_out_at=end + timedelta(minutes=3), check_out_distance_m=35)
        session.add(signup)
        await session.flush()
        confirmed = week > 1
        hours = VolunteerHours(
            signup_id=signup.id, user_id=person.id, org_id=lake.org_id, project_id=lake.id, shift_id=shift.id,
            category=lake.category, served_on=local_day(start), measured_minutes=180, minutes=180,
            status="confirmed" if confirmed else "pending",
            confirmed_at=end + timedelta(days=2) if confirmed else None,
            confirmed_by=organiser.id if confirmed else None, remind_at=add_working_days(end, 7),
            due_at=add_working_days(end, 10))
        session.add(hours)
        await session.flush()
        session.add(VolunteerHoursEvent(hours_id=hours.id, at=signup.checked_out_at, action="measured",
                                        minutes_after=180))
        if confirmed:
            session.add(VolunteerHoursEvent(hours_id=hours.id, at=hours.confirmed_at, actor_id=organiser.id,
                                            actor_role="provider", action="confirmed", minutes_before=180,
                                            minutes_after=180))
