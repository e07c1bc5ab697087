"""春城青居: affordable rental housing projects, their unit types, applications, favourites and the
verifiable lottery.

Projects carry denormalised figures of their unit types (rent range, unit counts) so that the public
search filters and sorts in SQL without touching the unit-type table for every row; the service keeps
them in step whenever unit types or allocations change.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.moderation import PostingFields


class Allocation(StrEnum):
    first_come = "first_come"  # offers in submission order while units remain
    lottery = "lottery"  # offers in the order of the verifiable draw


class ApplicationStatus(StrEnum):
    """submitted → eligible | ineligible (the provider's review; a decision can be corrected);
    eligible → offered (a unit is reserved) → accepted | declined | expired (not answered in time) |
    revoked (the provider withdrew the offer); withdrawn by the applicant at any time before accepting.
    The lottery page shows each entry's outcome with these same names."""

    submitted = "submitted"
    eligible = "eligible"
    ineligible = "ineligible"
    offered = "offered"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"
    revoked = "revoked"


class LotteryStatus(StrEnum):
    frozen = "frozen"  # the eligible list and its hash are public
    seeded = "seeded"  # the announced seed is recorded
    drawn = "drawn"


# An application holds a place (and counts towards the per-person limit) in these states.
ACTIVE_APPLICATION_STATUSES = (ApplicationStatus.submitted, ApplicationStatus.eligible, ApplicationStatus.offered,
                               ApplicationStatus.accepted)
_ACTIVE_SQL = "status IN ('submitted', 'eligible', 'offered', 'accepted')"


class HousingProject(PostingFields, table=True):
    __tablename__ = "housing_projects"
    __table_args__ = (
        # Public search (status + hidden_by_reports is "public"): newest, cheapest, per district, and
        # the bounding box of a distance search, which covers its sort keys so that ordering thousands
        # of nearby projects never reads the table.
        sa.Index("ix_housing_projects_public_newest", "status", "hidden_by_reports", "published_at", "id"),
        sa.Index("ix_housing_projects_public_rent", "status", "hidden_by_reports", "min_rent_fen", "id"),
        sa.Index("ix_housing_projects_district", "status", "hidden_by_reports", "district", "min_rent_fen"),
        sa.Index("ix_housing_projects_geo", "status", "hidden_by_reports", "lat", "lng", "min_rent_fen",
                 "published_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    district: str = Field(max_length=16)
    address: str = Field(max_length=200)
    lat: float
    lng: float
    metro_station: str | None = Field(default=None, max_length=50)
    description: str = Field(default="", sa_type=sa.Text)
    amenities: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    photo_urls: list[str] = Field(default_factory=list, sa_type=sa.JSON)

    allocation: str = Field(default=Allocation.first_come, max_length=16)  # an Allocation
    applications_close_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the provider closes intake (always at a lottery freeze); no new applications after.
    intake_closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Eligibility rules (checked against the applicant's real-name profile when applying).
    min_age: int = 18
    max_age: int = 35
    require_no_home: bool = True
    graduated_within_years: int | None = None
    require_work_in_kunming: bool = False

    # Denormalised from the unit types (see module docstring).
    min_rent_fen: int | None = None
    max_rent_fen: int | None = None
    units_total: int = 0
    units_available: int = 0  # offered in this allocation round, as declared by the provider
    units_remaining: int = 0  # available minus outstanding offers and accepted ones


class HousingUnitType(SQLModel, table=True):
    __tablename__ = "housing_unit_types"
    __table_args__ = (
        sa.Index("ix_housing_unit_types_search", "project_id", "layout", "rent_fen"),
        # The last line of defence against over-allocation, under the row locks of the service.
        sa.CheckConstraint("taken_units <= available_units", name="not_over_allocated"),
        sa.CheckConstraint("available_units <= total_units", name="available_within_total"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="housing_projects.id", ondelete="CASCADE")
    layout: str = Field(max_length=16)  # studio | one_room | two_rooms | three_rooms
    name: str | None = Field(default=None, max_length=50)
    area_sqm: float
    rent_fen: int
    deposit_fen: int = 0
    total_units: int = 0
    available_units: int = 0
    # Outstanding offers plus accepted ones; never above available_units.
    taken_units: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HousingApplication(SQLModel, table=True):
    __tablename__ = "housing_applications"
    __table_args__ = (
        # One active application per person and project, whatever the race.
        sa.Index("uq_housing_applications_active", "user_id", "project_id", unique=True,
                 sqlite_where=sa.text(_ACTIVE_SQL), postgresql_where=sa.text(_ACTIVE_SQL)),
        sa.Index("ix_housing_applications_project_status", "project_id", "status", "id"),
        sa.Index("ix_housing_applications_user_status", "user_id", "status"),
        sa.Index("ix_housing_applications_offer_due", "status", "offer_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Public, pseudonymous ("HP12-7K3M9QXA"): what the lottery publishes instead of any personal data.
    number: str = Field(max_length=32, unique=True)
    project_id: int = Field(foreign_key="housing_projects.id", ondelete="CASCADE")
    unit_type_id: int = Field(foreign_key="housing_unit_types.id")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    status: str = Field(default=ApplicationStatus.submitted, max_length=16)  # an ApplicationStatus
    status_reason: str | None = Field(default=None, max_length=500)
    draw_position: int | None = None  # 1-based place in the lottery order
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offer_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HousingApplicationEvent(SQLModel, table=True):
    """The status history of an application, with the reason of each change."""

    __tablename__ = "housing_application_events"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="housing_applications.id", index=True, ondelete="CASCADE")
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    actor_role: str | None = Field(default=None, max_length=16)  # youth | provider | staff | system
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HousingFavourite(SQLModel, table=True):
    __tablename__ = "housing_favourites"
    __table_args__ = (sa.UniqueConstraint("user_id", "project_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    project_id: int = Field(foreign_key="housing_projects.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HousingLottery(SQLModel, table=True):
    """A project's lottery: the frozen list and its hash, the announced seed, the current draw."""

    __tablename__ = "housing_lotteries"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="housing_projects.id", unique=True, ondelete="CASCADE")
    status: str = Field(default=LotteryStatus.frozen, max_length=16)  # a LotteryStatus
    entries: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # application numbers, sorted
    list_sha256: str = Field(max_length=64)
    frozen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    frozen_by: int | None = None
    seed: str | None = Field(default=None, max_length=200)
    seed_source: str | None = Field(default=None, max_length=200)
    seed_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seed_set_by: int | None = None
    round: int = 0
    order: list[str] | None = Field(default=None, sa_type=sa.JSON)
    drawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    drawn_by: int | None = None


class HousingLotteryDraw(SQLModel, table=True):
    """Every draw ever made, so a re-draw never erases the one before it."""

    __tablename__ = "housing_lottery_draws"
    __table_args__ = (sa.UniqueConstraint("project_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="housing_projects.id", ondelete="CASCADE")
    round: int
    seed: str = Field(max_length=200)
    seed_source: str | None = Field(default=None, max_length=200)
    order: Any = Field(default=None, sa_type=sa.JSON)
    reason: str | None = Field(default=None, max_length=500)  # why a re-draw was needed
    drawn_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    drawn_by: int | None = None
