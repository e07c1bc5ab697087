"""Shared pieces of the housing service: the posting kind, the unit counter, locks, the denormalised
project figures, eligibility rules, the status history and how a status is shown at a given time."""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.db import padded
from app.deps import Principal
from app.kit import postings
from app.kit.capacity import Counter
from app.kit.postings import PostingKind
from app.schemas.housing import LAYOUT_LABELS, STATUS_LABELS, Eligibility, HistoryItem, UnitTypePublic
from app.validators import age_on
from models.accounts import User
from models.housing import (
    ApplicationStatus,
    HousingApplication,
    HousingApplicationEvent,
    HousingLottery,
    HousingProject,
    HousingUnitType,
)

KIND = postings.register(PostingKind(
    kind="housing_project", model=HousingProject, org_kinds=("housing_operator",), title_field="name",
    text_fields=("name", "description", "address", "metro_station", "amenities", "photo_urls"),
    label="住房项目", shown_after_close=True,
    # Who applied (a report from an applicant carries weight: app.services.moderation.reports).
    interactions=lambda user_id: select(HousingApplication.project_id).where(HousingApplication.user_id == user_id),
))

P = HousingProject
UT = HousingUnitType
APP = HousingApplication
S = ApplicationStatus

# A unit type's outstanding offers and accepted ones (taken_units) never pass its available_units.
UNITS = Counter(HousingUnitType, taken="taken_units", capacity="available_units")


def accepting(project: HousingProject, now: datetime) -> bool:
    return (KIND.is_listed(project) and project.intake_closed_at is None
            and (project.applications_close_at is None or project.applications_close_at > now))


# --- an offer past its answer-by time -----------------------------------------------------------------
# The sweeper (allocation.expire_offers) stores the lapse soon after; until then reads show it computed,
# and every change of a project's allocation stores it first (allocation.lock).

LAPSE_REASON = "超过确认期限未确认入住，房源已顺延给下一位申请人"


def lapsed(app: Any, now: datetime) -> bool:
    return app.status == S.offered and app.offer_expires_at is not None and app.offer_expires_at <= now


def lapsed_sql(now: datetime) -> Any:
    return and_(APP.status == S.offered, APP.offer_expires_at <= now)


def shown_status(app: Any, now: datetime) -> str:
    return S.expired if lapsed(app, now) else app.status


def status_is(status: str, now: datetime) -> Any:
    """SQL: the application's status as shown at ``now`` is ``status``."""
    if status == S.offered:
        return and_(APP.status == S.offered, APP.offer_expires_at > now)
    if status == S.expired:
        return (APP.status == S.expired) | lapsed_sql(now)
    return APP.status == status


def history_items(app: HousingApplication, events: list[HousingApplicationEvent], now: datetime
                  ) -> list[HistoryItem]:
    items = [HistoryItem(from_status=e.from_status, to_status=e.to_status, to_status_label=STATUS_LABELS[e.to_status],
                         reason=e.reason, actor_role=e.actor_role, at=e.at) for e in events]
    if lapsed(app, now):
        items.append(HistoryItem(from_status=S.offered, to_status=S.expired, to_status_label=STATUS_LABELS[S.expired],
                                 reason=LAPSE_REASON, actor_role="system", at=app.offer_expires_at))
    return items


_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_application_number(project_id: int) -> str:
    """Random rather than sequential: the number says nothing about the person or when they applied."""
    return f"HP{project_id}-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lng2 - lng1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


# --- eligibility ------------------------------------------------------------------------------------


def eligibility_of(project: HousingProject) -> Eligibility:
    rules = [f"年龄 {project.min_age}–{project.max_age} 周岁", "完成实名认证"]
    if project.require_no_home:
        rules.append("在昆明无自有住房（本人申报）")
    if project.graduated_within_years:
        rules.append(f"毕业 {project.graduated_within_years} 年以内")
    if project.require_work_in_kunming:
        rules.append("在昆明工作")
    return Eligibility(
        min_age=project.min_age, max_age=project.max_age, require_no_home=project.require_no_home,
        graduated_within_years=project.graduated_within_years,
        require_work_in_kunming=project.require_work_in_kunming, rules=rules,
    )


