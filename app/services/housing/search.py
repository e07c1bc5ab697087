"""What young people browse: search, a project's page, their eligibility, favourites.

The search runs a constant number of queries whatever the page size: one for the page (plus one for
the light rows of a distance search), one for the page's unit types, one for organisation names and,
for a logged-in person, one for favourites. Sorting and keyset pagination happen in SQL on the
denormalised project columns; a search near a point prefilters a bounding box in SQL and computes
the exact (haversine) distance in Python, which works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.db import insert_for
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.housing import (
    STATUS_LABELS,
    EligibilityCheck,
    FavouriteState,
    MyApplicationBrief,
    ProjectCard,
    ProjectDetail,
)
from app.services import moderation
from app.services.housing.allocation import expire_due
from app.services.housing.common import (
    APP,
    UT,
    P,
    accepting,
    eligibility_of,
    haversine_km,
    lottery_of,
    now_or,
    org_names,
    real_name_verified,
    shanghai_day,
    unit_public,
    unit_types_of,
    unmet_rules,
    viewable,
)
from models.accounts import User
from models.base import utcnow
from models.housing import HousingFavourite, HousingProject, HousingUnitType

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

    conds: list[Any] = [moderation.is_public(P)]
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

    distances: dict[int, float] = {}
    if origin is None:
        rows, nxt = await _search_sql(session, conds, sort, cursor, limit)
    else:
        rows, nxt, distances = await _search_near(session, conds, origin, radius_km, sort, cursor, limit)
    return Page(items=await cards(session, rows, viewer, distances), next_cursor=nxt)


async def _search_sql(session: AsyncSession, conds: list[Any], sort: str, cursor: str | None, limit: int
                      ) -> tuple[list[HousingProject], str | None]:
    after = decode_cursor(cursor, "s", "k", "i")
    if after and after["s"] != sort:
        raise errors.InvalidCursor()
    stmt = select(P).where(*conds)
    try:
        if sort == "newest":
            stmt = stmt.order_by(P.published_at.desc(), P.id.desc())
            if after:
                at, last = datetime.fromisoformat(after["k"]), int(after["i"])
                stmt = stmt.where(or_(P.published_at < at, and_(P.published_at == at, P.id < last)))
        elif sort == "rent":
            stmt = stmt.order_by(P.min_rent_fen.asc(), P.id.asc())
            if after:
                rent, last = int(after["k"]), int(after["i"])
                stmt = stmt.where(or_(P.min_rent_fen > rent, and_(P.min_rent_fen == rent, P.id > last)))
        else:  # rent_desc
            stmt = stmt.order_by(P.min_rent_fen.desc(), P.id.desc())
            if after:
                rent, last = int(after["k"]), int(after["i"])
                stmt = stmt.where(or_(P.min_rent_fen < rent, and_(P.min_rent_fen == rent, P.id < last)))
    except (TypeError, ValueError):
        raise errors.InvalidCursor()
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    nxt = None
    if len(rows) > limit:
        last_row = rows[limit - 1]
        key: Any = last_row.published_at.isoformat() if sort == "newest" else last_row.min_rent_fen
        nxt = encode_cursor({"s": sort, "k": key, "i": last_row.id})
    return rows[:limit], nxt


async def _search_near(session: AsyncSession, conds: list[Any], origin: tuple[float, float], radius_km: float,
                       sort: str, cursor: str | None, limit: int
                       ) -> tuple[list[HousingProject], str | None, dict[int, float]]:
    lat, lng = origin
    dlat = radius_km / 111.0
    dlng = radius_km / (111.0 * max(0.01, math.cos(math.radians(lat))))
    # Light rows inside the bounding box; exact distance and order in Python, full rows for one page.
    stmt = select(P.id, P.lat, P.lng, P.min_rent_fen, P.published_at).where(
        *conds, P.lat.between(lat - dlat, lat + dlat), P.lng.between(lng - dlng, lng + dlng))
    keyed: list[tuple[tuple[float, ...], int, float]] = []
    for pid, plat, plng, rent, published in (await session.execute(stmt)).tuples():
        d = haversine_km(lat, lng, plat, plng)
        if d > radius_km:
            continue
        if sort == "distance":
            key: tuple[float, ...] = (round(d, 6), pid)
        elif sort == "rent":
            key = (rent or 0, pid)
        elif sort == "rent_desc":
            key = (-(rent or 0), -pid)
        else:
            key = (-(published.timestamp() if published else 0.0), -pid)
        keyed.append((key, pid, d))
    keyed.sort()
    after = decode_cursor(cursor, "s", "k")
    if after:
        if after["s"] != sort or not isinstance(after["k"], list) or len(after["k"]) != 2:
            raise errors.InvalidCursor()
        try:
            mark = (float(after["k"][0]), float(after["k"][1]))
        except (TypeError, ValueError):
            raise errors.InvalidCursor()
        keyed = [row for row in keyed if row[0] > mark]
    page = keyed[:limit]
    nxt = encode_cursor({"s": sort, "k": list(page[-1][0])}) if len(keyed) > limit else None
    ids = [pid for _, pid, _ in page]
    by_id: dict[int, HousingProject] = {}
    if ids:
        by_id = {p.id: p for p in (await session.execute(select(P).where(P.id.in_(ids)))).scalars()}
    return [by_id[i] for i in ids if i in by_id], nxt, {pid: d for _, pid, d in page}


async def cards(session: AsyncSession, rows: Sequence[HousingProject], viewer: Principal | None,
                distances: dict[int, float]) -> list[ProjectCard]:
    ids = [p.id for p in rows]
    units = await unit_types_of(session, ids)
    orgs = await org_names(session, (p.org_id for p in rows))
    favs: set[int] | None = None
    if viewer is not None:
        favs = set()
        if ids:
            favs = set((await session.execute(select(HousingFavourite.project_id).where(
                HousingFavourite.user_id == viewer.user_id, HousingFavourite.project_id.in_(ids)))).scalars())
    return [_card(p, units.get(p.id, []), orgs.get(p.org_id), distances.get(p.id),
                  None if favs is None else p.id in favs) for p in rows]


def _card(p: HousingProject, units: list[HousingUnitType], org_name: str | None, distance: float | None,
          favourited: bool | None) -> ProjectCard:
    return ProjectCard(
        id=p.id, name=p.name, district=p.district, address=p.address, lat=p.lat, lng=p.lng,
        metro_station=p.metro_station, cover_photo=p.photo_urls[0] if p.photo_urls else None,
        amenities=list(p.amenities or []), allocation=p.allocation, min_rent_fen=p.min_rent_fen,
        max_rent_fen=p.max_rent_fen, units_remaining=p.units_remaining, org_name=org_name,
        published_at=p.published_at, distance_km=None if distance is None else round(distance, 2),
        favourited=favourited, unit_types=[unit_public(u) for u in units],
    )


async def project_detail(session: AsyncSession, *, viewer: Principal | None, project_id: int,
                         now: datetime | None = None) -> ProjectDetail:
    now = now_or(now)
    project = await session.get(P, project_id)
    if project is None or not viewable(project):
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


async def check_eligibility(session: AsyncSession, *, actor: Principal, project_id: int,
                            now: datetime | None = None) -> EligibilityCheck:
    now = now_or(now)
    project = await session.get(P, project_id)
    if project is None or not viewable(project):
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
        if project is None or not viewable(project):
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
            .where(fav.user_id == actor.user_id, moderation.is_public(P))
            .order_by(fav.id.desc()).limit(limit + 1))
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(fav.id < int(after["id"]))
    rows = (await session.execute(stmt)).all()
    nxt = encode_cursor({"id": rows[limit - 1][0]}) if len(rows) > limit else None
    return Page(items=await cards(session, [r[1] for r in rows[:limit]], actor, {}), next_cursor=nxt)
