"""The housing operator's projects and unit types. Publishing goes through the shared moderation
workflow (``/api/v1/provider/postings/housing_project/{id}/submit``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings
from app.kit.pagination import Key, Page, keyset
from app.schemas.housing import ProjectIn, ProjectUpdate, ProviderProject, UnitTypeIn, UnitTypeUpdate
from app.schemas.moderation import PostingState
from app.services import audit, moderation
from app.services.housing import allocation
from app.services.housing.common import (
    APP,
    KIND,
    UT,
    P,
    eligibility_of,
    lottery_of,
    own_locked,
    sync_project,
    unit_public,
    unit_types_of,
)
from app.services.housing.errors import (
    HousingAllocationLocked,
    HousingListFrozen,
    HousingUnitsBelowTaken,
    HousingUnitTypeInUse,
)
from app.services.housing.review import count_by_status
from models.housing import ACTIVE_APPLICATION_STATUSES, HousingLottery, HousingProject
from models.moderation import PostingStatus

_NOT_NULL = ("name", "district", "address", "lat", "lng", "description", "amenities", "photo_urls",
             "allocation", "min_age", "max_age", "require_no_home", "require_work_in_kunming")
# What an applicant applied for: fixed on a unit type once someone holds an active application on it.
_UNIT_TERMS = ("layout", "area_sqm", "rent_fen", "deposit_fen")
MAX_UNIT_TYPES = 20


async def provider_view(session: AsyncSession, projects: Sequence[HousingProject], now: datetime
                        ) -> list[ProviderProject]:
    ids = [p.id for p in projects]
    units = await unit_types_of(session, ids)
    counts = await count_by_status(session, ids, now)
    lotteries: dict[int, str] = {}
    if ids:
        lotteries = dict((await session.execute(select(HousingLottery.project_id, HousingLottery.status)
                                                .where(HousingLottery.project_id.in_(ids)))).all())
    return [ProviderProject(
        id=p.id, org_id=p.org_id, name=p.name, district=p.district, address=p.address, lat=p.lat, lng=p.lng,
        metro_station=p.metro_station, description=p.description, amenities=list(p.amenities or []),
        photo_urls=list(p.photo_urls or []), allocation=p.allocation, applications_close_at=p.applications_close_at,
        intake_closed_at=p.intake_closed_at, eligibility=eligibility_of(p), min_rent_fen=p.min_rent_fen,
        max_rent_fen=p.max_rent_fen, units_total=p.units_total, units_available=p.units_available,
        units_remaining=p.units_remaining, **PostingState.fields_of(p), created_at=p.created_at,
        updated_at=p.updated_at,
        unit_types=[unit_public(u) for u in units.get(p.id, [])], application_counts=counts.get(p.id, {}),
        lottery_status=lotteries.get(p.id),
    ) for p in projects]


async def _one(session: AsyncSession, project: HousingProject) -> ProviderProject:
    return (await provider_view(session, [project], clock.now()))[0]


async def create_project(session: AsyncSession, *, actor: Principal, data: ProjectIn) -> ProviderProject:
    postings.require_org_kind(actor, KIND)
    project = HousingProject.model_validate(data.model_dump(exclude={"unit_types"}),
                                            update={"org_id": actor.org_id, "status": PostingStatus.draft})
    session.add(project)
    await session.flush()
    for u in data.unit_types:
        session.add(UT.model_validate(u.model_dump(), update={"project_id": project.id}))
    await session.flush()
    await sync_project(session, project)
    await audit.record(session, actor=actor, action="housing_project.create", target_kind=KIND.kind,
                       target_id=project.id, detail={"unit_types": len(data.unit_types)})
    return await _one(session, project)


async def provider_projects(session: AsyncSession, *, actor: Principal, status: str | None, cursor: str | None,
                            limit: int) -> Page[ProviderProject]:
    postings.require_org_kind(actor, KIND)
    stmt = select(P).where(P.org_id == actor.org_id)
    if status:
        stmt = stmt.where(P.status == status)
    page = await keyset(session, stmt, [Key("id", P.id, desc=True)], cursor=cursor, limit=limit,
                        tag="housing-provider-projects")
    return Page(items=await provider_view(session, page.first(), clock.now()), next_cursor=page.next_cursor)


async def provider_project(session: AsyncSession, *, actor: Principal, project_id: int) -> ProviderProject:
    return await _one(session, await postings.load_own(session, actor, KIND, project_id))


def _require_editable(project: HousingProject) -> None:
    if project.status not in postings.EDITABLE:
        raise errors.PostingStateInvalid("该项目已被下架，不能修改")


async def update_project(session: AsyncSession, *, actor: Principal, project_id: int, data: ProjectUpdate
                         ) -> ProviderProject:
    project = await own_locked(session, actor, project_id)
    _require_editable(project)
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k in _NOT_NULL if k in changes and changes[k] is None}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    if changes.get("min_age", project.min_age) > changes.get("max_age", project.max_age):
        raise errors.ValidationFailed(fields={"min_age": "最低年龄不能高于最高年龄"})
    changed = {k for k, v in changes.items() if getattr(project, k) != v}
    if "allocation" in changed and (await session.execute(
            select(APP.id).where(APP.project_id == project.id).limit(1))).first():
        raise HousingAllocationLocked()
    if not changed:
        return await _one(session, project)
    project.sqlmodel_update({k: changes[k] for k in changed})
    # Public text edited on a live project sends it back to review (applications carry on).
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=project, changed=changed)
    return await _one(session, project)


async def _unit_count(session: AsyncSession, project_id: int) -> int:
    return (await session.execute(select(func.count()).select_from(UT).where(UT.project_id == project_id))).scalar()


async def add_unit_type(session: AsyncSession, *, actor: Principal, project_id: int, data: UnitTypeIn
                        ) -> ProviderProject:
    project = await own_locked(session, actor, project_id)
    _require_editable(project)
    if await _unit_count(session, project.id) >= MAX_UNIT_TYPES:
        raise errors.ValidationFailed(fields={"unit_types": f"一个项目最多 {MAX_UNIT_TYPES} 种户型"})
    unit = UT.model_validate(data.model_dump(), update={"project_id": project.id})
    session.add(unit)
    await session.flush()
    await sync_project(session, project)
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=project, changed={f"unit_types[{unit.id}]"})
    return await _one(session, project)


async def update_unit_type(session: AsyncSession, *, actor: Principal, project_id: int, unit_type_id: int,
                           data: UnitTypeUpdate) -> ProviderProject:
    now = clock.now()
    project = await allocation.lock(session, project_id, now, owner=actor)
    _require_editable(project)
    unit = await session.get(UT, unit_type_id, with_for_update=True, populate_existing=True)
    if unit is None or unit.project_id != project.id:
        raise errors.NotFound()
    changes = data.model_dump(exclude_unset=True)
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k != "name"}
    if empty:
        raise errors.ValidationFailed(fields=empty)
    changed = {k for k, v in changes.items() if getattr(unit, k) != v}
    terms = changed & set(_UNIT_TERMS)
    if terms and (await session.execute(select(APP.id).where(
            APP.unit_type_id == unit.id, APP.status.in_(ACTIVE_APPLICATION_STATUSES)).limit(1))).first():
        raise HousingUnitTypeInUse(fields={k: "已有人按原条件申请，不能修改" for k in sorted(terms)})
    total = changes.get("total_units", unit.total_units)
    available = changes.get("available_units", unit.available_units)
    if available > total:
        raise errors.ValidationFailed(fields={"available_units": "可分配套数不能多于总套数"})
    if available < unit.taken_units:
        raise HousingUnitsBelowTaken(
            fields={"available_units": f"已有 {unit.taken_units} 套发出确认或已入住，不能少于该数"})
    if not changed:
        return await _one(session, project)
    unit.sqlmodel_update({k: changes[k] for k in changed})
    unit.updated_at = now
    await session.flush()
    # More units on a first-come or drawn project go to whoever waits next.
    await allocation.settle(session, project, now)
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=project,
                                changed={f"unit_types[{unit.id}].{k}" for k in changed})
    return await _one(session, project)


async def delete_unit_type(session: AsyncSession, *, actor: Principal, project_id: int, unit_type_id: int
                           ) -> ProviderProject:
    project = await own_locked(session, actor, project_id)
    _require_editable(project)
    unit = await session.get(UT, unit_type_id)
    if unit is None or unit.project_id != project.id:
        raise errors.NotFound()
    if (await session.execute(select(APP.id).where(APP.unit_type_id == unit.id).limit(1))).first():
        raise HousingUnitTypeInUse()
    if await _unit_count(session, project.id) <= 1:
        raise errors.ValidationFailed(fields={"unit_types": "项目至少需要一种户型"})
    await session.delete(unit)
    await session.flush()
    await sync_project(session, project)
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=project,
                                changed={f"unit_types[{unit_type_id}].deleted"})
    return await _one(session, project)


async def set_intake(session: AsyncSession, *, actor: Principal, project_id: int, open_: bool) -> ProviderProject:
    """Close applications early, or reopen them (a lottery project never reopens after its freeze)."""
    now = clock.now()
    project = await own_locked(session, actor, project_id)
    _require_editable(project)
    if open_:
        if await lottery_of(session, project.id) is not None:
            raise HousingListFrozen()
        project.intake_closed_at = None
    elif project.intake_closed_at is None:
        project.intake_closed_at = now
    project.updated_at = now
    await session.flush()
    action = "housing_project.open_applications" if open_ else "housing_project.close_applications"
    await audit.record(session, actor=actor, action=action, target_kind=KIND.kind, target_id=project.id)
    return await _one(session, project)
