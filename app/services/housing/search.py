"""What young people browse: search, a project's page, their eligibility, favourites.

The search runs a constant number of queries whatever the page size: the page's keys, the page's
rows, their unit types, organisation names and, for a logged-in person, favourites. Sorting and keyset
pagination happen in SQL on denormalised project columns (rent range, units remaining), so 20,000
projects never leave the database. A search near a point filters a bounding box on the covering geo
index and orders by a planar approximation of the distance (arithmetic only: same SQL on SQLite and
PostgreSQL); the radius check and the distance shown are the exact haversine, computed in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.db import padded
from app.deps import Principal
from app.kit.dialect import insert_for
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.housing import (
    STATUS_LABELS,
    EligibilityCheck,
    FavouriteState,
    MyApplicationBrief,
    ProjectCard,
    ProjectDetail,
)
from app.services.housing.allocation import expire_due
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
    shanghai_day,
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
    if layouts or (rent_min is not None and rent_max is not None) or (available_only and has_rent):
        unit: list[Any] = [UT.project_id == P.id]
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

    rows, nxt, distances = await _page(session, conds, sort, origin, radius_km, cursor, limit)
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


async def _page(session: AsyncSession, conds: list[Any], sort: str, origin: tuple[float, float] | None,
                radius_km: float, cursor: str | None, limit: int
                ) -> tuple[list[HousingProject], str | None, dict[int, float]]:
    """Keyset pagination with the order in SQL. A first query reads only (id, sort key, position) —
    from a covering index where it can — and the full rows are loaded for the page alone."""
    conds = list(conds)
    if origin is not None:
        lat, lng = origin
        # Bounding box for the index, then the planar circle with a margin; the exact haversine
        # check below drops the few in the margin that are outside the radius.
        dlat = radius_km / KM_PER_DEGREE
        dlng = radius_km / (KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
        conds += [P.lat.between(lat - dlat, lat + dlat), P.lng.between(lng - dlng, lng + dlng),
                  _planar_km2(origin) <= (radius_km * 1.02) ** 2]
    if sort == "distance":
        key, descending = _planar_km2(origin), False
    elif sort == "newest":
        key, descending = P.published_at, True
    else:
        key, descending = P.min_rent_fen, sort == "rent_desc"

    after = decode_cursor(cursor, "s", "k", "i")
    if after and after["s"] != sort:
        raise errors.InvalidCursor()
    try:
        mark = None
        if after:
            value = after["k"]
            mark = (datetime.fromisoformat(value) if sort == "newest" else
                    float(value) if sort == "distance" else int(value), int(after["i"]))
    except (TypeError, ValueError):
        raise errors.InvalidCursor()

    ordering = (key.desc(), P.id.desc()) if descending else (key.asc(), P.id.asc())
    batch = limit + 1 + (8 if origin is not None else 0)
    picked: list[tuple[int, Any, float | None]] = []
    for _ in range(20):  # more than one round only when many rows sit in the margin of the circle
        stmt = select(P.id, key, P.lat, P.lng).where(*conds).order_by(*ordering).limit(batch)
        if mark is not None:
            k, i = mark
            beyond = (or_(key < k, and_(key == k, P.id < i)) if descending
                      else or_(key > k, and_(key == k, P.id > i)))
            stmt = stmt.where(beyond)
        rows = (await session.execute(stmt)).all()
        for pid, k, plat, plng in rows:
            d = haversine_km(origin[0], origin[1], plat, plng) if origin is not None else None
            if d is None or d <= radius_km:
                picked.append((pid, k, d))
        if len(picked) > limit or len(rows) < batch:
            break
        mark = (rows[-1][1], rows[-1][0])
    nxt = None
    if len(picked) > limit:
        _, k, _ = last = picked[limit - 1]
        nxt = encode_cursor({"s": sort, "k": k.isoformat() if sort == "newest" else k, "i": last[0]})
    page = picked[:limit]
    if sort == "distance":
        page.sort(key=lambda r: (r[2], r[0]))  # exact order within the page
    ids = [pid for pid, _, _ in page]
    by_id: dict[int, Any] = {}
    if ids:
        conn = await session.connection()
        by_id = {r.id: r for r in await conn.execute(_CARD_ROWS, {"ids": padded(ids)})}
    distances = {pid: d for pid, _, d in page if d is not None}
    return [by_id[i] for i in ids if i in by_id], nxt, distances


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
    await expire_due(session, project_id, now)
    card = (await cards(session, [project], viewer, {}))[0]
    lot = await lottery_of(session, project_id)
    mine = None
    if viewer is not None and viewer.is_youth:
        app = (await session.execute(
            select(APP).where(APP.project_id == project_id, APP.user_id == viewer.user_id)
            .order_by(APP.id.desc()).limit(1)
        )).scalar_one_or_none()
        if app is not None:
            mine = MyApplicationBrief(id=app.id, number=app.number, status=app.status,
                                      status_label=STATUS_LABELS[app.status])
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
    unmet = unmet_rules(user, project, shanghai_day(now))
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
    stmt = (select(fav.id, P).join(P, P.id == fav.project_id)
            .where(fav.user_id == actor.user_id, KIND.listed())
            .order_by(fav.id.desc()).limit(limit + 1))
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(fav.id < int(after["id"]))
    rows = (await session.execute(stmt)).all()
    nxt = encode_cursor({"id": rows[limit - 1][0]}) if len(rows) > limit else None
    return Page(items=await cards(session, [r[1] for r in rows[:limit]], actor, {}), next_cursor=nxt)
