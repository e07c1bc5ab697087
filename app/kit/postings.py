"""The posting contract: every kind of posting (housing project, event, counsellor, volunteer
project, opening …) registers once, and the moderation workflow, the review queue, reports and the
staff console work off this registry.

A kind says:
- its table (a model inheriting ``models.moderation.PostingFields``: the statuses of
  ``PostingStatus``, the review fields, ``hidden_by_reports``), the organisation kinds that may own
  it, its title and content-checked fields, and its Chinese label;
- who may see it — one rule, ``visible`` in SQL and ``is_visible`` in Python from the same data:
  published and not hidden by reports, and, where ``shown_after_close``, still shown (no longer open)
  once closed after having been published. ``listed`` / ``is_listed`` is what searches show:
  published and not hidden;
- what happens when staff publish it or take it down (``on_publish``, ``on_take_down``: async hooks
  in the caller's transaction, e.g. telling the people signed up);
- how it looks to a young person and to its provider (``public_view``, ``provider_view``); the staff
  review screen shows the posting through ``public_view`` as a young person will see it;
- who took part in it (``interactions``: the ids of postings of the kind a person applied to, signed up
  for or booked), which gives a report weight (app.services.moderation.reports);
- and ``owned(kind, "event_id")`` is the route dependency that loads a posting of the caller's own
  organisation (another organisation's answers 404, never 403); like ``load_own`` it refuses an
  organisation that lost its standing (rejected or suspended: app.deps.require_standing).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path
from pydantic import BeforeValidator
from sqlalchemy import and_, literal, or_, select, union_all
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.contract import raises
from app.deps import Principal, SessionDep, provider_principal, require_standing
from models.moderation import PostingStatus
from models.orgs import Organisation

Hook = Callable[..., Awaitable[None]]
View = Callable[[AsyncSession, Any], Awaitable[Any]]
# (user id) -> a SELECT of one column: the ids of this kind's postings the person took part in.
Interactions = Callable[[int], Any]

# Review states a provider may still edit in; taken-down postings stay as staff left them.
EDITABLE = frozenset({PostingStatus.draft, PostingStatus.rejected, PostingStatus.pending_review,
                      PostingStatus.published, PostingStatus.closed})
STATUS_LABELS = {PostingStatus.draft: "草稿", PostingStatus.pending_review: "审核中", PostingStatus.published: "已发布",
                 PostingStatus.rejected: "未通过", PostingStatus.closed: "已关闭", PostingStatus.taken_down: "已下架"}


@dataclass(frozen=True)
class PostingKind:
    kind: str  # stable API name, e.g. "housing_project"
    model: type[SQLModel]  # a table inheriting models.moderation.PostingFields
    org_kinds: tuple[str, ...]  # organisation kinds allowed to own it
    title_field: str
    text_fields: tuple[str, ...]  # content-checked; editing them on a published posting re-opens review
    label: str  # Chinese name shown in messages
    shown_after_close: bool = False
    on_publish: Hook | None = None  # (session, posting, actor)
    on_take_down: Hook | None = None  # (session, posting, actor, reason)
    public_view: View | None = None
    provider_view: View | None = None
    interactions: Interactions | None = None

    # --- who may see it: one rule, in SQL and in Python ---------------------------------------------

    def visible(self) -> Any:
        m = self.model
        shown = m.status == PostingStatus.published
        if self.shown_after_close:
            shown = or_(shown, and_(m.status == PostingStatus.closed, m.published_at.is_not(None)))
        return and_(shown, m.hidden_by_reports.is_(False))

    def is_visible(self, p: Any) -> bool:
        return self.shows(p.status, p.published_at, p.hidden_by_reports)

    def shows(self, status: str, published_at: Any, hidden_by_reports: bool) -> bool:
        if hidden_by_reports:
            return False
        return status == PostingStatus.published or (
            self.shown_after_close and status == PostingStatus.closed and published_at is not None)

    def listed(self) -> Any:
        m = self.model
        return and_(m.status == PostingStatus.published, m.hidden_by_reports.is_(False))

    def is_listed(self, p: Any) -> bool:
        return p.status == PostingStatus.published and not p.hidden_by_reports

    def title_of(self, p: Any) -> str:
        return str(getattr(p, self.title_field))


REGISTRY: dict[str, PostingKind] = {}


def register(kind: PostingKind) -> PostingKind:
    if kind.kind in REGISTRY:
        raise RuntimeError(f"posting kind {kind.kind} registered twice")
    REGISTRY[kind.kind] = kind
    return kind


def kind_enum(*extra: str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` that lists the registered kinds (and ``extra``) as the field's enum in the
    OpenAPI document. It is read when the document is built, by when every service has registered its
    kinds; the service still answers an unknown kind with its own code."""

    def add(schema: dict[str, Any]) -> None:
        values = [*sorted(REGISTRY), *extra]
        for branch in [b for b in schema.get("anyOf", []) if b.get("type") == "string"] or [schema]:
            branch["enum"] = values

    return add


