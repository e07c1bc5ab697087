"""Requests and responses of the housing service (春城青居). Money is integer fen; times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.config import KUNMING_DISTRICTS
from app.schemas.common import InstantIn, LongText, Reason, StrictModel
from app.schemas.moderation import PostingState
from models.housing import Allocation, ApplicationStatus, LotteryStatus

Layout = Literal["studio", "one_room", "two_rooms", "three_rooms"]
Decision = Literal[ApplicationStatus.eligible, ApplicationStatus.ineligible]

LAYOUT_LABELS = {"studio": "开间", "one_room": "一室", "two_rooms": "两室", "three_rooms": "三室"}
_S = ApplicationStatus
STATUS_LABELS: dict[str, str] = {
    _S.submitted: "待审核", _S.eligible: "审核通过", _S.ineligible: "未通过审核", _S.offered: "待确认入住",
    _S.accepted: "已确认入住", _S.declined: "已放弃", _S.expired: "确认超时", _S.withdrawn: "已撤回",
    _S.revoked: "房源已撤销",
}

Fen = Annotated[int, Field(ge=0, le=10_000_000)]
Units = Annotated[int, Field(ge=0, le=10_000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
Station = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Amenity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


def _https_url(v: str) -> str:
    if not v.startswith("https://"):
        raise ValueError("图片地址须以 https:// 开头")
    return v


PhotoUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500),
                     AfterValidator(_https_url)]
# Kunming's whole administrative area, with a margin: a point outside it is a typing mistake.
Lat = Annotated[float, Field(ge=24.0, le=26.8)]
Lng = Annotated[float, Field(ge=102.0, le=104.0)]
Age = Annotated[int, Field(ge=18, le=45)]
Seed = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SeedSource = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


def _district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


# --- provider input ---------------------------------------------------------------------------------


class UnitTypeIn(StrictModel):
    layout: Layout
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = None
    area_sqm: Annotated[float, Field(ge=5, le=300)]
    rent_fen: Fen
    deposit_fen: Fen = 0
    total_units: Units
    available_units: Units

    @model_validator(mode="after")
    def _within_total(self) -> UnitTypeIn:
        if self.available_units > self.total_units:
            raise ValueError("可分配套数不能多于总套数")
        return self


class UnitTypeUpdate(StrictModel):
    layout: Layout | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = None
    area_sqm: Annotated[float, Field(ge=5, le=300)] | None = None
    rent_fen: Fen | None = None
    deposit_fen: Fen | None = None
    total_units: Units | None = None
    available_units: Units | None = None


class _ProjectFields(StrictModel):
    @field_validator("district", check_fields=False)
    @classmethod
    def _district_ok(cls, v: str | None) -> str | None:
        return _district(v)

    @model_validator(mode="after")
    def _ages(self) -> _ProjectFields:
        lo, hi = getattr(self, "min_age", None), getattr(self, "max_age", None)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("最低年龄不能高于最高年龄")
        return self


class ProjectIn(_ProjectFields):
    name: Name
    district: str
    address: Address
    lat: Lat
    lng: Lng
    metro_station: Station | None = None
    description: LongText = ""
    amenities: Annotated[list[Amenity], Field(max_length=30)] = []
    photo_urls: Annotated[list[PhotoUrl], Field(max_length=20)] = []
    allocation: Allocation = Allocation.first_come
    applications_close_at: InstantIn | None = None
    min_age: Age = 18
    max_age: Age = 35
    require_no_home: bool = True
    graduated_within_years: Annotated[int, Field(ge=1, le=20)] | None = None
    require_work_in_kunming: bool = False
    unit_types: Annotated[list[UnitTypeIn], Field(min_length=1, max_length=20)]


class ProjectUpdate(_ProjectFields):
    name: Name | None = None
    district: str | None = None
    address: Address | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    metro_station: Station | None = None
    description: LongText | None = None
    amenities: Annotated[list[Amenity], Field(max_length=30)] | None = None
    photo_urls: Annotated[list[PhotoUrl], Field(max_length=20)] | None = None
    allocation: Allocation | None = None
    applications_close_at: InstantIn | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    require_no_home: bool | None = None
    graduated_within_years: Annotated[int, Field(ge=1, le=20)] | None = None
    require_work_in_kunming: bool | None = None


class DecisionIn(StrictModel):
    decision: Decision
    reason: Reason | None = None

    @model_validator(mode="after")
    def _reason_for_refusal(self) -> DecisionIn:
        if self.decision == ApplicationStatus.ineligible and not self.reason:
            raise ValueError("审核不通过时请填写原因")
        return self


class CorrectionIn(StrictModel):
    """A decision made by mistake, corrected: the reason is shown to the applicant."""

    decision: Decision
    reason: Reason


class WithdrawOfferIn(StrictModel):
    reason: Reason  # shown to the applicant


class SeedIn(StrictModel):
    seed: Seed
    source: SeedSource  # where the public value comes from, e.g. the draw number of a public lottery


class RedrawIn(SeedIn):
    reason: Reason


# --- youth input ------------------------------------------------------------------------------------


class ApplyIn(StrictModel):
    unit_type_id: Annotated[int, Field(ge=1)]


class WithdrawIn(StrictModel):
    reason: Reason | None = None


# --- responses --------------------------------------------------------------------------------------


class UnitTypePublic(BaseModel):
    id: int
    layout: str
    layout_label: str
    name: str | None = None
    area_sqm: float
    rent_fen: int
    deposit_fen: int
    total_units: int
    available_units: int
    remaining_units: int


class Eligibility(BaseModel):
    min_age: int
    max_age: int
    require_no_home: bool
    graduated_within_years: int | None = None
    require_work_in_kunming: bool
    rules: list[str]  # the same rules in words, as the applicant reads them


class ProjectCard(BaseModel):
    id: int
    name: str
    district: str
    address: str
    lat: float
    lng: float
    metro_station: str | None = None
    cover_photo: str | None = None
    amenities: list[str]
    allocation: str
    min_rent_fen: int | None = None
    max_rent_fen: int | None = None
    units_remaining: int
    org_name: str | None = None
    published_at: datetime | None = None
    distance_km: float | None = None
    favourited: bool | None = None  # only for a logged-in person
    unit_types: list[UnitTypePublic]


class MyApplicationBrief(BaseModel):
    id: int
    number: str
    status: ApplicationStatus
    status_label: str


class ProjectDetail(ProjectCard):
    description: str
    photo_urls: list[str]
    eligibility: Eligibility
    applications_close_at: datetime | None = None
    accepting_applications: bool
    status: str
    lottery_status: LotteryStatus | None = None  # for lottery projects past intake
    my_application: MyApplicationBrief | None = None


class EligibilityCheck(BaseModel):
    eligible: bool
    real_name_verified: bool
    unmet: dict[str, str]  # rule → why it is not met


class ProviderProject(PostingState):
    id: int
    org_id: int
    name: str
    district: str
    address: str
    lat: float
    lng: float
    metro_station: str | None = None
    description: str
    amenities: list[str]
    photo_urls: list[str]
    allocation: str
    applications_close_at: datetime | None = None
    intake_closed_at: datetime | None = None
    eligibility: Eligibility
    min_rent_fen: int | None = None
    max_rent_fen: int | None = None
    units_total: int
    units_available: int
    units_remaining: int
    created_at: datetime
    updated_at: datetime
    unit_types: list[UnitTypePublic]
    application_counts: dict[str, int]
    lottery_status: LotteryStatus | None = None


class HistoryItem(BaseModel):
    from_status: ApplicationStatus | None = None
    to_status: ApplicationStatus
    to_status_label: str
    reason: str | None = None
    actor_role: str | None = None
    at: datetime


class MyApplication(BaseModel):
    id: int
    number: str
    project_id: int
    project_name: str
    district: str
    unit_type_id: int
    layout: str
    layout_label: str
    rent_fen: int
    deposit_fen: int
    status: ApplicationStatus  # an offer past its answer-by time shows as expired
    status_label: str
    status_reason: str | None = None
    draw_position: int | None = None
    # Eligible and waiting for a unit: 1 = next in line for this unit type (single-application view).
    waiting_position: int | None = None
    submitted_at: datetime
    offered_at: datetime | None = None
    offer_expires_at: datetime | None = None
    responded_at: datetime | None = None
    history: list[HistoryItem] | None = None  # in the single-application view


class Applicant(BaseModel):
    """What the project's own organisation sees of an applicant; ID and phone numbers only masked."""

    real_name: str | None = None
    id_number_masked: str | None = None
    phone_masked: str | None = None
    age: int | None = None
    gender: str | None = None
    district: str | None = None
    education: str | None = None
    graduation_year: int | None = None
    employment_status: str | None = None
    owns_home_in_kunming: bool | None = None
    works_in_kunming: bool | None = None


