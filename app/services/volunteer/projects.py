"""Projects and shifts: what organisers post (through review) and change, and what young people browse."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings
from app.kit.pagination import Key, Page, keyset
from app.kit.time import day_start
from app.schemas.volunteer import (
    CATEGORY_LABELS,
    ProjectCreate,
    ProjectProvider,
    ProjectPublic,
    ProjectSummary,
    ProjectUpdate,
    ShiftIn,
    ShiftProvider,
    ShiftPublic,
    ShiftUpdate,
)
from app.services import audit, moderation
from app.services.notifications.catalogue import notify_many
from app.services.volunteer import errors as verr
from app.services.volunteer.common import (
    KIND,
    NO_SYNC,
    SHIFT_CANCELLED,
    SHIFT_CHANGED,
    SHIFT_RELEASED,
    P,
    S,
    U,
    distance_m,
    shift_and_project,
    shift_place,
    shift_state,
    visible_project,
)
from app.services.volunteer.signup import fill_from_waitlist, signup_views
from models.base import utcnow
from models.orgs import Organisation
from models.volunteer import ACTIVE_SIGNUP, VolunteerProject, VolunteerShift, VolunteerSignup

MAX_SHIFT = timedelta(hours=24)
MAX_AHEAD = timedelta(days=366)
KM_PER_DEGREE = 6371.0088 * math.pi / 180


# --- the organiser's side -----------------------------------------------------------------------------


def _check_shift(starts: datetime, ends: datetime, closes: datetime, now: datetime, prefix: str = "") -> None:
    problems: dict[str, str] = {}
    if ends <= starts:
        problems[f"{prefix}ends_at"] = "结束时间应晚于开始时间"
    elif ends - starts > MAX_SHIFT:
        problems[f"{prefix}ends_at"] = "一个岗位最长24小时，更长的服务请分成几个岗位"
    if starts <= now:
        problems[f"{prefix}starts_at"] = "开始时间应晚于现在"
    elif starts - now > MAX_AHEAD:
        problems[f"{prefix}starts_at"] = "最多提前一年发布岗位"
    if closes > starts:
        problems[f"{prefix}signup_closes_at"] = "报名应在岗位开始前截止"
    if problems:
        raise errors.ValidationFailed(fields=problems)


def _new_shift(project_id: int, data: ShiftIn, now: datetime, prefix: str = "") -> VolunteerShift:
    closes = data.signup_closes_at or data.starts_at
    _check_shift(data.starts_at, data.ends_at, closes, now, prefix)
    return VolunteerShift(project_id=project_id, starts_at=data.starts_at, ends_at=data.ends_at,
                          signup_closes_at=closes, place=data.place, lat=data.lat, lng=data.lng, check_in_radius_m=data.check_in_radius_m,
                          capacity=data.capacity)


async def create_project(session: AsyncSession, *, actor: Principal, data: ProjectCreate) -> ProjectProvider:
    postings.require_org_kind(actor, KIND)
    now = clock.now()
    project = VolunteerProject.model_validate(data.model_dump(exclude={"shifts"}), update={"org_id": actor.org_id})
    session.add(project)
    await session.flush()
    for i, shift in enumerate(data.shifts):
        session.add(_new_shift(project.id, shift, now, prefix=f"shifts.{i}."))
    await session.flush()
    await audit.record(session, actor=actor, action="volunteer_project.create", target_kind=KIND.kind,
                       target_id=project.id)
    return await provider_view(session, project)


async def get_own_project(session: AsyncSession, *, actor: Principal, project_id: int) -> ProjectProvider:
    return await provider_view(session, await postings.load_own(session, actor, KIND, project_id))


async def update_project(session: AsyncSession, *, actor: Principal, project_id: int, data: ProjectUpdate
                         ) -> ProjectProvider:
    project = await postings.load_own(session, actor, KIND, project_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k != "requirements"}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    changed = {k for k, v in changes.items() if getattr(project, k) != v}
    for key in changed:
        setattr(project, key, changes[key])
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=project, changed=changed)
    return await provider_view(session, project)


async def add_shift(session: AsyncSession, *, actor: Principal, project_id: int, data: ShiftIn) -> ProjectProvider:
    project = await postings.load_own(session, actor, KIND, project_id, for_update=True)
    if project.status not in postings.EDITABLE:
        raise errors.PostingStateInvalid()
    shift = _new_shift(project.id, data, clock.now())
    session.add(shift)
    project.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="volunteer_shift.create", target_kind="volunteer_shift",
                       target_id=shift.id, detail={"project_id": project.id})
    return await provider_view(session, project)


async def own_shift(session: AsyncSession, actor: Principal, shift_id: int, *, for_update: bool = False
                    ) -> tuple[VolunteerShift, VolunteerProject]:
    """A shift of one of the actor's organisation's projects; anyone else's answers 404."""
    postings.require_org_kind(actor, KIND)
    shift, project = await shift_and_project(session, shift_id, for_update=for_update)
    if project.org_id != actor.org_id:
        raise errors.NotFound()
    return shift, project


