"""Dashboards (四(四) 强化数据监测): counts from the services' own tables, never a row about a person.

Each dashboard is a table of counts with row and column totals, computed for a period (Shanghai days
``date_from``–``date_to``, both included) and optionally one district, served three ways from one function: the console page
(a chart with the same table beside it), JSON (``/api/v1/staff/stats/{name}``) and CSV. Counts of
people pass through ``app.kit.cells.suppress`` (1–9 shown as "<10", also against the totals); counts
of postings (organisations' public work) are shown as they are. Counselling is counted only, never by
counsellor. Every export is audited (who, which table, which filters).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.config import KUNMING_DISTRICTS
from app.deps import Principal
from app.kit.cells import suppress
from app.kit.csv import CsvExport
from app.kit.postings import REGISTRY
from app.kit.time import day_span, local_day
from app.services import audit
from app.services.console.errors import UnknownDashboard
from app.services.console.settings import settings
from models.accounts import User
from models.counselling import CounsellingBooking
from models.events import EventRegistration
from models.housing import HousingApplication
from models.moderation import PostingStatus
from models.volunteer import VolunteerHours, VolunteerSignup

AGE_BANDS = ((14, 17), (18, 24), (25, 29), (30, 35))
UNKNOWN_DISTRICT = "未填写"


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    district: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"date_from": self.first.isoformat(), "date_to": self.last.isoformat(), "district": self.district}


def filters(first: date | None, last: date | None, district: str | None) -> Filters:
    """The period defaults to the twelve weeks up to today (Shanghai)."""
    from app import errors

    last = last or local_day(clock.now())
    first = first or last - timedelta(weeks=12) + timedelta(days=1)
    if first > last:
        raise errors.ValidationFailed(fields={"date_from": "开始日期不能晚于结束日期"})
    if (last - first).days > 800:
        raise errors.ValidationFailed(fields={"date_from": "统计区间最长约两年"})
    if district is not None and district not in KUNMING_DISTRICTS:
        raise errors.ValidationFailed(fields={"district": "请选择昆明市的区县"})
    return Filters(first, last, district)


@dataclass
class Table:
    name: str
    title: str
    row_label: str
    columns: list[str]
    rows: list[str]
    cells: list[list[int]]
    people: bool = True  # counts of people: suppressed
    unit: str = "人次"
    chart: str = "bar"  # bar | line
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    build: Callable[[AsyncSession, Filters], Awaitable[Table]]


DASHBOARDS: dict[str, Dashboard] = {}


def dashboard(name: str, title: str) -> Callable[[Callable[[AsyncSession, Filters], Awaitable[Table]]], Any]:
    def register(fn: Callable[[AsyncSession, Filters], Awaitable[Table]]) -> Any:
        DASHBOARDS[name] = Dashboard(name, title, fn)
        return fn

    return register


def get(name: str) -> Dashboard:
    try:
        return DASHBOARDS[name]
    except KeyError:
        raise UnknownDashboard()


# --- the published shape --------------------------------------------------------------------------


def published(table: Table, f: Filters) -> dict[str, Any]:
    """What leaves the server: people's counts suppressed (an int, or "<10")."""
    threshold = settings().console_min_cell
    if table.people:
        s = suppress(table.cells, threshold)
        cells, row_totals, column_totals, total = s.cells, s.row_totals, s.column_totals, s.total
    else:
        cells = [list(r) for r in table.cells]
        row_totals = [sum(r) for r in table.cells]
        column_totals = [sum(r[c] for r in table.cells) for c in range(len(table.columns))]
        total = sum(row_totals)

    def shown(v: int | None) -> int | str:
        return f"<{threshold}" if v is None else v

    return {
        "name": table.name, "title": table.title, "unit": table.unit, "chart": table.chart,
        "filters": f.as_dict(), "row_label": table.row_label, "columns": table.columns,
        "rows": [{"label": label, "cells": [shown(v) for v in cells[i]], "total": shown(row_totals[i])}
                 for i, label in enumerate(table.rows)],
        "column_totals": [shown(v) for v in column_totals], "total": shown(total),
        "suppressed_below": threshold if table.people else None, "notes": table.notes,
    }


async def compute(session: AsyncSession, name: str, f: Filters) -> dict[str, Any]:
    d = get(name)
    return published(await d.build(session, f), f)


