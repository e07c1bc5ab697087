"""Reports, weighed so that they cannot be turned into a take-down weapon.

Anyone signed in may report a published posting or a person, once per target; every report is kept
and listed for staff. Only reports from reporters with standing count towards anything automatic:

- **Standing**: a young person's account that is real-name verified (one verified identity per person,
  so a count of such reporters is a count of people, not of accounts), and either at least
  ``moderation_report_min_account_days`` old (30) or with a past interaction with the posting's
  organisation — applied to, signed up for or booked one of its postings (the kinds' ``interactions``
  in the posting registry): someone who dealt with it need not wait a month. Provider and staff
  accounts never count: a competitor's report is no signal, and staff act directly.
- **Urgent review**: ``moderation_report_urgent_threshold`` (2) reporters with standing put the posting
  first in the review queue, marked urgent. It stays online until staff decide.
- **Hiding at once** only for reasons that must not wait: ``illegal`` (a platform must stop illegal
  information spreading as soon as it knows of it), ``porn`` (obscene content is itself illegal to
  spread) and ``fraud`` (a fake housing offer takes deposits: the harm to a young person cannot be
  undone, while an honest posting offline for a few hours loses little). Once
  ``moderation_report_hide_threshold`` (3) reporters with standing gave one of these reasons, the
  posting is hidden until staff decide. False information, spam, abuse, harassment, discrimination
  and "other" are the easiest to allege and are not emergencies: they only queue.
- **Staff's decision** on a report answers every open report on the same target at once (dismissed,
  or actioned), and clears the urgency and the hiding; the answer lists the reports it settled.
  Another staff member deciding the same on one of them gets that same answer, not an error; a
  different decision on an already settled report is refused, naming the decision already taken.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import STAFF_ROLES, Principal
from app.kit import ratelimit
from app.kit.pagination import Key, Page, keyset
from app.kit.postings import REGISTRY, PostingKind, get_kind, took_part
from app.schemas.moderation import ReportDecisionPublic, ReportIn, ReportPublic, StaffReport
from app.services import audit
from app.services.moderation import cases, workflow
from app.services.moderation.errors import ReportResolved, ReportTargetKindUnknown, ReportTargetNotFound
from app.services.moderation.settings import settings
from models.accounts import User
from models.audit import AuditTarget
from models.moderation import REPORT_ON_USER, Report, ReportAction, ReportResolution, ReportStatus

RESOLUTIONS = {ReportAction.dismiss: ReportResolution.dismissed, ReportAction.take_down: ReportResolution.taken_down,
               ReportAction.suspend_user: ReportResolution.user_suspended}
RESOLUTION_LABELS = {ReportResolution.dismissed: "驳回", ReportResolution.taken_down: "下架",
                     ReportResolution.user_suspended: "停用账号"}

ratelimit.bucket("report", "10/3600", description="举报，每人")


async def report(session: AsyncSession, *, actor: Principal, data: ReportIn) -> ReportPublic:
    now = clock.now()
    kind: PostingKind | None = None
    if data.target_kind == REPORT_ON_USER:
        target = await session.get(User, data.target_id)
        if target is None:
            raise ReportTargetNotFound()
        if target.id == actor.user_id:
            raise errors.ValidationFailed(fields={"target_id": "不能举报自己"})
    else:
        kind = REGISTRY.get(data.target_kind)
        if kind is None:
            raise ReportTargetKindUnknown(fields={"target_kind": "不支持举报这类内容"})
        target = await session.get(kind.model, data.target_id)
        # What young people can see (or saw, before reports hid it) can be reported; nothing else exists for them.
        if target is None or not kind.shows(target.status, target.published_at, False):
            raise ReportTargetNotFound()
    existing = await _own_report(session, actor, data)
    if existing:
        return ReportPublic.model_validate(existing, from_attributes=True)
    counted = kind is not None and await has_standing(session, actor, target.org_id, now)
    rep = Report(reporter_id=actor.user_id, target_kind=data.target_kind, target_id=data.target_id,
                 reason_code=data.reason_code, detail=data.detail, counted=counted, created_at=now)
    try:
        async with session.begin_nested():
            session.add(rep)
    except IntegrityError:  # the same person's report arrived twice at once
        rep = await _own_report(session, actor, data)
        return ReportPublic.model_validate(rep, from_attributes=True)
    if counted and kind is not None:
        hide = await cases.count(session, target_kind=kind.kind, target_id=target.id, now=now,
                                 hiding=data.reason_code in settings().moderation_report_hide_reasons)
        if hide and not target.hidden_by_reports:
            target.hidden_by_reports = True
            await session.flush()
    return ReportPublic.model_validate(rep, from_attributes=True)


async def has_standing(session: AsyncSession, actor: Principal, org_id: int, now: datetime) -> bool:
    """Whether the reporter's reports count (see the module docstring)."""
    if not actor.is_youth:
        return False
    row = (await session.execute(select(User.real_name, User.id_number_hash, User.created_at)
                                 .where(User.id == actor.user_id))).one()
    if not (row.real_name and row.id_number_hash):
        return False
    if now - row.created_at >= timedelta(days=settings().moderation_report_min_account_days):
        return True
    return await took_part(session, actor.user_id, org_id)


