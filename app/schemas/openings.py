"""Request and response models of the openings service (就业见习 / 创业孵化)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from app.config import KUNMING_DISTRICTS
from app.schemas.common import DayIn, InstantIn, LongText, ShortText, StrictModel
from app.schemas.moderation import PostingState
from app.schemas.profile import Education

OpeningKind = Literal["internship", "incubator"]
ApplicationStatus = Literal["submitted", "viewed", "interview", "offered", "accepted", "declined", "lapsed",
                            "rejected", "withdrawn"]
Stage = Literal["idea", "prototype", "early_revenue", "growth"]
Sector = Literal["digital", "agriculture", "culture_tourism", "biomedicine", "manufacturing", "services",
                 "education", "green", "other"]
RejectReason = Literal["not_qualified", "education_mismatch", "major_mismatch", "interview_failed",
                       "interview_absent", "places_filled", "plan_not_ready", "sector_mismatch", "other"]

EDUCATION_ORDER: tuple[str, ...] = ("junior_high", "high_school", "vocational", "college", "bachelor", "master",
                                    "doctorate")
EDUCATION_LABELS = {"junior_high": "初中", "high_school": "高中", "vocational": "中专/职高", "college": "大专",
                    "bachelor": "本科", "master": "硕士", "doctorate": "博士"}
STAGE_LABELS = {"idea": "创意阶段", "prototype": "产品原型", "early_revenue": "初创有收入", "growth": "成长期"}
SECTOR_LABELS = {"digital": "数字经济", "agriculture": "高原特色农业", "culture_tourism": "文化旅游",
                 "biomedicine": "生物医药", "manufacturing": "先进制造", "services": "现代服务", "education": "教育培训",
                 "green": "绿色能源", "other": "其他"}
STATUS_LABELS = {"submitted": "已投递", "viewed": "已查看", "interview": "邀请面试", "offered": "拟录用",
                 "accepted": "已接受录用", "declined": "已婉拒录用", "lapsed": "录用已失效", "rejected": "未通过",
                 "withdrawn": "已撤回"}
REJECT_REASONS = {"not_qualified": "条件不符", "education_mismatch": "学历要求不符", "major_mismatch": "专业要求不符",
                  "interview_failed": "面试未通过", "interview_absent": "未参加面试", "places_filled": "名额已满",
                  "plan_not_ready": "创业项目尚不成熟", "sector_mismatch": "行业方向不符", "other": "其他原因",
                  # given by the system, never chosen by a provider
                  "offer_lapsed": "未在期限内答复录用", "opening_taken_down": "岗位已下架"}

Description = Annotated[LongText, StringConstraints(min_length=1)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{5,20}$")]
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1[3-9][0-9]{9}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100,
                                         pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")]
Major = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Intro = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Latitude = Annotated[float, Field(ge=24.3, le=26.6)]
Longitude = Annotated[float, Field(ge=102.1, le=103.7)]
Places = Annotated[int, Field(ge=1, le=1000)]
Fen = Annotated[int, Field(ge=0, le=10_000_000, description="In fen (分): 300000 is 3000.00 yuan")]
Age = Annotated[int, Field(ge=14, le=35)]
Year = Annotated[int, Field(ge=1950, le=2100)]


def _district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


# --- the provider's side --------------------------------------------------------------------------


class _OpeningBase(StrictModel):
    title: ShortText
    description: Description
    district: str
    places: Places
    deadline: InstantIn = Field(description="Applications close at this moment")
    contact_name: Name
    contact_phone: Phone

    _d = field_validator("district")(_district)


class InternshipCreate(_OpeningBase):
    """就业见习岗位 (employers)."""

    kind: Literal["internship"]
    address: Address
    lat: Latitude
    lng: Longitude
    stipend_fen: Fen = Field(description="Monthly stipend (见习补贴), in fen")
    duration_months: Annotated[int, Field(ge=1, le=12)]
    starts_on: DayIn
    min_education: Education | None = None
    majors: list[Major] = Field(default_factory=list, max_length=20, description="Empty: any major")
    min_age: Age = 16
    max_age: Age = 24
    graduated_within_years: Annotated[int, Field(ge=0, le=5)] | None = Field(
        2, description="Graduates up to this many years out are eligible whatever their age; null: age only")

    @model_validator(mode="after")
    def _ages(self) -> InternshipCreate:
        if self.min_age > self.max_age:
            raise ValueError("最低年龄不能高于最高年龄")
        return self


class IncubatorCreate(_OpeningBase):
    """创业孵化入驻名额 (incubators)."""

    kind: Literal["incubator"]
    address: Address | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    free_office_months: Annotated[int, Field(ge=0, le=60)] = 0
    mentoring: bool = False
    funding_help: bool = False
    offer_notes: Notes | None = None
    stages: list[Stage] = Field(default_factory=list, max_length=4, description="Empty: any stage")
    sectors: list[Sector] = Field(default_factory=list, max_length=9, description="Empty: any sector")
    min_age: Age = 18
    max_age: Age = 35

    @model_validator(mode="after")
    def _consistent(self) -> IncubatorCreate:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("纬度和经度需要同时填写")
        if self.min_age > self.max_age:
            raise ValueError("最低年龄不能高于最高年龄")
        return self


OpeningCreate = Annotated[InternshipCreate | IncubatorCreate, Field(discriminator="kind")]


class OpeningUpdate(StrictModel):
    """Only the fields sent change (the kind never does); public text edited on a published opening
    goes back to review."""

    title: ShortText | None = None
    description: Description | None = None
    district: str | None = None
    address: Address | None = None
    places: Places | None = None
    deadline: InstantIn | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    stipend_fen: Fen | None = None
    duration_months: Annotated[int, Field(ge=1, le=12)] | None = None
    starts_on: DayIn | None = None
    min_education: Education | None = None
    majors: list[Major] | None = Field(None, max_length=20)
    free_office_months: Annotated[int, Field(ge=0, le=60)] | None = None
    mentoring: bool | None = None
    funding_help: bool | None = None
    offer_notes: Notes | None = None
    stages: list[Stage] | None = None
    sectors: list[Sector] | None = None

    _d = field_validator("district")(_district)


# --- what everyone sees ---------------------------------------------------------------------------


class OpeningSummary(BaseModel):
    id: int
    kind: OpeningKind
    title: str
    org_name: str | None = None
    district: str
    lat: float | None = None
    lng: float | None = None
    distance_km: float | None = None
    places: int
    places_left: int
    deadline: datetime
    state: Literal["open", "full", "closed"]
    stipend_fen: int | None = None
    duration_months: int | None = None
    min_education: str | None = None
    majors: list[str] = Field(default_factory=list)
    free_office_months: int | None = None
    published_at: datetime | None = None


class MyApplicationBrief(BaseModel):
    id: int
    status: ApplicationStatus
    can_withdraw: bool


class OpeningPublic(OpeningSummary):
    description: str
    address: str | None = None
    contact_name: str
    contact_phone: str | None = Field(None, description="Shown to applicants invited to an interview")
    starts_on: date | None = None
    min_age: int
    max_age: int
    graduated_within_years: int | None = None
    mentoring: bool = False
    funding_help: bool = False
    offer_notes: str | None = None
    stages: list[str] = Field(default_factory=list)
    sectors: list[str] = Field(default_factory=list)
    my_application: MyApplicationBrief | None = None


class OpeningProvider(PostingState):
    id: int
    org_id: int
    kind: OpeningKind
    title: str
    description: str
    district: str
    address: str | None = None
    lat: float | None = None
    lng: float | None = None
    places: int
    taken: int
    deadline: datetime
    contact_name: str
    contact_phone: str
    starts_on: date | None = None
    stipend_fen: int | None = None
    duration_months: int | None = None
    min_education: str | None = None
    majors: list[str]
    min_age: int
    max_age: int
    graduated_within_years: int | None = None
    free_office_months: int | None = None
    mentoring: bool
    funding_help: bool
    offer_notes: str | None = None
    stages: list[str]
    sectors: list[str]
    counts: dict[str, int] = Field(default_factory=dict, description="Applications by status")
    created_at: datetime
    updated_at: datetime


# --- the person's résumé and applications ---------------------------------------------------------


class ResumeIn(StrictModel):
    """The résumé kept in the profile; PUT replaces it."""

    school: ShortText | None = None
    major: Major | None = None
    education: Education | None = None
    graduation_year: Year | None = None
    skills: list[Skill] = Field(default_factory=list, max_length=20)
    self_intro: Intro | None = None
    phone: Mobile | None = None
    email: Email | None = None


class ResumePublic(BaseModel):
    school: str | None = None
    major: str | None = None
    education: str | None = None
    graduation_year: int | None = None
    skills: list[str] = Field(default_factory=list)
    self_intro: str | None = None
    phone_masked: str | None = None
    email_masked: str | None = None
    updated_at: datetime | None = None


class ResumeEdits(StrictModel):
    """Changes for this application only, over the résumé kept in the profile."""

    school: ShortText | None = None
    major: Major | None = None
    education: Education | None = None
    graduation_year: Year | None = None
    skills: list[Skill] | None = Field(None, max_length=20)
    self_intro: Intro | None = None
    phone: Mobile | None = None
    email: Email | None = None


class VentureIn(StrictModel):
    team_size: Annotated[int, Field(ge=1, le=100)]
    stage: Stage
    sector: Sector
    plan_summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


class ApplyIn(StrictModel):
    resume: ResumeEdits | None = None
    venture: VentureIn | None = Field(None, description="Required for incubator places")


class HistoryEntry(BaseModel):
    at: datetime
    from_status: str | None = None
    to_status: str
    status_label: str
    actor_role: str
    reason_code: str | None = None
    reason_label: str | None = None
    reason: str | None = None
    detail: dict = Field(default_factory=dict)


class ApplicationPublic(BaseModel):
    """What the applicant sees: the current status (a lapse due but not swept shows as lapsed), the
    interview and offer, and the whole history with its reasons."""

    id: int
    opening_id: int
    opening_title: str
    kind: OpeningKind
    status: ApplicationStatus
    status_label: str
    can_withdraw: bool
    submitted_at: datetime
    interview_at: datetime | None = None
    interview_place: str | None = None
    interview_link: str | None = None
    answer_by: datetime | None = None
    reason_code: str | None = None
    reason_label: str | None = None
    reason: str | None = None
    school: str | None = None
    major: str | None = None
    education: str | None = None
    graduation_year: int | None = None
    skills: list[str] = Field(default_factory=list)
    self_intro: str | None = None
    team_size: int | None = None
    stage: str | None = None
    sector: str | None = None
    plan_summary: str | None = None
    phone_masked: str
    history: list[HistoryEntry]


# --- the provider's pipeline ----------------------------------------------------------------------


class ApplicationProvider(BaseModel):
    """What the organisation sees: the résumé or venture, never the ID number; the contact only once it
    has invited the person to an interview."""

    id: int
    opening_id: int
    status: ApplicationStatus
    status_label: str
    submitted_at: datetime
    nickname: str | None = None
    real_name: str | None = None
    age: int | None = None
    school: str | None = None
    major: str | None = None
    education: str | None = None
    graduation_year: int | None = None
    skills: list[str] = Field(default_factory=list)
    self_intro: str | None = None
    team_size: int | None = None
    stage: str | None = None
    sector: str | None = None
    plan_summary: str | None = None
    phone_masked: str | None = Field(None, description="After an interview is scheduled")
    phone: str | None = Field(None, description="In full, on the application's own page, after an interview "
                                                "is scheduled")
    email: str | None = Field(None, description="On the application's own page, after an interview is scheduled")
    interview_at: datetime | None = None
    interview_place: str | None = None
    interview_link: str | None = None
    answer_by: datetime | None = None
    reason_code: str | None = None
    reason: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


class InterviewIn(StrictModel):
    at: InstantIn
    place: Address | None = None
    link: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500,
                                           pattern=r"^https://\S+$")] | None = Field(
        None, description="An online meeting link (https)")
    note: Notes | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> InterviewIn:
        if not self.place and not self.link:
            raise ValueError("请填写面试地点或线上会议链接")
        return self


class OfferIn(StrictModel):
    answer_by: InstantIn | None = Field(None, description="Default: YOUTH_OPENINGS_OFFER_DEFAULT_DAYS from now")
    note: Notes | None = None


class RejectIn(StrictModel):
    reason_code: RejectReason
    reason: Notes | None = Field(None, description="Required with reason_code 'other'")


class WithdrawIn(StrictModel):
    reason: Notes | None = None


class BulkRejectResult(BaseModel):
    rejected: int


class ResponseTime(BaseModel):
    org_id: int
    org_name: str
    applications: int
    decided: int
    undecided: int
    avg_response_hours: float | None = None
    max_response_hours: float | None = None
