"""What the console's work pages show: read through the services (the review queue across every
registered posting kind, reports, organisations, the audit log), shaped for the templates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit.postings import REGISTRY, status_label
from app.kit.time import day_span, display
from app.schemas.moderation import QueueStatus
from app.services import audit, moderation, orgs
from app.validators import validate_credit_code
from models.moderation import PostingFields, ReportStatus
from models.orgs import OrgStatus

KIND_LABELS = {k: v.label for k, v in REGISTRY.items()}


def pretty(value: Any) -> Any:
    """An ISO date-time from a posting's JSON in Shanghai time; anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return display(datetime.fromisoformat(value.replace("Z", "+00:00")), "%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return value


def kind_label(kind: str) -> str:
    k = REGISTRY.get(kind)
    return k.label if k else ("用户" if kind == "user" else kind)


async def queue(session: AsyncSession, *, kind: str | None, status: str | None, cursor: str | None) -> Any:
    qs = QueueStatus(status) if status else QueueStatus.needs_review
    return await moderation.review_queue(session, kind=kind or None, status=qs, flagged=None, cursor=cursor,
                                         limit=30)


# The review fields every posting has: staff see them in the page's header, not as the posting's content.
_INTERNAL = frozenset({*PostingFields.model_fields, "id"})


def shown_content(detail: Any) -> dict[str, Any]:
    """The posting as a young person will see it: its kind's public view where it registers one, else
    what the provider submitted (title and checked texts first) without the review bookkeeping."""
    if detail.public_view:
        return detail.public_view
    k = REGISTRY.get(detail.kind)
    first = [k.title_field, *k.text_fields] if k else []
    content = {f: detail.content[f] for f in first if f in detail.content}
    content.update({f: v for f, v in detail.content.items() if f not in _INTERNAL and f not in content})
    return content


async def review(session: AsyncSession, *, kind: str, posting_id: int) -> dict[str, Any]:
    detail = await moderation.review_detail(session, kind=kind, posting_id=posting_id)
    reports = await moderation.list_reports(session, status=ReportStatus.open, target_kind=kind,
                                            target_id=posting_id, cursor=None, limit=50)
    return {"detail": detail, "shown": shown_content(detail), "reports": reports.items,
            "status_label": status_label(detail.status)}


async def reports(session: AsyncSession, *, status: str | None, cursor: str | None) -> Any:
    st = ReportStatus(status) if status else ReportStatus.open
    return await moderation.list_reports(session, status=st, target_kind=None, target_id=None, cursor=cursor,
                                         limit=30)


def credit_code_ok(code: str) -> bool:
    try:
        validate_credit_code(code)
    except ValueError:
        return False
    return True


async def organisations(session: AsyncSession, *, status: str | None, cursor: str | None) -> Any:
    st = OrgStatus(status) if status else OrgStatus.pending
    return await orgs.staff_list(session, status=st, kind=None, cursor=cursor, limit=30)


async def audit_log(session: AsyncSession, *, actor_id: int | None, action: str | None, target_kind: str | None,
                    target_id: str | None, first: date | None, last: date | None, cursor: str | None) -> Any:
    since, until = day_span(first, last)
    return await audit.search(session, actor_id=actor_id, action=action or None, target_kind=target_kind or None,
                              target_id=target_id or None, since=since, until=until, cursor=cursor, limit=50)


async def account(session: AsyncSession, *, user_id: int) -> dict[str, Any] | None:
    """What staff need to decide on a suspension: role, state, nickname, organisation; nothing personal."""
    from sqlalchemy import select

    from models.accounts import User
    from models.orgs import Organisation, OrgMember

    row = (await session.execute(
        select(User.id, User.role, User.status, User.suspended_reason, User.nickname, User.created_at,
               User.last_login_at, Organisation.name.label("org_name"))
        .outerjoin(OrgMember, OrgMember.user_id == User.id).outerjoin(Organisation, Organisation.id == OrgMember.org_id)
        .where(User.id == user_id))).first()
    return dict(row._mapping) if row else None


async def certificates(session: AsyncSession, *, actor: Any, code: str | None, user_id: int | None,
                       cursor: str | None) -> Any:
    from app.services import volunteer

    if not code and user_id is None:
        return None  # nothing asked: nothing looked up (each look-up is audited)
    return await volunteer.search_certificates(session, actor=actor, code=code, user_id=user_id, status=None,
                                               issued_from=None, issued_to=None, cursor=cursor, limit=30)


async def late_organisations(session: AsyncSession, *, cursor: str | None) -> Any:
    from app.services import volunteer

    return await volunteer.late_organisations(session, cursor=cursor, limit=50)


async def slow_to_answer(session: AsyncSession) -> list[dict[str, Any]]:
    """Organisations with applications waiting for a first decision longer than
    ``console_applicant_answer_days`` (housing today; counts only, computed on read)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from app import clock
    from app.services.console.settings import settings
    from models.housing import ApplicationStatus, HousingApplication, HousingProject
    from models.orgs import Organisation

    before = clock.now() - timedelta(days=settings().console_applicant_answer_days)
    stmt = (select(Organisation.id, Organisation.name, func.count().label("n"),
                   func.min(HousingApplication.submitted_at).label("oldest"))
            .select_from(HousingApplication)
            .join(HousingProject, HousingProject.id == HousingApplication.project_id)
            .join(Organisation, Organisation.id == HousingProject.org_id)
            .where(HousingApplication.status == ApplicationStatus.submitted, HousingApplication.submitted_at < before)
            .group_by(Organisation.id, Organisation.name).order_by(func.min(HousingApplication.submitted_at))
            .limit(100))
    return [{"service": "住房申请", **dict(r._mapping)} for r in (await session.execute(stmt)).all()]
