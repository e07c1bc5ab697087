"""The ceiling: what FastAPI + asyncpg on this machine can do at best for a capacity-limited sign-up.

One endpoint, no authentication, no ORM, no rate limit, no idempotency: a conditional
``UPDATE … SET taken = taken + 1 WHERE taken < capacity`` and an insert, in one transaction. The
bench serves it with the same uvicorn worker count as the API and drives it with the same requests,
so every figure of the real API is printed next to this one.

Served by ``uvicorn bench.ceiling:app --workers N`` with ``BENCH_CEILING_DSN`` set; the bench creates
the schema (``SCHEMA``) before it starts the server.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS ceiling;
CREATE TABLE IF NOT EXISTS ceiling.counters (
    id integer PRIMARY KEY,
    capacity integer NOT NULL,
    taken integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ceiling.takes (
    id bigserial PRIMARY KEY,
    counter_id integer NOT NULL REFERENCES ceiling.counters(id),
    user_id bigint NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (counter_id, user_id)
);
"""

_UPDATE = "UPDATE ceiling.counters SET taken = taken + 1 WHERE id = $1 AND taken < capacity RETURNING taken"
_INSERT = ("INSERT INTO ceiling.takes (counter_id, user_id, status) VALUES ($1, $2, $3) "
           "ON CONFLICT (counter_id, user_id) DO NOTHING RETURNING id")


class _Duplicate(Exception):
    pass


class TakeIn(BaseModel):
    counter: int
    user: int


class TakeOut(BaseModel):
    status: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The same pool bounds as the API's defaults (db_pool_size 10 + db_max_overflow 5).
    # Round trips counted as the API's are (app.roundtrips), when the bench asks for it.
    counting = os.environ.get("BENCH_CEILING_ROUND_TRIPS_DIR")
    extra: dict[str, Any] = {}
    if counting:
        from app.roundtrips import connection_class

        extra["connection_class"] = connection_class(counting)
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_CEILING_DSN"], min_size=2, max_size=15, **extra)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/take", response_model=TakeOut)
async def take(body: TakeIn) -> TakeOut:
    async with app.state.pool.acquire() as conn, conn.transaction():
        won = await conn.fetchval(_UPDATE, body.counter)
        status = "confirmed" if won is not None else "waitlisted"
        inserted = await conn.fetchval(_INSERT, body.counter, body.user, status)
        if inserted is None:
            # A duplicate: give back the place this request just took, as the real sign-up would.
            raise _Duplicate()
    return TakeOut(status=status)


@app.exception_handler(_Duplicate)
async def _duplicate(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "ALREADY"}, status_code=409)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


# --- the housing search's ceiling ----------------------------------------------------------------------
#
# GET /housing/projects takes the API's query parameters and answers the same JSON page, running the same
# statements as the API's search (app/services/housing/search.py) written by hand on asyncpg: the page's
# keys (keyset order after the cursor, more batches while the radius check drops rows), the cards' rows,
# their unit types, the organisations' names and, with a token, the person's favourites. No validation
# beyond what shapes the SQL, no authentication (the token's subject is read, not verified), no ORM.

KM_PER_DEGREE = 6371.0088 * math.pi / 180
_LAYOUT_LABELS = {"studio": "开间", "one_room": "一室", "two_rooms": "两室", "three_rooms": "三室"}
_CARD_SQL = ("SELECT id, name, district, address, lat, lng, metro_station, photo_urls, amenities, allocation, "
             "min_rent_fen, max_rent_fen, units_remaining, org_id, published_at FROM housing_projects "
             "WHERE id = ANY($1::int[])")
_UNIT_SQL = ("SELECT id, project_id, layout, name, area_sqm, rent_fen, deposit_fen, total_units, available_units, "
             "taken_units FROM housing_unit_types WHERE project_id = ANY($1::int[]) ORDER BY rent_fen, id")
_ORG_SQL = "SELECT id, name FROM organisations WHERE id = ANY($1::int[])"
_FAV_SQL = "SELECT project_id FROM housing_favourites WHERE user_id = $1 AND project_id = ANY($2::int[])"


