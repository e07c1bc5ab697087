"""What young people browse: search, a project's page, their eligibility, favourites.

The search runs a constant number of queries whatever the page size: the page's keys, the page's
rows, their unit types, organisation names and, for a logged-in person, favourites. Sorting and keyset
pagination (app.kit.pagination) happen in SQL on denormalised project columns (rent range, units
remaining), so 20,000 projects never leave the database. Sorting by rent while filtering by layout
orders by the cheapest unit type of those layouts (that also meets the rent and availability
filters), not by the project's cheapest unit. A search near a point filters a bounding box on the
covering geo index and orders by a planar approximation of the distance (arithmetic only: same SQL on
SQLite and PostgreSQL); the radius check (the keyset's ``accept``) and the distance shown are the
exact haversine, computed in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.db import padded
from app.deps import Principal
from app.kit.dialect import insert_for
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.housing import (
    STATUS_LABELS,
    EligibilityCheck,
    FavouriteState,
    MyApplicationBrief,
    ProjectCard,
    ProjectDetail,
)
from app.services.housing.common import (
    APP,
    KIND,
    UT,
    P,
    accepting,
    eligibility_of,
    haversine_km,
    lottery_of,
    real_name_verified,
    shown_status,
    unit_public,
    unit_types_of,
    unmet_rules,
)
from models.accounts import User
from models.base import utcnow
from models.housing import HousingFavourite, HousingProject
from models.orgs import Organisation

SORTS = ("newest", "rent", "rent_desc", "distance")


def parse_near(near: str) -> tuple[float, float]:
    try:
        lat_s, lng_s = near.split(",")
        lat, lng = float(lat_s), float(lng_s)
    except ValueError:
        raise errors.ValidationFailed(fields={"near": "格式应为 纬度,经度，例如 25.04,102.71"})
    if math.isnan(lat) or math.isnan(lng) or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise errors.ValidationFailed(fields={"near": "经纬度超出范围"})
    return lat, lng


async def search(
    session: AsyncSession, *, viewer: Principal | None, districts: Sequence[str] = (),
    rent_min: int | None = None, rent_max: int | None = None, layouts: Sequence[str] = (), q: str | None = None,
    near: str | None = None, radius_km: float = 5.0, available_only: bool = False, sort: str | None = None,
    cursor: str | None = None, limit: int = 20,
) -> Page[ProjectCard]:
    origin = parse_near(near) if near else None
    sort = sort or ("distance" if origin else "newest")
    if sort == "distance" and origin is None:
        raise errors.ValidationFailed(fields={"near": "按距离排序需要提供位置"})
    if rent_min is not None and rent_max is not None and rent_min > rent_max:
        raise errors.ValidationFailed(fields={"rent_min": "最低租金不能高于最高租金"})

    conds: list[Any] = [KIND.listed()]
    if districts:
        conds.append(P.district.in_(list(districts)))
    # The project's rent range answers a one-sided bound exactly; a two-sided range, a layout, or
    # availability together with rent needs one unit type that matches all of them at once.
    if rent_min is not None:
        conds.append(P.max_rent_fen >= rent_min)
    if rent_max is not None:
        conds.append(P.min_rent_fen <= rent_max)
    has_rent = rent_min is not None or rent_max is not None
    unit: list[Any] = []  # what one unit type must match, when the filters concern unit types
    if layouts or (rent_min is not None and rent_max is not None) or (available_only and has_rent):
        unit.append(UT.project_id == P.id)
        if layouts:
            unit.append(UT.layout.in_(list(layouts)))
        if rent_min is not None:
            unit.append(UT.rent_fen >= rent_min)
        if rent_max is not None:
            unit.append(UT.rent_fen <= rent_max)
        if available_only:
            unit.append(UT.available_units > UT.taken_units)
        conds.append(exists().where(*unit))
    if available_only:
        conds.append(P.units_remaining > 0)
    if q:
        conds.append(or_(P.name.contains(q, autoescape=True), P.address.contains(q, autoescape=True),
                         P.metro_station.contains(q, autoescape=True)))

    # Sorting by rent with a layout: the rent of the matching layout, i.e. the cheapest unit type that
    # meets every unit filter (the exists() above guarantees there is one).
    unit_rent = (select(func.min(UT.rent_fen)).where(*unit).correlate(P).scalar_subquery()
                 if layouts and sort in ("rent", "rent_desc") else None)
    rows, nxt, distances = await _page(session, conds, _order(sort, origin, unit_rent), origin, radius_km,
                                       cursor, limit)
    return Page(items=await cards(session, rows, viewer, distances), next_cursor=nxt)


KM_PER_DEGREE = 6371.0088 * math.pi / 180


def _planar_km2(origin: tuple[float, float]) -> Any:
    """Squared distance in km² on a plane tangent at the origin: arithmetic only, so SQLite and
    PostgreSQL both sort by it (from the covering geo index). Within the 50 km search radius it
    differs from the haversine distance by well under 1 %; the exact distance is computed in Python."""
    lat0, lng0 = origin
    kx = KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat0)))
    dx = (P.lng - lng0) * kx
    dy = (P.lat - lat0) * KM_PER_DEGREE
    return dx * dx + dy * dy


def _order(sort: str, origin: tuple[float, float] | None, unit_rent: Any) -> list[Key]:
    if sort == "distance" and origin is not None:
        key = Key("distance", _planar_km2(origin), float)
    elif sort == "newest":
        key = Key("published", P.published_at, datetime, desc=True)
    elif unit_rent is not None:
        key = Key("layout_rent", func.coalesce(unit_rent, P.min_rent_fen), int, desc=sort == "rent_desc")
    else:
        key = Key("rent", P.min_rent_fen, int, desc=sort == "rent_desc")
    return [key, Key("id", P.id, desc=key.desc)]


async def _page(session: AsyncSession, conds: list[Any], order: list[Key], origin: tuple[float, float] | None,
                radius_km: float, cursor: str | None, limit: int
                ) -> tuple[list[Any], str | None, dict[int, float]]:
    """Keyset pagination with the order in SQL. A first query reads only (id, sort key, position) —
    from a covering index where it can — and the full rows are loaded for the page alone."""
    conds = list(conds)
    distances: dict[int, float] = {}
    within = None
    if origin is not None:
        lat, lng = origin
        # Bounding box for the index, then the planar circle with a margin; the exact haversine
        # check (accept) drops the few in the margin that are outside the radius.
        dlat = radius_km / KM_PER_DEGREE
        dlng = radius_km / (KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
        conds += [P.lat.between(lat - dlat, lat + dlat), P.lng.between(lng - dlng, lng + dlng),
                  _planar_km2(origin) <= (radius_km * 1.02) ** 2]

        def within(row: Any) -> bool:
            d = haversine_km(lat, lng, row.lat, row.lng)
            distances[row.id] = d
            return d <= radius_km

    found = await keyset(session, select(P.id, P.lat, P.lng).where(*conds), order,
                         cursor=cursor, limit=limit, tag="housing-search", accept=within, slack=8)
    ids = [r.id for r in found.rows]
    if order[0].name == "distance":
        ids.sort(key=lambda i: (distances[i], i))  # exact order within the page
    by_id: dict[int, Any] = {}
    if ids:
        conn = await session.connection()
        by_id = {r.id: r for r in await conn.execute(_CARD_ROWS, {"ids": padded(ids)})}
    return [by_id[i] for i in ids if i in by_id], found.next_cursor, {i: distances[i] for i in ids if i in distances}


# A results page is read as plain rows, not ORM objects: only the columns a card shows, by statements
# built once (a search is the busiest read of the service).
_projects = HousingProject.__table__
_CARD_ROWS = select(
    _projects.c.id, _projects.c.name, _projects.c.district, _projects.c.address, _projects.c.lat, _projects.c.lng,
    _projects.c.metro_station, _projects.c.photo_urls, _projects.c.amenities, _projects.c.allocation,
    _projects.c.min_rent_fen, _projects.c.max_rent_fen, _projects.c.units_remaining, _projects.c.org_id,
    _projects.c.published_at,
).where(_projects.c.id.in_(bindparam("ids", expanding=True)))
_ORG_NAMES = select(Organisation.__table__.c.id, Organisation.__table__.c.name).where(
    Organisation.__table__.c.id.in_(bindparam("ids", expanding=True)))
_favourites = HousingFavourite.__table__
_FAVOURITES = select(_favourites.c.project_id).where(
    _favourites.c.user_id == bindparam("user_id"), _favourites.c.project_id.in_(bindparam("ids", expanding=True)))


async def cards(session: AsyncSession, rows: Sequence[Any], viewer: Principal | None,
                distances: dict[int, float]) -> list[ProjectCard]:
    """Cards for projects (rows or objects with the card's columns): unit types, organisation names
    and the viewer's favourites in one query each."""
    ids = [p.id for p in rows]
    if not ids:
        return []
    conn = await session.connection()
    units = await unit_types_of(session, ids)
    orgs = dict((await conn.execute(_ORG_NAMES, {"ids": padded(p.org_id for p in rows)})).all())
    favs: set[int] | None = None
    if viewer is not None:
        favs = set((await conn.execute(_FAVOURITES, {"user_id": viewer.user_id, "ids": padded(ids)})).scalars())
    return [_card(p, units.get(p.id, []), orgs.get(p.org_id), distances.get(p.id),
                  None if favs is None else p.id in favs) for p in rows]


def _card(p: Any, units: list[Any], org_name: str | None, distance: float | None,
          favourited: bool | None) -> ProjectCard:
    return ProjectCard(
        id=p.id, name=p.name, district=p.district, address=p.address, lat=p.lat, lng=p.lng,
        metro_station=p.metro_station, cover_photo=p.photo_urls[0] if p.photo_urls else None,
        amenities=list(p.amenities or []), allocation=p.allocation, min_rent_fen=p.min_rent_fen,
        max_rent_fen=p.max_rent_fen, units_remaining=p.units_remaining, org_name=org_name,
        published_at=p.published_at, distance_km=None if distance is None else round(distance, 2),
        favourited=favourited, unit_types=[unit_public(u) for u in units],
    )


async def project_detail(session: AsyncSession, *, viewer: Principal | None, project_id: int) -> ProjectDetail:
    now = clock.now()
    project = await session.get(P, project_id)
    if project is None or not KIND.is_visible(project):
        raise errors.NotFound()
    card = (await cards(session, [project], viewer, {}))[0]
    lot = await lottery_of(session, project_id)
    mine = None
    if viewer is not None and viewer.is_youth:
        app = (await session.execute(
            select(APP).where(APP.project_id == project_id, APP.user_id == viewer.user_id)
            .order_by(APP.id.desc()).limit(1)
        )).scalar_one_or_none()
        if app is not None:
            status = shown_status(app, now)
            mine = MyApplicationBrief(id=app.id, number=app.number, status=status, status_label=STATUS_LABELS[status])
    return ProjectDetail(
        **card.model_dump(), description=project.description, photo_urls=list(project.photo_urls or []),
        eligibility=eligibility_of(project), applications_close_at=project.applications_close_at,
        accepting_applications=accepting(project, now), status=project.status,
        lottery_status=lot.status if lot else None, my_application=mine,
    )


async def check_eligibility(session: AsyncSession, *, actor: Principal, project_id: int) -> EligibilityCheck:
    now = clock.now()
    project = await session.get(P, project_id)
    if project is None or not KIND.is_visible(project):
        raise errors.NotFound()
    user = await session.get(User, actor.user_id)
    unmet = unmet_rules(user, project, local_day(now))
    verified = real_name_verified(user)
    if not verified:
        unmet = {"real_name": "请先完成实名认证（填写姓名和身份证号）", **unmet}
    return EligibilityCheck(eligible=not unmet, real_name_verified=verified, unmet=unmet)


async def set_favourite(session: AsyncSession, *, actor: Principal, project_id: int, on: bool
                        ) -> FavouriteState:
    fav = HousingFavourite
    if on:
        project = await session.get(P, project_id)
        if project is None or not KIND.is_visible(project):
            raise errors.NotFound()
        insert = insert_for(session)
        await session.execute(
            insert(fav).values(user_id=actor.user_id, project_id=project_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["user_id", "project_id"])
        )
    else:
        await session.execute(fav.__table__.delete().where(fav.user_id == actor.user_id,
                                                           fav.project_id == project_id))
    return FavouriteState(project_id=project_id, favourited=on)


async def my_favourites(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int
                        ) -> Page[ProjectCard]:
    fav = HousingFavourite
    stmt = select(P).join(fav, fav.project_id == P.id).where(fav.user_id == actor.user_id, KIND.listed())
    page = await keyset(session, stmt, [Key("id", fav.id, desc=True)], cursor=cursor, limit=limit,
                        tag="housing-favourites")
    return Page(items=await cards(session, page.first(), actor, {}), next_cursor=page.next_cursor)
