"""Counselling requests and answers. Intake answers appear only in the two audited detail answers
(the person's own booking; the centre's booking, to its duty and the booked counsellor); notes only in
the author's note answer; what the centre did about a risk answer only to the centre's duty and the
booked counsellor (never to the person)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.schemas.common import DayIn, InstantIn, Reason, StrictModel
from app.schemas.moderation import PostingState

Specialty = Literal["study_stress", "emotions", "relationships", "love_marriage", "career", "family"]
SPECIALTY_LABELS: dict[str, str] = {
    "study_stress": "学业压力", "emotions": "情绪", "relationships": "人际关系", "love_marriage": "恋爱婚姻",
    "career": "职场", "family": "家庭",
}
Topic = Literal["study_stress", "emotions", "relationships", "love_marriage", "career", "family", "other"]
Mode = Literal["in_person", "video", "phone"]
Gender = Literal["male", "female"]
BookingStatus = Literal["booked", "cancelled", "cancelled_by_centre", "attended", "no_show"]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Qualification = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Language = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
PhotoUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https://\S+$")]
Introduction = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Nickname = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


_PHOTO = "https://cdn.example.com/counsellors/17.jpg"
_COUNSELLOR_IN = {"display_name": "陈老师", "gender": "female", "qualifications": ["国家二级心理咨询师"],
                  "specialties": ["study_stress", "emotions"], "modes": ["in_person", "video"], "languages": ["普通话"],
                  "photo_url": None, "introduction": "擅长陪伴大学生应对学业压力。", "user_id": 88}
_COUNSELLOR = {"id": 17, "org_id": 9, "org_name": "春城青年心理服务中心", "display_name": "陈老师", "gender": "female",
               "qualifications": ["国家二级心理咨询师"], "specialties": ["study_stress", "emotions"],
               "specialty_labels": ["学业压力", "情绪"], "modes": ["in_person", "video"], "languages": ["普通话"],
               "photo_url": _PHOTO, "introduction": "擅长陪伴大学生应对学业压力。", "next_free_at": "2026-12-08T06:00:00Z"}
_COUNSELLOR_OWN = {**_COUNSELLOR, "status": "published", "review_flag": None, "review_reason": None,
                   "submitted_at": "2026-11-19T08:00:00Z", "published_at": "2026-11-20T03:00:00Z",
                   "hidden_by_reports": False, "user_id": 88, "created_at": "2026-11-18T08:00:00Z",
                   "updated_at": "2026-11-20T03:00:00Z"}
_SLOT = {"id": 901, "counsellor_id": 17, "starts_at": "2026-12-08T06:00:00Z", "ends_at": "2026-12-08T06:50:00Z"}
_SLOT_OWN = {**_SLOT, "status": "free", "booking_id": None}
_INTAKE = {"topic": "study_stress", "description": "期末临近，最近睡不好。", "self_harm_thoughts": False}
# FastAPI drops nulls from examples, so a required field that may be null shows a value here: this
# booking was cancelled by the person, late.
_BOOKING = {"id": 3001, "status": "cancelled", "mode": "video", "starts_at": "2026-12-08T06:00:00Z",
            "ends_at": "2026-12-08T06:50:00Z", "counsellor": {"id": 17, "display_name": "陈老师", "photo_url": _PHOTO},
            "org_id": 9, "nickname": "小雨", "late_change": True, "reschedule_count": 0, "cancel_reason": "临时要考试",
            "cancelled_at": "2026-12-08T01:00:00Z", "created_at": "2026-12-01T02:00:00Z", "crisis_resources": None, "outreach": None}
# A no-show, marked, with its strike waived (nullable required fields need a value: see _BOOKING).
_CENTRE_BOOKING = {"id": 3001, "status": "no_show", "mode": "video", "starts_at": "2026-12-08T06:00:00Z",
                   "ends_at": "2026-12-08T06:50:00Z", "counsellor_id": 17, "counsellor_name": "陈老师",
                   "client_name": "小雨", "client_uses_nickname": True, "age_band": "18-24", "risk_flag": False,
                   "late_change": False, "cancel_reason": "（未取消）", "attendance_marked_at": "2026-12-08T07:00:00Z",
                   "strike": {"kind": "no_show", "waived": True, "waive_reason": "来访者因突发疾病未能到场"}}
_FOLLOWUP = {"id": 1, "action": "called_back", "action_label": "已电话回访", "note": "已电话联系来访者，情况稳定。",
             "author_id": 88, "created_at": "2026-12-01T03:00:00Z"}
_RISK = {"due_at": "2026-12-01T03:30:00Z", "overdue": False, "acknowledged_at": "2026-12-01T03:00:00Z",
         "acknowledged_by": 88, "escalated_at": "2026-12-01T03:30:00Z", "followups": [_FOLLOWUP]}


def _unique(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


# --- counsellor profiles --------------------------------------------------------------------------


class CounsellorIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": _COUNSELLOR_IN})

    display_name: Name = Field(description="咨询师的称呼")
    gender: Gender = Field(description="咨询师性别")
    qualifications: list[Qualification] = Field(default_factory=list, max_length=10, description="资质（如国家二级心理咨询师）")
    specialties: list[Specialty] = Field(min_length=1, max_length=6, description="擅长方向")
    modes: list[Mode] = Field(min_length=1, max_length=3, description="提供的咨询方式")
    languages: list[Language] = Field(default_factory=lambda: ["普通话"], min_length=1, max_length=6, description="可使用的语言")
    photo_url: PhotoUrl | None = Field(None, description="照片地址（https）")
    introduction: Introduction | None = Field(None, description="个人介绍")
    user_id: int | None = Field(default=None, ge=1, description=(
        "The centre member account this counsellor signs in with (optional): it reads the intake of the "
        "counsellor's bookings, marks their attendance and alone writes their notes"))

    _dedupe = field_validator("qualifications", "specialties", "modes", "languages")(_unique)


class CounsellorUpdate(StrictModel):
    """Only the fields sent change; null clears photo_url, introduction and user_id."""

    model_config = ConfigDict(json_schema_extra={"example": {"introduction": "擅长陪伴大学生应对学业压力。", "modes": ["in_person", "video"]}})

    display_name: Name | None = Field(None, description="咨询师的称呼")
    gender: Gender | None = Field(None, description="咨询师性别")
    qualifications: list[Qualification] | None = Field(default=None, max_length=10, description="资质（如国家二级心理咨询师）")
    specialties: list[Specialty] | None = Field(default=None, min_length=1, max_length=6, description="擅长方向")
    modes: list[Mode] | None = Field(default=None, min_length=1, max_length=3, description="提供的咨询方式")
    languages: list[Language] | None = Field(default=None, min_length=1, max_length=6, description="可使用的语言")
    photo_url: PhotoUrl | None = Field(None, description="照片地址（https）")
    introduction: Introduction | None = Field(None, description="个人介绍")
    user_id: int | None = Field(default=None, ge=1, description="关联的本机构成员账号；为空表示未关联")

    _dedupe = field_validator("qualifications", "specialties", "modes", "languages")(_unique)

    @model_validator(mode="after")
    def _required_not_null(self) -> CounsellorUpdate:
        for name in ("display_name", "gender", "qualifications", "specialties", "modes", "languages"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} 不能为空")
        return self


class CounsellorPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _COUNSELLOR})

    id: int = Field(description="咨询师编号")
    org_id: int = Field(description="咨询中心（机构）编号")
    org_name: str = Field(description="咨询中心名称")
    display_name: str = Field(description="咨询师的称呼")
    gender: str = Field(description="咨询师性别")
    qualifications: list[str] = Field(description="资质（如国家二级心理咨询师）")
    specialties: list[str] = Field(description="擅长方向")
    specialty_labels: list[str] = Field(description="擅长方向的中文名称")
    modes: list[str] = Field(description="提供的咨询方式")
    languages: list[str] = Field(description="可使用的语言")
    photo_url: str | None = Field(description="照片地址（https）")
    introduction: str | None = Field(description="个人介绍")
    next_free_at: datetime | None = Field(None, description="最近一个可预约时段的开始时间；没有时为空")


class CounsellorOwn(CounsellorPublic, PostingState):
    """The centre's view: the public profile with its review state and linked account."""

    model_config = ConfigDict(json_schema_extra={"example": _COUNSELLOR_OWN})

    user_id: int | None = Field(description="关联的本机构成员账号；为空表示未关联")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="最后修改时间")