class ProviderApplication(BaseModel):
    id: int
    number: str
    project_id: int
    unit_type_id: int
    layout: str
    status: ApplicationStatus  # an offer past its answer-by time shows as expired
    status_label: str
    status_reason: str | None = None
    draw_position: int | None = None
    submitted_at: datetime
    decided_at: datetime | None = None
    offered_at: datetime | None = None
    offer_expires_at: datetime | None = None
    applicant: Applicant
    # The project's rules checked against the applicant's profile as it is now, to help the review.
    unmet_rules: dict[str, str]


class LotteryResult(BaseModel):
    position: int
    number: str
    unit_type_id: int | None = None
    outcome: str  # the application's status (ApplicationStatus): eligible means still waiting in draw order
    outcome_label: str


class LotteryUnits(BaseModel):
    """One unit type in the lottery: offers are made per unit type, to its own entries in draw order."""

    unit_type_id: int  # its name and rent are on the project's page
    layout: str
    layout_label: str
    available_units: int  # in this allocation round
    remaining_units: int  # available minus outstanding offers and accepted ones
    entries: int  # applications for this unit type in the frozen list


class LotteryDrawPublic(BaseModel):
    round: int
    seed: str
    seed_source: str | None = None
    reason: str | None = None
    drawn_at: datetime
    order: list[str]


class LotteryPublic(BaseModel):
    project_id: int
    status: LotteryStatus
    algorithm: str
    list_sha256: str
    entries: list[str]  # the frozen list: eligible application numbers, sorted
    entries_count: int
    frozen_at: datetime
    seed: str | None = None
    seed_source: str | None = None
    seed_set_at: datetime | None = None
    round: int
    drawn_at: datetime | None = None
    order: list[str] | None = None
    units_available: int  # all unit types together; per unit type in unit_types
    unit_types: list[LotteryUnits]
    results: list[LotteryResult] | None = None
    previous_draws: list[LotteryDrawPublic]


class FavouriteState(BaseModel):
    project_id: int
    favourited: bool
