"""Attendance: the organiser scans a volunteer's signed ticket, or the volunteer checks in and out
with their location; hours are proposed at check-out; no-shows are recorded after the shift."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors, security
from app.deps import Principal
from app.kit import sweeper
from app.kit.time import add_working_days, display, local_day
from app.schemas.volunteer import AttendancePublic, LocationIn
from app.services import audit, restrictions
from app.services.notifications.catalogue import notify_many
from app.services.volunteer import errors as verr
from app.services.volunteer.common import (
    NO_SHOW,
    NO_SYNC,
    SERVICE,
    SIGNUP_SOURCE,
    S,
    U,
    distance_m,
    quarter_hours,
    shift_and_project,
    shift_place,
)
from app.services.volunteer.hours import hours_view, record_event
from app.services.volunteer.projects import own_shift
from app.services.volunteer.settings import settings
from app.services.volunteer.signup import TICKET_TYPE
from models.accounts import User
from models.volunteer import VolunteerHours, VolunteerProject, VolunteerShift, VolunteerSignup


def _window(shift: VolunteerShift) -> tuple[datetime, datetime, datetime]:
    """When check-in opens, when the shift ends, and when check-out closes."""
    s = settings()
    return (shift.starts_at - timedelta(minutes=s.volunteer_check_in_opens_minutes), shift.ends_at,
            shift.ends_at + timedelta(minutes=s.volunteer_check_out_grace_minutes))


def _minutes_text(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    return f"{minutes}分钟" if minutes < 120 else f"{minutes // 60}小时{minutes % 60}分钟"


def _distance_text(metres: float) -> str:
    return f"{round(metres)}米" if metres < 1000 else f"{metres / 1000:.1f}公里"


def _check_in(shift: VolunteerShift, signup: VolunteerSignup, now: datetime, who: str) -> None:
    if shift.cancelled_at is not None:
        raise verr.ShiftCancelled()
    if signup.checked_in_at is not None:
        raise verr.AlreadyCheckedIn(f"{who}已于{display(signup.checked_in_at)}签到")
    opens, ends, _ = _window(shift)
    if now < opens:
        raise verr.CheckInNotOpen(f"签到时间为{display(opens)}至{display(ends)}，现在还早{_minutes_text(opens - now)}")
    if now >= ends:
        raise verr.CheckInNotOpen(f"岗位已于{display(ends)}结束，不能再签到")


def _check_out_time(shift: VolunteerShift, signup: VolunteerSignup, now: datetime) -> None:
    if signup.checked_in_at is None:
        raise verr.NotCheckedIn()
    if signup.checked_out_at is not None:
        raise verr.AlreadyCheckedOut(f"已于{display(signup.checked_out_at)}签退")
    _, _, closes = _window(shift)
    if now >= closes:
        raise verr.CheckOutNotOpen(f"签退时间已于{display(closes)}截止，请联系组织者确认服务时长")


def _check_place(shift: VolunteerShift, project: VolunteerProject, at: LocationIn) -> int:
    """The distance in metres when the location is good enough and inside the radius."""
    _, lat, lng = shift_place(shift, project)
    radius = shift.check_in_radius_m
    if at.accuracy_m > radius:
        raise verr.LocationInaccurate(
            f"当前定位精度约{_distance_text(at.accuracy_m)}，超过签到范围{radius}米，请到开阔处重新定位后再试")
    d = distance_m(at.lat, at.lng, lat, lng)
    if d > radius:
        raise verr.TooFar(f"您距离服务地点约{_distance_text(d)}，需在{radius}米范围内签到")
    return round(d)


async def _my_signup(session: AsyncSession, shift_id: int, user_id: int) -> VolunteerSignup:
    signup = (await session.execute(select(VolunteerSignup).where(
        U.shift_id == shift_id, U.user_id == user_id, U.status == "signed_up").with_for_update(key_share=True)
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if signup is None:
        raise verr.NotSignedUp("您没有报名成功该岗位，不能签到")
    return signup


# --- the volunteer themself -------------------------------------------------------------------------


async def self_check_in(session: AsyncSession, *, actor: Principal, shift_id: int, at: LocationIn
                        ) -> AttendancePublic:
    shift, project = await shift_and_project(session, shift_id)
    signup = await _my_signup(session, shift_id, actor.user_id)
    now = clock.now()
    _check_in(shift, signup, now, "您")
    d = _check_place(shift, project, at)
    signup.checked_in_at, signup.check_in_distance_m, signup.check_in_accuracy_m = now, d, round(at.accuracy_m)
    await session.flush()
    return AttendancePublic(signup_id=signup.id, checked_in_at=now, distance_m=d)


async def self_check_out(session: AsyncSession, *, actor: Principal, shift_id: int, at: LocationIn
                         ) -> AttendancePublic:
    shift, project = await shift_and_project(session, shift_id)
    signup = await _my_signup(session, shift_id, actor.user_id)
    now = clock.now()
    _check_out_time(shift, signup, now)
    d = _check_place(shift, project, at)
    signup.checked_out_at, signup.check_out_distance_m, signup.check_out_accuracy_m = now, d, round(at.accuracy_m)
    hours = await _propose_hours(session, signup, shift, project, now)
    return AttendancePublic(signup_id=signup.id, checked_in_at=signup.checked_in_at, checked_out_at=now,
                            distance_m=d, hours=await hours_view(session, hours, project.title))


# --- the organiser scanning tickets -----------------------------------------------------------------


async def _scanned(session: AsyncSession, actor: Principal, shift_id: int, ticket: str
                   ) -> tuple[VolunteerShift, VolunteerProject, VolunteerSignup]:
    shift, project = await own_shift(session, actor, shift_id)
    try:
        claims = security.verify(ticket, TICKET_TYPE)
    except errors.AppError:
        raise verr.TicketInvalid()
    if claims.get("sid") != shift_id:
        raise verr.TicketWrongShift()
    signup_id = claims.get("uid")
    if not isinstance(signup_id, int) or not 0 < signup_id < 2**31:
        raise verr.TicketInvalid()
    signup = (await session.execute(
        select(VolunteerSignup).where(U.id == signup_id, U.shift_id == shift_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if signup is None or signup.status != "signed_up":
        raise verr.TicketInvalid("该报名已取消或已失效，签到码不能使用")
    return shift, project, signup


async def _nickname(session: AsyncSession, user_id: int) -> str | None:
    return (await session.execute(select(User.nickname).where(User.id == user_id))).scalar_one_or_none()


async def scan_check_in(session: AsyncSession, *, actor: Principal, shift_id: int, ticket: str) -> AttendancePublic:
    shift, _, signup = await _scanned(session, actor, shift_id, ticket)
    now = clock.now()
    _check_in(shift, signup, now, "该志愿者")
    signup.checked_in_at, signup.checked_in_by = now, actor.user_id
    await session.flush()
    await audit.record(session, actor=actor, action="volunteer.check_in", target_kind=SIGNUP_SOURCE,
                       target_id=signup.id, detail={"shift_id": shift_id})
    return AttendancePublic(signup_id=signup.id, nickname=await _nickname(session, signup.user_id), checked_in_at=now)


async def scan_check_out(session: AsyncSession, *, actor: Principal, shift_id: int, ticket: str) -> AttendancePublic:
    shift, project, signup = await _scanned(session, actor, shift_id, ticket)
    now = clock.now()
    _check_out_time(shift, signup, now)
    signup.checked_out_at, signup.checked_out_by = now, actor.user_id
    hours = await _propose_hours(session, signup, shift, project, now)
    await audit.record(session, actor=actor, action="volunteer.check_out", target_kind=SIGNUP_SOURCE,
                       target_id=signup.id, detail={"shift_id": shift_id, "minutes": hours.minutes})
    return AttendancePublic(signup_id=signup.id, nickname=await _nickname(session, signup.user_id),
                            checked_in_at=signup.checked_in_at, checked_out_at=now,
                            hours=await hours_view(session, hours, project.title))


# --- hours proposed ---------------------------------------------------------------------------------


def _new_hours(signup: VolunteerSignup, shift: VolunteerShift, project: VolunteerProject, minutes: int,
               *, missing_check_out: bool = False) -> VolunteerHours:
    s = settings()
    return VolunteerHours(
        signup_id=signup.id, user_id=signup.user_id, org_id=project.org_id, project_id=project.id, shift_id=shift.id,
        category=project.category, served_on=local_day(shift.starts_at), measured_minutes=minutes, minutes=minutes,
        missing_check_out=missing_check_out,
        remind_at=add_working_days(shift.ends_at, s.volunteer_reminder_working_days),
        due_at=add_working_days(shift.ends_at, s.volunteer_record_due_working_days))


async def _propose_hours(session: AsyncSession, signup: VolunteerSignup, shift: VolunteerShift,
                         project: VolunteerProject, now: datetime) -> VolunteerHours:
    """Check-out minus check-in, capped at the shift's length, to the nearest quarter hour: pending
    until the organiser confirms or adjusts it."""
    assert signup.checked_in_at is not None and signup.checked_out_at is not None
    served = min(signup.checked_out_at - signup.checked_in_at, shift.ends_at - shift.starts_at)
    hours = _new_hours(signup, shift, project, quarter_hours(served.total_seconds()))
    session.add(hours)
    await session.flush()
    record_event(session, hours, action="measured", actor=None, before=None, after=hours.minutes)
    await session.flush()
    return hours


# --- after the shift: no-shows, missing check-outs ---------------------------------------------------


async def mark_no_shows(session: AsyncSession, *, now: datetime, user_id: int | None = None,
                        limit: int | None = None) -> int:
    """For every shift whose check-out has closed and that was not processed: people signed up who
    never checked in are no-shows (a strike under the one restriction policy, and they are told);
    people who checked in but never out get a record of 0 hours for the organiser to set. Each shift
    is claimed once (safe with several sweepers and from a sign-up). Returns the shifts processed."""
    grace = timedelta(minutes=settings().volunteer_check_out_grace_minutes)
    stmt = select(S.id).where(S.ends_at <= now - grace, S.no_shows_marked_at.is_(None), S.cancelled_at.is_(None))
    if user_id is not None:
        stmt = stmt.where(S.id.in_(select(U.shift_id).where(U.user_id == user_id, U.status == "signed_up",
                                                              U.ends_at <= now - grace)))
    if limit is not None:
        stmt = stmt.limit(limit)
    done = 0
    for sid in (await session.execute(stmt.order_by(S.id))).scalars().all():
        claimed = (await session.execute(
            update(VolunteerShift).where(S.id == sid, S.no_shows_marked_at.is_(None)).values(no_shows_marked_at=now)
            .returning(S.id).execution_options(**NO_SYNC))).first()
        if claimed is None:
            continue
        done += 1
        shift, project = await shift_and_project(session, sid)
        absent = dict((await session.execute(
            update(U).where(U.shift_id == sid, U.status == "signed_up", U.checked_in_at.is_(None))
            .values(status="no_show").returning(U.user_id, U.id).execution_options(**NO_SYNC))).all())
        if absent:
            notify_many(session, NO_SHOW, list(absent), data={"shift_id": sid, "project_id": project.id},
                        project=project.title, starts_at=shift.starts_at)
            await restrictions.record_many(session, user_ids=absent, service=SERVICE, kind="no_show",
                                           source_kind=SIGNUP_SOURCE, at=shift.starts_at, now=now)
        unfinished = (await session.execute(select(VolunteerSignup).where(
            U.shift_id == sid, U.status == "signed_up", U.checked_in_at.is_not(None), U.checked_out_at.is_(None),
            ~select(VolunteerHours.id).where(VolunteerHours.signup_id == U.id).exists()))).scalars().all()
        for signup in unfinished:
            hours = _new_hours(signup, shift, project, 0, missing_check_out=True)
            session.add(hours)
            await session.flush()
            record_event(session, hours, action="measured", actor=None, before=None, after=0,
                         reason="未签退，请组织者核实并填写服务时长")
        await session.flush()
    return done


@sweeper.job("volunteer.no_shows", every=300, batch=50)
async def sweep_no_shows(session: AsyncSession, now: datetime) -> int:
    """No-shows and missing check-outs of volunteer shifts that ended."""
    return await mark_no_shows(session, now=now, limit=50)

