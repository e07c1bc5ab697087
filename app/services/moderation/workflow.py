"""The publishing workflow: the provider's side (content checks, submit, edit, close) and staff's
(the review queue across every kind, the review screen, approve / reject / take down). Every staff
decision tells the organisation's owners, with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.config import get_settings
from app.deps import Principal, require_standing
from app.kit.pagination import Key, Page, keyset
from app.kit.postings import (
    EDITABLE,
    REGISTRY,
    PostingKind,
    get_kind,
    kinds_for_org,
    load_own,
    org_name_of,
    org_names,
    status_label,
    union,
)
from app.schemas.moderation import QueueStatus, ReviewDecision, ReviewDetail, ReviewItem
from app.services import audit
from app.services.moderation import cases
from app.services.notifications.catalogue import define, notify_many
from app.services.orgs import owner_ids
from models.moderation import PostingStatus, ReportCase, ReportResolution
from models.orgs import Organisation, OrgStatus

POSTING_APPROVED = define(
    "posting.approved", title="{label}已通过审核", body="「{posting}」已通过审核并发布。",
    params=("label", "posting", "at"), wechat="account", keywords={"thing1": "posting", "thing2": "title", "time3": "at"},
)
POSTING_REJECTED = define(
    "posting.rejected", title="{label}未通过审核", body="「{posting}」未通过审核。原因：{reason}。修改后可以重新提交。",
    params=("label", "posting", "reason", "at"), wechat="account", keywords={"thing1": "posting", "thing2": "reason", "time3": "at"},
)
POSTING_TAKEN_DOWN = define(
    "posting.taken_down", title="{label}已被下架",
    body="「{posting}」已被工作人员下架。原因：{reason}。如有疑问请联系团委工作人员。",
    params=("label", "posting", "reason", "at"), wechat="account", keywords={"thing1": "posting", "thing2": "reason", "time3": "at"},
)

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
    require_standing(actor)
    if actor.org_status != OrgStatus.verified:
        raise errors.OrgNotVerified()
    if obj.status not in (PostingStatus.draft, PostingStatus.rejected, PostingStatus.closed):
        raise errors.PostingStateInvalid(f"{kind.label}当前状态为「{status_label(obj.status)}」，不能提交审核")
    now = clock.now()
    obj.review_flag = await check_content(session, kind, obj)
    obj.status = PostingStatus.pending_review
    obj.submitted_at = now
    obj.review_reason = None
    obj.updated_at = now
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.submit", target_kind=kind.kind, target_id=obj.id)
    return obj


async def after_edit(session: AsyncSession, *, actor: Principal, kind: PostingKind, obj: Any,
                     changed: set[str]) -> None:
    """Call after applying a provider's edit. Public text edited on a live posting goes back to review
    (what people already applied for stays); text edited while pending is checked again."""
    if obj.status not in EDITABLE:
        raise errors.PostingStateInvalid()
    now = clock.now()
    text_changed = sorted(changed & set(kind.text_fields))
    if text_changed and obj.status in (PostingStatus.published, PostingStatus.pending_review):
        obj.review_flag = await check_content(session, kind, obj, text_changed)
        if obj.status == PostingStatus.published:
            obj.status = PostingStatus.pending_review
            obj.submitted_at = now
    obj.updated_at = now
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.edit", target_kind=kind.kind, target_id=obj.id,
                       detail={"fields": sorted(changed)})


async def close(session: AsyncSession, *, actor: Principal, kind: PostingKind, obj: Any) -> Any:
    if obj.status not in (PostingStatus.published, PostingStatus.pending_review):
        raise errors.PostingStateInvalid(f"只有已发布的{kind.label}可以关闭")
    obj.status = PostingStatus.closed
    obj.updated_at = clock.now()
    await session.flush()
    await audit.record(session, actor=actor, action=f"{kind.kind}.close", target_kind=kind.kind, target_id=obj.id)
    return obj


async def provider_submit(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int) -> ReviewItem:
    k = get_kind(kind)
    obj = await load_own(session, actor, k, posting_id, for_update=True)
    await submit(session, actor=actor, kind=k, obj=obj)
    return _item(k, obj, await org_name_of(session, obj))


async def provider_close(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int) -> ReviewItem:
    k = get_kind(kind)
    obj = await load_own(session, actor, k, posting_id, for_update=True)
    await close(session, actor=actor, kind=k, obj=obj)
    return _item(k, obj, await org_name_of(session, obj))


async def provider_postings(session: AsyncSession, *, actor: Principal, kind: str | None,
                            status: PostingStatus | None, cursor: str | None, limit: int) -> Page[ReviewItem]:
    """The organisation's own postings of every kind with their review state, last changed first (also
    while the organisation lost its standing: nothing personal is in it)."""
    kinds = [get_kind(kind)] if kind else kinds_for_org(actor.org_kind)
    if not kinds:
        return Page(items=[])
    p = union(kinds, lambda m: [m.org_id == actor.org_id, *([m.status == status] if status else [])])
    order = [Key("t", p.c.updated_at, datetime, desc=True), Key("k", p.c.kind, str, desc=True),
             Key("i", p.c.id, desc=True)]
    found = await keyset(session, select(p), order, cursor=cursor, limit=limit, tag="own-postings")
    names = await org_names(session, [r.org_id for r in found.rows])
    return found.page(lambda r: _row_item(r, names[r.org_id]))


# --- staff side -----------------------------------------------------------------------------------


async def review_queue(session: AsyncSession, *, kind: str | None, status: QueueStatus | None,
                       flagged: bool | None, cursor: str | None, limit: int, org_id: int | None = None
                       ) -> Page[ReviewItem]:
    """Postings of every kind (or one): those reports made urgent first, then oldest submission first;
    one statement, one cursor. ``needs_review`` (the default) is what waits for staff: pending
    postings and urgent ones."""
    kinds = [get_kind(kind)] if kind else list(REGISTRY.values())

    def where(m: Any) -> list[Any]:
        conds: list[Any] = []
        if status == QueueStatus.hidden:
            conds.append(m.hidden_by_reports.is_(True))
        elif status and status not in (QueueStatus.urgent, QueueStatus.needs_review):
            conds.append(m.status == status)
        if flagged is not None:
            conds.append(m.review_flag.is_not(None) if flagged else m.review_flag.is_(None))
        if org_id is not None:
            conds.append(m.org_id == org_id)
        return conds

    p = union(kinds, where)
    urgent = case((ReportCase.urgent_since.is_not(None), 1), else_=0)
    order = [Key("u", urgent, desc=True), Key("t", func.coalesce(p.c.submitted_at, p.c.created_at), datetime),
             Key("k", p.c.kind, str), Key("i", p.c.id)]
    stmt = (select(p, Organisation.name.label("org_name"), urgent.label("urgent"),
                   func.coalesce(ReportCase.standing, 0).label("standing_reports"))
            .join(Organisation, Organisation.id == p.c.org_id)
            .outerjoin(ReportCase, and_(ReportCase.target_kind == p.c.kind, ReportCase.target_id == p.c.id)))
    if status == QueueStatus.urgent:
        stmt = stmt.where(ReportCase.urgent_since.is_not(None))
    elif status == QueueStatus.needs_review:
        stmt = stmt.where((p.c.status == PostingStatus.pending_review) | ReportCase.urgent_since.is_not(None))
    return (await keyset(session, stmt, order, cursor=cursor, limit=limit, tag="reviews")).page(
        lambda r: _row_item(r, r.org_name))


def _row_item(r: Any, org_name: str) -> ReviewItem:
    return ReviewItem(
        kind=r.kind, id=r.id, org_id=r.org_id, org_name=org_name, title=str(r.title),
        status=r.status, review_flag=r.review_flag, review_reason=r.review_reason,
        hidden_by_reports=r.hidden_by_reports, submitted_at=r.submitted_at, published_at=r.published_at,
        urgent=bool(getattr(r, "urgent", False)), standing_reports=getattr(r, "standing_reports", 0),
    )


def _item(kind: PostingKind, obj: Any, org_name: str, case_row: ReportCase | None = None) -> ReviewItem:
    return ReviewItem(
        kind=kind.kind, id=obj.id, org_id=obj.org_id, org_name=org_name, title=kind.title_of(obj),
        status=obj.status, review_flag=obj.review_flag, review_reason=obj.review_reason,
        hidden_by_reports=obj.hidden_by_reports, submitted_at=obj.submitted_at, published_at=obj.published_at,
        urgent=bool(case_row and case_row.urgent_since), standing_reports=case_row.standing if case_row else 0,
    )


async def review_detail(session: AsyncSession, *, kind: str, posting_id: int) -> ReviewDetail:
    """The posting with its stored fields and, where its kind has a public view, exactly as a young
    person will see it once published."""
    k = get_kind(kind)
    obj = await session.get(k.model, posting_id)
    if obj is None:
        raise errors.NotFound()
    item = _item(k, obj, await org_name_of(session, obj), await session.get(ReportCase, (k.kind, obj.id)))
    public = None
    if k.public_view is not None:
        shown = await k.public_view(session, obj)
        public = shown.model_dump(mode="json") if isinstance(shown, BaseModel) else shown
    return ReviewDetail(**item.model_dump(), content=obj.model_dump(mode="json"), public_view=public)


TAKE_DOWN_FROM = (PostingStatus.published, PostingStatus.pending_review, PostingStatus.closed)
_ALLOWED = {ReviewDecision.approve: (PostingStatus.pending_review,),
            ReviewDecision.reject: (PostingStatus.pending_review,),
            ReviewDecision.take_down: TAKE_DOWN_FROM}


async def decide(session: AsyncSession, *, actor: Principal, kind: str, posting_id: int, decision: ReviewDecision,
                 reason: str | None) -> ReviewItem:
    k = get_kind(kind)
    obj = await session.get(k.model, posting_id, with_for_update=True)
    if obj is None:
        raise errors.NotFound()
    if obj.status not in _ALLOWED[decision]:
        raise errors.PostingStateInvalid(f"{k.label}当前状态为「{status_label(obj.status)}」，不能执行此操作")
    if decision != ReviewDecision.approve and not reason:
        raise errors.ValidationFailed(fields={"reason": "请填写原因"})
    now = clock.now()
    if decision == ReviewDecision.take_down:
        await take_down(session, k, obj, actor, reason or "", now)
    else:
        approve = decision == ReviewDecision.approve
        obj.status = PostingStatus.published if approve else PostingStatus.rejected
        obj.review_reason = None if approve else reason
        obj.reviewed_by = actor.user_id
        obj.reviewed_at = now
        if approve:
            obj.review_flag = None
            obj.published_at = obj.published_at or now
        obj.updated_at = now
        await session.flush()
        if approve and k.on_publish:
            await k.on_publish(session, obj, actor)
        if approve:
            await _tell_owners(session, POSTING_APPROVED, k, obj, now)
        else:
            await _tell_owners(session, POSTING_REJECTED, k, obj, now, reason=reason)
    await audit.record(session, actor=actor, action=f"{kind}.{decision}", target_kind=kind,
                       target_id=obj.id, org_id=obj.org_id, reason=reason)
    return _item(k, obj, await org_name_of(session, obj), await session.get(ReportCase, (k.kind, obj.id)))


async def take_down(session: AsyncSession, k: PostingKind, obj: Any, actor: Principal, reason: str,
                    now: datetime) -> list[int]:
    """Staff take a posting down (from the review screen or on a report): its open reports are settled
    with it (their ids are returned), its kind's hook runs (telling the people signed up), and the
    owners are told why."""
    obj.status = PostingStatus.taken_down
    obj.hidden_by_reports = False  # its reports are settled with it
    obj.review_reason = reason
    obj.reviewed_by = actor.user_id
    obj.reviewed_at = now
    obj.updated_at = now
    await session.flush()
    settled = await cases.settle(session, target_kind=k.kind, target_id=obj.id,
                                 resolution=ReportResolution.taken_down, actor=actor, now=now)
    if k.on_take_down:
        await k.on_take_down(session, obj, actor, reason)
    await _tell_owners(session, POSTING_TAKEN_DOWN, k, obj, now, reason=reason)
    return settled


async def _tell_owners(session: AsyncSession, notice: Any, k: PostingKind, obj: Any, at: datetime, **params: Any
                       ) -> None:
    notify_many(session, notice, await owner_ids(session, obj.org_id), data={"kind": k.kind, "posting_id": obj.id},
                label=k.label, posting=k.title_of(obj), at=at, **params)
