"""The person's résumé, applying (deadline, eligibility, duplicates), and their own applications with
the whole history.

A duplicate is refused by the database: the application is inserted with ON CONFLICT DO NOTHING against
the partial unique index (one live application per person and opening), so two requests arriving
together write one row and the other is told it already applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import ratelimit
from app.kit.dialect import insert_for
from app.kit.pagination import Key, Page, keyset
from app.schemas.openings import (
    EDUCATION_LABELS,
    REJECT_REASONS,
    SECTOR_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    ApplicationPublic,
    ApplyIn,
    HistoryEntry,
    ResumeIn,
    ResumePublic,
)
from app.services.notifications.catalogue import notify
from app.services.openings import errors as oerr
from app.services.openings.common import KIND, OP, SUBMITTED, A
from app.services.openings.pipeline import can_withdraw, effective_status
from app.services.openings.posts import education_rank, visible
from app.services.openings.settings import settings
from app.validators import age_on, mask_phone, today_shanghai
from models.accounts import User
from models.base import utcnow
from models.moderation import PostingStatus
from models.openings import OPEN_STATUSES, Opening, OpeningApplication, OpeningApplicationEvent, OpeningResume

APPLY_LIMIT = ratelimit.bucket("opening_apply", "10/60", description="见习/孵化岗位申请，每人")
RESUME_FIELDS = ("school", "major", "education", "graduation_year", "skills", "self_intro", "phone", "email")
REQUIRED_FOR_INTERNSHIP = {"school": "学校", "major": "专业", "education": "学历", "graduation_year": "毕业年份"}


def mask_email(value: str) -> str:
    name, _, domain = value.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


# --- the résumé ---------------------------------------------------------------------------------------


def resume_view(r: OpeningResume | None) -> ResumePublic:
    if r is None:
        return ResumePublic()
    return ResumePublic(school=r.school, major=r.major, education=r.education, graduation_year=r.graduation_year,
                        skills=r.skills, self_intro=r.self_intro, phone_masked=mask_phone(r.phone) if r.phone else None,
                        email_masked=mask_email(r.email) if r.email else None, updated_at=r.updated_at)


async def get_resume(session: AsyncSession, *, actor: Principal) -> ResumePublic:
    return resume_view(await session.get(OpeningResume, actor.user_id))


async def put_resume(session: AsyncSession, *, actor: Principal, data: ResumeIn) -> ResumePublic:
    r = await session.get(OpeningResume, actor.user_id, with_for_update=True)
    if r is None:
        r = OpeningResume(user_id=actor.user_id)
        session.add(r)
    for key, value in data.model_dump().items():
        setattr(r, key, value)
    r.updated_at = utcnow()
    await session.flush()
    return resume_view(r)


# --- applying -----------------------------------------------------------------------------------------


def unmet_rules(opening: Opening, *, birth: Any, education: str | None, major: str | None,
                graduation_year: int | None, stage: str | None, sector: str | None) -> dict[str, str]:
    """Each eligibility rule the applicant does not meet, by field, in words they can act on."""
    today = today_shanghai()
    problems: dict[str, str] = {}
    age = age_on(birth, today)
    recent = (opening.graduated_within_years is not None and graduation_year is not None
              and today.year - opening.graduated_within_years <= graduation_year)
    if age < opening.min_age:
        problems["age"] = f"要求年满{opening.min_age}周岁，您现在{age}周岁"
    elif age > opening.max_age and not recent:
        extra = f"，或离校{opening.graduated_within_years}年内的毕业生" if opening.graduated_within_years is not None else ""
        problems["age"] = f"面向{opening.min_age}至{opening.max_age}周岁的青年{extra}；您现在{age}周岁"
    if opening.kind == "internship":
        if opening.min_education and education_rank(education) < education_rank(opening.min_education):
            problems["education"] = f"要求{EDUCATION_LABELS[opening.min_education]}及以上学历"
        if opening.majors and not any(_same_major(major, m) for m in opening.majors):
            problems["major"] = "要求专业为：" + "、".join(opening.majors)
    else:
        if opening.stages and stage not in opening.stages:
            problems["venture.stage"] = "接受的项目阶段：" + "、".join(STAGE_LABELS[s] for s in opening.stages)
        if opening.sectors and sector not in opening.sectors:
            problems["venture.sector"] = "接受的行业方向：" + "、".join(SECTOR_LABELS[s] for s in opening.sectors)
    return problems


def _same_major(mine: str | None, wanted: str) -> bool:
    if not mine:
        return False
    a, b = mine.strip().lower(), wanted.strip().lower()
    return a in b or b in a


async def apply(session: AsyncSession, *, actor: Principal, opening_id: int, data: ApplyIn | None
                ) -> ApplicationPublic:
    now = clock.now()
    opening, _ = await visible(session, opening_id)
    if not KIND.is_listed(opening) or now >= opening.deadline:
        if opening.status == PostingStatus.closed and opening.deadline_closed_at is None and now < opening.deadline:
            raise oerr.NotOpen("该岗位已由发布机构关闭，不再接受报名")
        raise oerr.DeadlinePassed(f"该岗位的报名已于{_shown(opening.deadline)}截止")
    existing = (await session.execute(select(A.id).where(A.opening_id == opening.id, A.user_id == actor.user_id,
                                                         A.status != "withdrawn"))).scalar_one_or_none()
    if existing is not None:
        raise oerr.AlreadyApplied(fields={"application_id": str(existing)})
    if opening.taken >= opening.places:
        raise oerr.PlacesFilled()
    data = data or ApplyIn()
    user = (await session.execute(select(User).where(User.id == actor.user_id))).scalar_one()
    if user.birth_date is None:
        raise oerr.ProfileRequired(fields={"id_number": "请填写身份证号"})
    values = await _resume_values(session, user, opening, data)
    venture = data.venture
    problems = unmet_rules(opening, birth=user.birth_date, education=values.get("education"),
                           major=values.get("major"), graduation_year=values.get("graduation_year"),
                           stage=venture.stage if venture else None, sector=venture.sector if venture else None)
    if problems:
        raise oerr.NotEligible("您不符合该岗位的报名条件：" + "；".join(problems.values()), fields=problems)
    held = (await session.execute(select(func.count()).select_from(OpeningApplication).where(
        A.user_id == actor.user_id, A.status.in_(OPEN_STATUSES)))).scalar_one()
    limit = settings().openings_max_open_applications
    if held >= limit:
        raise errors.Conflict(f"您已有{held}份申请在进行中（最多{limit}份），请先处理已有的申请")
    row = dict(opening_id=opening.id, org_id=opening.org_id, user_id=actor.user_id, kind=opening.kind,
               status="submitted", submitted_at=now, updated_at=now, **values,
               **(venture.model_dump() if venture else {}))
    stmt = insert_for(session)(OpeningApplication).values(**row).on_conflict_do_nothing().returning(A.id)
    app_id = (await session.execute(stmt)).scalar_one_or_none()
    if app_id is None:  # a twin request got there first
        raise oerr.AlreadyApplied()
    session.add(OpeningApplicationEvent(application_id=app_id, at=now, actor_id=actor.user_id, actor_role="youth",
                                        from_status=None, to_status="submitted"))
    await session.flush()
    notify(session, SUBMITTED, actor.user_id, data={"application_id": app_id, "opening_id": opening.id},
           opening=opening.title, status=STATUS_LABELS["submitted"])
    app = await session.get(OpeningApplication, app_id)
    assert app is not None
    return (await views(session, [app], now))[0]


def _shown(at: datetime) -> str:
    from app.kit.time import display

    return display(at, "%Y年%m月%d日 %H:%M")


async def _resume_values(session: AsyncSession, user: User, opening: Opening, data: ApplyIn) -> dict[str, Any]:
    """The résumé kept in the profile with this application's edits; what is required must be there."""
    stored = await session.get(OpeningResume, user.id)
    values: dict[str, Any] = {k: getattr(stored, k) if stored else None for k in RESUME_FIELDS}
    values["skills"] = values["skills"] or []
    if data.resume is not None:
        values.update(data.resume.model_dump(exclude_unset=True))
    values["skills"] = values["skills"] or []
    values["phone"] = values["phone"] or user.phone
    values["education"] = values["education"] or user.education
    values["graduation_year"] = values["graduation_year"] or user.graduation_year
    missing = {"phone": "请填写手机号"} if not values["phone"] else {}
    if opening.kind == "internship":
        missing.update({f"resume.{k}": f"请填写{label}" for k, label in REQUIRED_FOR_INTERNSHIP.items()
                        if not values.get(k)})
    elif data.venture is None:
        missing["venture"] = "申请孵化名额请填写团队人数、项目阶段、行业方向和项目简介"
    if missing:
        raise oerr.ResumeIncomplete(fields=missing)
    return values


