"""Openings as providers post them (through review) and young people find them; the sweeper job that
closes an opening at its deadline."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings, sweeper
from app.kit.dialect import skip_locked
from app.kit.pagination import Key, Page, keyset
from app.schemas.openings import (
    EDUCATION_ORDER,
    InternshipCreate,
    MyApplicationBrief,
    OpeningProvider,
    OpeningPublic,
    OpeningSummary,
    OpeningUpdate,
)
from app.services import audit, moderation
from app.services.openings import errors as oerr
from app.services.openings.common import CLOSED_AT_DEADLINE, KIND, NO_SYNC, OP, ORG_KIND_FOR, A, tell_org
from models.base import utcnow
from models.moderation import PostingStatus
from models.openings import Opening, OpeningApplication
from models.orgs import Organisation

KM_PER_DEGREE = 6371.0088 * math.pi / 180
MAX_AHEAD = timedelta(days=366)
INTERNSHIP_ONLY = ("starts_on", "stipend_fen", "duration_months", "min_education", "majors")
INCUBATOR_ONLY = ("free_office_months", "mentoring", "funding_help", "offer_notes", "stages", "sectors")


def education_rank(level: str | None) -> int:
    return EDUCATION_ORDER.index(level) + 1 if level in EDUCATION_ORDER else 0


def majors_text(majors: list[str]) -> str:
    return "|" + "|".join(m.lower() for m in majors) + "|" if majors else ""


def _check_deadline(deadline: datetime, now: datetime) -> None:
    if deadline <= now:
        raise errors.ValidationFailed(fields={"deadline": "截止时间应晚于现在"})
    if deadline - now > MAX_AHEAD:
        raise errors.ValidationFailed(fields={"deadline": "截止时间最多在一年之后"})


# --- the provider's side -----------------------------------------------------------------------------


async def create(session: AsyncSession, *, actor: Principal, data: Any) -> OpeningProvider:
    postings.require_org_kind(actor, KIND)
    if ORG_KIND_FOR[data.kind] != actor.org_kind:
        raise oerr.WrongOrgKind("就业见习岗位由见习基地（用人单位）发布，创业孵化名额由孵化基地发布")
    _check_deadline(data.deadline, clock.now())
    values = data.model_dump()
    if isinstance(data, InternshipCreate):
        values.update(education_rank=education_rank(data.min_education), majors_text=majors_text(data.majors))
    opening = Opening.model_validate(values, update={"org_id": actor.org_id})
    session.add(opening)
    await session.flush()
    await audit.record(session, actor=actor, action="opening.create", target_kind=KIND.kind, target_id=opening.id,
                       detail={"kind": opening.kind})
    return await provider_view(session, opening)


async def get_own(session: AsyncSession, *, actor: Principal, opening_id: int) -> OpeningProvider:
    return await provider_view(session, await postings.load_own(session, actor, KIND, opening_id))


async def update_opening(session: AsyncSession, *, actor: Principal, opening_id: int, data: OpeningUpdate
                         ) -> OpeningProvider:
    opening = await postings.load_own(session, actor, KIND, opening_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    nullable = {"address", "min_education", "offer_notes", "starts_on"}
    empty = {k: "不能为空" for k, v in changes.items() if v is None and k not in nullable}
    wrong = INCUBATOR_ONLY if opening.kind == "internship" else INTERNSHIP_ONLY
    empty.update({k: "该类岗位没有这一项" for k in changes if k in wrong})
    if opening.kind == "internship" and "address" in changes and changes["address"] is None:
        empty["address"] = "不能为空"
    if empty:
        raise errors.ValidationFailed(fields=empty)
    if "deadline" in changes:
        _check_deadline(changes["deadline"], clock.now())
    if "places" in changes and changes["places"] < opening.taken:
        raise oerr.PlacesBelowTaken(f"已有{opening.taken}人接受录用，名额不能少于{opening.taken}")
    if "min_education" in changes:
        changes["education_rank"] = education_rank(changes["min_education"])
    if "majors" in changes:
        changes["majors_text"] = majors_text(changes["majors"])
    changed = {k for k, v in changes.items() if getattr(opening, k) != v}
    for key in changed:
        setattr(opening, key, changes[key])
    await moderation.after_edit(session, actor=actor, kind=KIND, obj=opening, changed=changed)
    return await provider_view(session, opening)


async def provider_view(session: AsyncSession, opening: Opening) -> OpeningProvider:
    rows = await session.execute(select(A.status, func.count()).where(A.opening_id == opening.id).group_by(A.status))
    data = {f: getattr(opening, f) for f in OpeningProvider.model_fields if f != "counts"}
    return OpeningProvider(**data, counts={status: n for status, n in rows})


# --- what young people find ------------------------------------------------------------------------------


def state_of(opening: Opening, now: datetime) -> str:
    """Open, full or closed — closed from the deadline on, before the sweeper stores it."""
    if opening.status != PostingStatus.published or now >= opening.deadline:
        return "closed"
    return "full" if opening.taken >= opening.places else "open"


def _distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _planar(lat0: float, lng0: float) -> Any:
    """Squared distance on a plane tangent at the origin: plain arithmetic, the same SQL on both databases
    (the exact distance is checked in Python)."""
    kx = KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat0)))
    dx = (OP.lng - lng0) * kx
    dy = (OP.lat - lat0) * KM_PER_DEGREE
    return dx * dx + dy * dy


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def browse(session: AsyncSession, *, kind: str, district: str | None, education: str | None, major: str | None,
                 stipend_min: int | None, stipend_max: int | None, q: str | None, near: tuple[float, float] | None,
                 radius_km: float, sort: str | None, cursor: str | None, limit: int) -> Page[OpeningSummary]:
    """Published openings of one kind still taking applications."""
    now = clock.now()
    sort = sort or ("distance" if near else "newest")
    if sort == "distance" and near is None:
        raise errors.ValidationFailed(fields={"lat": "按距离排序需要提供位置"})
    if stipend_min is not None and stipend_max is not None and stipend_min > stipend_max:
        raise errors.ValidationFailed(fields={"stipend_min": "最低补贴不能高于最高补贴"})
    conds: list[Any] = [KIND.listed(), OP.kind == kind, OP.deadline > now]
    if district:
        conds.append(OP.district == district)
    if education:
        conds.append(OP.education_rank <= education_rank(education))
    if major:
        conds.append(or_(OP.majors_text == "", OP.majors_text.like(_like(major), escape="\\")))
    if stipend_min is not None:
        conds.append(OP.stipend_fen >= stipend_min)
    if stipend_max is not None:
        conds.append(OP.stipend_fen <= stipend_max)
    if q:
        pattern = _like(q)
        conds.append(or_(func.lower(OP.title).like(pattern, escape="\\"),
                         func.lower(OP.description).like(pattern, escape="\\")))
    accept = None
    if near is not None:
        lat, lng = near
        dlat = radius_km / KM_PER_DEGREE
        dlng = radius_km / (KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
        conds += [OP.lat.between(lat - dlat, lat + dlat), OP.lng.between(lng - dlng, lng + dlng)]

        def accept(r: Any) -> bool:
            return _distance_km(lat, lng, r[0].lat, r[0].lng) <= radius_km

    stmt = select(Opening, Organisation.name).join(Organisation, Organisation.id == OP.org_id).where(*conds)
    published = func.coalesce(OP.published_at, OP.created_at)
    orders = {
        "newest": [Key("p", published, datetime, desc=True), Key("i", OP.id, desc=True)],
        "deadline": [Key("d", OP.deadline, datetime), Key("i", OP.id)],
        "stipend": [Key("s", func.coalesce(OP.stipend_fen, 0), int, desc=True), Key("i", OP.id, desc=True)],
    }
    if sort == "distance":
        assert near is not None
        order = [Key("k", _planar(*near), float), Key("i", OP.id)]
    else:
        order = orders[sort]
    page = await keyset(session, stmt, order, cursor=cursor, limit=limit, tag=f"openings-{kind}-{sort}",
                        accept=accept, slack=limit)
    return page.page(lambda r: summary(r[0], r[1], now, near))


def summary(o: Opening, org_name: str, now: datetime, near: tuple[float, float] | None = None
            ) -> OpeningSummary:
    distance = None
    if near and o.lat is not None and o.lng is not None:
        distance = round(_distance_km(near[0], near[1], o.lat, o.lng), 2)
    return OpeningSummary(
        id=o.id, kind=o.kind, title=o.title, org_name=org_name, district=o.district, lat=o.lat, lng=o.lng,
        distance_km=distance, places=o.places, places_left=max(o.places - o.taken, 0), deadline=o.deadline,
        state=state_of(o, now), stipend_fen=o.stipend_fen, duration_months=o.duration_months,
        min_education=o.min_education, majors=o.majors, free_office_months=o.free_office_months,
        published_at=o.published_at)


async def visible(session: AsyncSession, opening_id: int) -> tuple[Opening, str | None]:
    row = (await session.execute(select(Opening, Organisation.name).join(Organisation, Organisation.id == OP.org_id)
                                 .where(OP.id == opening_id))).first()
    if row is None or not KIND.is_visible(row[0]):
        raise errors.NotFound()
    return row[0], row[1]


async def detail(session: AsyncSession, *, actor: Principal | None, opening_id: int) -> OpeningPublic:
    from app.services.openings.pipeline import can_withdraw, effective_status

    opening, org_name = await visible(session, opening_id)
    now = clock.now()
    mine = None
    if actor is not None and actor.is_youth:
        app = (await session.execute(select(OpeningApplication).where(A.opening_id == opening.id,
                                                                      A.user_id == actor.user_id)
                                     .order_by(A.id.desc()).limit(1))).scalar_one_or_none()
        if app is not None:
            status = effective_status(app, now)
            mine = MyApplicationBrief(id=app.id, status=status, can_withdraw=can_withdraw(status))
    invited = mine is not None and mine.status in ("interview", "offered", "accepted")
    base = summary(opening, org_name, now).model_dump()
    return OpeningPublic(
        **base, description=opening.description, address=opening.address, contact_name=opening.contact_name,
        contact_phone=opening.contact_phone if invited else None, starts_on=opening.starts_on,
        min_age=opening.min_age, max_age=opening.max_age, graduated_within_years=opening.graduated_within_years,
        mentoring=opening.mentoring, funding_help=opening.funding_help, offer_notes=opening.offer_notes,
        stages=opening.stages, sectors=opening.sectors, my_application=mine)


# --- the deadline ----------------------------------------------------------------------------------------

CLOSE_BATCH = 100


@sweeper.job("openings.close_at_deadline", every=60, batch=CLOSE_BATCH,
             description="见习/孵化：到截止时间的岗位自动关闭，并通知发布机构")
async def close_at_deadline(session: AsyncSession, now: datetime) -> int:
    """Close published openings whose deadline passed (Frappe HR closes openings by a scheduled job too).
    Claimed with SKIP LOCKED and a conditional UPDATE, so each closes once however many sweepers run;
    the organisation is told how many applications wait."""
    claim = skip_locked(select(OP.id).where(OP.status == PostingStatus.published, OP.deadline <= now)
                        .order_by(OP.deadline, OP.id).limit(CLOSE_BATCH).with_for_update(), session)
    ids = (await session.execute(claim)).scalars().all()
    if not ids:
        return 0
    closed = (await session.execute(
        update(Opening).where(OP.id.in_(ids), OP.status == PostingStatus.published, OP.deadline <= now)
        .values(status=PostingStatus.closed, deadline_closed_at=now, updated_at=utcnow())
        .returning(OP.id, OP.org_id, OP.title, OP.deadline).execution_options(**NO_SYNC))).all()
    counts = dict((await session.execute(
        select(A.opening_id, func.count()).where(A.opening_id.in_([c.id for c in closed]),
                                                 A.status.in_(("submitted", "viewed", "interview")))
        .group_by(A.opening_id))).all())
    for c in closed:
        await tell_org(session, CLOSED_AT_DEADLINE, c.org_id, data={"opening_id": c.id}, opening=c.title,
                       deadline=c.deadline, count=counts.get(c.id, 0))
        await audit.record(session, actor=None, action="opening.close_at_deadline", target_kind=KIND.kind,
                           target_id=c.id)
    return len(ids)