def _haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lng2 - lng1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Sql:
    def __init__(self) -> None:
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"code": "VALIDATION_FAILED", "message": message}, status_code=422)


@app.get("/housing/projects")
async def housing_projects(request: Request) -> Response:
    qp = request.query_params
    districts, layouts = qp.getlist("district"), qp.getlist("layout")
    rent_min = int(qp["rent_min"]) if "rent_min" in qp else None
    rent_max = int(qp["rent_max"]) if "rent_max" in qp else None
    q, near, available = qp.get("q"), qp.get("near"), qp.get("available_only") == "true"
    radius = float(qp.get("radius_km", 5))
    limit = int(qp.get("limit", 20))
    origin = tuple(float(x) for x in near.split(",")) if near else None
    sort = qp.get("sort") or ("distance" if origin else "newest")
    sql = _Sql()
    conds = ["p.status = 'published'", "p.hidden_by_reports IS false"]
    if districts:
        conds.append(f"p.district = ANY({sql.arg(districts)}::text[])")
    if rent_min is not None:
        conds.append(f"p.max_rent_fen >= {sql.arg(rent_min)}")
    if rent_max is not None:
        conds.append(f"p.min_rent_fen <= {sql.arg(rent_max)}")
    unit = []
    if layouts or (rent_min is not None and rent_max is not None) or (available and (rent_min or rent_max)):
        unit.append("u.project_id = p.id")
        if layouts:
            unit.append(f"u.layout = ANY({sql.arg(layouts)}::text[])")
        if rent_min is not None:
            unit.append(f"u.rent_fen >= {sql.arg(rent_min)}")
        if rent_max is not None:
            unit.append(f"u.rent_fen <= {sql.arg(rent_max)}")
        if available:
            unit.append("u.available_units > u.taken_units")
        conds.append(f"EXISTS (SELECT 1 FROM housing_unit_types u WHERE {' AND '.join(unit)})")
    if available:
        conds.append("p.units_remaining > 0")
    if q:
        like = sql.arg("%" + q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%")
        conds.append(f"(p.name LIKE {like} ESCAPE '/' OR p.address LIKE {like} ESCAPE '/' "
                     f"OR p.metro_station LIKE {like} ESCAPE '/')")
    if origin is not None:
        lat, lng = origin
        kx = KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat)))
        # As SQLAlchemy writes the API's dx * dx + dy * dy (the same float rounding, so the same cursors).
        dx, dy = f"(p.lng - {sql.arg(lng)}) * {sql.arg(kx)}", f"(p.lat - {sql.arg(lat)}) * {sql.arg(KM_PER_DEGREE)}"
        planar = f"({dx} * {dx} + {dy} * {dy})"
        dlat, dlng = radius / KM_PER_DEGREE, radius / kx
        conds += [f"p.lat BETWEEN {sql.arg(lat - dlat)} AND {sql.arg(lat + dlat)}",
                  f"p.lng BETWEEN {sql.arg(lng - dlng)} AND {sql.arg(lng + dlng)}",
                  f"{planar} <= {sql.arg((radius * 1.02) ** 2)}"]
    # The order: (cursor name, SQL, type, descending), then the id.
    if sort == "distance" and origin is not None:
        key: tuple[str, str, type, bool] = ("distance", planar, float, False)
    elif sort == "newest":
        key = ("published", "p.published_at", datetime, True)
    elif layouts and sort in ("rent", "rent_desc"):
        key = ("layout_rent", f"coalesce((SELECT min(u.rent_fen) FROM housing_unit_types u WHERE {' AND '.join(unit)}), "
               "p.min_rent_fen)", int, sort == "rent_desc")
    else:
        key = ("rent", "p.min_rent_fen", int, sort == "rent_desc")
    desc = key[3]
    signature = f"housing-search:{key[0]}{'-' if desc else '+'},id{'-' if desc else '+'}"
    mark = None
    if qp.get("cursor"):
        c = qp["cursor"]
        payload = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
        if payload.get("o") != signature:
            return _bad("cursor")
        v0, v1 = payload["v"]
        mark = [datetime.fromisoformat(v0) if key[2] is datetime else key[2](v0), int(v1)]
    direction = "DESC" if desc else "ASC"
    base = (f"SELECT p.id, p.lat, p.lng, {key[1]} AS _k0, p.id AS _k1 FROM housing_projects p "
            f"WHERE {' AND '.join(conds)}")
    accept = origin is not None
    batch = limit + 1 + (8 if accept else 0)
    distances: dict[int, float] = {}
    picked: list[Any] = []
    async with app.state.pool.acquire() as conn:
        for _ in range(20 if accept else 1):
            page_sql = _Sql()
            page_sql.args = list(sql.args)
            text = base
            if mark is not None:
                op = "<" if desc else ">"
                a0, a1 = page_sql.arg(mark[0]), page_sql.arg(mark[1])
                text += f" AND ({key[1]} {op} {a0} OR ({key[1]} = {a0} AND p.id {op} {a1}))"
            text += f" ORDER BY _k0 {direction}, p.id {direction} LIMIT {batch}"
            rows = await conn.fetch(text, *page_sql.args)
            if accept:
                assert origin is not None
                for r in rows:
                    d = _haversine_km(origin[0], origin[1], r["lat"], r["lng"])
                    distances[r["id"]] = d
                    if d <= radius:
                        picked.append(r)
            else:
                picked += rows
            if len(picked) > limit or len(rows) < batch:
                break
            mark = [rows[-1]["_k0"], rows[-1]["_k1"]]
        nxt = None
        if len(picked) > limit:
            last = picked[limit - 1]
            v0 = last["_k0"]
            raw = json.dumps({"o": signature, "v": [v0.isoformat() if key[2] is datetime else key[2](v0), last["_k1"]]},
                             separators=(",", ":"), ensure_ascii=False).encode()
            nxt = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        ids = [r["id"] for r in picked[:limit]]
        if key[0] == "distance":
            ids.sort(key=lambda i: (distances[i], i))
        items = []
        if ids:
            by_id = {r["id"]: r for r in await conn.fetch(_CARD_SQL, ids)}
            units: dict[int, list[Any]] = {}
            for u in await conn.fetch(_UNIT_SQL, ids):
                units.setdefault(u["project_id"], []).append(u)
            orgs = dict(await conn.fetch(_ORG_SQL, list({r["org_id"] for r in by_id.values()})))
            favs = None
            auth = request.headers.get("authorization")
            if auth:
                claims = json.loads(base64.urlsafe_b64decode(auth.split(".")[1] + "=="))
                favs = {r[0] for r in await conn.fetch(_FAV_SQL, int(claims["sub"]), ids)}
            for i in ids:
                p = by_id[i]
                d = distances.get(i)
                items.append({
                    "id": i, "name": p["name"], "district": p["district"], "address": p["address"],
                    "lat": p["lat"], "lng": p["lng"], "metro_station": p["metro_station"],
                    "cover_photo": (json.loads(p["photo_urls"]) or [None])[0] if p["photo_urls"] else None,
                    "amenities": json.loads(p["amenities"]) if p["amenities"] else [],
                    "allocation": p["allocation"], "min_rent_fen": p["min_rent_fen"], "max_rent_fen": p["max_rent_fen"],
                    "units_remaining": p["units_remaining"], "org_name": orgs.get(p["org_id"]),
                    "published_at": _iso(p["published_at"]) if p["published_at"] else None,
                    "distance_km": None if d is None else round(d, 2),
                    "favourited": None if favs is None else i in favs,
                    "unit_types": [{
                        "id": u["id"], "layout": u["layout"], "layout_label": _LAYOUT_LABELS.get(u["layout"], u["layout"]),
                        "name": u["name"], "area_sqm": u["area_sqm"], "rent_fen": u["rent_fen"],
                        "deposit_fen": u["deposit_fen"], "total_units": u["total_units"],
                        "available_units": u["available_units"],
                        "remaining_units": max(0, u["available_units"] - u["taken_units"]),
                    } for u in units.get(i, [])],
                })
    body = json.dumps({"items": items, "next_cursor": nxt}, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()
    return Response(body, media_type="application/json")
