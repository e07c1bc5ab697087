"""The project organisation's side of applications: reviewing (and correcting a decision), withdrawing
an offer, the list and the CSV export. Only the project's own organisation sees applicants' personal
data, masked where sensitive, and every read of it is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import postings
from app.kit.csv import CsvExport, batched
from app.kit.pagination import Key, Page, keyset
from app.kit.time import display, local_day
from app.schemas.housing import LAYOUT_LABELS, STATUS_LABELS, Applicant, ProviderApplication
from app.services import audit
from app.services.housing import allocation, notices
from app.services.housing.common import (
    APP,
    KIND,
    LAPSE_REASON,
    UT,
    S,
    lapsed,
    lapsed_sql,
    lottery_of,
    shown_status,
    status_is,
    transition,
    unmet_rules,
)
from app.services.housing.errors import (
    HousingApplicationState,
    HousingListFrozen,
    HousingOfferExpired,
)
from app.services.notifications.catalogue import notify
from app.validators import age_on
from models.accounts import User
from models.housing import Allocation, HousingApplication, HousingProject, HousingUnitType


def _applicant(user: User, today: date) -> Applicant:
    return Applicant(
        real_name=user.real_name, id_number_masked=user.id_number_masked, phone_masked=user.phone_masked,
        age=age_on(user.birth_date, today) if user.birth_date else None, gender=user.gender,
        district=user.district, education=user.education, graduation_year=user.graduation_year,
        employment_status=user.employment_status, owns_home_in_kunming=user.owns_home_in_kunming,
        works_in_kunming=user.works_in_kunming,
    )


def _reason(app: HousingApplication, now: datetime) -> str | None:
    return LAPSE_REASON if lapsed(app, now) else app.status_reason


def _for_provider(app: HousingApplication, unit: HousingUnitType, user: User, project: HousingProject,
                  now: datetime) -> ProviderApplication:
    today = local_day(now)
    status = shown_status(app, now)
    return ProviderApplication(
        id=app.id, number=app.number, project_id=app.project_id, unit_type_id=app.unit_type_id,
        layout=unit.layout, status=status, status_label=STATUS_LABELS[status], status_reason=_reason(app, now),
        draw_position=app.draw_position, submitted_at=app.submitted_at, decided_at=app.decided_at,
        offered_at=app.offered_at, offer_expires_at=app.offer_expires_at, applicant=_applicant(user, today),
        unmet_rules=unmet_rules(user, project, today),
    )


def _filters(project_id: int, status: str | None, unit_type_id: int | None, number: str | None, now: datetime
             ) -> list[Any]:
    conds: list[Any] = [APP.project_id == project_id]
    if status:
        conds.append(status_is(status, now))
    if unit_type_id:
        conds.append(APP.unit_type_id == unit_type_id)
    if number:
        conds.append(APP.number == number.strip().upper())
    return conds


def _with_people(conds: Sequence[Any]) -> Any:
    return (select(APP, UT, User).join(UT, UT.id == APP.unit_type_id).join(User, User.id == APP.user_id)
            .where(*conds).execution_options(populate_existing=True))


async def provider_applications(
    session: AsyncSession, *, actor: Principal, project_id: int, status: str | None, unit_type_id: int | None,
    number: str | None, order: str, cursor: str | None, limit: int,
) -> Page[ProviderApplication]:
    now = clock.now()
    project = await postings.load_own(session, actor, KIND, project_id)
    conds = _filters(project.id, status, unit_type_id, number, now)
    if order == "draw":
        conds.append(APP.draw_position.is_not(None))
        keys = [Key("draw", APP.draw_position), Key("id", APP.id)]
    else:
        keys = [Key("id", APP.id)]
    page = (await keyset(session, _with_people(conds), keys, cursor=cursor, limit=limit, tag="housing-applications")
            ).page(lambda r: _for_provider(r[0], r[1], r[2], project, now))
    # Reading applicants' personal data is itself audited (and no personal data goes in the entry).
    await audit.record(session, actor=actor, action="housing_application.list", target_kind=KIND.kind,
                       target_id=project.id, detail={"count": len(page.items), "status": status})
    return page


async def _own_locked(session: AsyncSession, actor: Principal, application_id: int, now: datetime
                      ) -> tuple[HousingApplication, HousingProject]:
    """An application to a project of the actor's organisation, with the project locked and its lapsed
    offers passed on first (so nobody decides on an offer that has lapsed)."""
    postings.require_org_kind(actor, KIND)
    app = await session.get(APP, application_id)
    if app is None:
        raise errors.NotFound()
    project = await allocation.lock(session, app.project_id, now, owner=actor)
    app = await session.get(APP, application_id, with_for_update=True, populate_existing=True)
    return app, project


async def _answer(session: AsyncSession, app: HousingApplication, project: HousingProject, now: datetime
                  ) -> ProviderApplication:
    await session.flush()
    unit = await session.get(UT, app.unit_type_id)
    user = await session.get(User, app.user_id)
    return _for_provider(app, unit, user, project, now)


async def _refuse_if_frozen(session: AsyncSession, project: HousingProject) -> None:
    if project.allocation == Allocation.lottery and await lottery_of(session, project.id) is not None:
        raise HousingListFrozen()


async def decide(session: AsyncSession, *, actor: Principal, application_id: int, decision: str,
                 reason: str | None) -> ProviderApplication:
    now = clock.now()
    app, project = await _own_locked(session, actor, application_id, now)
    await _refuse_if_frozen(session, project)
    if app.status != S.submitted:
        raise HousingApplicationState(f"该申请当前为「{STATUS_LABELS[app.status]}」，不能再审核")
    transition(session, app, decision, reason=reason, actor_role="provider", now=now)
    app.decided_at = now
    data = {"application_id": app.id, "project_id": project.id}
    if decision == S.eligible:
        then = "请留意摇号结果。" if project.allocation == Allocation.lottery else "房源将按申请先后依次分配。"
        notify(session, notices.ELIGIBLE, app.user_id, data=data, project=project.name, next_step=then, at=now)
    else:
        notify(session, notices.INELIGIBLE, app.user_id, data=data, project=project.name, reason=reason, at=now)
    await audit.record(session, actor=actor, action="housing_application.decide",
                       target_kind="housing_application", target_id=app.id, reason=reason,
                       detail={"decision": decision, "project_id": project.id})
    if decision == S.eligible:
        await allocation.settle(session, project, now)
    return await _answer(session, app, project, now)


async def correct_decision(session: AsyncSession, *, actor: Principal, application_id: int, decision: str,
                           reason: str) -> ProviderApplication:
    """Correct an earlier review: an eligible application (waiting, or offered a unit — the unit then
    goes to the next in line as on a decline) becomes ineligible, or an ineligible one eligible (back
    in line in its original place). The applicant sees the reason; the history keeps both decisions.
    Not once a lottery list is frozen (the published list cannot change; an offer can still be
    withdrawn)."""
    now = clock.now()
    app, project = await _own_locked(session, actor, application_id, now)
    await _refuse_if_frozen(session, project)
    label = STATUS_LABELS[app.status]
    if app.status not in (S.eligible, S.offered, S.ineligible):
        raise HousingApplicationState(f"该申请当前为「{label}」，不能更改审核结果")
    if (app.status == S.ineligible) == (decision == S.ineligible):
        raise HousingApplicationState(f"该申请当前已是「{label}」")
    freed = [app.unit_type_id] if app.status == S.offered else []
    before = app.status
    transition(session, app, decision, reason=reason, actor_role="provider", now=now)
    app.decided_at = now
    notify(session, notices.DECISION_CORRECTED, app.user_id, data={"application_id": app.id, "project_id": project.id},
           project=project.name, result=STATUS_LABELS[decision], reason=reason, at=now)
    await audit.record(session, actor=actor, action="housing_application.correct",
                       target_kind="housing_application", target_id=app.id, reason=reason,
                       detail={"from": before, "to": decision, "project_id": project.id})
    await allocation.settle(session, project, now, freed=freed)
    return await _answer(session, app, project, now)


async def withdraw_offer(session: AsyncSession, *, actor: Principal, application_id: int, reason: str
                         ) -> ProviderApplication:
    """Withdraw an outstanding offer (with the reason the applicant sees); the unit goes to the next in
    line by the same rules as a decline."""
    now = clock.now()
    app, project = await _own_locked(session, actor, application_id, now)
    if app.status == S.expired:
        raise HousingOfferExpired("该房源确认已超时作废，房源已顺延给下一位申请人")
    if app.status != S.offered:
        raise HousingApplicationState(f"该申请当前为「{STATUS_LABELS[app.status]}」，没有待确认的房源")
    transition(session, app, S.revoked, reason=reason, actor_role="provider", now=now)
    notify(session, notices.OFFER_WITHDRAWN, app.user_id, data={"application_id": app.id, "project_id": project.id},
           project=project.name, reason=reason, at=now)
    await audit.record(session, actor=actor, action="housing_application.withdraw_offer",
                       target_kind="housing_application", target_id=app.id, reason=reason,
                       detail={"project_id": project.id})
    await allocation.settle(session, project, now, freed=[app.unit_type_id])
    return await _answer(session, app, project, now)


_CSV_HEADER = [
    "申请编号", "状态", "户型", "月租金(元)", "姓名", "身份证号(脱敏)", "手机号(脱敏)", "年龄", "性别", "学历",
    "毕业年份", "就业状态", "在昆有自有住房", "在昆工作", "提交时间", "审核时间", "抽签顺序", "说明",
]
_GENDERS = {"male": "男", "female": "女"}


async def export_csv(session: AsyncSession, *, actor: Principal, project_id: int, status: str | None) -> CsvExport:
    """The project's applications as CSV (ID and phone numbers masked), streamed after the request
    commits its audit entry."""
    now = clock.now()
    today = local_day(now)
    project = await postings.load_own(session, actor, KIND, project_id)
    conds = _filters(project.id, status, None, None, now)
    rows = (await session.execute(select(func.count()).select_from(APP).where(*conds))).scalar_one()
    await audit.record(session, actor=actor, action="housing_application.export", target_kind=KIND.kind,
                       target_id=project.id, detail={"rows": rows, "status": status})

    def line(row: Any) -> list[Any]:
        app, unit, user = row[0], row[1], row[2]
        who = _applicant(user, today)
        return [app.number, STATUS_LABELS[shown_status(app, now)], unit.name or LAYOUT_LABELS.get(unit.layout, unit.layout),
                f"{unit.rent_fen / 100:.2f}", who.real_name, who.id_number_masked, who.phone_masked, who.age,
                _GENDERS.get(who.gender or ""), who.education, who.graduation_year, who.employment_status,
                who.owns_home_in_kunming, who.works_in_kunming, app.submitted_at, app.decided_at, app.draw_position,
                _reason(app, now)]

    return CsvExport(filename=f"housing-{project.id}-applications-{display(now, '%Y%m%d%H%M')}.csv",
                     header=_CSV_HEADER, rows=batched(_with_people(conds), Key("id", APP.id), line))


async def count_by_status(session: AsyncSession, project_ids: list[int], now: datetime) -> dict[int, dict[str, int]]:
    """Applications per status as shown at ``now`` (an offer past its time counts as expired)."""
    out: dict[int, dict[str, int]] = {pid: {} for pid in project_ids}
    if project_ids:
        rows = await session.execute(
            select(APP.project_id, APP.status, func.count(), func.sum(case((lapsed_sql(now), 1), else_=0)))
            .where(APP.project_id.in_(project_ids)).group_by(APP.project_id, APP.status))
        for pid, status, n, gone in rows.all():
            counts = out[pid]
            counts[status] = counts.get(status, 0) + n - gone
            if gone:
                counts[S.expired] = counts.get(S.expired, 0) + gone
            if not counts[status]:
                del counts[status]
    return out