async def export(session: AsyncSession, *, actor: Principal, name: str, f: Filters) -> CsvExport:
    data = await compute(session, name, f)
    await audit.record(session, actor=actor, action="stats.export", target_kind="stats", target_id=name,
                       detail=f.as_dict())
    header = [data["row_label"], *data["columns"], "合计"]
    rows: list[Sequence[Any]] = [[r["label"], *r["cells"], r["total"]] for r in data["rows"]]
    rows.append(["合计", *data["column_totals"], data["total"]])
    suffix = f"_{f.district}" if f.district else ""
    return CsvExport(filename=f"{data['title']}_{f.first.isoformat()}_{f.last.isoformat()}{suffix}.csv",
                     header=header, rows=rows)


# --- helpers ----------------------------------------------------------------------------------------


def _weeks(f: Filters) -> list[date]:
    monday = f.first - timedelta(days=f.first.weekday())
    out = []
    while monday <= f.last:
        out.append(monday)
        monday += timedelta(weeks=1)
    return out


def _week_of(dt: datetime) -> date:
    day = local_day(dt)
    return day - timedelta(days=day.weekday())


def _in_period(column: Any, f: Filters) -> Any:
    start, end = day_span(f.first, f.last)
    return and_(column >= start, column < end)


async def _weekly(session: AsyncSession, f: Filters, series: Sequence[tuple[Any, Any]], *,
                  where: Sequence[Any] = ()) -> tuple[list[str], list[list[int]]]:
    """Rows: the weeks of the period (from Monday); columns: one per (user column, time column), each
    counting the rows whose time falls in the week (optionally only of people of the district)."""
    weeks = _weeks(f)
    index = {w: i for i, w in enumerate(weeks)}
    cells = [[0] * len(series) for _ in weeks]
    for c, (user_col, at_col) in enumerate(series):
        stmt = select(at_col).where(_in_period(at_col, f), at_col.is_not(None), *where)
        if f.district:
            stmt = stmt.join(User, User.id == user_col).where(User.district == f.district)
        for (at,) in (await session.execute(stmt)).all():
            i = index.get(_week_of(at))
            if i is not None:
                cells[i][c] += 1
    return [f"{w.month}月{w.day}日起" for w in weeks], cells


# --- the dashboards ----------------------------------------------------------------------------------


@dashboard("youth", "注册青年（年龄段×区县）")
async def youth(session: AsyncSession, f: Filters) -> Table:
    """Young people registered by the end of the period (those who registered within it when a start is
    given), by their age on its last day and their district."""
    def born_after(years: int) -> date:
        try:
            return f.last.replace(year=f.last.year - years)
        except ValueError:  # 29 February
            return f.last.replace(year=f.last.year - years, day=28)

    band = case(*((and_(User.birth_date <= born_after(lo), User.birth_date > born_after(hi + 1)), i)
                  for i, (lo, hi) in enumerate(AGE_BANDS)), else_=-1)
    _start, end = day_span(f.first, f.last)
    stmt = (select(User.district, band.label("band"), func.count().label("n"))
            .where(User.role == "youth", User.birth_date.is_not(None), User.created_at < end)
            .group_by(User.district, band))
    if f.district:
        stmt = stmt.where(User.district == f.district)
    districts = [f.district] if f.district else [*KUNMING_DISTRICTS, UNKNOWN_DISTRICT]
    counts: Counter[tuple[str, int]] = Counter()
    for district, b, n in (await session.execute(stmt)).all():
        if b >= 0:
            counts[(district if district in KUNMING_DISTRICTS else UNKNOWN_DISTRICT, b)] += n
    cells = [[counts[(d, b)] for b in range(len(AGE_BANDS))] for d in districts]
    return Table("youth", DASHBOARDS["youth"].title, "区县", [f"{lo}–{hi}岁" for lo, hi in AGE_BANDS], districts,
                 cells, unit="人", notes=[f"年龄按{f.last.isoformat()}计算；只计已填写出生日期（实名）的青年。"])


@dashboard("activity", "各项服务每周使用（人次）")
async def activity(session: AsyncSession, f: Filters) -> Table:
    rows, cells = await _weekly(session, f, [
        (HousingApplication.user_id, HousingApplication.submitted_at),
        (EventRegistration.user_id, EventRegistration.created_at),
        (EventRegistration.user_id, EventRegistration.checked_in_at),
        (CounsellingBooking.user_id, CounsellingBooking.created_at),
        (VolunteerSignup.user_id, VolunteerSignup.created_at),
        (VolunteerSignup.user_id, VolunteerSignup.checked_in_at),
    ])
    return Table("activity", DASHBOARDS["activity"].title, "周", ["住房申请", "活动报名", "活动签到", "心理咨询预约",
                                                               "志愿报名", "志愿签到"], rows, cells, chart="line")