# --- slots -----------------------------------------------------------------------------------------

class SlotIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"starts_at": "2026-12-08T14:00:00+08:00", "duration_minutes": 50}})

    starts_at: InstantIn = Field(description="开始时间，带时区，例如 2026-12-08T14:00:00+08:00")
    duration_minutes: int = Field(default=50, ge=15, le=180, description="时长（分钟）")


class SlotPatternIn(StrictModel):
    """Slots every chosen weekday between two local times, e.g. Tue/Thu 14:00–18:00 as 50-minute
    sessions with 10-minute breaks, for the next ``weeks`` weeks from ``start_date``."""

    model_config = ConfigDict(json_schema_extra={"example": {"weekdays": [2, 4], "day_start": "09:00", "day_end": "12:00", "session_minutes": 50, "break_minutes": 10, "weeks": 4}})

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7,
                                                               description="ISO weekdays, 1 = Monday")
    day_start: time = Field(description="每天第一个时段的开始时间（北京时间）")
    day_end: time = Field(description="每天最后一个时段的结束时间（北京时间）")
    session_minutes: int = Field(default=50, ge=15, le=180, description="每个时段的时长（分钟）")
    break_minutes: int = Field(default=10, ge=0, le=120, description="两个时段之间的休息（分钟）")
    weeks: int = Field(default=4, ge=1, le=12, description="生成多少周")
    start_date: DayIn | None = Field(default=None, description="Local date; default today")

    @model_validator(mode="after")
    def _window(self) -> SlotPatternIn:
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start 和 day_end 请填写北京时间，不带时区")
        if self.day_end <= self.day_start:
            raise ValueError("结束时间应晚于开始时间")
        return self


class SlotPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _SLOT})

    id: int = Field(description="时段编号")
    counsellor_id: int = Field(description="咨询师编号")
    starts_at: datetime = Field(description="开始时间")
    ends_at: datetime = Field(description="结束时间")


class SlotOwn(SlotPublic):
    model_config = ConfigDict(json_schema_extra={"example": _SLOT_OWN})

    status: str = Field(description="`free` 空闲、`booked` 已预约、`withdrawn` 已撤下")
    booking_id: int | None = Field(None, description="预约编号；空闲时为空")


class SlotPatternResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"created": 1, "skipped": 0, "slots": [_SLOT_OWN]}})

    created: int = Field(description="生成的时段数")
    skipped: int = Field(description="Times in the past or overlapping existing slots")
    slots: list[SlotOwn] = Field(description="生成的时段")


# --- bookings: the person's side -------------------------------------------------------------------


class IntakeIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": _INTAKE})

    topic: Topic = Field(description="想咨询的主题")
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = Field("", description="想说的情况（加密保存）")
    self_harm_thoughts: bool = Field(description="最近是否有伤害自己的想法")


class IntakeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _INTAKE})

    topic: str = Field(description="想咨询的主题")
    description: str = Field(description="想说的情况（加密保存）")
    self_harm_thoughts: bool = Field(description="近期是否有伤害自己的想法（回答“是”会提示中心尽快跟进）")


class BookingIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"slot_id": 901, "mode": "video", "intake": _INTAKE, "nickname": "小雨"}})

    slot_id: int = Field(ge=1, description="时段编号")
    mode: Mode = Field(description="咨询方式")
    intake: IntakeIn = Field(description="登记内容（仅负责的咨询师和值班咨询师可见）")
    nickname: Nickname | None = Field(default=None, description="Book under this name; the centre then sees it "
                                                                "and an age band instead of the real name")


class RescheduleIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"slot_id": 905}})

    slot_id: int = Field(ge=1, description="时段编号")


class CrisisResource(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"name": "全国心理援助热线", "phone": "12356"}})

    name: str = Field(description="热线名称")
    phone: str = Field(description="电话")


class CounsellorBrief(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"id": 17, "display_name": "陈老师", "photo_url": _PHOTO}})

    id: int = Field(description="咨询师编号")
    display_name: str = Field(description="咨询师的称呼")
    photo_url: str | None = Field(description="照片地址（https）")


class BookingPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _BOOKING})

    id: int = Field(description="预约编号")
    status: str = Field(description="预约状态")
    mode: str = Field(description="咨询方式")
    starts_at: datetime = Field(description="开始时间")
    ends_at: datetime = Field(description="结束时间")
    counsellor: CounsellorBrief = Field(description="咨询师")
    org_id: int = Field(description="咨询中心（机构）编号")
    nickname: str | None = Field(description="以昵称预约时显示给中心的称呼；为空则显示实名")
    late_change: bool = Field(description="是否为临时取消或改约（计入爽约记录）")
    reschedule_count: int = Field(description="改约次数")
    cancel_reason: str | None = Field(description="取消理由")
    cancelled_at: datetime | None = Field(description="取消时间")
    created_at: datetime = Field(description="创建时间")
    # Present when the intake indicated a risk: whom to call now, before any appointment, and that a
    # counsellor of the centre will reach out.
    crisis_resources: list[CrisisResource] | None = Field(None, description="求助热线")
    outreach: str | None = Field(None, description="中心会否因风险回答主动联系")


class BookingOwnDetail(BookingPublic):
    model_config = ConfigDict(json_schema_extra={"example": {**_BOOKING, "intake": _INTAKE}})

    intake: IntakeOut = Field(description="登记内容（仅负责的咨询师和值班咨询师可见）")


# --- bookings: the centre's side -------------------------------------------------------------------


class StrikeState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"kind": "no_show", "waived": True, "waive_reason": "来访者因突发疾病未能到场"}})

    kind: Literal["no_show", "late_cancel"] = Field(description="`no_show` 未到场或 `late_cancel` 临时取消")
    waived: bool = Field(description="是否已免除")
    waive_reason: str | None = Field(description="免除理由")


class CentreBooking(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _CENTRE_BOOKING})

    id: int = Field(description="预约编号")
    status: str = Field(description="预约状态")
    mode: str = Field(description="咨询方式")
    starts_at: datetime = Field(description="开始时间")
    ends_at: datetime = Field(description="结束时间")
    counsellor_id: int = Field(description="咨询师编号")
    counsellor_name: str = Field(description="咨询师称呼")
    # The nickname when the person chose one, else the real name.
    client_name: str = Field(description="来访者的称呼（实名或昵称）")
    client_uses_nickname: bool = Field(description="来访者是否以昵称预约")
    age_band: str = Field(description="来访者的年龄段")
    risk_flag: bool = Field(description="登记中是否有风险回答")
    late_change: bool = Field(description="是否为临时取消或改约（计入爽约记录）")
    cancel_reason: str | None = Field(description="取消理由")
    attendance_marked_at: datetime | None = Field(description="标记到场或未到场的时间")
    # The no-show or late cancellation this booking counts as under the restriction policy, if any.
    strike: StrikeState | None = Field(None, description="这个预约的爽约记录；没有时为空")


FollowUpAction = Literal["called_back", "moved_earlier", "referred", "other"]
FOLLOW_UP_LABELS: dict[str, str] = {"called_back": "已电话回访", "moved_earlier": "已提前咨询时间", "referred": "已转介",
                                    "other": "其他"}


class RiskFollowUpIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"action": "called_back", "note": "已电话联系来访者，情况稳定，约定按时咨询。"}})

    action: FollowUpAction = Field(description="采取的处理")
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=1000)] = Field(
        description="What was done and agreed; read only by the centre's duty and the booked counsellor")


class RiskFollowUpPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _FOLLOWUP})

    id: int = Field(description="编号")
    action: str = Field(description="采取的处理")
    action_label: str = Field(description="处理的中文名称")
    note: str = Field(description="说明")
    author_id: int = Field(description="记录人的用户编号")
    created_at: datetime = Field(description="创建时间")


class RiskState(BaseModel):
    """The centre's handling of a risk answer (never shown to the person)."""

    model_config = ConfigDict(json_schema_extra={"example": _RISK})

    due_at: datetime = Field(description="应在此时之前跟进")
    overdue: bool = Field(description="Not acknowledged and past due (computed at read time)")
    acknowledged_at: datetime | None = Field(description="首次跟进时间")
    acknowledged_by: int | None = Field(description="首次跟进人的用户编号")
    escalated_at: datetime | None = Field(description="超时后通知整个值班名单的时间")
    followups: list[RiskFollowUpPublic] = Field(description="跟进记录")


class CentreBookingDetail(CentreBooking):
    model_config = ConfigDict(json_schema_extra={"example": {**_CENTRE_BOOKING, "intake": _INTAKE, "risk": None}})

    intake: IntakeOut = Field(description="登记内容（仅负责的咨询师和值班咨询师可见）")
    risk: RiskState | None = Field(None, description="风险提示的跟进状态；没有风险回答时为空")


class RiskQueueItem(BaseModel):
    """A flagged booking nobody has acknowledged yet, most urgent first; no intake."""

    model_config = ConfigDict(json_schema_extra={"example": {"booking_id": 3001, "status": "booked", "starts_at": "2026-12-08T06:00:00Z", "counsellor_id": 17, "counsellor_name": "陈老师", "client_name": "小雨", "age_band": "18-24", "due_at": "2026-12-02T03:00:00Z", "overdue": True, "escalated_at": "2026-12-02T03:00:00Z"}})

    booking_id: int = Field(description="预约编号")
    status: str = Field(description="预约状态")
    starts_at: datetime = Field(description="开始时间")
    counsellor_id: int = Field(description="咨询师编号")
    counsellor_name: str = Field(description="咨询师称呼")
    client_name: str = Field(description="来访者的称呼（实名或昵称）")
    age_band: str = Field(description="来访者的年龄段")
    due_at: datetime = Field(description="应在此时之前跟进")
    overdue: bool = Field(description="是否已超时未跟进")
    escalated_at: datetime | None = Field(description="超时后通知整个值班名单的时间")


class WaiveIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "来访者因突发疾病未能到场，已提供说明"}})

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)] = Field(description="免除理由（来访者会看到）")


# --- the centre's settings -------------------------------------------------------------------------

_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def check_opening_hours(value: list[str | None]) -> list[str | None]:
    """Seven entries, Monday first, each "HH:MM-HH:MM" in Shanghai time (closing after opening, 24:00 at
    the latest) or None for a closed day; at least one day open."""
    if len(value) != 7:
        raise ValueError("营业时间应为周一到周日 7 项")
    for span in value:
        if span is None:
            continue
        m = _SPAN.match(span)
        if not m:
            raise ValueError("营业时间的格式应为 09:00-18:00，休息日填 null")
        start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
        if end <= start or end > 24 * 60:
            raise ValueError("结束时间应晚于开始时间，且不晚于 24:00")
    if all(span is None for span in value):
        raise ValueError("至少要有一天营业")
    return value


OpeningSpan = Annotated[str, StringConstraints(strip_whitespace=True, max_length=11)]


class DutyMember(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"user_id": 88, "nickname": "陈老师", "username": "chen_counsellor"}})

    user_id: int = Field(description="成员的用户编号")
    nickname: str | None = Field(description="昵称")
    username: str | None = Field(description="用户名")