async def update_shift(session: AsyncSession, *, actor: Principal, shift_id: int, data: ShiftUpdate
                       ) -> ProjectProvider:
    """Change a shift before it starts. People signed up hear when its time or place moves; those whose
    other sign-ups the new time would overlap are released from this one (and told)."""
    shift, project = await own_shift(session, actor, shift_id, for_update=True)
    now = clock.now()
    if shift.cancelled_at is not None:
        raise verr.ShiftStateInvalid("岗位已取消，不能再修改")
    if now >= shift.starts_at:
        raise verr.ShiftStateInvalid("岗位已经开始，不能再修改")
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k not in ("place", "lat", "lng")}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    starts = changes.get("starts_at", shift.starts_at)
    ends = changes.get("ends_at", shift.ends_at)
    closes = changes.get("signup_closes_at", shift.signup_closes_at)
    if {"starts_at", "ends_at", "signup_closes_at"} & changes.keys():
        _check_shift(starts, ends, closes, now)
    if "capacity" in changes and changes["capacity"] < shift.taken:
        raise verr.CapacityBelowTaken(f"已有{shift.taken}人报名，名额不能少于{shift.taken}")
    changed = {k for k, v in changes.items() if getattr(shift, k) != v}
    before = {k: str(getattr(shift, k)) for k in changed}
    for key in changed:
        setattr(shift, key, changes[key])
    shift.updated_at = utcnow()
    await session.flush()

    released: list[int] = []
    if changed & {"starts_at", "ends_at"}:
        released = await _move_signups(session, shift, project)
    if changed & {"starts_at", "ends_at", "place", "lat", "lng"}:
        users = (await session.execute(select(U.user_id).where(U.shift_id == shift.id, U.status.in_(ACTIVE_SIGNUP)))
                 ).scalars().all()
        place = shift_place(shift, project)[0]
        notify_many(session, SHIFT_CHANGED, list(users), data={"shift_id": shift.id, "project_id": project.id},
                    project=project.title, starts_at=shift.starts_at, place=place)
    if released or "capacity" in changed:
        await fill_from_waitlist(session, shift, project, now)
    await audit.record(session, actor=actor, action="volunteer_shift.edit", target_kind="volunteer_shift",
                       target_id=shift.id, detail={"fields": sorted(changed), "before": before,
                                                   "released": len(released)})
    return await provider_view(session, project)


