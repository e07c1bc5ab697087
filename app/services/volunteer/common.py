"""What the modules of the volunteering service share: the posting kind, the notification kinds, the
capacity counter, distances and quarter hours."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.kit import postings
from app.kit.capacity import Counter
from app.kit.postings import PostingKind
from app.services.notifications.catalogue import define
from app.services.volunteer.settings import settings
from models.orgs import Organisation
from models.volunteer import VolunteerProject, VolunteerShift, VolunteerSignup

S = VolunteerShift
U = VolunteerSignup
P = VolunteerProject
SERVICE = "volunteer"  # in app.services.restrictions
SIGNUP_SOURCE = "volunteer_signup"  # strikes and audit targets

# A place is taken only while the shift is not cancelled (the database decides, not Python).
PLACES = Counter(VolunteerShift, when=lambda t: (t.c.cancelled_at.is_(None),))
NO_SYNC = {"synchronize_session": False}

# --- notifications (WeChat templates "volunteer*") ---------------------------------------------------

SIGNED_UP = define(
    "volunteer.signed_up", title="志愿报名成功", body="您已报名「{project}」{starts_at}的岗位，请准时到{place}签到。",
    params=("project", "starts_at", "place"), wechat="volunteer",
    keywords={"thing1": "project", "time2": "starts_at", "thing3": "place"})
WAITLISTED = define(
    "volunteer.waitlisted", title="已加入志愿岗位候补", body="「{project}」{starts_at}的岗位已满，您在候补第{position}位，有空位时会通知您。",
    params=("project", "starts_at", "position"), wechat="volunteer",
    keywords={"thing1": "project", "time2": "starts_at", "thing3": "=候补第{position}位"})
PROMOTED = define(
    "volunteer.promoted", title="候补成功，已为您保留名额", body="「{project}」{starts_at}的岗位有了空位，您已报名成功。如不能参加请及时取消。",
    params=("project", "starts_at"), wechat="volunteer", keywords={"thing1": "project", "time2": "starts_at",
                                                                   "thing3": "title"})
SHIFT_CHANGED = define(
    "volunteer.shift_changed", title="志愿岗位时间或地点有调整",
    body="您报名的「{project}」调整为{starts_at}在{place}，如不能参加请及时取消报名。",
    params=("project", "starts_at", "place"), wechat="volunteer",
    keywords={"thing1": "project", "time2": "starts_at", "thing3": "place"})
SHIFT_RELEASED = define(
    "volunteer.shift_released", title="志愿岗位调整后与您的其他报名冲突",
    body="「{project}」调整为{starts_at}，与您已报名的其他岗位时间重叠，本岗位的报名已为您取消。",
    params=("project", "starts_at"), wechat="volunteer", keywords={"thing1": "project", "time2": "starts_at",
                                                                   "thing3": "title"})
SHIFT_CANCELLED = define(
    "volunteer.shift_cancelled", title="志愿岗位已取消", body="很抱歉，「{project}」{starts_at}的岗位已取消：{reason}",
    params=("project", "starts_at", "reason"), wechat="volunteer",
    keywords={"thing1": "project", "time2": "starts_at", "thing3": "reason"})
NO_SHOW = define(
    "volunteer.no_show", title="志愿服务签到记录：未到场",
    body="您报名了「{project}」{starts_at}的岗位但没有签到，已记为一次爽约。不能参加时请提前取消。",
    params=("project", "starts_at"), wechat="volunteer", keywords={"thing1": "project", "time2": "starts_at",
                                                                   "thing3": "title"})
HOURS_CONFIRMED = define(
    "volunteer.hours_confirmed", title="志愿服务时长已确认", body="「{project}」的服务时长{hours}小时已由组织确认。",
    params=("project", "hours"), wechat="volunteer_hours", keywords={"thing1": "project", "number2": "hours",
                                                               "thing3": "title"})
HOURS_ADJUSTED = define(
    "volunteer.hours_adjusted", title="志愿服务时长已调整", body="「{project}」的服务时长确认为{hours}小时：{reason}",
    params=("project", "hours", "reason"), wechat="volunteer_hours",
    keywords={"thing1": "project", "number2": "hours", "thing3": "reason"})
DISPUTE_ANSWERED = define(
    "volunteer.dispute_answered", title="您对服务时长的异议已处理", body="「{project}」的服务时长为{hours}小时。组织的答复：{reason}",
    params=("project", "hours", "reason"), wechat="volunteer_hours",
    keywords={"thing1": "project", "number2": "hours", "thing3": "reason"})
CERTIFICATE_REVOKED = define(
    "volunteer.certificate_revoked", title="志愿服务证明已作废",
    body="证明 {code} 已作废：{reason}。您可以重新开具一份新的证明。",
    params=("code", "reason"), wechat="volunteer_certificate", keywords={"character_string1": "code", "thing2": "reason"})
DISPUTE_OPENED = define(
    "volunteer.dispute_opened", title="志愿者对服务时长提出异议",
    body="「{project}」{served_on}的一条服务时长记录有异议：{reason}。请核实后答复。",
    params=("project", "served_on", "reason"), wechat="volunteer_record",
    keywords={"thing1": "project", "date2": "served_on", "thing3": "reason"})
HOURS_OVERDUE = define(
    "volunteer.hours_overdue", title="有志愿服务时长待确认",
    body="「{project}」{starts_at}的岗位还有{count}条服务时长未确认，请在{due_at}前确认（记录应在活动后10个工作日内完成）。",
    params=("project", "starts_at", "count", "due_at"), wechat="volunteer_record", reminder=True,
    keywords={"thing1": "project", "date2": "starts_at", "thing3": "={count}条时长待确认"})

async def _on_take_down(session: AsyncSession, project: Any, actor: Any, reason: str) -> None:
    from app.services.volunteer.projects import cancel_upcoming

    await cancel_upcoming(session, project, reason)


KIND = postings.register(PostingKind(
    kind="volunteer_project", model=VolunteerProject, org_kinds=("volunteer_org",), title_field="title",
    text_fields=("title", "description", "requirements", "skills", "place", "address"), label="志愿项目",
    # People who served keep seeing the project they served in after it closes.
    shown_after_close=True, on_take_down=_on_take_down,
    # Signing up for a shift is taking part (it gives a report about the organisation standing).
    interactions=lambda user_id: select(VolunteerSignup.project_id).where(VolunteerSignup.user_id == user_id),
))


# --- time, distance and hours -------------------------------------------------------------------------


def cancel_deadline(starts_at: datetime) -> datetime:
    return starts_at - timedelta(hours=settings().volunteer_cancel_cutoff_hours)


def quarter_hours(seconds: float) -> int:
    """Minutes in whole quarter hours, to the nearest (7.5 minutes and more round up)."""
    return math.floor(max(seconds, 0) / 900 + 0.5) * 15


def hours_of(minutes: int) -> float:
    return round(minutes / 60, 2)


EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine). GCJ-02 on both sides: its offset cancels out at this scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def shift_place(shift: Any, project: Any) -> tuple[str, float, float]:
    if shift.lat is not None and shift.lng is not None:
        return shift.place or project.place, shift.lat, shift.lng
    return shift.place or project.place, project.lat, project.lng


def shift_state(shift: Any, now: datetime, *, waitlist: bool) -> str:
    if shift.cancelled_at is not None:
        return "cancelled"
    if now >= shift.starts_at:
        return "started"
    if now >= shift.signup_closes_at:
        return "closed"
    if shift.taken >= shift.capacity:
        return "waitlist" if waitlist else "full"
    return "open"


async def visible_project(session: AsyncSession, project_id: int) -> tuple[VolunteerProject, str | None]:
    row = (await session.execute(
        select(VolunteerProject, Organisation.name).join(Organisation, Organisation.id == VolunteerProject.org_id)
        .where(VolunteerProject.id == project_id))).first()
    if row is None or not KIND.is_visible(row[0]):
        raise errors.NotFound()
    return row[0], row[1]


async def shift_and_project(session: AsyncSession, shift_id: int, *, for_update: bool = False
                            ) -> tuple[VolunteerShift, VolunteerProject]:
    stmt = select(VolunteerShift, VolunteerProject).join(VolunteerProject, VolunteerProject.id == S.project_id).where(
        S.id == shift_id)
    if for_update:
        stmt = stmt.with_for_update(of=VolunteerShift, key_share=True).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise errors.NotFound()
    return row[0], row[1]
