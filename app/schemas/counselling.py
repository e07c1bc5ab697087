"""Counselling requests and answers. Intake answers appear only in the two audited detail answers
(the person's own booking; the centre's booking, to its duty and the booked counsellor); notes only in
the author's note answer; what the centre did about a risk answer only to the centre's duty and the
booked counsellor (never to the person)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from app.schemas.common import DateTimeIn, DayIn, Reason, StrictModel
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


def _unique(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


# --- counsellor profiles --------------------------------------------------------------------------


class CounsellorIn(StrictModel):
    display_name: Name
    gender: Gender
    qualifications: list[Qualification] = Field(default_factory=list, max_length=10)
    specialties: list[Specialty] = Field(min_length=1, max_length=6)
    modes: list[Mode] = Field(min_length=1, max_length=3)
    languages: list[Language] = Field(default_factory=lambda: ["普通话"], min_length=1, max_length=6)
    photo_url: PhotoUrl | None = None
    introduction: Introduction | None = None
    user_id: int | None = Field(default=None, ge=1, description=(
        "The centre member account this counsellor signs in with (optional): it reads the intake of the "
        "counsellor's bookings, marks their attendance and alone writes their notes"))

    _dedupe = field_validator("qualifications", "specialties", "modes", "languages")(_unique)


class CounsellorUpdate(StrictModel):
    """Only the fields sent change; null clears photo_url, introduction and user_id."""

    display_name: Name | None = None
    gender: Gender | None = None
    qualifications: list[Qualification] | None = Field(default=None, max_length=10)
    specialties: list[Specialty] | None = Field(default=None, min_length=1, max_length=6)
    modes: list[Mode] | None = Field(default=None, min_length=1, max_length=3)
    languages: list[Language] | None = Field(default=None, min_length=1, max_length=6)
    photo_url: PhotoUrl | None = None
    introduction: Introduction | None = None
    user_id: int | None = Field(default=None, ge=1)

    _dedupe = field_validator("qualifications", "specialties", "modes", "languages")(_unique)

    @model_validator(mode="after")
    def _required_not_null(self) -> CounsellorUpdate:
        for name in ("display_name", "gender", "qualifications", "specialties", "modes", "languages"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} 不能为空")
        return self


class CounsellorPublic(BaseModel):
    id: int
    org_id: int
    org_name: str | None = None
    display_name: str
    gender: str
    qualifications: list[str]
    specialties: list[str]
    specialty_labels: list[str]
    modes: list[str]
    languages: list[str]
    photo_url: str | None
    introduction: str | None
    next_free_at: datetime | None = None


class CounsellorOwn(CounsellorPublic, PostingState):
    """The centre's view: the public profile with its review state and linked account."""

    user_id: int | None
    created_at: datetime
    updated_at: datetime


# --- slots -----------------------------------------------------------------------------------------

LocalDateTime = Annotated[DateTimeIn, Field(description="ISO 8601; without an offset it is Asia/Shanghai time")]


class SlotIn(StrictModel):
    starts_at: LocalDateTime
    duration_minutes: int = Field(default=50, ge=15, le=180)


class SlotPatternIn(StrictModel):
    """Slots every chosen weekday between two local times, e.g. Tue/Thu 14:00–18:00 as 50-minute
    sessions with 10-minute breaks, for the next ``weeks`` weeks from ``start_date``."""

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7,
                                                               description="ISO weekdays, 1 = Monday")
    day_start: time
    day_end: time
    session_minutes: int = Field(default=50, ge=15, le=180)
    break_minutes: int = Field(default=10, ge=0, le=120)
    weeks: int = Field(default=4, ge=1, le=12)
    start_date: DayIn | None = Field(default=None, description="Local date; default today")

    @model_validator(mode="after")
    def _window(self) -> SlotPatternIn:
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start 和 day_end 请填写北京时间，不带时区")
        if self.day_end <= self.day_start:
            raise ValueError("结束时间应晚于开始时间")
        return self


class SlotPublic(BaseModel):
    id: int
    counsellor_id: int
    starts_at: datetime
    ends_at: datetime


class SlotOwn(SlotPublic):
    status: str
    booking_id: int | None = None


class SlotPatternResult(BaseModel):
    created: int
    skipped: int = Field(description="Times in the past or overlapping existing slots")
    slots: list[SlotOwn]


# --- bookings: the person's side -------------------------------------------------------------------


class IntakeIn(StrictModel):
    topic: Topic
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    self_harm_thoughts: bool = Field(description="最近是否有伤害自己的想法")


class IntakeOut(BaseModel):
    topic: str
    description: str
    self_harm_thoughts: bool