class CentreSettings(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"opening_hours": ["09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", None, None], "default_hours": True, "risk_ack_hours": 1.0, "duty": [{"user_id": 88, "nickname": "陈老师", "username": "chen_counsellor"}]}})

    opening_hours: list[str | None] = Field(description="Monday first, Shanghai time, null for closed")
    default_hours: bool = Field(description="The platform's default hours: the centre has not set its own")
    risk_ack_hours: float = Field(description="Opening hours within which a risk flag must be acknowledged")
    duty: list[DutyMember] = Field(description="In order: the first is told of a new risk flag")


class CentreSettingsUpdate(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"opening_hours": ["09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-17:00", "10:00-16:00", None], "duty_user_ids": [88]}})

    opening_hours: list[OpeningSpan | None] | None = Field(default=None, min_length=7, max_length=7, description="每周开放时间：7 项，周一在前，每项为 `HH:MM-HH:MM`（北京时间）或空（不开放）")
    duty_user_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=50, description="Members of the centre, in order; replaces the list")

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: list[str | None] | None) -> list[str | None] | None:
        return None if value is None else check_opening_hours(value)

    @field_validator("duty_user_ids")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else list(dict.fromkeys(value))


class CounsellingRestriction(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"restricted": False, "until": None, "reason": None, "crisis_resources": [{"name": "全国心理援助热线", "phone": "12356"}]}})

    restricted: bool = Field(description="是否暂时不能自助预约")
    until: datetime | None = Field(None, description="限制到何时为止")
    reason: str | None = Field(None, description="原因")
    # Whom to call now, whatever the booking rules say.
    crisis_resources: list[CrisisResource] = Field(description="求助热线")


class CentreCancelIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "咨询师临时生病，很抱歉需要取消", "reopen_slot": False}})

    reason: Reason = Field(description="取消理由（来访者会看到）")
    reopen_slot: bool = Field(default=False, description="Offer the time to others again")


class AttendanceIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"status": "attended"}})

    status: Literal["attended", "no_show"] = Field(description="`attended` 到场或 `no_show` 未到场")


class NoteIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"body": "来访者谈到期末压力，约定下周继续。"}})

    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] = Field(description="咨询记录（加密保存，只有本人能读）")


class NotePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"booking_id": 3001, "body": "来访者谈到期末压力，约定下周继续。", "created_at": "2026-12-08T07:00:00Z", "updated_at": "2026-12-08T07:00:00Z"}})

    booking_id: int = Field(description="预约编号")
    body: str = Field(description="咨询记录（加密保存，只有本人能读）")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="最后修改时间")


# --- staff -------------------------------------------------------------------------------------------


class CounsellingStats(BaseModel):
    """Counts only: nothing here identifies a person or says what they talked about."""

    model_config = ConfigDict(json_schema_extra={"example": {"date_from": "2026-11-01", "date_to": "2026-11-30", "org_id": 9, "counsellors_published": 12, "slots": {"free": 40, "booked": 85}, "bookings": {"booked": 20, "attended": 60, "no_show": 5}, "bookings_by_mode": {"in_person": 50, "video": 30, "phone": 5}, "late_changes": 4, "risk_flagged": 3, "nickname_bookings": 22, "risk_awaiting": 1, "risk_overdue": 0}})

    date_from: date = Field(description="统计起始日期（含），上海时间")
    date_to: date = Field(description="统计截止日期（含），上海时间")
    org_id: int | None = Field(description="只统计这个咨询中心；为空为全部")
    counsellors_published: int = Field(description="已发布的咨询师数")
    slots: dict[str, int] = Field(description="时段数")
    bookings: dict[str, int] = Field(description="预约数")
    bookings_by_mode: dict[str, int] = Field(description="按咨询方式的预约数")
    late_changes: int = Field(description="临时取消或改约数")
    risk_flagged: int = Field(description="有风险回答的预约数")
    nickname_bookings: int = Field(description="以昵称预约的数量")
    # Now, whatever the dates: flagged bookings not yet acknowledged, within and past their time.
    risk_awaiting: int = Field(description="风险提示待跟进数")
    risk_overdue: int = Field(description="风险提示超时未跟进数")
