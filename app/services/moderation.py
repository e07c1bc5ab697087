"""The publishing-and-moderation workflow shared by every service's postings.

draft → pending_review → published | rejected;  published → closed (provider) | taken_down (staff).
Each service registers its posting kind once in the posting registry (app.kit.postings) and calls
these functions; the staff review queue and reports work across all registered kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.config import get_settings
from app.deps import Principal
from app.kit.pagination import Key, Page, keyset
from app.kit.postings import (
    EDITABLE,
    REGISTRY,
    PostingKind,
    get_kind,
    kinds_for_org,
    load_own,
    status_label,
    union,
)
from app.schemas.moderation import ReportIn, ReportPublic, ReviewDetail, ReviewItem
from app.services import audit
from models.accounts import User
from models.base import utcnow
from models.moderation import PostingStatus, Report
from models.orgs import Organisation

# --- provider side --------------------------------------------------------------------------------


async def check_content(session: AsyncSession, kind: PostingKind, obj: Any,
                        fields: Sequence[str] | None = None) -> str | None:
    """Local word list always, then WeChat's msg_sec_check. Raises CONTENT_REJECTED naming the field;
    returns a flag when a human should look (WeChat said "review")."""
    settings = get_settings()
    texts = {f: _text_of(getattr(obj, f, None)) for f in (fields or kind.text_fields)}
    texts = {f: t for f, t in texts.items() if t}
    for field, text in texts.items():
        for word in settings.content_blocklist:
            if word and word in text:
                raise errors.ContentRejected(fields={field: "包含不允许发布的内容，请修改"})
    from app.wechat import get_wechat_client  # WeChat is optional at import time for tools

    flag = None
    client = get_wechat_client()
    for field, text in texts.items():
        verdict = await client.msg_sec_check(content=text[:2500], openid=settings.wechat_check_openid, scene=3)
        if verdict.suggest == "risky":
            raise errors.ContentRejected(fields={field: "包含不允许发布的内容，请修改"})
        if verdict.suggest == "review":
            flag = f"content_review:{field}:{verdict.label}"
    return flag


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return str(value)


async def submit(session: AsyncSession, *, actor: Principal, kind: PostingKind, obj: Any) -> Any:
    if actor.org_status != "verified":
        raise errors.OrgNotVerified()
    if obj.status not in (PostingStatus.draft, PostingStatus.rejected, PostingStatus.closed):
        raise errors.PostingStateInvalid(f"{kind.label}当前状态为「{status_label(obj.status)}」，不能提交审核")
    obj.review_flag = await check_content(session, kind, obj)
    obj.status = PostingStatus.pending_review
    obj.submitted_at = utcnow()
    obj.review_reason = None
    obj.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.submit", target_kind=kind.kind, target_id=obj.id)
    return obj


async def after_edit(session: AsyncSession, *, actor: Principal, kind: PostingKind, obj: Any,
                     changed: set[str]) -> None:
    """Call after applying a provider's edit. Public text edited on a live posting goes back to review
    (what people already applied for stays); text edited while pending is checked again."""
    if obj.status not in EDITABLE:
        raise errors.PostingStateInvalid()
    text_changed = sorted(changed & set(kind.text_fields))
    if text_changed and obj.status in (PostingStatus.published, PostingStatus.pending_review):
        obj.review_flag = await check_content(session, kind, obj, text_changed)
        if obj.status == PostingStatus.published:
            obj.status = PostingStatus.pending_review
            obj.submitted_at = utcnow()
    obj.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.edit", target_kind=kind.kind, target_id=obj.id,
                       detail={"fields": sorted(changed)})


async def close(session: AsyncSession, *, actor: Principal, kind: PostingKind, obj: Any) -> Any:
    if obj.status not in (PostingStatus.published, PostingStatus.pending_review):
        raise errors.PostingStateInvalid(f"只有已发布的{kind.label}可以关闭")
    obj.status = PostingStatus.closed
    obj.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.close", target_kind=kind.kind, target_id=obj.id)
    return obj


# --- staff side -----------------------------------------------------------------------------------


async def review_queue(session: AsyncSession, *, kind: str | None, status: str | None, flagged: bool | None,
                       cursor: str | None, limit: int) -> Page[ReviewItem]:
    """Postings of every kind (or one), oldest submission first: one statement, one cursor."""
    kinds = [get_kind(kind)] if kind else list(REGISTRY.values())

    def where(m: Any) -> list[Any]:
        conds: list[Any] = []
        if status == "hidden":
            conds.append(m.hidden_by_reports.is_(True))
        elif status:
            conds.append(m.status == status)
        if flagged is not None:
            conds.append(m.review_flag.is_not(None) if flagged else m.review_flag.is_(None))
        return conds

    p = union(kinds, where)
    order = [Key("t", func.coalesce(p.c.submitted_at, p.c.created_at), datetime), Key("k", p.c.kind, str),
             Key("i", p.c.id)]
    stmt = select(p, Organisation.name.label("org_name")).join(Organisation, Organisation.id == p.c.org_id)
    return (await keyset(session, stmt, order, cursor=cursor, limit=limit, tag="reviews")).page(_row_item)


def _row_item(r: Any) -> ReviewItem:
    return ReviewItem(
        kind=r.kind, id=r.id, org_id=r.org_id, org_name=getattr(r, "org_name", None), title=str(r.title),
        status=r.status, review_flag=r.review_flag, review_reason=r.review_reason,
        hidden_by_reports=r.hidden_by_reports, submitted_at=r.submitted_at, published_at=r.published_at,
    )


def _item(kind: PostingKind, obj: Any, org_name: str | None) -> ReviewItem:
    return ReviewItem(
        kind=kind.kind, id=obj.id, org_id=obj.org_id, org_name=org_name, title=str(getattr(obj, kind.title_field)),
        status=obj.status, review_flag=obj.review_flag, review_reason=obj.review_reason,
        hidden_by_reports=obj.hidden_by_reports, submitted_at=obj.submitted_at, published_at=obj.published_at,
    )


async def review_detail(session: AsyncSession, *, kind: str, posting_id: int) -> ReviewDetail:
    k = get_kind(kind)
    obj = await session.get(k.model, posting_id)
    if obj is None:
        raise errors.NotFound()
    org = await session.get(Organisation, obj.org_id)
    item = _item(k, obj, org.name if org else None)
    return ReviewDetail(**item.model_dump(), content=obj.model_dump(mode="json"))


async def decide(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int, decision: str,
                 reason: str | None) -> ReviewItem:
    k = get_kind(kind)
    obj = await session.get(k.model, posting_id, with_for_update=True)
    if obj is None:
        raise errors.NotFound()
    allowed = {"approve": (PostingStatus.pending_review,), "reject": (PostingStatus.pending_review,),
               "take-down": TAKE_DOWN_FROM}[decision]
    if obj.status not in allowed:
        raise errors.PostingStateInvalid(f"{k.label}当前状态为「{status_label(obj.status)}」，不能执行此操作")
    if decision != "approve" and not reason:
        raise errors.ValidationFailed(fields={"reason": "请填写原因"})
    if decision == "take-down":
        await _take_down(session, k, obj, actor, reason or "")
    else:
        now = utcnow()
        obj.status = PostingStatus.published if decision == "approve" else PostingStatus.rejected
        obj.review_reason = reason if decision != "approve" else None
        obj.reviewed_by = actor.user_id
        obj.reviewed_at = now
        if decision == "approve":
            obj.review_flag = None
            obj.published_at = obj.published_at or now
        obj.updated_at = now
        await session.flush()
        if decision == "approve" and k.on_publish:
            await k.on_publish(session, obj, actor)
    await audit.record(session, actor=actor, action=f"{kind}.{decision.replace('-', '_')}", target_kind=kind,
                       target_id=obj.id, org_id=obj.org_id, reason=reason)
    org = await session.get(Organisation, obj.org_id)
    return _item(k, obj, org.name if org else None)


TAKE_DOWN_FROM = (PostingStatus.published, PostingStatus.pending_review, PostingStatus.closed)


async def _take_down(session: AsyncSession, k: PostingKind, obj: Any, actor: Principal, reason: str) -> None:
    now = utcnow()
    obj.status = PostingStatus.taken_down
    obj.review_reason = reason
    obj.reviewed_by = actor.user_id
    obj.reviewed_at = now
    obj.updated_at = now
    await session.flush()
    if k.on_take_down:
        await k.on_take_down(session, obj, actor, reason)


# --- reports --------------------------------------------------------------------------------------

USER_TARGET = "user"


async def report(session: AsyncSession, *, actor: Principal, data: ReportIn) -> ReportPublic:
    if data.target_kind == USER_TARGET:
        target = await session.get(User, data.target_id)
        if target is None or target.id == actor.user_id:
            raise errors.ReportTargetInvalid()
    else:
        k = REGISTRY.get(data.target_kind)
        target = await session.get(k.model, data.target_id) if k else None
        if target is None or target.status != PostingStatus.published:
            raise errors.ReportTargetInvalid()
    existing = await _own_report(session, actor, data)
    if existing:
        return ReportPublic.model_validate(existing, from_attributes=True)
    rep = Report(reporter_id=actor.user_id, target_kind=data.target_kind, target_id=data.target_id,
                 reason_code=data.reason_code, detail=data.detail)
    try:
        async with session.begin_nested():
            session.add(rep)
    except IntegrityError:
        rep = await _own_report(session, actor, data)
        return ReportPublic.model_validate(rep, from_attributes=True)
    if data.target_kind != USER_TARGET and not target.hidden_by_reports:
        reporters = (
            await session.execute(
                select(func.count(func.distinct(Report.reporter_id))).where(
                    Report.target_kind == data.target_kind, Report.target_id == data.target_id,
                    Report.status == "open")
            )
        ).scalar_one()
        if reporters >= get_settings().report_hide_threshold:
            target.hidden_by_reports = True
            await session.flush()
    return ReportPublic.model_validate(rep, from_attributes=True)


async def _own_report(session: AsyncSession, actor: Principal, data: ReportIn) -> Report | None:
    return (
        await session.execute(
            select(Report).where(Report.reporter_id == actor.user_id, Report.target_kind == data.target_kind,
                                 Report.target_id == data.target_id)
        )
    ).scalar_one_or_none()


async def list_reports(session: AsyncSession, *, status: str | None, target_kind: str | None,
                       cursor: str | None, limit: int) -> Page[ReportPublic]:
    stmt = select(Report)
    if status:
        stmt = stmt.where(Report.status == status)
    if target_kind:
        stmt = stmt.where(Report.target_kind == target_kind)
    page = await keyset(session, stmt, [Key("id", Report.id, desc=True)], cursor=cursor, limit=limit, tag="reports")
    return page.page(lambda r: ReportPublic.model_validate(r[0], from_attributes=True))


async def resolve_report(session: AsyncSession, *, actor: Principal, report_id: int, action: str, reason: str
                         ) -> ReportPublic:
    rep = await session.get(Report, report_id, with_for_update=True)
    if rep is None:
        raise errors.NotFound()
    if rep.status != "open":
        raise errors.ReportResolved()
    if action == "suspend_user":
        if rep.target_kind != USER_TARGET:
            raise errors.ValidationFailed(fields={"action": "只有针对用户的举报可以停用账号"})
        user = await session.get(User, rep.target_id, with_for_update=True)
        if user is None:
            raise errors.NotFound()
        if user.role in ("moderator", "admin"):
            raise errors.Forbidden("不能停用工作人员账号")
        user.status = "suspended"
        user.suspended_reason = reason
        await audit.record(session, actor=actor, action="user.suspend", target_kind="user", target_id=user.id,
                           reason=reason)
    elif rep.target_kind != USER_TARGET:
        k = get_kind(rep.target_kind)
        obj = await session.get(k.model, rep.target_id, with_for_update=True)
        if obj is not None:
            obj.hidden_by_reports = False
            if action == "take_down" and obj.status in TAKE_DOWN_FROM:
                await _take_down(session, k, obj, actor, reason)
    elif action == "take_down":
        raise errors.ValidationFailed(fields={"action": "针对用户的举报请选择驳回或停用账号"})
    # One decision settles every open report on the same target.
    now = utcnow()
    resolution = {"dismiss": "dismissed", "take_down": "taken_down", "suspend_user": "user_suspended"}[action]
    others = (
        await session.execute(
            select(Report).where(Report.target_kind == rep.target_kind, Report.target_id == rep.target_id,
                                 Report.status == "open")
        )
    ).scalars()
    for r in others:
        r.status = "dismissed" if action == "dismiss" else "actioned"
        r.resolution = resolution
        r.resolved_by = actor.user_id
        r.resolved_at = now
    await session.flush()
    await audit.record(session, actor=actor, action=f"report.{action}", target_kind=rep.target_kind,
                       target_id=rep.target_id, reason=reason, detail={"report_id": rep.id})
    return ReportPublic.model_validate(rep, from_attributes=True)


async def provider_submit(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int) -> ReviewItem:
    k = get_kind(kind)
    obj = await load_own(session, actor, k, posting_id, for_update=True)
    await submit(session, actor=actor, kind=k, obj=obj)
    return _item(k, obj, None)


async def provider_close(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int) -> ReviewItem:
    k = get_kind(kind)
    obj = await load_own(session, actor, k, posting_id, for_update=True)
    await close(session, actor=actor, kind=k, obj=obj)
    return _item(k, obj, None)


async def provider_postings(session: AsyncSession, *, actor: Principal, kind: str | None, status: str | None,
                            cursor: str | None, limit: int) -> Page[ReviewItem]:
    """The organisation's own postings of every kind with their review state, last changed first."""
    kinds = [get_kind(kind)] if kind else kinds_for_org(actor.org_kind)
    if not kinds:
        return Page(items=[])
    p = union(kinds, lambda m: [m.org_id == actor.org_id, *([m.status == status] if status else [])])
    order = [Key("t", p.c.updated_at, datetime, desc=True), Key("k", p.c.kind, str, desc=True),
             Key("i", p.c.id, desc=True)]
    return (await keyset(session, select(p), order, cursor=cursor, limit=limit, tag="own-postings")).page(_row_item)