def unmet_rules(user: User, project: HousingProject, today: date) -> dict[str, str]:
    """Each eligibility rule the person's profile does not meet, keyed by the profile field."""
    unmet: dict[str, str] = {}
    if user.birth_date is None:
        unmet["birth_date"] = "缺少出生日期，请完成实名认证"
    else:
        age = age_on(user.birth_date, today)
        if not project.min_age <= age <= project.max_age:
            unmet["age"] = f"本项目面向 {project.min_age}–{project.max_age} 周岁的青年，您现在 {age} 周岁"
    if project.require_no_home:
        if user.owns_home_in_kunming is None:
            unmet["owns_home_in_kunming"] = "请先在个人资料中申报在昆明是否有自有住房"
        elif user.owns_home_in_kunming:
            unmet["owns_home_in_kunming"] = "本项目仅面向在昆明无自有住房的青年"
    n = project.graduated_within_years
    if n:
        if user.graduation_year is None:
            unmet["graduation_year"] = f"本项目面向毕业 {n} 年以内的青年，请先在个人资料中填写毕业年份"
        elif user.graduation_year > today.year:
            unmet["graduation_year"] = f"本项目面向已毕业 {n} 年以内的青年，您尚未毕业"
        elif today.year - user.graduation_year > n:
            unmet["graduation_year"] = f"本项目面向毕业 {n} 年以内的青年，您于 {user.graduation_year} 年毕业"
    if project.require_work_in_kunming and user.works_in_kunming is not True:
        unmet["works_in_kunming"] = "本项目面向在昆明工作的青年，请在个人资料中申报工作地"
    return unmet


def real_name_verified(user: User) -> bool:
    return bool(user.real_name and user.id_number_hash)


# --- loading and locking ------------------------------------------------------------------------------


def unit_public(ut: Any) -> UnitTypePublic:
    """A unit type (an object or a row with its columns) as the public sees it."""
    return UnitTypePublic(
        id=ut.id, layout=ut.layout, layout_label=LAYOUT_LABELS.get(ut.layout, ut.layout), name=ut.name,
        area_sqm=ut.area_sqm, rent_fen=ut.rent_fen, deposit_fen=ut.deposit_fen, total_units=ut.total_units,
        available_units=ut.available_units, remaining_units=max(0, ut.available_units - ut.taken_units),
    )


_units = HousingUnitType.__table__
# Only the columns unit_public reads, built once: every search page and provider view runs it.
_UNIT_ROWS = (select(_units.c.id, _units.c.project_id, _units.c.layout, _units.c.name, _units.c.area_sqm,
                     _units.c.rent_fen, _units.c.deposit_fen, _units.c.total_units, _units.c.available_units,
                     _units.c.taken_units)
              .where(_units.c.project_id.in_(bindparam("ids", expanding=True)))
              .order_by(_units.c.rent_fen, _units.c.id))


async def unit_types_of(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Unit types of many projects in one query (never one query per project), as rows for unit_public."""
    out: dict[int, list[Any]] = defaultdict(list)
    if not project_ids:
        return out
    conn = await session.connection()
    for u in await conn.execute(_UNIT_ROWS, {"ids": padded(project_ids)}):
        out[u.project_id].append(u)
    return out


async def lock_project(session: AsyncSession, project_id: int) -> HousingProject:
    """The project row, locked: every allocation change of a project runs under this lock, taken
    before any application row's, so concurrent changes queue instead of deadlocking."""
    project = await session.get(P, project_id, with_for_update=True, populate_existing=True)
    if project is None:
        raise errors.NotFound()
    return project


async def own_locked(session: AsyncSession, actor: Principal, project_id: int) -> HousingProject:
    """A project of the actor's organisation, locked (anyone else's answers 404)."""
    postings.require_org_kind(actor, KIND)
    project = await lock_project(session, project_id)
    if project.org_id != actor.org_id:
        raise errors.NotFound()
    return project


async def lottery_of(session: AsyncSession, project_id: int, *, for_update: bool = False
                     ) -> HousingLottery | None:
    stmt = (select(HousingLottery).where(HousingLottery.project_id == project_id)
            .execution_options(populate_existing=True))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def sync_project(session: AsyncSession, project: HousingProject) -> None:
    """Keep the project's denormalised rent range and unit counts in step with its unit types."""
    row = (await session.execute(
        select(func.min(UT.rent_fen), func.max(UT.rent_fen), func.coalesce(func.sum(UT.total_units), 0),
               func.coalesce(func.sum(UT.available_units), 0),
               func.coalesce(func.sum(UT.available_units - UT.taken_units), 0))
        .where(UT.project_id == project.id)
    )).one()
    project.min_rent_fen, project.max_rent_fen = row[0], row[1]
    project.units_total, project.units_available = int(row[2]), int(row[3])
    project.units_remaining = int(row[4])
    await session.flush()


def transition(session: AsyncSession, app: HousingApplication, to: str, *, reason: str | None, actor_role: str,
               now: datetime) -> None:
    """Change an application's status and write the history entry with its reason."""
    session.add(HousingApplicationEvent(application_id=app.id, from_status=app.status, to_status=to,
                                        reason=reason, actor_role=actor_role, at=now))
    app.status = to
    app.status_reason = reason
    app.updated_at = now
