"""Service hours: confirmed or adjusted by the organiser (never self-reported), disputed by the
volunteer within a week, answered with a reason; every change kept in an append-only history. Only
confirmed hours count, in the record, the star level and certificates. A correction revokes the
certificates that counted the record."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings, sweeper
from app.kit.dialect import skip_locked
from app.kit.pagination import Key, Page, keyset
from app.schemas.volunteer import (
    CATEGORY_LABELS,
    AdjustItem,
    HoursBy,
    HoursDetail,
    HoursEventPublic,
    HoursPublic,
    LateOrganisation,
    ProviderHours,
    VolunteerRecord,
)
from app.services import audit
from app.services.notifications.catalogue import notify, notify_many
from app.services.volunteer import errors as verr
from app.services.volunteer.common import (
    DISPUTE_ANSWERED,
    DISPUTE_OPENED,
    HOURS_ADJUSTED,
    HOURS_CONFIRMED,
    HOURS_OVERDUE,
    KIND,
    NO_SYNC,
    P,
    S,
    hours_of,
)
from app.services.volunteer.settings import settings
from models.accounts import User
from models.orgs import Organisation, OrgMember
from models.volunteer import VolunteerHours, VolunteerHoursEvent, VolunteerProject, VolunteerShift

H = VolunteerHours
E = VolunteerHoursEvent


async def _members(session: AsyncSession, org_id: int) -> list[int]:
    """Everyone who acts for the organisation: organisation notices go to each of them."""
    return list((await session.execute(select(OrgMember.user_id).where(OrgMember.org_id == org_id))).scalars())


def record_event(session: AsyncSession, hours: VolunteerHours, *, action: str, actor: Principal | None,
                 before: int | None, after: int | None, reason: str | None = None) -> None:
    session.add(VolunteerHoursEvent(hours_id=hours.id, at=clock.now(), actor_id=actor.user_id if actor else None,
                                    actor_role=actor.role if actor else None, action=action,
                                    minutes_before=before, minutes_after=after, reason=reason))


def _deadline(h: VolunteerHours) -> datetime | None:
    if h.status != "confirmed" or h.dispute_status is not None or h.confirmed_at is None:
        return None
    return h.confirmed_at + timedelta(days=settings().volunteer_dispute_days)


def _public(h: VolunteerHours, title: str) -> dict[str, Any]:
    return dict(id=h.id, signup_id=h.signup_id, project_id=h.project_id, project_title=title, shift_id=h.shift_id,
                served_on=h.served_on, measured_minutes=h.measured_minutes, minutes=h.minutes,
                hours=hours_of(h.minutes), status=h.status, missing_check_out=h.missing_check_out,
                confirmed_at=h.confirmed_at, due_at=h.due_at, dispute_status=h.dispute_status,
                dispute_reason=h.dispute_reason, dispute_answer=h.dispute_answer, dispute_deadline=_deadline(h))


async def hours_view(session: AsyncSession, h: VolunteerHours, title: str | None = None) -> HoursPublic:
    if title is None:
        title = (await session.execute(select(P.title).where(P.id == h.project_id))).scalar_one()
    return HoursPublic(**_public(h, title))


# --- the volunteer ----------------------------------------------------------------------------------


async def my_hours(session: AsyncSession, *, actor: Principal, status: str | None, cursor: str | None, limit: int
                   ) -> Page[HoursPublic]:
    stmt = (select(VolunteerHours, P.title).join(VolunteerProject, P.id == H.project_id)
            .where(H.user_id == actor.user_id))
    if status:
        stmt = stmt.where(H.status == status)
    order = [Key("d", H.served_on, date, desc=True), Key("i", H.id, desc=True)]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit, tag="my-volunteer-hours")
    return page.page(lambda r: HoursPublic(**_public(r[0], r[1])))


async def _own(session: AsyncSession, actor: Principal, hours_id: int, *, for_update: bool = False
               ) -> VolunteerHours:
    h = await session.get(VolunteerHours, hours_id, with_for_update={"key_share": True} if for_update else None,
                          populate_existing=for_update or None)
    if h is None or h.user_id != actor.user_id:
        raise errors.NotFound()
    return h


async def _history(session: AsyncSession, hours_id: int) -> list[HoursEventPublic]:
    rows = (await session.execute(select(VolunteerHoursEvent).where(E.hours_id == hours_id).order_by(E.id))).scalars()
    return [HoursEventPublic(at=e.at, action=e.action, actor_role=e.actor_role, minutes_before=e.minutes_before,
                             minutes_after=e.minutes_after, reason=e.reason) for e in rows]


async def my_hours_detail(session: AsyncSession, *, actor: Principal, hours_id: int) -> HoursDetail:
    h = await _own(session, actor, hours_id)
    return HoursDetail(**(await hours_view(session, h)).model_dump(), history=await _history(session, h.id))


async def dispute(session: AsyncSession, *, actor: Principal, hours_id: int, reason: str) -> HoursDetail:
    """民政部令第67号 Art. 13: a volunteer may report an error; the organisation checks and answers."""
    h = await _own(session, actor, hours_id, for_update=True)
    now = clock.now()
    if h.status != "confirmed":
        raise verr.HoursState("服务时长确认后才能提出异议")
    if h.dispute_status is not None:
        raise verr.HoursState("该记录已提出过异议")
    deadline = _deadline(h)
    if deadline is None or now > deadline:
        raise verr.DisputeWindowClosed(f"服务时长确认{settings().volunteer_dispute_days}天内可以提出异议，已经超过期限")
    h.dispute_status, h.dispute_reason, h.disputed_at, h.updated_at = "open", reason, now, now
    record_event(session, h, action="disputed", actor=actor, before=h.minutes, after=h.minutes, reason=reason)
    await session.flush()
    title = (await _titles(session, [h]))[h.project_id]
    notify_many(session, DISPUTE_OPENED, await _members(session, h.org_id), data={"hours_id": h.id},
                project=title, served_on=h.served_on, reason=reason)
    return await my_hours_detail(session, actor=actor, hours_id=h.id)


# --- the organiser ----------------------------------------------------------------------------------


async def provider_hours(session: AsyncSession, *, actor: Principal, status: str | None,
                         dispute_status: str | None, shift_id: int | None, cursor: str | None, limit: int
                         ) -> Page[ProviderHours]:
    postings.require_org_kind(actor, KIND)
    stmt = (select(VolunteerHours, P.title, User.nickname, User.real_name, S.starts_at)
            .join(VolunteerProject, P.id == H.project_id).join(VolunteerShift, S.id == H.shift_id)
            .join(User, User.id == H.user_id).where(H.org_id == actor.org_id))
    if status:
        stmt = stmt.where(H.status == status)
    if dispute_status == "none":
        stmt = stmt.where(H.dispute_status.is_(None))
    elif dispute_status is not None:
        stmt = stmt.where(H.dispute_status == dispute_status)
    if shift_id is not None:
        stmt = stmt.where(H.shift_id == shift_id)
    # Oldest due first: what is closest to the 10-working-day limit comes first.
    order = [Key("t", H.due_at, datetime), Key("i", H.id)]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit, tag="provider-volunteer-hours")
    return page.page(lambda r: ProviderHours(**_public(r[0], r[1]), user_id=r[0].user_id, nickname=r[2],
                                             real_name=r[3], shift_starts_at=r[4]))


async def _org_records(session: AsyncSession, actor: Principal, ids: list[int]) -> dict[int, VolunteerHours]:
    postings.require_org_kind(actor, KIND)
    rows = (await session.execute(select(VolunteerHours).where(H.id.in_(ids), H.org_id == actor.org_id)
                                  .order_by(H.id).with_for_update(key_share=True)
                                  .execution_options(populate_existing=True))).scalars().all()
    found = {h.id: h for h in rows}
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        raise errors.NotFound(f"找不到服务时长记录：{', '.join(map(str, missing[:10]))}")
    return found


async def _titles(session: AsyncSession, records: Any) -> dict[int, str]:
    ids = {h.project_id for h in records}
    return dict((await session.execute(select(P.id, P.title).where(P.id.in_(ids)))).all()) if ids else {}


async def confirm(session: AsyncSession, *, actor: Principal, ids: list[int]) -> list[HoursPublic]:
    """Confirm proposed hours as they are (already confirmed ones stay as they were)."""
    records = await _org_records(session, actor, ids)
    now = clock.now()
    titles = await _titles(session, records.values())
    for h in records.values():
        if h.status == "pending":
            h.status, h.confirmed_at, h.confirmed_by, h.updated_at = "confirmed", now, actor.user_id, now
            record_event(session, h, action="confirmed", actor=actor, before=h.minutes, after=h.minutes)
            notify(session, HOURS_CONFIRMED, h.user_id, data={"hours_id": h.id}, project=titles[h.project_id],
                   hours=hours_of(h.minutes))
    await session.flush()
    await audit.record(session, actor=actor, action="volunteer_hours.confirm", target_kind="volunteer_hours",
                       target_id=",".join(map(str, sorted(records)))[:64], detail={"ids": sorted(records)})
    return [HoursPublic(**_public(records[i], titles[records[i].project_id])) for i in dict.fromkeys(ids)]


async def adjust(session: AsyncSession, *, actor: Principal, items: list[AdjustItem]) -> list[HoursPublic]:
    """Set the hours with a reason (and confirm them). Changing hours already confirmed is a
    correction: certificates that counted them are revoked and their holders told."""
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise errors.ValidationFailed(fields={"items": "同一条记录只能出现一次"})
    records = await _org_records(session, actor, ids)
    titles = await _titles(session, records.values())
    now = clock.now()
    for item in items:
        h = records[item.id]
        if h.dispute_status == "open":
            raise verr.HoursState(f"记录 {h.id} 有待答复的异议，请通过答复异议处理")
        await _set_minutes(session, h, item.minutes, actor, "adjusted", item.reason, now)
        notify(session, HOURS_ADJUSTED, h.user_id, data={"hours_id": h.id}, project=titles[h.project_id],
               hours=hours_of(h.minutes), reason=item.reason)
    await session.flush()
    await audit.record(session, actor=actor, action="volunteer_hours.adjust", target_kind="volunteer_hours",
                       target_id=",".join(map(str, sorted(records)))[:64],
                       detail={"items": [{"id": i.id, "minutes": i.minutes} for i in items]})
    return [HoursPublic(**_public(records[i], titles[records[i].project_id])) for i in ids]


async def _set_minutes(session: AsyncSession, h: VolunteerHours, minutes: int, actor: Principal, action: str,
                       reason: str, now: datetime) -> None:
    before, was_confirmed = h.minutes, h.status == "confirmed"
    h.minutes, h.updated_at = minutes, now
    if h.status == "pending" or action == "adjusted":
        h.status, h.confirmed_at, h.confirmed_by = "confirmed", now, actor.user_id
    record_event(session, h, action=action, actor=actor, before=before, after=minutes, reason=reason)
    await session.flush()
    if was_confirmed and before != minutes:
        from app.services.volunteer.certificates import revoke_for_hours

        await revoke_for_hours(session, h.id, now)


async def answer(session: AsyncSession, *, actor: Principal, hours_id: int, reason: str, minutes: int | None
                 ) -> HoursPublic:
    records = await _org_records(session, actor, [hours_id])
    h = records[hours_id]
    if h.dispute_status != "open":
        raise verr.HoursState("该记录没有待答复的异议")
    now = clock.now()
    new = h.minutes if minutes is None else minutes
    h.dispute_status, h.dispute_answer, h.answered_at = "answered", reason, now
    await _set_minutes(session, h, new, actor, "answered", reason, now)
    title = (await _titles(session, [h]))[h.project_id]
    notify(session, DISPUTE_ANSWERED, h.user_id, data={"hours_id": h.id}, project=title, hours=hours_of(h.minutes),
           reason=reason)
    await audit.record(session, actor=actor, action="volunteer_hours.answer", target_kind="volunteer_hours",
                       target_id=h.id, reason=reason, detail={"minutes": new})
    return HoursPublic(**_public(h, title))


# --- the record and the star level -----------------------------------------------------------------


def star_level(hours: float) -> tuple[int, float | None]:
    thresholds = sorted(settings().volunteer_star_thresholds_hours)
    level = sum(1 for t in thresholds if hours >= t)
    return level, (float(thresholds[level]) if level < len(thresholds) else None)


async def record(session: AsyncSession, *, actor: Principal) -> VolunteerRecord:
    """Confirmed hours only: in total, per project, per category and per (Shanghai) year."""
    year = func.extract("year", H.served_on)
    rows = (await session.execute(
        select(H.project_id, P.title, H.category, year, func.sum(H.minutes))
        .join(VolunteerProject, P.id == H.project_id)
        .where(H.user_id == actor.user_id, H.status == "confirmed")
        .group_by(H.project_id, P.title, H.category, year))).all()
    pending = (await session.execute(select(func.coalesce(func.sum(H.minutes), 0)).where(
        H.user_id == actor.user_id, H.status == "pending"))).scalar_one()
    by_project: dict[int, list[Any]] = {}
    by_category: dict[str, int] = {}
    by_year: dict[int, int] = {}
    for project_id, title, category, y, minutes in rows:
        by_project.setdefault(project_id, [title, 0])[1] += minutes
        by_category[category] = by_category.get(category, 0) + minutes
        by_year[int(y)] = by_year.get(int(y), 0) + minutes
    total = hours_of(sum(by_category.values()))
    level, nxt = star_level(total)
    return VolunteerRecord(
        total_hours=total, pending_hours=hours_of(int(pending)),
        by_project=[HoursBy(key=str(k), label=v[0], hours=hours_of(v[1]))
                    for k, v in sorted(by_project.items(), key=lambda kv: -kv[1][1])],
        by_category=[HoursBy(key=k, label=CATEGORY_LABELS.get(k, k), hours=hours_of(v))
                     for k, v in sorted(by_category.items(), key=lambda kv: -kv[1])],
        by_year=[HoursBy(key=str(k), label=f"{k}年", hours=hours_of(v)) for k, v in sorted(by_year.items())],
        star_level=level, next_level=level + 1 if nxt is not None else None, next_level_hours=nxt,
        hours_to_next_level=round(nxt - total, 2) if nxt is not None else None)


# --- reminders and late organisations ---------------------------------------------------------------


@sweeper.job("volunteer.hours_reminders", every=3600, batch=200)
async def remind_organisers(session: AsyncSession, now: datetime) -> int:
    """Unconfirmed hours 7 working days after the shift: tell the organisation's people, once."""
    due = skip_locked(select(H.id).where(H.status == "pending", H.remind_at <= now, H.reminded_at.is_(None))
                      .order_by(H.id).limit(200), session)
    ids = (await session.execute(due)).scalars().all()
    if not ids:
        return 0
    claimed = (await session.execute(
        update(H).where(H.id.in_(ids), H.reminded_at.is_(None)).values(reminded_at=now)
        .returning(H.shift_id, H.org_id, H.due_at).execution_options(**NO_SYNC))).all()
    per_shift: dict[int, list[Any]] = {}
    for shift_id, org_id, due_at in claimed:
        entry = per_shift.setdefault(shift_id, [org_id, 0, due_at])
        entry[1] += 1
        entry[2] = min(entry[2], due_at)
    info = {r[0]: (r[1], r[2]) for r in (await session.execute(
        select(S.id, P.title, S.starts_at).join(VolunteerProject, P.id == S.project_id).where(S.id.in_(per_shift))))}
    members = {org_id: await _members(session, org_id) for org_id in {v[0] for v in per_shift.values()}}
    for shift_id, (org_id, count, due_at) in per_shift.items():
        title, starts_at = info[shift_id]
        for uid in members[org_id]:
            notify(session, HOURS_OVERDUE, uid, data={"shift_id": shift_id}, project=title, starts_at=starts_at,
                   count=count, due_at=due_at)
    return len(claimed)


async def late_organisations(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[LateOrganisation]:
    """Organisations with hours unconfirmed past the 10-working-day limit, the longest overdue first
    (for the staff console; computed on read)."""
    now = clock.now()
    late = (select(H.org_id.label("org_id"), func.count().label("n"), func.min(H.due_at).label("oldest"))
            .where(H.status == "pending", H.due_at < now).group_by(H.org_id).subquery("late"))
    stmt = select(late.c.org_id, late.c.n, Organisation.name).join(Organisation, Organisation.id == late.c.org_id)
    order = [Key("t", late.c.oldest, datetime), Key("o", late.c.org_id)]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit, tag="volunteer-late-orgs")
    return page.page(lambda r: LateOrganisation(org_id=r[0], overdue_records=r[1], org_name=r[2],
                                                oldest_due_at=r[3]))
