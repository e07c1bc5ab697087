"""Applications: a young person applies and answers offers; the project's organisation reviews,
lists and exports them (and only it sees applicants' personal data, masked where sensitive)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.config import get_settings
from app.deps import Principal
from app.kit import postings, ratelimit
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.housing import (
    LAYOUT_LABELS,
    STATUS_LABELS,
    Applicant,
    HistoryItem,
    MyApplication,
    ProviderApplication,
)
from app.services import audit, notifications
from app.services.housing.allocation import expire_due, expire_project, fill, release
from app.services.housing.common import (
    APP,
    KIND,
    UT,
    P,
    accepting,
    lock_project,
    lottery_of,
    new_application_number,
    real_name_verified,
    shanghai_day,
    sync_project,
    transition,
    unmet_rules,
)
from app.validators import SHANGHAI, age_on
from models.accounts import User
from models.housing import (
    ACTIVE_APPLICATION_STATUSES,
    HousingApplication,
    HousingApplicationEvent,
    HousingProject,
    HousingUnitType,
)

# --- the young person's side ------------------------------------------------------------------------


# Per person; counted before the request's session touches the database (app.kit.ratelimit).
APPLY_LIMIT = ratelimit.bucket("housing_apply", "10/60", description="住房申请，每人")


async def apply(session: AsyncSession, *, actor: Principal, project_id: int, unit_type_id: int) -> MyApplication:
    now = clock.now()
    settings = get_settings()
    # A shared lock: applications go side by side, but never across the freeze of a lottery list.
    project = await session.get(P, project_id, with_for_update={"read": True}, populate_existing=True)
    if project is None or not KIND.is_visible(project):
        raise errors.NotFound()
    if not accepting(project, now):
        raise errors.HousingApplicationsClosed()
    unit = await session.get(UT, unit_type_id)
    if unit is None or unit.project_id != project.id:
        raise errors.ValidationFailed(fields={"unit_type_id": "该项目没有这个户型"})
    # Locking the person serialises their own applications, so the active-application limit holds.
    user = await session.get(User, actor.user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise errors.TokenInvalid()
    if not real_name_verified(user):
        raise errors.HousingRealNameRequired()
    unmet = unmet_rules(user, project, shanghai_day(now))
    if unmet:
        raise errors.HousingNotEligible(fields=unmet)
    active = (await session.execute(
        select(APP.project_id, APP.number)
        .where(APP.user_id == user.id, APP.status.in_(ACTIVE_APPLICATION_STATUSES))
    )).all()
    for pid, number in active:
        if pid == project.id:
            raise errors.HousingDuplicateApplication(f"您已申请过该项目（申请编号 {number}），请勿重复申请")
    limit = settings.housing_max_active_applications
    if len(active) >= limit:
        raise errors.HousingApplicationLimit(f"同时进行中的住房申请最多 {limit} 个，请先撤回或处理已有申请")
    app = None
    for _ in range(3):
        candidate = APP(number=new_application_number(project.id), project_id=project.id, unit_type_id=unit.id,
                        user_id=user.id, status="submitted", submitted_at=now, updated_at=now)
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
                raise errors.HousingDuplicateApplication(f"您已申请过该项目（申请编号 {dup}），请勿重复申请")
            continue
        app = candidate
        break
    if app is None:
        raise errors.Conflict()
    session.add(HousingApplicationEvent(application_id=app.id, from_status=None, to_status="submitted",
                                        reason=None, actor_role="youth", at=now))
    await session.flush()
    return _mine(app, project, unit)


def _mine(app: HousingApplication, project: HousingProject, unit: HousingUnitType,
          history: list[HousingApplicationEvent] | None = None, waiting: int | None = None) -> MyApplication:
    return MyApplication(
        id=app.id, number=app.number, project_id=project.id, project_name=project.name,
        district=project.district, unit_type_id=unit.id, layout=unit.layout,
        layout_label=LAYOUT_LABELS.get(unit.layout, unit.layout), rent_fen=unit.rent_fen,
        deposit_fen=unit.deposit_fen, status=app.status, status_label=STATUS_LABELS[app.status],
        status_reason=app.status_reason, draw_position=app.draw_position, submitted_at=app.submitted_at,
        offered_at=app.offered_at, offer_expires_at=app.offer_expires_at, responded_at=app.responded_at,
        waiting_position=waiting,
        history=None if history is None else [
            HistoryItem(from_status=e.from_status, to_status=e.to_status, to_status_label=STATUS_LABELS[e.to_status],
                        reason=e.reason, actor_role=e.actor_role, at=e.at) for e in history],
    )


async def my_applications(session: AsyncSession, *, actor: Principal, active_only: bool, cursor: str | None,
                          limit: int) -> Page[MyApplication]:
    now = clock.now()
    due = (await session.execute(select(APP.project_id).where(
        APP.user_id == actor.user_id, APP.status == "offered", APP.offer_expires_at <= now).distinct()
    )).scalars().all()
    for pid in sorted(due):
        await expire_project(session, pid, now)
    stmt = (select(APP, P, UT).join(P, P.id == APP.project_id).join(UT, UT.id == APP.unit_type_id)
            .where(APP.user_id == actor.user_id).order_by(APP.id.desc()).limit(limit + 1)
            .execution_options(populate_existing=True))
    if active_only:
        stmt = stmt.where(APP.status.in_(ACTIVE_APPLICATION_STATUSES))
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(APP.id < int(after["id"]))
    rows = (await session.execute(stmt)).all()
    nxt = encode_cursor({"id": rows[limit - 1][0].id}) if len(rows) > limit else None
    return Page(items=[_mine(a, p, u) for a, p, u in rows[:limit]], next_cursor=nxt)


async def _own_application(session: AsyncSession, actor: Principal, application_id: int) -> HousingApplication:
    app = await session.get(APP, application_id, populate_existing=True)
    if app is None or app.user_id != actor.user_id:
        raise errors.NotFound()
    return app


async def my_application(session: AsyncSession, *, actor: Principal, application_id: int) -> MyApplication:
    app = await _own_application(session, actor, application_id)
    await expire_due(session, app.project_id, clock.now())
    return await _mine_with_history(session, app)


async def _mine_with_history(session: AsyncSession, app: HousingApplication) -> MyApplication:
    await session.flush()
    project = await session.get(P, app.project_id)
    unit = await session.get(UT, app.unit_type_id)
    history = (await session.execute(
        select(HousingApplicationEvent).where(HousingApplicationEvent.application_id == app.id)
        .order_by(HousingApplicationEvent.id)
    )).scalars().all()
    return _mine(app, project, unit, list(history), await _waiting_position(session, app, project))


async def _waiting_position(session: AsyncSession, app: HousingApplication, project: HousingProject) -> int | None:
    """Place in the queue for the application's unit type: draw order on a drawn lottery, submission
    order on a first-come project."""
    if app.status != "eligible":
        return None
    if project.allocation == "lottery":
        if app.draw_position is None:
            return None
        ahead = APP.draw_position < app.draw_position
    else:
        ahead = APP.id < app.id
    n = (await session.execute(select(func.count()).select_from(APP).where(
        APP.project_id == app.project_id, APP.unit_type_id == app.unit_type_id, APP.status == "eligible", ahead
    ))).scalar()
    return n + 1


async def respond(session: AsyncSession, *, actor: Principal, application_id: int, action: str,
                  reason: str | None = None) -> MyApplication:
    """The applicant accepts or declines an offer, or withdraws (at any time before accepting)."""
    now = clock.now()
    app = await _own_application(session, actor, application_id)
    project = await lock_project(session, app.project_id)
    await expire_due(session, project.id, now)
    app = await session.get(APP, application_id, populate_existing=True, with_for_update=True)
    label = STATUS_LABELS[app.status]
    if action in ("accept", "decline"):
        if app.status == "expired":
            raise errors.HousingOfferExpired()
        if app.status != "offered":
            raise errors.HousingApplicationState(f"该申请当前为「{label}」，没有待确认的房源")
        app.responded_at = now
        if action == "accept":
            transition(session, app, "accepted", reason=reason, actor_role="youth", now=now)
        else:
            transition(session, app, "declined", reason=reason or "申请人放弃", actor_role="youth", now=now)
            await release(session, app.unit_type_id)
            await fill(session, project, now)
    else:
        if app.status not in ("submitted", "eligible", "offered"):
            raise errors.HousingApplicationState(f"该申请当前为「{label}」，不能撤回")
        was_offered = app.status == "offered"
        transition(session, app, "withdrawn", reason=reason or "申请人撤回", actor_role="youth", now=now)
        if was_offered:
            app.responded_at = now
            await release(session, app.unit_type_id)
            await fill(session, project, now)
    await sync_project(session, project)
    return await _mine_with_history(session, app)


# --- the project organisation's side --------------------------------------------------------------------


def _applicant(user: User, today: date) -> Applicant:
    return Applicant(
        real_name=user.real_name, id_number_masked=user.id_number_masked, phone_masked=user.phone_masked,
        age=age_on(user.birth_date, today) if user.birth_date else None, gender=user.gender,
        district=user.district, education=user.education, graduation_year=user.graduation_year,
        employment_status=user.employment_status, owns_home_in_kunming=user.owns_home_in_kunming,
        works_in_kunming=user.works_in_kunming,
    )


def _for_provider(app: HousingApplication, unit: HousingUnitType, user: User, project: HousingProject,
                  today: date) -> ProviderApplication:
    return ProviderApplication(
        id=app.id, number=app.number, project_id=app.project_id, unit_type_id=app.unit_type_id,
        layout=unit.layout, status=app.status, status_label=STATUS_LABELS[app.status],
        status_reason=app.status_reason, draw_position=app.draw_position, submitted_at=app.submitted_at,
        decided_at=app.decided_at, offered_at=app.offered_at, offer_expires_at=app.offer_expires_at,
        applicant=_applicant(user, today), unmet_rules=unmet_rules(user, project, today),
    )


def _applications_query(project_id: int, status: str | None, unit_type_id: int | None, number: str | None
                        ) -> Any:
    stmt = (select(APP, UT, User).join(UT, UT.id == APP.unit_type_id).join(User, User.id == APP.user_id)
            .where(APP.project_id == project_id).execution_options(populate_existing=True))
    if status:
        stmt = stmt.where(APP.status == status)
    if unit_type_id:
        stmt = stmt.where(APP.unit_type_id == unit_type_id)
    if number:
        stmt = stmt.where(APP.number == number.strip().upper())
    return stmt


async def provider_applications(
    session: AsyncSession, *, actor: Principal, project_id: int, status: str | None, unit_type_id: int | None,
    number: str | None, order: str, cursor: str | None, limit: int,
) -> Page[ProviderApplication]:
    now = clock.now()
    project = await postings.load_own(session, actor, KIND, project_id)
    await expire_due(session, project.id, now)
    stmt = _applications_query(project.id, status, unit_type_id, number).limit(limit + 1)
    after = decode_cursor(cursor, "o", "k")
    if after and after["o"] != order:
        raise errors.InvalidCursor()
    try:
        if order == "draw":
            stmt = stmt.where(APP.draw_position.is_not(None)).order_by(APP.draw_position)
            if after:
                stmt = stmt.where(APP.draw_position > int(after["k"]))
        else:
            stmt = stmt.order_by(APP.id)
            if after:
                stmt = stmt.where(APP.id > int(after["k"]))
    except (TypeError, ValueError):
        raise errors.InvalidCursor()
    rows = (await session.execute(stmt)).all()
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = encode_cursor({"o": order, "k": last.draw_position if order == "draw" else last.id})
    today = shanghai_day(now)
    items = [_for_provider(a, u, usr, project, today) for a, u, usr in rows[:limit]]
    # Reading applicants' personal data is itself audited (and no personal data goes in the entry).
    await audit.record(session, actor=actor, action="housing_application.list", target_kind=KIND.kind,
                       target_id=project.id, detail={"count": len(items), "status": status})
    return Page(items=items, next_cursor=nxt)


async def decide(session: AsyncSession, *, actor: Principal, application_id: int, decision: str,
                 reason: str | None) -> ProviderApplication:
    now = clock.now()
    postings.require_org_kind(actor, KIND)
    app = await session.get(APP, application_id)
    if app is None:
        raise errors.NotFound()
    project = await lock_project(session, app.project_id)
    if project.org_id != actor.org_id:
        raise errors.NotFound()
    app = await session.get(APP, application_id, with_for_update=True, populate_existing=True)
    if project.allocation == "lottery" and await lottery_of(session, project.id) is not None:
        raise errors.HousingListFrozen()
    if app.status != "submitted":
        raise errors.HousingApplicationState(f"该申请当前为「{STATUS_LABELS[app.status]}」，不能再审核")
    transition(session, app, decision, reason=reason, actor_role="provider", now=now)
    app.decided_at = now
    data = {"application_id": app.id, "project_id": project.id}
    if decision == "eligible":
        then = "请留意摇号结果。" if project.allocation == "lottery" else "房源将按申请先后依次分配。"
        notifications.notify(session, user_id=app.user_id, kind="housing.eligible", title="住房申请审核通过",
                             body=f"您申请的「{project.name}」已审核通过，{then}", data=data)
    else:
        notifications.notify(session, user_id=app.user_id, kind="housing.ineligible", title="住房申请未通过审核",
                             body=f"您申请的「{project.name}」未通过审核：{reason}", data=data)
    await audit.record(session, actor=actor, action="housing_application.decide",
                       target_kind="housing_application", target_id=app.id, reason=reason,
                       detail={"decision": decision, "project_id": project.id})
    if decision == "eligible" and project.allocation == "first_come":
        await fill(session, project, now)
        await sync_project(session, project)
    await session.flush()
    unit = await session.get(UT, app.unit_type_id)
    user = await session.get(User, app.user_id)
    return _for_provider(app, unit, user, project, shanghai_day(now))


_CSV_HEADER = [
    "申请编号", "状态", "户型", "月租金(元)", "姓名", "身份证号(脱敏)", "手机号(脱敏)", "年龄", "性别", "学历",
    "毕业年份", "就业状态", "在昆有自有住房", "在昆工作", "提交时间", "审核时间", "抽签顺序", "说明",
]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell that starts like a formula would run in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


async def export_csv(session: AsyncSession, *, actor: Principal, project_id: int, status: str | None
                     ) -> tuple[str, str]:
    """The project's applications as CSV (ID and phone numbers masked); returns (file name, text)."""
    now = clock.now()
    project = await postings.load_own(session, actor, KIND, project_id)
    await expire_due(session, project.id, now)
    rows = (await session.execute(_applications_query(project.id, status, None, None).order_by(APP.id))).all()
    today = shanghai_day(now)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 Chinese correctly only with the BOM
    writer = csv.writer(out)
    writer.writerow(_CSV_HEADER)
    for app, unit, user in rows:
        who = _applicant(user, today)
        writer.writerow([_cell(v) for v in (
            app.number, STATUS_LABELS[app.status], unit.name or LAYOUT_LABELS.get(unit.layout, unit.layout),
            f"{unit.rent_fen / 100:.2f}", who.real_name, who.id_number_masked, who.phone_masked, who.age,
            {"male": "男", "female": "女"}.get(who.gender or "", ""), who.education, who.graduation_year,
            who.employment_status, _yes_no(who.owns_home_in_kunming), _yes_no(who.works_in_kunming),
            _local(app.submitted_at), _local(app.decided_at), app.draw_position, app.status_reason,
        )])
    await audit.record(session, actor=actor, action="housing_application.export", target_kind=KIND.kind,
                       target_id=project.id, detail={"rows": len(rows), "status": status})
    return f"housing-{project.id}-applications-{now.astimezone(SHANGHAI):%Y%m%d%H%M}.csv", out.getvalue()


async def count_by_status(session: AsyncSession, project_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {pid: {} for pid in project_ids}
    if project_ids:
        rows = await session.execute(select(APP.project_id, APP.status, func.count())
                                     .where(APP.project_id.in_(project_ids)).group_by(APP.project_id, APP.status))
        for pid, status, n in rows.all():
            out[pid][status] = n
    return out
