"""Handing out units: offers, their lapse, and passing a freed unit to whoever is next in line.

Every change of a project's allocation goes through two calls, and callers sequence nothing else:

- ``lock(session, project_id, now)`` takes the project's row lock — every allocation change of a
  project runs under it, taken before any application row's, so concurrent changes queue instead of
  deadlocking — and first lapses the offers past their answer-by time (passing their units on), so
  nobody acts on an offer that has lapsed even when the sweeper is late;
- ``settle(session, project, now, freed=[unit_type_id, …])`` after the change: gives back one unit of
  each unit type in ``freed``, offers every free unit to the next in line by the project's rules
  (submission order on a first-come project, draw order on a drawn lottery, nothing before the draw)
  and brings the project's denormalised figures up to date.

Units are taken and given back through the conditional counter (``common.UNITS``), so offers never
exceed the units available whatever runs at once. The sweeper job ``housing.expire_offers`` lapses
the due offers of projects nobody is acting on; reads never lapse anything (they show the lapse
computed: ``common.shown_status``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import Principal
from app.kit import sweeper
from app.kit.dialect import skip_locked
from app.services.housing import notices
from app.services.housing.common import (
    APP,
    LAPSE_REASON,
    UNITS,
    UT,
    P,
    S,
    lapsed_sql,
    lock_project,
    lottery_of,
    own_locked,
    sync_project,
    transition,
)
from app.services.housing.settings import housing_settings
from app.services.notifications.catalogue import notify
from models.housing import Allocation, HousingApplication, HousingProject, LotteryStatus


async def lock(session: AsyncSession, project_id: int, now: datetime, *, owner: Principal | None = None
               ) -> HousingProject:
    """The project, locked, with its lapsed offers passed on. ``owner``: only a project of that
    provider's organisation (anyone else's answers 404)."""
    project = await (own_locked(session, owner, project_id) if owner else lock_project(session, project_id))
    await _lapse(session, project, now)
    return project


async def settle(session: AsyncSession, project: HousingProject, now: datetime, *, freed: Iterable[int] = ()
                 ) -> int:
    """Give back the units in ``freed``, offer free units to the next in line, update the figures.
    Returns the offers made. The project must be locked (``lock``)."""
    for unit_type_id in freed:
        await UNITS.release(session, unit_type_id)
    offered = await _fill(session, project, now)
    await sync_project(session, project)
    return offered


async def _offer(session: AsyncSession, project: HousingProject, app: HousingApplication, now: datetime) -> bool:
    """Reserve a unit of the application's type and offer it; False when none is left."""
    if await UNITS.take(session, app.unit_type_id) is None:
        return False
    hours = housing_settings().housing_offer_expiry_hours
    transition(session, app, S.offered, reason=f"请在 {hours} 小时内确认是否入住", actor_role="system", now=now)
    app.offered_at = now
    app.offer_expires_at = now + timedelta(hours=hours)
    notify(session, notices.OFFERED, app.user_id, data={"application_id": app.id, "project_id": project.id},
           project=project.name, answer_by=app.offer_expires_at)
    return True


async def _fill(session: AsyncSession, project: HousingProject, now: datetime) -> int:
    if project.allocation == Allocation.lottery:
        lot = await lottery_of(session, project.id)
        if lot is None or lot.status != LotteryStatus.drawn:
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
        stmt = select(APP).where(APP.project_id == project.id, APP.unit_type_id == ut.id, APP.status == S.eligible)
        if project.allocation == Allocation.lottery:
            stmt = stmt.where(APP.draw_position.is_not(None))
        waiting = (await session.execute(stmt.order_by(*order_by).limit(free))).scalars().all()
        for app in waiting:
            if not await _offer(session, project, app, now):
                break
            offered += 1
    return offered


async def _lapse(session: AsyncSession, project: HousingProject, now: datetime) -> int:
    """Store the lapse of the project's offers past their time and pass their units on (locked project)."""
    due = (await session.execute(
        select(APP).where(APP.project_id == project.id, lapsed_sql(now))
        .order_by(APP.id).execution_options(populate_existing=True)
    )).scalars().all()
    if not due:
        return 0
    for app in due:
        transition(session, app, S.expired, reason=LAPSE_REASON, actor_role="system", now=now)
        notify(session, notices.OFFER_EXPIRED, app.user_id, data={"application_id": app.id, "project_id": project.id},
               project=project.name, answer_by=app.offer_expires_at)
    await settle(session, project, now, freed=[a.unit_type_id for a in due])
    return len(due)


PROJECTS_PER_ROUND = 20


@sweeper.job("housing.expire_offers", every=60, batch=PROJECTS_PER_ROUND,
             description="住房：超过确认期限的房源确认作废，房源顺延给下一位申请人")
async def expire_offers(session: AsyncSession, now: datetime) -> int:
    """Lapse the offers past their answer-by time, project by project; returns the offers lapsed.

    Each project is claimed with its row lock, skipping projects locked by anyone else (a request
    changing that project lapses its offers itself, and a second sweeper takes other projects), so
    an offer lapses once however many run; the due offers are read again under the lock."""
    due_projects = select(APP.project_id).where(lapsed_sql(now)).distinct()
    claim = skip_locked(select(P).where(P.id.in_(due_projects)).order_by(P.id).limit(PROJECTS_PER_ROUND)
                        .execution_options(populate_existing=True), session)
    total = 0
    for project in (await session.execute(claim)).scalars().all():
        total += await _lapse(session, project, now)
    return total
