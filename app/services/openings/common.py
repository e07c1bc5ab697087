"""What the modules of the openings service share: the posting kind, the capacity counter, the
notification kinds and the organisation's members to tell."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.kit import postings
from app.kit.capacity import Counter
from app.kit.postings import PostingKind
from app.services.notifications.catalogue import define, notify_many
from models.openings import Opening, OpeningApplication
from models.orgs import OrgMember

OP = Opening
A = OpeningApplication
KIND_LABELS = {"internship": "就业见习岗位", "incubator": "创业孵化名额"}
# Which organisation kind posts which kind of opening.
ORG_KIND_FOR = {"internship": "employer", "incubator": "incubator"}

# An accepted offer takes a place; the database decides, never a count in Python.
PLACES = Counter(Opening, taken="taken", capacity="places")
NO_SYNC = {"synchronize_session": False}

# --- notifications (wechat family "opening") -------------------------------------------------------
# One kind per status an applicant can reach: every change of their application tells them.

_KW = {"thing1": "opening", "phrase2": "status", "thing3": "title", "time4": "sent_at"}


def _applicant(key: str, title: str, body: str, *params: str) -> Any:
    return define(f"opening.{key}", title=title, body=body, params=("opening", "status", *params),
                  wechat="opening", keywords=_KW)


SUBMITTED = _applicant("submitted", "申请已提交", "您已申请「{opening}」（{status}），可在“我的申请”中查看进度。")
VIEWED = _applicant("viewed", "您的申请已被查看", "「{opening}」的招聘方已查看您的申请（{status}）。")
INTERVIEW = _applicant("interview", "面试邀请", "「{opening}」邀请您{at}面试，地点：{where}。{note}", "at", "where", "note")
OFFERED = _applicant("offered", "录用通知", "「{opening}」拟录用您，请在{answer_by}前答复，逾期视为放弃。{note}",
                     "answer_by", "note")
ACCEPTED = _applicant("accepted", "已接受录用", "您已接受「{opening}」的录用（{status}），请按约定时间报到。")
DECLINED = _applicant("declined", "已婉拒录用", "您已婉拒「{opening}」的录用（{status}）。")
LAPSED = _applicant("lapsed", "录用通知已失效", "「{opening}」的录用未在{answer_by}前答复，已失效（{status}）。", "answer_by")
REJECTED = _applicant("rejected", "申请结果通知", "很遗憾，您对「{opening}」的申请未通过：{reason}", "reason")
WITHDRAWN = _applicant("withdrawn", "申请已撤回", "您已撤回对「{opening}」的申请（{status}）。")
NOTICE_FOR = {"submitted": SUBMITTED, "viewed": VIEWED, "interview": INTERVIEW, "offered": OFFERED,
              "accepted": ACCEPTED, "declined": DECLINED, "lapsed": LAPSED, "rejected": REJECTED,
              "withdrawn": WITHDRAWN}

# To the provider's members.
ANSWERED = define(
    "opening.answered", title="申请人已答复", body="「{opening}」的申请人{applicant}{answer}。",
    params=("opening", "applicant", "answer"), wechat="opening",
    keywords={"thing1": "opening", "phrase2": "=已答复", "thing3": "={applicant}{answer}", "time4": "sent_at"})
CLOSED_AT_DEADLINE = define(
    "opening.closed_at_deadline", title="岗位已到截止时间", body="「{opening}」已于{deadline}截止报名并自动关闭，"
    "已收到{count}份申请，请及时处理。", params=("opening", "deadline", "count"), wechat="opening",
    keywords={"thing1": "opening", "phrase2": "=已截止", "thing3": "=已收到{count}份申请", "time4": "deadline"})


async def tell_org(session: AsyncSession, kind: Any, org_id: int, *, data: dict[str, Any], **params: Any) -> None:
    members = (await session.execute(select(OrgMember.user_id).where(OrgMember.org_id == org_id))).scalars().all()
    notify_many(session, kind, list(members), data=data, **params)


async def _on_take_down(session: AsyncSession, opening: Any, actor: Any, reason: str) -> None:
    from app.services.openings.pipeline import reject_open

    await reject_open(session, opening, actor=None, reason_code="opening_taken_down", reason=reason)


KIND = postings.register(PostingKind(
    kind="opening", model=Opening, org_kinds=("employer", "incubator"), title_field="title",
    text_fields=("title", "description", "address", "majors", "offer_notes"), label="见习/孵化岗位",
    # Applicants keep seeing the opening they applied to after it closes.
    shown_after_close=True, on_take_down=_on_take_down,
    interactions=lambda user_id: select(OpeningApplication.opening_id).where(OpeningApplication.user_id == user_id),
))
