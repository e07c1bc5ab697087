"""The provider's view of applications (only to its own openings, only the résumé fields needed: never the
ID number, the contact only once an interview is scheduled), their CSV export, and the staff's
dashboard of provider response times."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.deps import Principal
from app.kit import csv
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local_day
from app.schemas.openings import (
    EDUCATION_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    ApplicationProvider,
    ResponseTime,
)
from app.services import audit
from app.services.openings.applying import histories, mask_email
from app.services.openings.common import A
from app.services.openings.pipeline import effective_status, mark_viewed, provider_application
from app.validators import age_on, mask_phone, today_shanghai
from models.accounts import User
from models.openings import Opening, OpeningApplication
from models.orgs import Organisation


def _statement(opening_id: int, status: str | None, education: str | None, major: str | None) -> Any:
    stmt = (select(OpeningApplication, User.nickname, User.real_name, User.birth_date)
            .join(User, User.id == A.user_id).where(A.opening_id == opening_id))
    if status:
        stmt = stmt.where(A.status == status)
    if education:
        stmt = stmt.where(A.education == education)
    if major:
        stmt = stmt.where(func.lower(A.major).contains(major.lower(), autoescape=True))
    return stmt


def contact_shown(app: OpeningApplication) -> bool:
    """The organisation reaches the person once it has invited them to an interview."""
    return app.interview_at is not None


def item(r: Any, *, full: bool = False) -> ApplicationProvider:
    a: OpeningApplication = r[0]
    now = clock.now()
    status = effective_status(a, now)
    shown = contact_shown(a)
    return ApplicationProvider(
        id=a.id, opening_id=a.opening_id, status=status, status_label=STATUS_LABELS[status],
        submitted_at=a.submitted_at, nickname=r[1], real_name=r[2], age=age_on(r[3], today_shanghai()) if r[3] else None,
        school=a.school, major=a.major, education=a.education, graduation_year=a.graduation_year, skills=a.skills,
        self_intro=a.self_intro, team_size=a.team_size, stage=a.stage, sector=a.sector, plan_summary=a.plan_summary,
        phone_masked=mask_phone(a.phone) if shown else None, phone=a.phone if shown and full else None,
        email=(a.email if full else mask_email(a.email)) if shown and a.email else None,
        interview_at=a.interview_at, interview_place=a.interview_place, interview_link=a.interview_link,
        answer_by=a.answer_by, reason_code=a.reason_code, reason=a.reason)


async def applications(session: AsyncSession, *, opening: Opening, status: str | None, education: str | None,
                       major: str | None, cursor: str | None, limit: int) -> Page[ApplicationProvider]:
    page = await keyset(session, _statement(opening.id, status, education, major), [Key("i", A.id)], cursor=cursor,
                        limit=limit, tag="opening-applications")
    return page.page(item)


async def get_application(session: AsyncSession, *, actor: Principal, application_id: int) -> ApplicationProvider:
    """One application with its history, as it is (a read changes nothing: opening it is a POST). A
    read that shows the applicant's contact is audited."""
    app, _ = await provider_application(session, actor, application_id, lock=False)
    if contact_shown(app):
        await audit.record(session, actor=actor, action="opening_application.read_contact",
                           target_kind="opening_application", target_id=app.id)
    return await provider_view(session, app)


async def open_application(session: AsyncSession, *, actor: Principal, application_id: int) -> ApplicationProvider:
    """The provider opens the application: a submitted one becomes viewed (the applicant is told)."""
    app, opening = await provider_application(session, actor, application_id)
    await mark_viewed(session, app, opening, actor)
    return await provider_view(session, app)


async def provider_view(session: AsyncSession, app: OpeningApplication) -> ApplicationProvider:
    row = (await session.execute(_statement(app.opening_id, None, None, None).where(A.id == app.id)
                                 .execution_options(populate_existing=True))).one()
    out = item(row, full=True)
    out.history = (await histories(session, [app.id]))[app.id]
    return out


HEADER = ["申请编号", "昵称", "姓名", "年龄", "状态", "投递时间", "学校", "专业", "学历", "毕业年份", "技能", "团队人数",
          "项目阶段", "行业方向", "联系电话（面试邀请后）", "面试时间", "答复期限", "未通过原因"]


async def applications_csv(session: AsyncSession, *, actor: Principal, opening: Opening, status: str | None,
                           education: str | None, major: str | None) -> csv.CsvExport:
    await audit.record(session, actor=actor, action="opening.export", target_kind="opening", target_id=opening.id,
                       detail={"status": status})

    def row(r: Any) -> list[Any]:
        i = item(r)
        return [i.id, i.nickname, i.real_name, i.age, i.status_label, i.submitted_at, i.school, i.major,
                EDUCATION_LABELS.get(i.education or "", i.education), i.graduation_year, "、".join(i.skills),
                i.team_size, STAGE_LABELS.get(i.stage or "", i.stage), SECTOR_LABELS.get(i.sector or "", i.sector),
                i.phone_masked, i.interview_at, i.answer_by, i.reason]

    name = f"岗位申请-{opening.id}-{local_day(clock.now()):%Y%m%d}.csv"
    return csv.CsvExport(name, HEADER, csv.batched(_statement(opening.id, status, education, major), Key("i", A.id),
                                                   row))


async def response_times(session: AsyncSession, *, cursor: str | None, limit: int) -> Page[ResponseTime]:
    """Per organisation: applications, how many had a first decision and how fast (application to the
    first interview, offer or rejection), how many wait for one."""
    stats = (select(A.org_id.label("org_id"), func.count().label("n"), func.count(A.first_decision_at).label("decided"),
                    func.avg(A.response_seconds).label("avg_s"), func.max(A.response_seconds).label("max_s"))
             .where(A.status != "withdrawn").group_by(A.org_id).subquery())
    stmt = select(stats, Organisation.name).join(Organisation, Organisation.id == stats.c.org_id)
    page = await keyset(session, stmt, [Key("o", stats.c.org_id)], cursor=cursor, limit=limit, tag="opening-response")

    def hours(seconds: Any) -> float | None:
        return None if seconds is None else round(float(seconds) / 3600, 1)

    return page.page(lambda r: ResponseTime(org_id=r.org_id, org_name=r.name, applications=r.n, decided=r.decided,
                                            undecided=r.n - r.decided, avg_response_hours=hours(r.avg_s),
                                            max_response_hours=hours(r.max_s)))
