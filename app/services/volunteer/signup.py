"""Signing up for a shift, the waitlist, cancelling, and the person's own sign-ups and ticket.

How the rules hold under concurrent requests:
- a place is taken by the shift's capacity counter (one conditional UPDATE, app.kit.capacity), so
  places given never exceed the capacity whatever runs at once;
- the sign-up row is inserted *before* the counter is touched, with ON CONFLICT DO NOTHING: a second
  request of the same person for the same shift meets the partial unique index and answers with the
  sign-up that exists; on PostgreSQL the exclusion constraint over (person, shift time) is an arbiter
  of the same insert, so of two overlapping sign-ups arriving together exactly one is written (the
  other waits for it, then inserts nothing and is told why). SQLite serialises writers, and the
  overlap is checked inside the write transaction before the insert;
- whoever touches the waitlist (a newcomer finding the shift full, a cancellation, more places)
  first locks the shift row: a place freed is given to the head of the waitlist by its freer, and a
  newcomer sees it taken, so nobody waits while a place stands empty and nobody passes the queue.
Lock order: the shift row, then sign-up rows. Rows are locked FOR NO KEY UPDATE: a new sign-up holds
KEY SHARE on its shift (the foreign key), which FOR UPDATE would wait for and deadlock against.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors, security
from app.deps import Principal
from app.kit import ratelimit
from app.kit.dialect import insert_for
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.volunteer import MySignupItem, SignupIn, SignupPublic, TicketPublic
from app.services import restrictions
from app.services.notifications.catalogue import notify
from app.services.volunteer import errors as verr
from app.services.volunteer.common import (
    KIND,
    PLACES,
    PROMOTED,
    SERVICE,
    SIGNED_UP,
    SIGNUP_SOURCE,
    WAITLISTED,
    P,
    S,
    U,
    cancel_deadline,
    shift_and_project,
    shift_place,
)
from app.services.volunteer.settings import settings
from app.validators import age_on
from models.accounts import User
from models.base import utcnow
from models.volunteer import ACTIVE_SIGNUP, VolunteerProject, VolunteerShift, VolunteerSignup

SIGNUP_LIMIT = ratelimit.bucket("volunteer_signup", "10/60", description="志愿岗位报名，每人")
TICKET_TYPE = "volunteer_ticket"


async def sign_up(session: AsyncSession, *, actor: Principal, shift_id: int, data: SignupIn | None) -> SignupPublic:
    """A place on the shift, or the waitlist when it is full and the organiser keeps one. Asking again
    answers with the sign-up the person already holds."""
    now = clock.now()
    shift, project = await shift_and_project(session, shift_id)
    if not KIND.is_listed(project):
        raise errors.NotFound()
    existing = await _active(session, shift_id, actor.user_id)
    if existing is not None:
        return (await signup_views(session, [existing], now))[0]
    _check_shift(shift, now)
    from app.services.volunteer.attendance import mark_no_shows

    await mark_no_shows(session, user_id=actor.user_id, now=now)  # due but not swept yet still counts
    restricted = await restrictions.current(session, actor.user_id, SERVICE, now)
    if restricted is not None:
        raise verr.SignupRestricted(restrictions.message(restricted))
    guardian = await _check_person(session, actor.user_id, project, shift, data)
    if await _overlapping(session, actor.user_id, shift):
        raise verr.ShiftOverlap()

    values = dict(shift_id=shift.id, project_id=project.id, user_id=actor.user_id, status="signed_up",
                  starts_at=shift.starts_at, ends_at=shift.ends_at, created_at=utcnow(), **guardian)
    signup_id = await _insert(session, values)
    if signup_id is None:
        return await _lost_race(session, shift, actor.user_id, now)
    if await PLACES.take(session, shift.id) is None:
        await _full(session, shift, project, signup_id, now)
    signup = await session.get(VolunteerSignup, signup_id, populate_existing=True)
    assert signup is not None
    place = shift_place(shift, project)[0]
    if signup.status == "signed_up":
        notify(session, SIGNED_UP, actor.user_id, data={"shift_id": shift.id, "project_id": project.id},
               project=project.title, starts_at=shift.starts_at, place=place)
    else:
        view = (await signup_views(session, [signup], now))[0]
        notify(session, WAITLISTED, actor.user_id, data={"shift_id": shift.id, "project_id": project.id},
               project=project.title, starts_at=shift.starts_at, position=view.waitlist_position)
        return view
    return (await signup_views(session, [signup], now))[0]


def _check_shift(shift: VolunteerShift, now: datetime) -> None:
    if shift.cancelled_at is not None:
        raise verr.ShiftCancelled()
    if now >= shift.starts_at:
        raise verr.ShiftStarted()
    if now >= shift.signup_closes_at:
        raise verr.ShiftClosed()


async def _check_person(session: AsyncSession, user_id: int, project: VolunteerProject, shift: VolunteerShift,
                        data: SignupIn | None) -> dict[str, object]:
    birth = (await session.execute(select(User.birth_date).where(User.id == user_id))).scalar_one()
    if birth is None:
        raise verr.ProfileRequired(fields={"id_number": "请填写身份证号"})
    age = age_on(birth, local_day(shift.starts_at))
    if age < project.min_age:
        raise verr.UnderAge(f"该项目要求年满{project.min_age}周岁，您在岗位当天为{age}周岁")
    if age < 18:
        # The League's registered-volunteer rules: a guardian's consent from 14 to 18.
        guardian = data.guardian if data else None
        if guardian is None:
            raise verr.GuardianConsentRequired(fields={"guardian": "请填写监护人姓名、电话并确认已征得同意"})
        return {"guardian_name": guardian.name, "guardian_phone": guardian.phone, "guardian_consent_at": clock.now()}
    return {}


async def _overlapping(session: AsyncSession, user_id: int, shift: VolunteerShift) -> bool:
    """Another active sign-up of the person overlapping the shift (back to back is fine)."""
    return (await session.execute(select(U.id).where(
        U.user_id == user_id, U.shift_id != shift.id, U.status.in_(ACTIVE_SIGNUP),
        U.starts_at < shift.ends_at, U.ends_at > shift.starts_at).limit(1))).first() is not None


async def _insert(session: AsyncSession, values: dict[str, object]) -> int | None:
    # No conflict target: on PostgreSQL both the partial unique index and the overlap exclusion
    # constraint are arbiters, so a concurrent twin or an overlapping sign-up makes this insert nothing.
    stmt = insert_for(session)(VolunteerSignup).values(**values).on_conflict_do_nothing().returning(U.id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _lost_race(session: AsyncSession, shift: VolunteerShift, user_id: int, now: datetime) -> SignupPublic:
    existing = await _active(session, shift.id, user_id)
    if existing is not None:
        return (await signup_views(session, [existing], now))[0]
    if await _overlapping(session, user_id, shift):
        raise verr.ShiftOverlap()
    raise errors.Conflict("报名请求冲突，请重试")


async def _full(session: AsyncSession, shift: VolunteerShift, project: VolunteerProject, signup_id: int,
                now: datetime) -> None:
    """The counter refused: decide under the shift's row lock (see the module docstring)."""
    locked = (await session.execute(select(VolunteerShift).where(S.id == shift.id).with_for_update(key_share=True)
                                    .execution_options(populate_existing=True))).scalar_one()
    if locked.cancelled_at is not None:
        raise verr.ShiftCancelled()
    if await PLACES.take(session, shift.id) is not None:
        return  # a place came free while we waited for the lock
    if not project.waitlist_enabled:
        raise verr.ShiftFull(f"该岗位{locked.capacity}个名额已满，可以看看同一项目的其他岗位")
    await session.execute(update(U).where(U.id == signup_id).values(status="waitlisted"))


