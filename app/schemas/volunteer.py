"""Request and response models of the volunteering service (志愿之城)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from app.config import KUNMING_DISTRICTS
from app.schemas.common import DayIn, InstantIn, LongText, Reason, ShortText, StrictModel
from app.schemas.moderation import PostingState

CATEGORY_LABELS: dict[str, str] = {
    "dianchi": "滇池保护", "elderly_children": "关爱老人儿童", "double_reduction": "助力双减",
    "civilisation": "文明实践", "events_service": "赛会服务", "community": "社区服务", "other": "其他",
}
Category = Literal["dianchi", "elderly_children", "double_reduction", "civilisation", "events_service",
                   "community", "other"]
SignupStatus = Literal["signed_up", "waitlisted", "cancelled", "no_show", "shift_cancelled", "released"]
ShiftState = Literal["open", "full", "waitlist", "closed", "started", "cancelled"]
HoursStatus = Literal["pending", "confirmed"]

Description = Annotated[LongText, StringConstraints(min_length=1)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Requirements = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{5,20}$")]
# Kunming and its counties lie within these bounds (GCJ-02 shifts them by a few hundred metres at most).
Latitude = Annotated[float, Field(ge=24.3, le=26.6)]
Longitude = Annotated[float, Field(ge=102.1, le=103.7)]
Capacity = Annotated[int, Field(ge=1, le=2000)]
Radius = Annotated[int, Field(ge=50, le=5000, description="Self check-in radius in metres")]
MinAge = Annotated[int, Field(ge=14, le=35)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60, multiple_of=15, description="Whole quarter hours, in minutes")]
Ids = Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(min_length=1, max_length=200)]


def _district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


def _both_or_neither(lat: float | None, lng: float | None) -> None:
    if (lat is None) != (lng is None):
        raise ValueError("纬度和经度需要同时填写")


# --- the organiser's side -------------------------------------------------------------------------


class ShiftIn(StrictModel):
    starts_at: InstantIn
    ends_at: InstantIn
    signup_closes_at: InstantIn | None = Field(None, description="Default: the shift's start")
    place: ShortText | None = Field(None, description="Where the shift differs from the project's place")
    lat: Latitude | None = None
    lng: Longitude | None = None
    check_in_radius_m: Radius = 300
    capacity: Capacity

    @model_validator(mode="after")
    def _consistent(self) -> ShiftIn:
        _both_or_neither(self.lat, self.lng)
        return self


class ShiftUpdate(StrictModel):
    """Only the fields sent change; people signed up are told when the time or the place moves."""

    starts_at: InstantIn | None = None
    ends_at: InstantIn | None = None
    signup_closes_at: InstantIn | None = None
    place: ShortText | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    check_in_radius_m: Radius | None = None
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ShiftUpdate:
        _both_or_neither(self.lat, self.lng)
        return self


class ProjectCreate(StrictModel):
    title: ShortText
    category: Category
    description: Description
    requirements: Requirements | None = Field(None, description="What the work asks and its risks")
    skills: list[Skill] = Field(default_factory=list, max_length=10)
    district: str
    place: ShortText
    address: Address
    lat: Latitude
    lng: Longitude
    contact_name: Name
    contact_phone: Phone
    min_age: MinAge = 14
    waitlist_enabled: bool = False
    shifts: list[ShiftIn] = Field(min_length=1, max_length=50)

    _d = field_validator("district")(_district)


class ProjectUpdate(StrictModel):
    """Only the fields sent change; public text edited on a published project goes back to review."""

    title: ShortText | None = None
    category: Category | None = None
    description: Description | None = None
    requirements: Requirements | None = None
    skills: list[Skill] | None = Field(None, max_length=10)
    district: str | None = None
    place: ShortText | None = None
    address: Address | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    min_age: MinAge | None = None
    waitlist_enabled: bool | None = None

    _d = field_validator("district")(_district)


class CancelShiftIn(StrictModel):
    reason: Reason


# --- what everyone sees ---------------------------------------------------------------------------


class ShiftPublic(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    signup_closes_at: datetime
    place: str
    lat: float
    lng: float
    check_in_radius_m: int
    capacity: int
    places_left: int
    waitlisted: int
    state: ShiftState
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


class ProjectSummary(BaseModel):
    id: int
    title: str
    category: str
    category_label: str
    org_name: str | None = None
    district: str
    place: str
    lat: float
    lng: float
    distance_km: float | None = None
    min_age: int
    next_shift_starts_at: datetime
    upcoming_shifts: int
    places_left: int = Field(description="Free places over the upcoming shifts whose sign-up is open")


class SignupPublic(BaseModel):
    id: int
    shift_id: int
    project_id: int
    status: SignupStatus
    waitlist_position: int | None = Field(None, description="1 = next to get a place (waitlisted only)")
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    cancel_deadline: datetime = Field(description="Cancelling later counts as a late cancellation")
    cancelled_at: datetime | None = None
    late_cancel: bool = False
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None


class MySignupItem(SignupPublic):
    project_title: str
    place: str


class ProjectPublic(ProjectSummary):
    description: str
    requirements: str | None = None
    skills: list[str]
    address: str
    contact_name: str
    contact_phone: str | None = Field(None, description="Shown to people signed up for one of its shifts")
    waitlist_enabled: bool
    shifts: list[ShiftPublic]
    my_signups: list[SignupPublic] = Field(default_factory=list)


class ShiftProvider(ShiftPublic):
    signed_up: int
    checked_in: int
    checked_out: int


class ProjectProvider(PostingState):
    id: int
    org_id: int
    title: str
    category: str
    description: str
    requirements: str | None = None
    skills: list[str]
    district: str
    place: str
    address: str
    lat: float
    lng: float
    contact_name: str
    contact_phone: str
    min_age: int
    waitlist_enabled: bool
    shifts: list[ShiftProvider]
    created_at: datetime
    updated_at: datetime


# --- sign-up and attendance -----------------------------------------------------------------------


class GuardianIn(StrictModel):
    name: Name
    phone: Phone
    consent: Literal[True] = Field(description="The volunteer confirms that this guardian agreed")


class SignupIn(StrictModel):
    guardian: GuardianIn | None = Field(None, description="Required from 14- to 17-year-olds")


class TicketPublic(BaseModel):
    ticket: str = Field(description="Signed token to show as a QR code to the organiser")
    shift_id: int
    signup_id: int
    expires_at: datetime


class LocationIn(StrictModel):
    """From ``wx.getLocation({type: 'gcj02'})``."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lng: Annotated[float, Field(ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)]