async def _move_signups(session: AsyncSession, shift: VolunteerShift, project: VolunteerProject) -> list[int]:
    """Keep the sign-ups' copies of the shift's time in step; release those that would now overlap
    another active sign-up of the same person (and give their places back)."""
    o = aliased(VolunteerSignup)
    other = select(o.id).where(o.user_id == U.user_id, o.shift_id != shift.id, o.status.in_(ACTIVE_SIGNUP),
                               o.starts_at < shift.ends_at, o.ends_at > shift.starts_at)
    clashing = (await session.execute(
        select(U.id, U.user_id, U.status)
        .where(U.shift_id == shift.id, U.status.in_(ACTIVE_SIGNUP), other.exists()))).all()
    now = clock.now()
    if clashing:
        await session.execute(update(U).where(U.id.in_([c.id for c in clashing]))
                              .values(status="released", cancelled_at=now).execution_options(**NO_SYNC))
        held = sum(1 for c in clashing if c.status == "signed_up")
        if held:
            shift.taken -= held
        notify_many(session, SHIFT_RELEASED, [c.user_id for c in clashing], data={"shift_id": shift.id},
                    project=project.title, starts_at=shift.starts_at)
    try:
        await session.execute(update(U).where(U.shift_id == shift.id, U.status.in_(ACTIVE_SIGNUP))
                              .values(starts_at=shift.starts_at, ends_at=shift.ends_at).execution_options(**NO_SYNC))
    except IntegrityError:
        # PostgreSQL's overlap constraint: a volunteer signed up for a clashing shift in the meantime.
        raise errors.Conflict("有志愿者刚刚报名了与新时间冲突的岗位，请重试")
    await session.flush()
    return [c.id for c in clashing]


async def cancel_shift(session: AsyncSession, *, actor: Principal, shift_id: int, reason: str) -> ProjectProvider:
    shift, project = await own_shift(session, actor, shift_id, for_update=True)
    now = clock.now()
    if shift.cancelled_at is not None:
        raise verr.ShiftStateInvalid("岗位已经取消")
    if now >= shift.ends_at:
        raise verr.ShiftStateInvalid("岗位已结束，不能取消")
    await _cancel(session, shift, project, reason, now)
    await audit.record(session, actor=actor, action="volunteer_shift.cancel", target_kind="volunteer_shift",
                       target_id=shift.id, reason=reason)
    return await provider_view(session, project)


async def _cancel(session: AsyncSession, shift: VolunteerShift, project: VolunteerProject, reason: str,
                  now: datetime) -> None:
    shift.cancelled_at, shift.cancel_reason, shift.taken = now, reason, 0
    shift.updated_at = utcnow()
    await session.flush()
    users = (await session.execute(
        update(U).where(U.shift_id == shift.id, U.status.in_(ACTIVE_SIGNUP))
        .values(status="shift_cancelled", cancelled_at=now).returning(U.user_id).execution_options(**NO_SYNC)
    )).scalars().all()
    notify_many(session, SHIFT_CANCELLED, list(users), data={"shift_id": shift.id, "project_id": project.id},
                project=project.title, starts_at=shift.starts_at, reason=reason)


async def cancel_upcoming(session: AsyncSession, project: VolunteerProject, reason: str) -> None:
    """Staff took the project down: its shifts still to come are cancelled and their volunteers told."""
    now = clock.now()
    shifts = (await session.execute(
        select(VolunteerShift).where(S.project_id == project.id, S.cancelled_at.is_(None), S.starts_at > now)
        .with_for_update(key_share=True).execution_options(populate_existing=True))).scalars().all()
    for shift in shifts:
        await _cancel(session, shift, project, f"项目已下架（{reason}）", now)



async def provider_view(session: AsyncSession, project: VolunteerProject) -> ProjectProvider:
    now = clock.now()
    shifts = (await session.execute(select(VolunteerShift).where(S.project_id == project.id)
                                    .order_by(S.starts_at, S.id))).scalars().all()
    counts = await _counts(session, [s.id for s in shifts])
    items = []
    for s in shifts:
        c = counts.get(s.id, {})
        items.append(ShiftProvider(**_shift_public(s, project, now, c.get("waitlisted", 0)).model_dump(),
                                   signed_up=c.get("signed_up", 0), checked_in=c.get("checked_in", 0),
                                   checked_out=c.get("checked_out", 0)))
    data = {f: getattr(project, f) for f in ProjectProvider.model_fields if f != "shifts"}
    return ProjectProvider(**data, shifts=items)