async def _own_report(session: AsyncSession, actor: Principal, data: ReportIn) -> Report | None:
    return (
        await session.execute(
            select(Report).where(Report.reporter_id == actor.user_id, Report.target_kind == data.target_kind,
                                 Report.target_id == data.target_id)
        )
    ).scalar_one_or_none()


async def list_reports(session: AsyncSession, *, status: ReportStatus | None, target_kind: str | None,
                       target_id: int | None, cursor: str | None, limit: int) -> Page[StaffReport]:
    stmt = select(Report)
    if status:
        stmt = stmt.where(Report.status == status)
    if target_kind:
        stmt = stmt.where(Report.target_kind == target_kind)
    if target_id is not None:
        stmt = stmt.where(Report.target_id == target_id)
    page = await keyset(session, stmt, [Key("id", Report.id, desc=True)], cursor=cursor, limit=limit, tag="reports")
    return page.page(lambda r: StaffReport.model_validate(r[0], from_attributes=True))


async def resolve_report(session: AsyncSession, *, actor: Principal, report_id: int, action: ReportAction,
                         reason: str) -> ReportDecisionPublic:
    rep = await session.get(Report, report_id, with_for_update=True)
    if rep is None:
        raise errors.NotFound()
    resolution = RESOLUTIONS[action]
    if rep.status != ReportStatus.open:
        if rep.resolution == resolution:  # decided so already, by this or another member of staff
            return _decision(rep, [])
        raise ReportResolved(f"该举报已被处理为「{RESOLUTION_LABELS.get(rep.resolution, rep.resolution)}」；"
                             "如需改变处理，请在审核页面操作")
    now = clock.now()
    settled: list[int] = []
    if action == ReportAction.suspend_user:
        if rep.target_kind != REPORT_ON_USER:
            raise errors.ValidationFailed(fields={"action": "只有针对用户的举报可以停用账号"})
        user = await session.get(User, rep.target_id, with_for_update=True)
        if user is None:
            raise errors.NotFound()
        if user.role in STAFF_ROLES:
            raise errors.Forbidden("不能停用工作人员账号")
        user.status = "suspended"
        user.suspended_reason = reason
        user.token_version += 1  # its access tokens end now, and stay ended if it is reinstated
        await audit.record(session, actor=actor, action="user.suspend", target_kind=AuditTarget.user,
                           target_id=user.id, reason=reason)
    elif rep.target_kind != REPORT_ON_USER:
        k = get_kind(rep.target_kind)
        obj = await session.get(k.model, rep.target_id, with_for_update=True)
        if obj is not None:
            obj.hidden_by_reports = False
            if action == ReportAction.take_down and obj.status in workflow.TAKE_DOWN_FROM:
                settled = await workflow.take_down(session, k, obj, actor, reason, now)
    elif action == ReportAction.take_down:
        raise errors.ValidationFailed(fields={"action": "针对用户的举报请选择驳回或停用账号"})
    settled += await cases.settle(session, target_kind=rep.target_kind, target_id=rep.target_id,
                                  resolution=resolution, actor=actor, now=now)
    await session.flush()
    await session.refresh(rep)
    await audit.record(session, actor=actor, action=f"report.{action}", target_kind=rep.target_kind,
                       target_id=rep.target_id, reason=reason, detail={"report_id": rep.id, "settled": settled})
    return _decision(rep, sorted(settled))


def _decision(rep: Report, settled: list[int]) -> ReportDecisionPublic:
    return ReportDecisionPublic(**StaffReport.model_validate(rep, from_attributes=True).model_dump(),
                                settled_report_ids=settled)