class ScanIn(StrictModel):
    ticket: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class AttendancePublic(BaseModel):
    signup_id: int
    nickname: str | None = None
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    distance_m: int | None = Field(None, description="From the shift's place (self check-in and out)")
    hours: HoursPublic | None = None


class SignupProvider(BaseModel):
    """What the organiser sees of a volunteer: who to expect, attendance, hours."""

    signup_id: int
    user_id: int
    nickname: str | None = None
    real_name: str | None = None
    age: int | None = None
    status: SignupStatus
    waitlist_position: int | None = None
    created_at: datetime
    guardian_name: str | None = None
    guardian_phone_masked: str | None = None
    guardian_consent_at: datetime | None = None
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    check_in_distance_m: int | None = None
    hours_id: int | None = None
    minutes: int | None = None
    hours_status: str | None = None


# --- hours ------------------------------------------------------------------------------------------


class HoursPublic(BaseModel):
    id: int
    signup_id: int
    project_id: int
    project_title: str
    shift_id: int
    served_on: date
    measured_minutes: int
    minutes: int
    hours: float
    status: HoursStatus
    missing_check_out: bool = False
    confirmed_at: datetime | None = None
    due_at: datetime
    dispute_status: Literal["open", "answered"] | None = None
    dispute_reason: str | None = None
    dispute_answer: str | None = None
    dispute_deadline: datetime | None = Field(None, description="Confirmed hours may be disputed until then")