async def org_names(session: AsyncSession, org_ids: Iterable[int]) -> dict[int, str]:
    """The name of each organisation, in one query: every answer that names a posting's organisation
    (``org_name``) takes it from here or from the same join, for a whole page at once, never per row."""
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = await session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return {org_id: name for org_id, name in rows.all()}


async def org_name_of(session: AsyncSession, posting: Any) -> str:
    return (await org_names(session, [posting.org_id]))[posting.org_id]


def get_kind(kind: str) -> PostingKind:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise errors.UnknownPostingKind()


def kinds_for_org(org_kind: str | None) -> list[PostingKind]:
    return [k for k in REGISTRY.values() if org_kind in k.org_kinds]


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)  # type: ignore[call-overload]


# --- ownership ----------------------------------------------------------------------------------------


def require_org_kind(actor: Principal, kind: PostingKind) -> None:
    require_standing(actor)
    if actor.org_kind not in kind.org_kinds:
        raise errors.Forbidden(f"您的机构类型不能发布{kind.label}")


async def load_own(session: AsyncSession, actor: Principal, kind: PostingKind, posting_id: int,
                   *, for_update: bool = False) -> Any:
    """A posting of the actor's organisation; anyone else's answers 404, never 403. An organisation that
    lost its standing gets none of its postings (their applicants are personal data)."""
    require_org_kind(actor, kind)
    obj = await session.get(kind.model, posting_id, with_for_update=for_update or None,
                            populate_existing=for_update or None)
    if obj is None or obj.org_id != actor.org_id:
        raise errors.NotFound()
    return obj


def _digits_only(value: object) -> object:
    # Lax integer parsing would take " 1" or "1_0" for an id; a path id is plain digits or nothing.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("应为正整数编号")
    return value


def path_id(description: str) -> Any:
    """A path id: plain digits, 1 to 2³¹−1 (ids are 32-bit integer columns)."""
    return Annotated[int, BeforeValidator(_digits_only), Path(ge=1, le=2**31 - 1, description=description)]


def owned(kind: PostingKind, param: str, *, for_update: bool = False) -> Any:
    """A route dependency: the posting named by path parameter ``param``, of the caller's organisation
    (a provider in standing of one of the kind's organisation kinds), optionally locked for update."""

    @raises(errors.NotFound)
    async def dep(session: SessionDep, actor: Annotated[Principal, Depends(provider_principal)], **path: int) -> Any:
        return await load_own(session, actor, kind, path[param], for_update=for_update)

    params = [p for p in inspect.signature(dep).parameters.values() if p.kind is not p.VAR_KEYWORD]
    params.append(inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY,
                                    annotation=path_id(f"{kind.label}编号")))
    dep.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    dep.__name__ = f"own_{kind.kind}"
    return Depends(dep)


# --- listings across kinds ------------------------------------------------------------------------------

# The columns every posting has, as one shape, so listings across kinds are one UNION ALL statement
# with one order and one cursor.
UNION_COLUMNS = ("id", "org_id", "status", "review_flag", "review_reason", "hidden_by_reports", "submitted_at",
                 "published_at", "created_at", "updated_at")


def union(kinds: Sequence[PostingKind], where: Callable[[Any], Sequence[Any]] = lambda m: ()) -> Any:
    """One subquery over the postings of ``kinds``: ``kind``, ``title`` and the UNION_COLUMNS."""
    parts = []
    for k in kinds:
        m = k.model
        cols = [literal(k.kind).label("kind"), getattr(m, k.title_field).label("title"),
                *(getattr(m, c).label(c) for c in UNION_COLUMNS)]
        parts.append(select(*cols).where(*where(m)))
    if not parts:
        raise errors.UnknownPostingKind()
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    return stmt.subquery("postings")


async def took_part(session: AsyncSession, user_id: int, org_id: int) -> bool:
    """Whether the person took part in any posting of the organisation, of every kind that registers
    its ``interactions`` (one statement)."""
    parts = [select(k.model.id).where(k.model.org_id == org_id, k.model.id.in_(k.interactions(user_id)))
             for k in REGISTRY.values() if k.interactions]
    if not parts:
        return False
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    return bool((await session.execute(select(stmt.exists()))).scalar())