class BookingIn(StrictModel):
    slot_id: int = Field(ge=1)
    mode: Mode
    intake: IntakeIn
    nickname: Nickname | None = Field(default=None, description="Book under this name; the centre then sees it "
                                                                "and an age band instead of the real name")


class RescheduleIn(StrictModel):
    slot_id: int = Field(ge=1)


class CrisisResource(BaseModel):
    name: str
    phone: str


class CounsellorBrief(BaseModel):
    id: int
    display_name: str
    photo_url: str | None


class BookingPublic(BaseModel):
    id: int
    status: str
    mode: str
    starts_at: datetime
    ends_at: datetime
    counsellor: CounsellorBrief
    org_id: int
    nickname: str | None
    late_change: bool
    reschedule_count: int
    cancel_reason: str | None
    cancelled_at: datetime | None
    created_at: datetime
    # Present when the intake indicated a risk: whom to call now, before any appointment, and that a
    # counsellor of the centre will reach out.
    crisis_resources: list[CrisisResource] | None = None
    outreach: str | None = None


class BookingOwnDetail(BookingPublic):
    intake: IntakeOut


# --- bookings: the centre's side -------------------------------------------------------------------


class StrikeState(BaseModel):
    kind: Literal["no_show", "late_cancel"]
    waived: bool
    waive_reason: str | None


class CentreBooking(BaseModel):
    id: int
    status: str
    mode: str
    starts_at: datetime
    ends_at: datetime
    counsellor_id: int
    counsellor_name: str
    # The nickname when the person chose one, else the real name.
    client_name: str
    client_uses_nickname: bool
    age_band: str
    risk_flag: bool
    late_change: bool
    cancel_reason: str | None
    attendance_marked_at: datetime | None
    # The no-show or late cancellation this booking counts as under the restriction policy, if any.
    strike: StrikeState | None = None


FollowUpAction = Literal["called_back", "moved_earlier", "referred", "other"]
FOLLOW_UP_LABELS: dict[str, str] = {"called_back": "已电话回访", "moved_earlier": "已提前咨询时间", "referred": "已转介",
                                    "other": "其他"}


class RiskFollowUpIn(StrictModel):
    action: FollowUpAction
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=1000)] = Field(
        description="What was done and agreed; read only by the centre's duty and the booked counsellor")


class RiskFollowUpPublic(BaseModel):
    id: int
    action: str
    action_label: str
    note: str
    author_id: int
    created_at: datetime


class RiskState(BaseModel):
    """The centre's handling of a risk answer (never shown to the person)."""

    due_at: datetime
    overdue: bool = Field(description="Not acknowledged and past due (computed at read time)")
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    escalated_at: datetime | None
    followups: list[RiskFollowUpPublic]


class CentreBookingDetail(CentreBooking):
    intake: IntakeOut
    risk: RiskState | None = None


class RiskQueueItem(BaseModel):
    """A flagged booking nobody has acknowledged yet, most urgent first; no intake."""

    booking_id: int
    status: str
    starts_at: datetime
    counsellor_id: int
    counsellor_name: str
    client_name: str
    age_band: str
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None


class WaiveIn(StrictModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


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
    user_id: int
    nickname: str | None
    username: str | None


class CentreSettings(BaseModel):
    opening_hours: list[str | None] = Field(description="Monday first, Shanghai time, null for closed")
    default_hours: bool = Field(description="The platform's default hours: the centre has not set its own")
    risk_ack_hours: float = Field(description="Opening hours within which a risk flag must be acknowledged")
    duty: list[DutyMember] = Field(description="In order: the first is told of a new risk flag")


class CentreSettingsUpdate(StrictModel):
    opening_hours: list[OpeningSpan | None] | None = Field(default=None, min_length=7, max_length=7)
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
    restricted: bool
    until: datetime | None = None
    reason: str | None = None
    # Whom to call now, whatever the booking rules say.
    crisis_resources: list[CrisisResource]


class CentreCancelIn(StrictModel):
    reason: Reason
    reopen_slot: bool = Field(default=False, description="Offer the time to others again")


class AttendanceIn(StrictModel):
    status: Literal["attended", "no_show"]


class NoteIn(StrictModel):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class NotePublic(BaseModel):
    booking_id: int
    body: str
    created_at: datetime
    updated_at: datetime


# --- staff -------------------------------------------------------------------------------------------


class CounsellingStats(BaseModel):
    """Counts only: nothing here identifies a person or says what they talked about."""

    from_date: date
    to_date: date
    org_id: int | None
    counsellors_published: int
    slots: dict[str, int]
    bookings: dict[str, int]
    bookings_by_mode: dict[str, int]
    late_changes: int
    risk_flagged: int
    nickname_bookings: int
    # Now, whatever the dates: flagged bookings not yet acknowledged, within and past their time.
    risk_awaiting: int
    risk_overdue: int
