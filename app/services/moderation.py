"""The publishing-and-moderation workflow shared by every service's postings.

draft → pending_review → published | rejected;  published → closed (provider) | taken_down (staff).
Each service registers its posting table once (``register``) and calls these functions; the staff
review queue and reports work across all registered kinds.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.config import get_settings
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.moderation import ReportIn, ReportPublic, ReviewDetail, ReviewItem
from app.services import audit
from models.accounts import User
from models.base import utcnow
from models.moderation import Report
from models.orgs import Organisation

EDITABLE = frozenset({"draft", "rejected", "pending_review", "published", "closed"})


@dataclass(frozen=True)
class PostingKind:
    kind: str  # stable API name, e.g. "housing_project"
    model: type[SQLModel]  # a table inheriting models.moderation.PostingFields
    org_kinds: tuple[str, ...]  # organisation kinds allowed to own it
    title_field: str
    text_fields: tuple[str, ...]  # content-checked; editing them on a published posting re-opens review
    label: str  # Chinese name shown in messages


REGISTRY: dict[str, PostingKind] = {}


def register(kind: PostingKind) -> PostingKind:
    REGISTRY[kind.kind] = kind
    return kind


def get_kind(kind: str) -> PostingKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise errors.UnknownPostingKind()


def is_public(model: Any) -> Any:
    """SQL condition: the posting is visible to the public."""
    return and_(model.status == "published", model.hidden_by_reports.is_(False))


# --- provider side --------------------------------------------------------------------------------


async def load_own(session: AsyncSession, actor: Principal, kind: PostingKind, posting_id: int,
                   *, for_update: bool = False) -> Any:
    """A posting of the actor's organisation; anyone else's answers 404, never 403."""
    obj = await session.get(kind.model, posting_id, with_for_update=for_update or None)
    if obj is None or obj.org_id != actor.org_id:
        raise errors.NotFound()
    return obj


def require_org_kind(actor: Principal, kind: PostingKind) -> None:
    if actor.org_kind not in kind.org_kinds:
        raise errors.Forbidden(f"您的机构类型不能发布{kind.label}")


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
    if obj.status not in ("draft", "rejected", "closed"):
        raise errors.PostingStateInvalid(f"{kind.label}当前状态为「{_status_label(obj.status)}」，不能提交审核")
    obj.review_flag = await check_content(session, kind, obj)
    obj.status = "pending_review"
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
    if text_changed and obj.status in ("published", "pending_review"):
        obj.review_flag = await check_content(session, kind, obj, text_changed)
        if obj.status == "published":
            obj.status = "pending_review"
            obj.submitted_at = utcnow()
    obj.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.edit", target_kind=kind.kind, target_id=obj.id,
                       detail={"fields": sorted(changed)})


async def close(session: AsyncSession, *, actor: Principal, kind: PostingKind, obj: Any) -> Any:
    if obj.status not in ("published", "pending_review"):
        raise errors.PostingStateInvalid(f"只有已发布的{kind.label}可以关闭")
    obj.status = "closed"
    obj.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.close", target_kind=kind.kind, target_id=obj.id)
    return obj


# --- staff side -----------------------------------------------------------------------------------


async def review_queue(session: AsyncSession, *, kind: str | None, status: str | None, flagged: bool | None,
                       cursor: str | None, limit: int) -> Page[ReviewItem]:
    kinds = [get_kind(kind)] if kind else list(REGISTRY.values())
    after = decode_cursor(cursor, "t", "k", "i", text=("k",))  # k: the posting kind
    streams = []
    for k in kinds:
        m = k.model
        order_at = func.coalesce(m.submitted_at, m.created_at)
        stmt = (
            select(m, Organisation.name, order_at.label("order_at"))
            .join(Organisation, Organisation.id == m.org_id)
            .order_by(order_at, m.id)
            .limit(limit + 1)
        )
        if status == "hidden":
            stmt = stmt.where(m.hidden_by_reports.is_(True))
        elif status:
            stmt = stmt.where(m.status == status)
        if flagged is not None:
            stmt = stmt.where(m.review_flag.is_not(None) if flagged else m.review_flag.is_(None))
        if after:
            at = datetime.fromisoformat(after["t"])
            if k.kind > after["k"]:
                stmt = stmt.where(order_at >= at)
            else:
                stmt = stmt.where(or_(order_at > at, and_(order_at == at, k.kind == after["k"], m.id > after["i"])))
        rows = (await session.execute(stmt)).all()
        streams.append([(_as_utc(at), k.kind, obj.id, _item(k, obj, org_name)) for obj, org_name, at in rows])
    merged = list(heapq.merge(*streams, key=lambda r: (r[0], r[1], r[2])))
    page = merged[:limit]
    nxt = None
    if len(merged) > limit:
        t, k, i, _ = page[-1]
        nxt = encode_cursor({"t": t.isoformat(), "k": k, "i": i})
    return Page(items=[r[3] for r in page], next_cursor=nxt)


def _as_utc(value: datetime) -> datetime:
    from datetime import UTC

    if isinstance(value, str):  # SQLite returns the coalesce() expression untyped
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    allowed = {"approve": ("pending_review",), "reject": ("pending_review",),
               "take-down": ("published", "pending_review", "closed")}[decision]
    if obj.status not in allowed:
        raise errors.PostingStateInvalid(f"{k.label}当前状态为「{_status_label(obj.status)}」，不能执行此操作")
    if decision != "approve" and not reason:
        raise errors.ValidationFailed(fields={"reason": "请填写原因"})
    now = utcnow()
    obj.status = {"approve": "published", "reject": "rejected", "take-down": "taken_down"}[decision]
    obj.review_reason = reason if decision != "approve" else None
    obj.reviewed_by = actor.user_id
    obj.reviewed_at = now
    if decision == "approve":
        obj.review_flag = None
        obj.published_at = obj.published_at or now
    obj.updated_at = now
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind}.{decision.replace('-', '_')}", target_kind=kind,
                       target_id=obj.id, org_id=obj.org_id, reason=reason)
    org = await session.get(Organisation, obj.org_id)
    return _item(k, obj, org.name if org else None)


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
        if target is None or target.status != "published":
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
    stmt = select(Report).order_by(Report.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(Report.id < int(after["id"]))
    if status:
        stmt = stmt.where(Report.status == status)
    if target_kind:
        stmt = stmt.where(Report.target_kind == target_kind)
    rows = list((await session.execute(stmt)).scalars())
    nxt = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return Page(items=[ReportPublic.model_validate(r, from_attributes=True) for r in rows[:limit]], next_cursor=nxt)


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
            if action == "take_down" and obj.status in ("published", "pending_review", "closed"):
                obj.status = "taken_down"
                obj.review_reason = reason
                obj.reviewed_by = actor.user_id
                obj.reviewed_at = utcnow()
            obj.hidden_by_reports = False
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


_STATUS_LABELS = {"draft": "草稿", "pending_review": "审核中", "published": "已发布", "rejected": "未通过",
                  "closed": "已关闭", "taken_down": "已下架"}


def _status_label(status: str) -> str:
    return _STATUS_LABELS.get(status, status)


async def provider_submit(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int) -> ReviewItem:
    k = get_kind(kind)
    require_org_kind(actor, k)
    obj = await load_own(session, actor, k, posting_id, for_update=True)
    await submit(session, actor=actor, kind=k, obj=obj)
    return _item(k, obj, None)


async def provider_close(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int) -> ReviewItem:
    k = get_kind(kind)
    require_org_kind(actor, k)
    obj = await load_own(session, actor, k, posting_id, for_update=True)
    await close(session, actor=actor, kind=k, obj=obj)
    return _item(k, obj, None)


async def provider_postings(session: AsyncSession, *, actor: Principal, kind: str | None, status: str | None,
                            cursor: str | None, limit: int) -> Page[ReviewItem]:
    """The organisation's own postings of every kind with their review state, newest first."""
    kinds = [get_kind(kind)] if kind else [k for k in REGISTRY.values() if actor.org_kind in k.org_kinds]
    after = decode_cursor(cursor, "t", "k", "i", text=("k",))  # k: the posting kind
    streams = []
    for k in kinds:
        m = k.model
        stmt = select(m).where(m.org_id == actor.org_id).order_by(m.updated_at.desc(), m.id.desc()).limit(limit + 1)
        if status:
            stmt = stmt.where(m.status == status)
        if after:
            at = datetime.fromisoformat(after["t"])
            stmt = stmt.where(or_(m.updated_at < at, and_(m.updated_at == at, m.id < after["i"])))
        rows = (await session.execute(stmt)).scalars().all()
        streams.append([(o.updated_at, k.kind, o.id, _item(k, o, None)) for o in rows])
    merged = sorted((r for s in streams for r in s), key=lambda r: (r[0], r[1], r[2]), reverse=True)
    page = merged[:limit]
    nxt = None
    if len(merged) > limit:
        t, kk, i, _ = page[-1]
        nxt = encode_cursor({"t": t.isoformat(), "k": kk, "i": i})
    return Page(items=[r[3] for r in page], next_cursor=nxt)
