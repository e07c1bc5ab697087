"""The young person's applications: applying, following them, answering offers, withdrawing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import ratelimit
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.housing import LAYOUT_LABELS, STATUS_LABELS, MyApplication
from app.services.housing import allocation
from app.services.housing.common import (
    APP,
    KIND,
    LAPSE_REASON,
    UT,
    P,
    S,
    accepting,
    history_items,
    lapsed,
    lapsed_sql,
    new_application_number,
    real_name_verified,
    shown_status,
    transition,
    unmet_rules,
)
from app.services.housing.errors import (
    HousingApplicationLimit,
    HousingApplicationsClosed,
    HousingApplicationState,
    HousingDuplicateApplication,
    HousingNotEligible,
    HousingOfferExpired,
    HousingRealNameRequired,
)
from app.services.housing.settings import housing_settings
from models.accounts import User
from models.housing import (
    ACTIVE_APPLICATION_STATUSES,
    Allocation,
    HousingApplication,
    HousingApplicationEvent,
    HousingProject,
    HousingUnitType,
)

# Per person; counted before the request's session touches the database (app.kit.ratelimit).
APPLY_LIMIT = ratelimit.bucket("housing_apply", "10/60", description="住房申请，每人")


async def apply(session: AsyncSession, *, actor: Principal, project_id: int, unit_type_id: int) -> MyApplication:
    now = clock.now()
    # A shared lock: applications go side by side, but never across the freeze of a lottery list.
    project = await session.get(P, project_id, with_for_update={"read": True}, populate_existing=True)
    if project is None or not KIND.is_visible(project):
        raise errors.NotFound()
    if not accepting(project, now):
        raise HousingApplicationsClosed()
    unit = await session.get(UT, unit_type_id)
    if unit is None or unit.project_id != project.id:
        raise errors.ValidationFailed(fields={"unit_type_id": "该项目没有这个户型"})
    # Locking the person serialises their own applications, so the active-application limit holds.
    user = await session.get(User, actor.user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise errors.TokenInvalid()
    if not real_name_verified(user):
        raise HousingRealNameRequired()
    unmet = unmet_rules(user, project, local_day(now))
    if unmet:
        raise HousingNotEligible(fields=unmet)
    active = (await session.execute(
        select(APP.project_id, APP.number)
        .where(APP.user_id == user.id, APP.status.in_(ACTIVE_APPLICATION_STATUSES))
    )).all()
    for pid, number in active:
        if pid == project.id:
            raise HousingDuplicateApplication(f"您已申请过该项目（申请编号 {number}），请勿重复申请")
    limit = housing_settings().housing_max_active_applications
    if len(active) >= limit:
        raise HousingApplicationLimit(f"同时进行中的住房申请最多 {limit} 个，请先撤回或处理已有申请")
    app = None
    for _ in range(3):
        candidate = APP(number=new_application_number(project.id), project_id=project.id, unit_type_id=unit.id,
                        user_id=user.id, status=S.submitted, submitted_at=now, updated_at=now)
        try:
            async with session.begin_nested():
                session.add(candidate)
        except IntegrityError:
            # A concurrent application by the same person to the same project won the unique index,
            # or (very rarely) the random number collided and we simply draw another.
            dup = (await session.execute(select(APP.number).where(
                APP.user_id == user.id, APP.project_id == project.id,
                APP.status.in_(ACTIVE_APPLICATION_STATUSES)))).scalar_one_or_none()
            if dup:
                raise HousingDuplicateApplication(f"您已申请过该项目（申请编号 {dup}），请勿重复申请")
            continue
        app = candidate
        break
    if app is None:
        raise errors.Conflict()
    session.add(HousingApplicationEvent(application_id=app.id, from_status=None, to_status=S.submitted,
                                        reason=None, actor_role="youth", at=now))
    await session.flush()
    return _mine(app, project, unit, now)


def _mine(app: HousingApplication, project: HousingProject, unit: HousingUnitType, now: datetime,
          history: list[HousingApplicationEvent] | None = None, waiting: int | None = None) -> MyApplication:
    status = shown_status(app, now)
    return MyApplication(
        id=app.id, number=app.number, project_id=project.id, project_name=project.name,
        district=project.district, unit_type_id=unit.id, layout=unit.layout,
        layout_label=LAYOUT_LABELS.get(unit.layout, unit.layout), rent_fen=unit.rent_fen,
        deposit_fen=unit.deposit_fen, status=status, status_label=STATUS_LABELS[status],
        status_reason=LAPSE_REASON if lapsed(app, now) else app.status_reason, draw_position=app.draw_position,
        submitted_at=app.submitted_at, offered_at=app.offered_at, offer_expires_at=app.offer_expires_at,
        responded_at=app.responded_at, waiting_position=waiting,
        history=None if history is None else history_items(app, history, now),
    )


async def my_applications(session: AsyncSession, *, actor: Principal, active_only: bool, cursor: str | None,
                          limit: int) -> Page[MyApplication]:
    now = clock.now()
    stmt = (select(APP, P, UT).join(P, P.id == APP.project_id).join(UT, UT.id == APP.unit_type_id)
            .where(APP.user_id == actor.user_id).execution_options(populate_existing=True))
    if active_only:
        stmt = stmt.where(APP.status.in_(ACTIVE_APPLICATION_STATUSES), not_(lapsed_sql(now)))
    page = await keyset(session, stmt, [Key("id", APP.id, desc=True)], cursor=cursor, limit=limit,
                        tag="housing-mine")
    return page.page(lambda r: _mine(r[0], r[1], r[2], now))


async def _own_application(session: AsyncSession, actor: Principal, application_id: int) -> HousingApplication:
    app = await session.get(APP, application_id, populate_existing=True)
    if app is None or app.user_id != actor.user_id:
        raise errors.NotFound()
    return app


async def my_application(session: AsyncSession, *, actor: Principal, application_id: int) -> MyApplication:
    app = await _own_application(session, actor, application_id)
    return await _mine_with_history(session, app, clock.now())


async def _mine_with_history(session: AsyncSession, app: HousingApplication, now: datetime) -> MyApplication:
    await session.flush()
    project = await session.get(P, app.project_id)
    unit = await session.get(UT, app.unit_type_id)
    history = (await session.execute(
        select(HousingApplicationEvent).where(HousingApplicationEvent.application_id == app.id)
        .order_by(HousingApplicationEvent.id)
    )).scalars().all()
    return _mine(app, project, unit, now, list(history), await _waiting_position(session, app, project))


async def _waiting_position(session: AsyncSession, app: HousingApplication, project: HousingProject) -> int | None:
    """Place in the queue for the application's unit type: draw order on a drawn lottery, submission
    order on a first-come project."""
    if app.status != S.eligible:
        return None
    if project.allocation == Allocation.lottery:
        if app.draw_position is None:
            return None
        ahead = APP.draw_position < app.draw_position
    else:
        ahead = APP.id < app.id
    n = (await session.execute(select(func.count()).select_from(APP).where(
        APP.project_id == app.project_id, APP.unit_type_id == app.unit_type_id, APP.status == S.eligible, ahead
    ))).scalar()
    return n + 1


async def respond(session: AsyncSession, *, actor: Principal, application_id: int, action: str,
                  reason: str | None = None) -> MyApplication:
    """The applicant accepts or declines an offer, or withdraws (at any time before accepting)."""
    now = clock.now()
    app = await _own_application(session, actor, application_id)
    project = await allocation.lock(session, app.project_id, now)
    app = await session.get(APP, application_id, populate_existing=True, with_for_update=True)
    label = STATUS_LABELS[app.status]
    freed: list[int] = []
    if action in ("accept", "decline"):
        if app.status == S.expired:
            raise HousingOfferExpired()
        if app.status != S.offered:
            raise HousingApplicationState(f"该申请当前为「{label}」，没有待确认的房源")
        app.responded_at = now
        if action == "accept":
            transition(session, app, S.accepted, reason=reason, actor_role="youth", now=now)
        else:
            transition(session, app, S.declined, reason=reason or "申请人放弃", actor_role="youth", now=now)
            freed.append(app.unit_type_id)
    else:
        if app.status not in (S.submitted, S.eligible, S.offered):
            raise HousingApplicationState(f"该申请当前为「{label}」，不能撤回")
        if app.status == S.offered:
            app.responded_at = now
            freed.append(app.unit_type_id)
        transition(session, app, S.withdrawn, reason=reason or "申请人撤回", actor_role="youth", now=now)
    await allocation.settle(session, project, now, freed=freed)
    return await _mine_with_history(session, app, now)