@dashboard("counselling", "心理咨询预约与风险提示（仅计数）")
async def counselling(session: AsyncSession, f: Filters) -> Table:
    rows, bookings = await _weekly(session, f, [(CounsellingBooking.user_id, CounsellingBooking.created_at)])
    _, flagged = await _weekly(session, f, [(CounsellingBooking.user_id, CounsellingBooking.created_at)],
                               where=[CounsellingBooking.risk_flag.is_(True)])
    cells = [[bookings[i][0], flagged[i][0]] for i in range(len(rows))]
    return Table("counselling", DASHBOARDS["counselling"].title, "周", ["预约", "风险提示"], rows, cells,
                 notes=["只有计数，不含任何咨询内容，也不按咨询师分列。"])


@dashboard("volunteer", "志愿服务人数（月份×服务类别）")
async def volunteer(session: AsyncSession, f: Filters) -> Table:
    """Distinct volunteers with confirmed hours, by the month served and the project's category; the
    hours themselves are in the notes where the cell is large enough."""
    stmt = (select(VolunteerHours.served_on, VolunteerHours.category, VolunteerHours.user_id,
                   VolunteerHours.minutes)
            .where(VolunteerHours.status == "confirmed", VolunteerHours.served_on >= f.first,
                   VolunteerHours.served_on <= f.last))
    if f.district:
        stmt = stmt.join(User, User.id == VolunteerHours.user_id).where(User.district == f.district)
    people: dict[tuple[str, str], set[int]] = defaultdict(set)
    categories: set[str] = set()
    months: list[str] = []
    m = f.first.replace(day=1)
    while m <= f.last:
        months.append(f"{m.year}年{m.month}月")
        m = (m + timedelta(days=32)).replace(day=1)
    for served_on, category, user_id, _ in (await session.execute(stmt)).all():
        categories.add(category)
        people[(f"{served_on.year}年{served_on.month}月", category)].add(user_id)
    cols = sorted(categories) or ["（无）"]
    cells = [[len(people.get((mo, c), ())) for c in cols] for mo in months]
    return Table("volunteer", DASHBOARDS["volunteer"].title, "月份", cols, months, cells, unit="人")


@dashboard("moderation", "审核积压与处理（按内容类型）")
async def moderation(session: AsyncSession, f: Filters) -> Table:
    """Every registered posting kind (a new service appears here by registering): waiting now, and
    decided within the period. Postings are organisations' public work: not suppressed."""
    start, end = day_span(f.first, f.last)
    rows, cells, waits = [], [], []
    for k in REGISTRY.values():
        mdl = k.model
        decided = and_(mdl.reviewed_at >= start, mdl.reviewed_at < end)
        stmt = select(
            func.count().filter(mdl.status == PostingStatus.pending_review),
            func.count().filter(decided, mdl.status.in_((PostingStatus.published, PostingStatus.closed))),
            func.count().filter(decided, mdl.status == PostingStatus.rejected),
            func.count().filter(decided, mdl.status == PostingStatus.taken_down),
        )
        rows.append(k.label)
        cells.append([int(v or 0) for v in (await session.execute(stmt)).one()])
        spans = (await session.execute(select(mdl.submitted_at, mdl.reviewed_at).where(
            decided, mdl.submitted_at.is_not(None), mdl.status != PostingStatus.taken_down))).all()
        hours = sorted((r - s).total_seconds() / 3600 for s, r in spans if r >= s)
        if hours:
            waits.append(f"{k.label} {hours[len(hours) // 2]:.1f} 小时（{len(hours)} 条）")
    notes = ["“已通过/未通过/已下架”为统计区间内作出的最后一次决定。"]
    if waits:
        notes.append("从提交到审核决定的中位时长：" + "；".join(waits) + "。")
    return Table("moderation", DASHBOARDS["moderation"].title, "内容类型", ["待审核", "已通过", "未通过", "已下架"],
                 rows, cells, people=False, unit="条", notes=notes)