# --- the person's applications ------------------------------------------------------------------------


def history_entry(e: OpeningApplicationEvent) -> HistoryEntry:
    return HistoryEntry(at=e.at, from_status=e.from_status, to_status=e.to_status,
                        status_label=STATUS_LABELS.get(e.to_status, e.to_status), actor_role=e.actor_role,
                        reason_code=e.reason_code, reason_label=REJECT_REASONS.get(e.reason_code or ""),
                        reason=e.reason, detail=e.detail or {})


async def histories(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[HistoryEntry]]:
    out: dict[int, list[HistoryEntry]] = {i: [] for i in ids}
    if ids:
        rows = (await session.execute(select(OpeningApplicationEvent).where(
            OpeningApplicationEvent.application_id.in_(list(ids))).order_by(OpeningApplicationEvent.id))).scalars()
        for e in rows:
            out[e.application_id].append(history_entry(e))
    return out


async def views(session: AsyncSession, apps: Sequence[OpeningApplication], now: datetime) -> list[ApplicationPublic]:
    titles = dict((await session.execute(select(OP.id, OP.title).where(OP.id.in_({a.opening_id for a in apps})))).all()
                  ) if apps else {}
    hist = await histories(session, [a.id for a in apps])
    out = []
    for a in apps:
        status = effective_status(a, now)
        entries = hist[a.id]
        if status == "lapsed" and a.status == "offered":  # due, not swept yet: shown as it will be stored
            entries = [*entries, HistoryEntry(at=a.answer_by, from_status="offered", to_status="lapsed",
                                              status_label=STATUS_LABELS["lapsed"], actor_role="system",
                                              reason_code="offer_lapsed", reason_label=REJECT_REASONS["offer_lapsed"])]
        out.append(ApplicationPublic(
            id=a.id, opening_id=a.opening_id, opening_title=titles.get(a.opening_id, ""), kind=a.kind, status=status,
            status_label=STATUS_LABELS[status], can_withdraw=can_withdraw(status), submitted_at=a.submitted_at,
            interview_at=a.interview_at, interview_place=a.interview_place, interview_link=a.interview_link,
            answer_by=a.answer_by, reason_code=a.reason_code if status == "rejected" else None,
            reason_label=REJECT_REASONS.get(a.reason_code or "") if status == "rejected" else None,
            reason=a.reason if status == "rejected" else None, school=a.school, major=a.major, education=a.education,
            graduation_year=a.graduation_year, skills=a.skills, self_intro=a.self_intro, team_size=a.team_size,
            stage=a.stage, sector=a.sector, plan_summary=a.plan_summary, phone_masked=mask_phone(a.phone),
            history=entries))
    return out


async def mine(session: AsyncSession, *, actor: Principal, status: str | None, cursor: str | None, limit: int
               ) -> Page[ApplicationPublic]:
    stmt = select(OpeningApplication).where(A.user_id == actor.user_id)
    if status:
        stmt = stmt.where(A.status == status)
    page = await keyset(session, stmt, [Key("i", A.id, desc=True)], cursor=cursor, limit=limit, tag="my-openings")
    items = await views(session, [r[0] for r in page.rows], clock.now())
    return Page(items=items, next_cursor=page.next_cursor)


async def my_application(session: AsyncSession, *, actor: Principal, application_id: int) -> ApplicationPublic:
    app = await session.get(OpeningApplication, application_id)
    if app is None or app.user_id != actor.user_id:
        raise errors.NotFound()
    return (await views(session, [app], clock.now()))[0]


async def view_of(session: AsyncSession, app: OpeningApplication) -> ApplicationPublic:
    await session.refresh(app)
    return (await views(session, [app], clock.now()))[0]
