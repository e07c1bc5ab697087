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

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Text, and_, bindparam, cast, exists, func, null, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.db import padded
from app.deps import Principal
from app.kit.cache import Recent
from app.kit.dialect import dialect_of, insert_for, one_of
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.housing import (
    LAYOUT_LABELS,
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
    unmet_rules,
)
from app.services.housing.settings import housing_settings
from models.accounts import User
from models.base import utcnow
from models.housing import HousingFavourite, HousingProject, HousingUnitType
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
) -> bytes:
    """A page of ``Page[ProjectCard]``, as its JSON (validated against the schema, serialised in one pass).

    The first page of an anonymous search is the same for everyone who asks: it is kept for
    ``YOUTH_HOUSING_SEARCH_CACHE_SECONDS`` per process (see ``FIRST_PAGES``). A logged-in person's page
    (favourites) and every further page (cursors) are always read afresh."""
    origin = parse_near(near) if near else None
    sort = sort or ("distance" if origin else "newest")
    if sort == "distance" and origin is None:
        raise errors.ValidationFailed(fields={"near": "按距离排序需要提供位置"})
    if rent_min is not None and rent_max is not None and rent_min > rent_max:
        raise errors.ValidationFailed(fields={"rent_min": "最低租金不能高于最高租金"})
    cache_key = None
    if viewer is None and not cursor:
        cache_key = (tuple(sorted(set(districts))), rent_min, rent_max, tuple(sorted(set(layouts))), q, origin,
                     radius_km if origin else None, available_only, sort, limit)
        hit = FIRST_PAGES.get(cache_key)
        if hit is not None:
            return hit

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
    ids, nxt, distances = await _page(session, conds, _order(sort, origin, unit_rent), origin, radius_km,
                                      cursor, limit)
    page = _PAGE.dump_json(_PAGE.validate_python(
        {"items": await _card_dicts(session, ids, viewer, distances), "next_cursor": nxt}))
    if cache_key is not None:
        FIRST_PAGES.put(cache_key, page)
    return page


# The first pages of anonymous searches, by their filters: a page may be this many seconds old (a
# project published or taken down, or a unit taken, shows on it that much later). A project's own page,
# eligibility and applications always read the database.
FIRST_PAGES: Recent[tuple[Any, ...], bytes] = Recent(lambda: housing_settings().housing_search_cache_seconds,
                                                     max_entries=2048)
_PAGE = TypeAdapter(Page[ProjectCard])
_CARDS = TypeAdapter(list[ProjectCard])


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
                ) -> tuple[list[int], str | None, dict[int, float]]:
    """Keyset pagination with the order in SQL: the page's ids, the next cursor, the exact distances.
    It reads only (id, sort key, position) — from a covering index where it can — and the cards are
    loaded for the page alone."""
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
    return ids, found.next_cursor, {i: distances[i] for i in ids if i in distances}


# A page of cards is one statement, built once per dialect and kind of viewer: the projects' card
# columns with their organisation's name, one row per unit type (cheapest first), and for a logged-in
# person whether it is a favourite. Plain rows, not ORM objects (a search is the busiest read of the service).
_projects, _units, _orgs = HousingProject.__table__, HousingUnitType.__table__, Organisation.__table__
_favourites = HousingFavourite.__table__
_card_statements: dict[tuple[str, bool], Any] = {}