async def fill_from_waitlist(session: AsyncSession, shift: VolunteerShift, project: VolunteerProject,
                             now: datetime) -> int:
    """Give the shift's free places to the head of its waitlist, in order. The caller holds the shift's
    row lock. Returns how many were promoted."""
    if shift.cancelled_at is not None or now >= shift.starts_at:
        return 0
    promoted = 0
    while True:
        head = (await session.execute(
            select(U.id, U.user_id).where(U.shift_id == shift.id, U.status == "waitlisted").order_by(U.id).limit(1)
        )).first()
        if head is None or await PLACES.take(session, shift.id) is None:
            break
        await session.execute(update(U).where(U.id == head.id).values(status="signed_up", promoted_at=now))
        notify(session, PROMOTED, head.user_id, data={"shift_id": shift.id, "project_id": project.id},
               project=project.title, starts_at=shift.starts_at)
        promoted += 1
    if promoted:
        await session.refresh(shift)
    return promoted


async def _active(session: AsyncSession, shift_id: int, user_id: int) -> VolunteerSignup | None:
    return (await session.execute(select(VolunteerSignup).where(
        U.shift_id == shift_id, U.user_id == user_id, U.status.in_(ACTIVE_SIGNUP))
        .execution_options(populate_existing=True))).scalar_one_or_none()


