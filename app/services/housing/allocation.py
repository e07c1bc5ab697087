"""Handing out units: offers, their expiry, and passing a unit to the next in line.

Every function here expects the project row to be locked by the caller (``common.lock_project``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.config import get_settings
from app.services import notifications
from app.services.housing.common import APP, UT, lock_project, lottery_of, sync_project, transition
from app.validators import SHANGHAI
from models.housing import HousingApplication, HousingProject


async def offer(session: AsyncSession, project: HousingProject, app: HousingApplication, now: datetime) -> bool:
    """Reserve a unit of the application's type and offer it; False when none is left."""
    reserved = await session.execute(
        update(UT).where(UT.id == app.unit_type_id, UT.taken_units < UT.available_units)
        .values(taken_units=UT.taken_units + 1)
    )
    if reserved.rowcount != 1:
        return False
    hours = get_settings().housing_offer_expiry_hours
    expires = now + timedelta(hours=hours)
    transition(session, app, "offered", reason=f"请在 {hours} 小时内确认是否入住", actor_role="system", now=now)
    app.offered_at = now
    app.offer_expires_at = expires
    deadline = expires.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")
    notifications.notify(
        session, user_id=app.user_id, kind="housing.offered", title="您有一套保障性租赁住房待确认",
        body=f"「{project.name}」为您保留了房源，请在 {deadline} 前确认入住，逾期将顺延给下一位申请人。",
        data={"application_id": app.id, "project_id": project.id},
    )
    return True


async def release(session: AsyncSession, unit_type_id: int) -> None:
    await session.execute(update(UT).where(UT.id == unit_type_id, UT.taken_units > 0)
                          .values(taken_units=UT.taken_units - 1))


async def fill(session: AsyncSession, project: HousingProject, now: datetime) -> int:
    """Offer free units to waiting eligible applications: in submission order on a first-come
    project, in draw order on a drawn lottery (nothing before the draw)."""
    if project.allocation == "lottery":
        lot = await lottery_of(session, project.id)
        if lot is None or lot.status != "drawn":
            return 0
        order_by: tuple[Any, ...] = (APP.draw_position, APP.id)
    else:
        order_by = (APP.id,)
    units = (await session.execute(select(UT).where(UT.project_id == project.id)
                                   .execution_options(populate_existing=True))).scalars().all()
    offered = 0
    for ut in units:
        free = ut.available_units - ut.taken_units
        if free <= 0:
            continue
        stmt = select(APP).where(APP.project_id == project.id, APP.unit_type_id == ut.id,
                                 APP.status == "eligible")
        if project.allocation == "lottery":
            stmt = stmt.where(APP.draw_position.is_not(None))
        waiting = (await session.execute(stmt.order_by(*order_by).limit(free))).scalars().all()
        for app in waiting:
            if not await offer(session, project, app, now):
                break
            offered += 1
    return offered


async def expire_project(session: AsyncSession, project_id: int, now: datetime) -> int:
    project = await lock_project(session, project_id)
    due = (await session.execute(
        select(APP).where(APP.project_id == project_id, APP.status == "offered", APP.offer_expires_at <= now)
        .order_by(APP.id).execution_options(populate_existing=True)
    )).scalars().all()
    for app in due:
        transition(session, app, "expired", reason="超过确认期限未确认入住，房源已顺延给下一位申请人",
                   actor_role="system", now=now)
        await release(session, app.unit_type_id)
        notifications.notify(
            session, user_id=app.user_id, kind="housing.offer_expired", title="住房确认已超时",
            body=f"您未在期限内确认「{project.name}」的房源，名额已顺延给下一位申请人。",
            data={"application_id": app.id, "project_id": project.id},
        )
    if due:
        await fill(session, project, now)
        await sync_project(session, project)
    return len(due)


async def expire_due(session: AsyncSession, project_id: int, now: datetime) -> None:
    """The lazy path: one indexed look-up when nothing is due."""
    due = (await session.execute(
        select(APP.id).where(APP.project_id == project_id, APP.status == "offered",
                             APP.offer_expires_at <= now).limit(1)
    )).first()
    if due:
        await expire_project(session, project_id, now)


async def expire_offers(session: AsyncSession, *, now: datetime | None = None, project_id: int | None = None,
                        max_projects: int = 200) -> int:
    """Pass every offer past its deadline to the next applicant; returns how many lapsed. For the
    periodic job (``youth housing-expire-offers``); ``now`` processes as of another time (default: the
    clock)."""
    now = now or clock.now()
    stmt = select(APP.project_id).where(APP.status == "offered", APP.offer_expires_at <= now).distinct()
    if project_id is not None:
        stmt = stmt.where(APP.project_id == project_id)
    project_ids = sorted((await session.execute(stmt.limit(max_projects))).scalars().all())
    total = 0
    for pid in project_ids:
        total += await expire_project(session, pid, now)
    return total