async def _counts(session: AsyncSession, shift_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    if not shift_ids:
        return {}
    rows = await session.execute(
        select(U.shift_id, U.status, func.count(), func.count(U.checked_in_at), func.count(U.checked_out_at))
        .where(U.shift_id.in_(list(shift_ids)), U.status.in_(("signed_up", "waitlisted", "no_show")))
        .group_by(U.shift_id, U.status))
    out: dict[int, dict[str, int]] = {}
    for shift_id, status, n, ins, outs in rows:
        c = out.setdefault(shift_id, {})
        c[status] = n
        c["checked_in"] = c.get("checked_in", 0) + ins
        c["checked_out"] = c.get("checked_out", 0) + outs
    return out


def _shift_public(s: VolunteerShift, project: VolunteerProject, now: datetime, waitlisted: int) -> ShiftPublic:
    place, lat, lng = shift_place(s, project)
    return ShiftPublic(id=s.id, starts_at=s.starts_at, ends_at=s.ends_at, signup_closes_at=s.signup_closes_at,
                       place=place, lat=lat, lng=lng, check_in_radius_m=s.check_in_radius_m, capacity=s.capacity,
                       places_left=max(s.capacity - s.taken, 0) if s.cancelled_at is None else 0,
                       waitlisted=waitlisted, state=shift_state(s, now, waitlist=project.waitlist_enabled),
                       cancelled_at=s.cancelled_at, cancel_reason=s.cancel_reason)


# --- what young people browse ------------------------------------------------------------------------


def _planar_m2(lat0: float, lng0: float) -> Any:
    """Squared distance on a plane tangent at the origin: arithmetic only, the same SQL on both
    databases; the exact haversine distance is checked in Python."""
    kx = KM_PER_DEGREE * 1000 * max(0.01, math.cos(math.radians(lat0)))
    dx = (P.lng - lng0) * kx
    dy = (P.lat - lat0) * KM_PER_DEGREE * 1000
    return dx * dx + dy * dy


async def list_projects(session: AsyncSession, *, category: str | None, district: str | None,
                        date_from: date | None, date_to: date | None, open_only: bool,
                        near: tuple[float, float] | None, radius_km: float, sort: str | None,
                        cursor: str | None, limit: int) -> Page[ProjectSummary]:
    """Published projects with a shift to come (in the date range), soonest shift first, or nearest."""
    now = clock.now()
    sort = sort or ("distance" if near else "soonest")
    if sort == "distance" and near is None:
        raise errors.ValidationFailed(fields={"near": "按距离排序需要提供位置"})
    if date_from and date_to and date_from > date_to:
        raise errors.ValidationFailed(fields={"date_from": "开始日期不能晚于结束日期"})
    shift_conds: list[Any] = [S.project_id == P.id, S.cancelled_at.is_(None), S.starts_at > now]
    if date_from:
        shift_conds.append(S.starts_at >= day_start(date_from))
    if date_to:
        shift_conds.append(S.starts_at < day_start(date_to + timedelta(days=1)))
    if open_only:
        shift_conds += [S.taken < S.capacity, S.signup_closes_at > now]
    next_start = select(func.min(S.starts_at)).where(*shift_conds).correlate(P).scalar_subquery()
    conds: list[Any] = [KIND.listed(), next_start.is_not(None)]
    if category:
        conds.append(P.category == category)
    if district:
        conds.append(P.district == district)
    accept = None
    if near is not None:
        lat, lng = near
        dlat = radius_km / KM_PER_DEGREE
        dlng = radius_km / (KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
        conds += [P.lat.between(lat - dlat, lat + dlat), P.lng.between(lng - dlng, lng + dlng)]

        def accept(r: Any) -> bool:
            return distance_m(lat, lng, r[0].lat, r[0].lng) <= radius_km * 1000

    stmt = select(VolunteerProject, Organisation.name).join(Organisation, Organisation.id == P.org_id).where(*conds)
    if sort == "distance":
        assert near is not None
        order = [Key("d", _planar_m2(*near), float), Key("i", P.id)]
    else:
        order = [Key("t", next_start, datetime), Key("i", P.id)]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit, tag=f"volunteer-{sort}", accept=accept,
                        slack=limit)
    stats = await _upcoming(session, [r[0].id for r in page.rows], shift_conds[1:], now)
    items = [_summary(r[0], r[1], stats.get(r[0].id), near) for r in page.rows]
    return Page(items=[i for i in items if i is not None], next_cursor=page.next_cursor)


async def _upcoming(session: AsyncSession, ids: list[int], conds: list[Any], now: datetime
                    ) -> dict[int, tuple[datetime, int, int]]:
    """Per project: the next shift's start, how many shifts are to come, the places left in those
    whose sign-up is open."""
    if not ids:
        return {}
    rows = (await session.execute(
        select(VolunteerShift).where(S.project_id.in_(ids), *conds).order_by(S.starts_at))).scalars().all()
    out: dict[int, tuple[datetime, int, int]] = {}
    for s in rows:
        first, n, left = out.get(s.project_id, (s.starts_at, 0, 0))
        if now < s.signup_closes_at:
            left += max(s.capacity - s.taken, 0)
        out[s.project_id] = (first, n + 1, left)
    return out


def _summary(p: VolunteerProject, org_name: str | None, stats: tuple[datetime, int, int] | None,
             near: tuple[float, float] | None) -> ProjectSummary | None:
    if stats is None:  # its last shift started between the two reads
        return None
    first, n, left = stats
    return ProjectSummary(
        id=p.id, title=p.title, category=p.category, category_label=CATEGORY_LABELS.get(p.category, p.category),
        org_name=org_name, district=p.district, place=p.place, lat=p.lat, lng=p.lng,
        distance_km=round(distance_m(near[0], near[1], p.lat, p.lng) / 1000, 2) if near else None,
        min_age=p.min_age, next_shift_starts_at=first, upcoming_shifts=n, places_left=left)


async def get_project(session: AsyncSession, *, actor: Principal | None, project_id: int) -> ProjectPublic:
    project, org_name = await visible_project(session, project_id)
    now = clock.now()
    shifts = (await session.execute(select(VolunteerShift).where(S.project_id == project.id, S.ends_at > now)
                                    .order_by(S.starts_at, S.id))).scalars().all()
    counts = await _counts(session, [s.id for s in shifts])
    mine = []
    if actor is not None and actor.is_youth:
        rows = (await session.execute(select(U).where(
            U.project_id == project.id, U.user_id == actor.user_id)
            .order_by(U.id))).scalars().all()
        mine = await signup_views(session, list(rows), now)
    upcoming = [s for s in shifts if s.cancelled_at is None and s.starts_at > now]
    left = sum(max(s.capacity - s.taken, 0) for s in upcoming if now < s.signup_closes_at)
    summary = ProjectSummary(
        id=project.id, title=project.title, category=project.category,
        category_label=CATEGORY_LABELS.get(project.category, project.category), org_name=org_name,
        district=project.district, place=project.place, lat=project.lat, lng=project.lng, min_age=project.min_age,
        next_shift_starts_at=upcoming[0].starts_at if upcoming else (shifts[0].starts_at if shifts else
                                                                     project.created_at),
        upcoming_shifts=len(upcoming), places_left=left)
    holds = any(m.status == "signed_up" for m in mine)
    return ProjectPublic(
        **summary.model_dump(), description=project.description, requirements=project.requirements,
        skills=project.skills, address=project.address, contact_name=project.contact_name,
        contact_phone=project.contact_phone if holds else None, waitlist_enabled=project.waitlist_enabled,
        shifts=[_shift_public(s, project, now, counts.get(s.id, {}).get("waitlisted", 0)) for s in shifts],
        my_signups=mine)