async def cancel(session: AsyncSession, *, actor: Principal, shift_id: int) -> SignupPublic:
    """Cancel until the shift starts; after the cut-off it counts as a late cancellation (one policy
    across services: app.services.restrictions). The place goes to the head of the waitlist."""
    now = clock.now()
    shift, project = await shift_and_project(session, shift_id, for_update=True)
    signup = await _active(session, shift_id, actor.user_id)
    if signup is None:
        raise verr.NotSignedUp()
    if now >= shift.starts_at:
        raise verr.ShiftStarted()
    held = signup.status == "signed_up"
    signup.status, signup.cancelled_at = "cancelled", now
    signup.late_cancel = held and now > cancel_deadline(shift.starts_at)
    await session.flush()
    if held:
        await PLACES.release(session, shift.id)
        await session.refresh(shift)
        await fill_from_waitlist(session, shift, project, now)
    if signup.late_cancel:
        await restrictions.record(session, user_id=actor.user_id, service=SERVICE, kind="late_cancel",
                                  source_kind=SIGNUP_SOURCE, source_id=signup.id, at=shift.starts_at, now=now)
    return (await signup_views(session, [signup], now))[0]


async def my_signup(session: AsyncSession, *, actor: Principal, shift_id: int) -> SignupPublic:
    row = (await session.execute(select(VolunteerSignup).where(U.shift_id == shift_id, U.user_id == actor.user_id)
                                 .order_by(U.id.desc()).limit(1))).scalar_one_or_none()
    if row is None:
        raise verr.NotSignedUp()
    return (await signup_views(session, [row], clock.now()))[0]


async def my_signups(session: AsyncSession, *, actor: Principal, upcoming: bool, cursor: str | None, limit: int
                     ) -> Page[MySignupItem]:
    now = clock.now()
    stmt = (select(VolunteerSignup, P.title, P.place, S.place, S.ends_at)
            .join(VolunteerShift, S.id == U.shift_id).join(VolunteerProject, P.id == U.project_id)
            .where(U.user_id == actor.user_id))
    if upcoming:
        stmt = stmt.where(S.ends_at > now, U.status.in_(ACTIVE_SIGNUP))
    order = [Key("t", U.starts_at, datetime, desc=not upcoming), Key("i", U.id, desc=not upcoming)]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit, tag=f"my-volunteer-{upcoming}")
    views = await signup_views(session, [r[0] for r in page.rows], now)
    items = [MySignupItem(**v.model_dump(), project_title=r[1], place=r[3] or r[2]) for v, r in zip(views, page.rows,
                                                                                                  strict=True)]
    return Page(items=items, next_cursor=page.next_cursor)


async def signup_views(session: AsyncSession, rows: list[VolunteerSignup], now: datetime) -> list[SignupPublic]:
    """What a person sees of their sign-ups; a no-show due but not recorded yet is shown as one."""
    waiting = [r for r in rows if r.status == "waitlisted"]
    positions: dict[int, int] = {}
    for r in waiting:
        positions[r.id] = (await session.execute(select(func.count()).select_from(VolunteerSignup).where(
            U.shift_id == r.shift_id, U.status == "waitlisted", U.id <= r.id))).scalar_one()
    grace = timedelta(minutes=settings().volunteer_check_out_grace_minutes)
    out = []
    for r in rows:
        status = r.status
        if status == "signed_up" and r.checked_in_at is None and now >= r.ends_at + grace:
            status = "no_show"
        out.append(SignupPublic(
            id=r.id, shift_id=r.shift_id, project_id=r.project_id, status=status,
            waitlist_position=positions.get(r.id), starts_at=r.starts_at, ends_at=r.ends_at, created_at=r.created_at,
            cancel_deadline=cancel_deadline(r.starts_at), cancelled_at=r.cancelled_at, late_cancel=r.late_cancel,
            checked_in_at=r.checked_in_at, checked_out_at=r.checked_out_at))
    return out


async def ticket(session: AsyncSession, *, actor: Principal, shift_id: int) -> TicketPublic:
    """The signed ticket (QR code) the organiser scans for check-in and check-out."""
    shift, _ = await shift_and_project(session, shift_id)
    signup = await _active(session, shift_id, actor.user_id)
    now = clock.now()
    end = shift.ends_at + timedelta(minutes=settings().volunteer_check_out_grace_minutes)
    if signup is None or signup.status != "signed_up" or shift.cancelled_at is not None or now >= end:
        raise verr.NotSignedUp("报名成功的岗位才有签到码")
    ttl = (end - now) + timedelta(hours=1)
    token = security.sign({"sid": shift.id, "uid": signup.id}, TICKET_TYPE, ttl=ttl)
    # Real time, not the clock: this is the signed token's expiry, checked by app.security.
    return TicketPublic(ticket=token, shift_id=shift.id, signup_id=signup.id, expires_at=utcnow() + ttl)