class HoursEventPublic(BaseModel):
    at: datetime
    action: Literal["measured", "confirmed", "adjusted", "disputed", "answered"]
    actor_role: str | None = None
    minutes_before: int | None = None
    minutes_after: int | None = None
    reason: str | None = None


class HoursDetail(HoursPublic):
    history: list[HoursEventPublic]


class ProviderHours(HoursPublic):
    user_id: int
    nickname: str | None = None
    real_name: str | None = None
    shift_starts_at: datetime


class DisputeIn(StrictModel):
    reason: Reason


class ConfirmIn(StrictModel):
    ids: Ids


class AdjustItem(StrictModel):
    id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    minutes: Minutes
    reason: Reason


class AdjustIn(StrictModel):
    items: list[AdjustItem] = Field(min_length=1, max_length=200)


class AnswerIn(StrictModel):
    reason: Reason
    minutes: Minutes | None = Field(None, description="New hours, when the dispute is upheld")


class WaiveIn(StrictModel):
    reason: Reason


class BulkResult(BaseModel):
    updated: list[HoursPublic]


# --- the record and certificates ------------------------------------------------------------------


class HoursBy(BaseModel):
    key: str
    label: str
    hours: float


class VolunteerRecord(BaseModel):
    total_hours: float
    pending_hours: float = Field(description="Not counted until the organiser confirms them")
    by_project: list[HoursBy]
    by_category: list[HoursBy]
    by_year: list[HoursBy]
    star_level: int = Field(description="0 to 5 (星级志愿者)")
    next_level: int | None = None
    next_level_hours: float | None = None
    hours_to_next_level: float | None = None


class CertificateIn(StrictModel):
    scope: Literal["period", "project"]
    period_from: DayIn | None = None
    period_to: DayIn | None = None
    project_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CertificateIn:
        if self.scope == "project" and self.project_id is None:
            raise ValueError("按项目开具证明时请选择项目")
        if self.scope == "period":
            if self.period_from is None or self.period_to is None:
                raise ValueError("按时段开具证明时请填写起止日期")
            if self.period_from > self.period_to:
                raise ValueError("开始日期不能晚于结束日期")
        return self


class CertificateOrg(BaseModel):
    name: str
    hours: float


class CertificateProject(BaseModel):
    title: str
    category: str
    organisation: str
    hours: float
    first_day: date
    last_day: date
    places: list[str]


class CertificatePublic(BaseModel):
    id: int
    code: str
    verify_url: str
    pdf_path: str
    scope: Literal["period", "project"]
    period_from: date | None = None
    period_to: date | None = None
    holder_name: str
    holder_id_number_masked: str | None = None
    total_hours: float
    organisations: list[CertificateOrg]
    projects: list[CertificateProject]
    issued_at: datetime
    status: Literal["valid", "revoked"]
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class StaffCertificate(CertificatePublic):
    user_id: int
    revoke_kind: str | None = None


class CertificateVerification(BaseModel):
    """What a verifier sees: enough to trust the paper, nothing more."""

    code: str
    valid: bool
    status: Literal["valid", "revoked"]
    holder_name: str = Field(description="Masked, e.g. 张*明")
    total_hours: float
    organisations: list[str]
    issued_on: date
    revoked_on: date | None = None
    revoke_kind: Literal["hours_corrected", "staff"] | None = None
    notice: str


class RevokeIn(StrictModel):
    reason: Reason


class LateOrganisation(BaseModel):
    org_id: int
    org_name: str
    overdue_records: int = Field(description="Unconfirmed past the 10-working-day limit")
    oldest_due_at: datetime


AttendancePublic.model_rebuild()
