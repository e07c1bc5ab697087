"""Request and response models of the events service (青年联谊交友)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.config import KUNMING_DISTRICTS
from app.schemas.common import InstantIn, LongText, Reason, ShortText, StrictModel
from app.schemas.moderation import PostingState

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[LongText, StringConstraints(min_length=1)]
Capacity = Annotated[int, Field(ge=1, le=2000)]
Age = Annotated[int, Field(ge=18, le=35)]  # events are for adults; youth ends at 35
Hours = Annotated[int, Field(ge=0, le=168)]
# Kunming and its counties lie within these bounds; a point outside is a typo.
Latitude = Annotated[float, Field(ge=24.3, le=26.6)]
Longitude = Annotated[float, Field(ge=102.1, le=103.7)]

SignupState = Literal["not_open", "open", "full", "closed", "cancelled"]
RegistrationStatus = Literal["confirmed", "waitlisted", "cancelled", "no_show", "event_cancelled"]


class GenderQuotas(StrictModel):
    male: Annotated[int, Field(ge=1, le=1000)]
    female: Annotated[int, Field(ge=1, le=1000)]


def _check_district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


class _EventFields(StrictModel):
    @field_validator("district", check_fields=False)
    @classmethod
    def _district(cls, v: str | None) -> str | None:
        return _check_district(v)


class EventCreate(_EventFields):
    title: ShortText
    description: Description
    venue_name: ShortText
    venue_address: Address
    district: str
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    starts_at: InstantIn
    ends_at: InstantIn
    signup_opens_at: InstantIn
    signup_closes_at: InstantIn
    capacity: Capacity
    quotas: GenderQuotas | None = Field(None, description="Places per gender; must add up to capacity")
    min_age: Age = 18
    max_age: Age = 35
    require_single: bool = True
    require_real_name: bool = True
    cancel_cutoff_hours: Hours = 24
    choice_hours: Hours = Field(48, description="Mutual choice window after the end; 0 turns it off")

    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        if self.quotas is not None and self.quotas.male + self.quotas.female != self.capacity:
            raise ValueError("男女名额之和应等于总名额")
        if self.min_age > self.max_age:
            raise ValueError("最小年龄不能大于最大年龄")
        return self


class EventUpdate(_EventFields):
    """Capacity is changed through its own endpoint (it never drops below the confirmed places)."""

    title: ShortText | None = None
    description: Description | None = None
    venue_name: ShortText | None = None
    venue_address: Address | None = None
    district: str | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    starts_at: InstantIn | None = None
    ends_at: InstantIn | None = None
    signup_opens_at: InstantIn | None = None
    signup_closes_at: InstantIn | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    require_single: bool | None = None
    require_real_name: bool | None = None
    cancel_cutoff_hours: Hours | None = None
    choice_hours: Hours | None = None


class CapacityIn(StrictModel):
    capacity: Capacity
    quotas: GenderQuotas | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CapacityIn:
        if self.quotas is not None and self.quotas.male + self.quotas.female != self.capacity:
            raise ValueError("男女名额之和应等于总名额")
        return self


class CancelEventIn(StrictModel):
    reason: Reason


class WaiveIn(StrictModel):
    """Why the organiser excuses a no-show or late cancellation; the person is told."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


class QuotaPublic(BaseModel):
    key: Literal["all", "male", "female"]
    capacity: int
    places_left: int
    waitlisted: int


class QuotaProvider(QuotaPublic):
    confirmed: int


class EventSummary(BaseModel):
    id: int
    title: str
    org_name: str | None = None
    venue_name: str
    district: str
    starts_at: datetime
    ends_at: datetime
    signup_opens_at: datetime
    signup_closes_at: datetime
    capacity: int
    places_left: int
    gender_quotas: bool
    min_age: int
    max_age: int
    require_single: bool
    signup_state: SignupState


class RestrictionPublic(BaseModel):
    restricted: bool
    until: datetime | None = None
    reason: str | None = None


class RegistrationPublic(BaseModel):
    id: int
    event_id: int
    status: RegistrationStatus
    quota_key: str
    waitlist_position: int | None = Field(None, description="1 = next to get a place (waitlisted only)")
    badge_number: int | None = None
    created_at: datetime
    promoted_at: datetime | None = None
    cancelled_at: datetime | None = None
    late_cancel: bool = False
    checked_in_at: datetime | None = None
    cancel_deadline: datetime | None = Field(None, description="Cancelling later counts as a late cancellation")


class MyRegistrationItem(RegistrationPublic):
    event_title: str
    event_starts_at: datetime


class EventPublic(EventSummary):
    description: str
    venue_address: str
    latitude: float | None = None
    longitude: float | None = None
    quotas: list[QuotaPublic]
    require_real_name: bool
    cancel_cutoff_hours: int
    cancel_deadline: datetime
    choice_opens_at: datetime | None = None
    choice_closes_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    my_registration: RegistrationPublic | None = None


class EventProvider(PostingState):
    id: int
    org_id: int
    title: str
    description: str
    venue_name: str
    venue_address: str
    district: str
    latitude: float | None = None
    longitude: float | None = None
    starts_at: datetime
    ends_at: datetime
    signup_opens_at: datetime
    signup_closes_at: datetime
    capacity: int
    quotas: list[QuotaProvider]
    min_age: int
    max_age: int
    require_single: bool
    require_real_name: bool
    cancel_cutoff_hours: int
    choice_hours: int
    checked_in: int
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class AttendeePublic(BaseModel):
    """What an organiser sees of a person: no names, ID numbers or phone numbers."""

    registration_id: int
    badge_number: int | None = None
    nickname: str | None = None
    gender: str | None = None
    age: int | None = None
    status: RegistrationStatus
    waitlist_position: int | None = None
    checked_in_at: datetime | None = None


class TicketPublic(BaseModel):
    ticket: str = Field(description="Signed token to show as a QR code at the entrance")
    event_id: int
    registration_id: int
    expires_at: datetime


class CheckInIn(StrictModel):
    ticket: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class CheckInResult(BaseModel):
    registration_id: int
    badge_number: int
    nickname: str | None = None
    gender: str | None = None
    checked_in_at: datetime


class PicksIn(StrictModel):
    badges: Annotated[list[Annotated[int, Field(ge=1, le=100_000)]], Field(max_length=3)]
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="Shown only to people you match with, e.g. 微信号 abc123"
    )

    @field_validator("badges")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("不能重复选择同一位嘉宾")
        return v


class PicksPublic(BaseModel):
    badges: list[int]
    contact: str | None = None
    submitted_at: datetime | None = None
    choice_closes_at: datetime


class MatchPublic(BaseModel):
    badge_number: int
    nickname: str | None = None
    contact: str | None = Field(None, description="What the other person chose to share")


class ChoiceSummary(BaseModel):
    """Organisers see how the mutual choice went, never who picked whom."""

    checked_in: int
    participants: int
    picks: int
    mutual_matches: int
    choice_closes_at: datetime | None = None