def _card_statement(db: Any, with_favourites: bool) -> Any:
    key = (dialect_of(db), with_favourites)
    if key not in _card_statements:
        p, u = _projects, _units
        joined = p.outerjoin(_orgs, _orgs.c.id == p.c.org_id).outerjoin(u, u.c.project_id == p.c.id)
        # The JSON lists are read as their text and decoded once per project, not once per unit row.
        columns = [p.c.id, p.c.name, p.c.district, p.c.address, p.c.lat, p.c.lng, p.c.metro_station,
                   cast(p.c.photo_urls, Text), cast(p.c.amenities, Text), p.c.allocation,
                   p.c.min_rent_fen, p.c.max_rent_fen, p.c.units_remaining, p.c.published_at, _orgs.c.name,
                   u.c.id, u.c.layout, u.c.name, u.c.area_sqm, u.c.rent_fen, u.c.deposit_fen, u.c.total_units,
                   u.c.available_units, u.c.taken_units]
        if with_favourites:
            f = _favourites
            joined = joined.outerjoin(f, and_(f.c.project_id == p.c.id, f.c.user_id == bindparam("user_id")))
            columns.append(f.c.project_id)
        else:
            columns.append(null())
        _card_statements[key] = (select(*columns).select_from(joined).where(one_of(db, p.c.id, "ids"))
                                 .order_by(p.c.id, u.c.rent_fen, u.c.id))
    return _card_statements[key]


async def _card_dicts(session: AsyncSession, ids: Sequence[int], viewer: Principal | None,
                      distances: dict[int, float]) -> list[dict[str, Any]]:
    """The cards of projects ``ids`` (in that order) as ``ProjectCard`` fields; ``favourited`` only
    for a logged-in viewer."""
    if not ids:
        return []
    conn = await session.connection()
    params: dict[str, Any] = {"ids": padded(ids)}
    if viewer is not None:
        params["user_id"] = viewer.user_id
    by_id: dict[int, dict[str, Any]] = {}
    rows = await conn.execute(_card_statement(conn, viewer is not None), params)
    for (pid, name, district, address, lat, lng, metro, photos, amenities, allocation, min_rent, max_rent,
         remaining, published_at, org_name, u_id, layout, u_name, area, rent, deposit, total, available, taken,
         favourite_of) in rows:
        card = by_id.get(pid)
        if card is None:
            distance = distances.get(pid)
            photo_urls = json.loads(photos) if photos else None
            card = by_id[pid] = {
                "id": pid, "name": name, "district": district, "address": address, "lat": lat, "lng": lng,
                "metro_station": metro, "cover_photo": photo_urls[0] if photo_urls else None,
                "amenities": (json.loads(amenities) if amenities else None) or [], "allocation": allocation,
                "min_rent_fen": min_rent, "max_rent_fen": max_rent, "units_remaining": remaining,
                "org_name": org_name, "published_at": published_at,
                "distance_km": None if distance is None else round(distance, 2),
                "favourited": None if viewer is None else favourite_of is not None, "unit_types": [],
            }
        if u_id is not None:
            card["unit_types"].append({
                "id": u_id, "layout": layout, "layout_label": LAYOUT_LABELS.get(layout, layout), "name": u_name,
                "area_sqm": area, "rent_fen": rent, "deposit_fen": deposit, "total_units": total,
                "available_units": available, "remaining_units": max(0, available - taken),
            })
    return [by_id[i] for i in ids if i in by_id]


async def cards(session: AsyncSession, ids: Sequence[int], viewer: Principal | None,
                distances: dict[int, float]) -> list[ProjectCard]:
    """Cards for projects ``ids``, in that order: one query whatever their number."""
    return _CARDS.validate_python(await _card_dicts(session, ids, viewer, distances))


async def project_detail(session: AsyncSession, *, viewer: Principal | None, project_id: int) -> ProjectDetail:
    now = clock.now()
    project = await session.get(P, project_id)
    if project is None or not KIND.is_visible(project):
        raise errors.NotFound()
    card = (await cards(session, [project.id], viewer, {}))[0]
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
    stmt = select(P.id).join(fav, fav.project_id == P.id).where(fav.user_id == actor.user_id, KIND.listed())
    page = await keyset(session, stmt, [Key("id", fav.id, desc=True)], cursor=cursor, limit=limit,
                        tag="housing-favourites")
    return Page(items=await cards(session, page.first(), actor, {}), next_cursor=page.next_cursor)