@dashboard("events", "联谊活动名额、报名与到场（按活动开始周）")
async def events(session: AsyncSession, f: Filters) -> Table:
    """Events that took place or will (published, closed after publishing), by the week they start:
    their places, confirmed sign-ups (also those who later did not come), check-ins and no-shows."""
    from models.events import Event

    weeks = _weeks(f)
    index = {w: i for i, w in enumerate(weeks)}
    cells = [[0, 0, 0, 0] for _ in weeks]
    shown = and_(Event.published_at.is_not(None), Event.status.in_((PostingStatus.published, PostingStatus.closed)),
                 _in_period(Event.starts_at, f))
    if f.district:
        shown = and_(shown, Event.district == f.district)
    for starts_at, capacity in (await session.execute(select(Event.starts_at, Event.capacity).where(shown))).all():
        i = index.get(_week_of(starts_at))
        if i is not None:
            cells[i][0] += capacity
    regs = (select(Event.starts_at, EventRegistration.status, EventRegistration.checked_in_at)
            .join(Event, Event.id == EventRegistration.event_id)
            .where(shown, EventRegistration.status.in_(("confirmed", "no_show"))))
    for starts_at, status, checked_in_at in (await session.execute(regs)).all():
        i = index.get(_week_of(starts_at))
        if i is None:
            continue
        cells[i][1] += 1
        cells[i][2] += checked_in_at is not None
        cells[i][3] += status == "no_show"
    table = Table("events", DASHBOARDS["events"].title, "活动开始周", ["名额", "已报名", "已签到", "未到场"],
                  [f"{w.month}月{w.day}日起" for w in weeks], cells)
    places, signed, came, missed = (sum(r[c] for r in cells) for c in range(4))
    threshold = settings().console_min_cell
    if signed >= threshold and places:
        table.notes.append(f"区间内满员率约 {signed / places:.0%}，未到场率约 {missed / signed:.0%}（按合计计算）。")
    del came
    return table


@dashboard("housing", "青年住房：房源与申请（按区县）")
async def housing(session: AsyncSession, f: Filters) -> Table:
    """Units offered by published projects and the applications made within the period, by district;
    the oversubscription (applications per unit) is given where the applications are shown."""
    from models.housing import HousingProject, HousingUnitType

    live = and_(HousingProject.published_at.is_not(None),
                HousingProject.status.in_((PostingStatus.published, PostingStatus.closed)))
    districts = [f.district] if f.district else list(KUNMING_DISTRICTS)
    index = {d: i for i, d in enumerate(districts)}
    cells = [[0, 0] for _ in districts]
    units = (select(HousingProject.district, func.coalesce(func.sum(HousingUnitType.available_units), 0))
             .join(HousingUnitType, HousingUnitType.project_id == HousingProject.id).where(live)
             .group_by(HousingProject.district))
    for district, n in (await session.execute(units)).all():
        if district in index:
            cells[index[district]][0] += int(n)
    apps = (select(HousingProject.district, func.count()).select_from(HousingApplication)
            .join(HousingProject, HousingProject.id == HousingApplication.project_id)
            .where(_in_period(HousingApplication.submitted_at, f)).group_by(HousingProject.district))
    for district, n in (await session.execute(apps)).all():
        if district in index:
            cells[index[district]][1] += int(n)
    table = Table("housing", DASHBOARDS["housing"].title, "区县", ["可分配套数", "申请人次"], districts, cells)
    shown = suppress(cells, settings().console_min_cell)
    ratios = [f"{d} {a / u:.1f} 倍" for d, (u, a), s in zip(districts, cells, shown.cells, strict=True)
              if s[1] is not None and u and a]
    if ratios:
        table.notes.append("申请人次与可分配套数之比：" + "；".join(ratios) + "。")
    return table


@dashboard("volunteer_stars", "星级志愿者（截至统计末日）")
async def volunteer_stars(session: AsyncSession, f: Filters) -> Table:
    """Volunteers by star level on their confirmed hours served up to the period's last day
    (thresholds: YOUTH_VOLUNTEER_STAR_THRESHOLDS_HOURS)."""
    from app.services.volunteer.settings import settings as volunteer_settings

    thresholds = volunteer_settings().volunteer_star_thresholds_hours
    stmt = (select(VolunteerHours.user_id, func.sum(VolunteerHours.minutes))
            .where(VolunteerHours.status == "confirmed", VolunteerHours.served_on <= f.last)
            .group_by(VolunteerHours.user_id))
    if f.district:
        stmt = stmt.join(User, User.id == VolunteerHours.user_id).where(User.district == f.district)
    counts = [0] * (len(thresholds) + 1)
    for _, minutes in (await session.execute(stmt)).all():
        hours = (minutes or 0) / 60
        counts[sum(hours >= t for t in thresholds)] += 1
    labels = [f"未达星级（<{thresholds[0]}小时）"] + [f"{i + 1}星（≥{t}小时）" for i, t in enumerate(thresholds)]
    return Table("volunteer_stars", DASHBOARDS["volunteer_stars"].title, "星级", ["人数"], labels,
                 [[n] for n in counts], unit="人")
