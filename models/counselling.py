"""Counselling (青少年心理健康服务): counsellor profiles (a reviewed posting), their time slots, bookings
and session notes, the centre's opening hours and duty list, and the follow-ups of risk answers.
Intake answers, notes and follow-up notes are sensitive health information: encrypted at rest."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow
from models.moderation import PostingFields

# A booking in one of these states holds its slot; cancelled ones have given it back.
HOLDING_STATUSES = ("booked", "attended", "no_show")
_HOLDING_SQL = "status IN ('booked', 'attended', 'no_show')"
_OPEN_SLOT_SQL = "status = 'open'"
# A flagged booking nobody has acknowledged yet: what the duty queue and the escalation job look for.
_RISK_OPEN_SQL = "risk_due_at IS NOT NULL AND risk_acknowledged_at IS NULL"


class Counsellor(PostingFields, table=True):
    __tablename__ = "counsellors"

    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(max_length=32)
    gender: str = Field(max_length=8)  # male | female
    qualifications: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    specialties: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    modes: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # in_person | video | phone
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    photo_url: str | None = Field(default=None, max_length=500)
    introduction: str | None = Field(default=None, max_length=1000)
    # "|s:emotions|m:video|…|", kept in step with specialties and modes by the service, so the public
    # list filters with a portable LIKE instead of JSON operators that differ between databases.
    tags: str = Field(default="|", max_length=300)
    # The member account of the centre this counsellor signs in with (optional). It is "the booked
    # counsellor" of the counsellor's bookings: it reads their intake, marks attendance and is the
    # only account that writes session notes for them.
    user_id: int | None = Field(default=None, foreign_key="users.id", unique=True, ondelete="SET NULL")


class CounsellingSlot(SQLModel, table=True):
    __tablename__ = "counselling_slots"
    __table_args__ = (
        sa.Index("ix_counselling_slots_counsellor_start", "counsellor_id", "starts_at"),
        # No two open slots of one counsellor start together (a repeated pattern request is harmless).
        sa.Index("uq_counselling_slots_live_start", "counsellor_id", "starts_at", unique=True,
                 sqlite_where=sa.text(_OPEN_SLOT_SQL), postgresql_where=sa.text(_OPEN_SLOT_SQL)),
        sa.CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    counsellor_id: int = Field(foreign_key="counsellors.id")
    org_id: int = Field(foreign_key="organisations.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    # open, or withdrawn when the centre takes it off the calendar. An open slot is free while
    # taken < capacity; the place is taken by the capacity counter's conditional UPDATE
    # (app.kit.capacity), and a unique index on bookings keeps it to one booking.
    status: str = Field(default="open", max_length=16)
    capacity: int = Field(default=1)
    taken: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CounsellingBooking(SQLModel, table=True):
    __tablename__ = "counselling_bookings"
    __table_args__ = (
        # The database's own guarantee of one booking per slot, behind the slot's counter.
        sa.Index("uq_counselling_bookings_holding_slot", "slot_id", unique=True,
                 sqlite_where=sa.text(_HOLDING_SQL), postgresql_where=sa.text(_HOLDING_SQL)),
        sa.Index("ix_counselling_bookings_user_status", "user_id", "status", "starts_at"),
        sa.Index("ix_counselling_bookings_org_start", "org_id", "starts_at"),
        sa.Index("ix_counselling_bookings_counsellor_start", "counsellor_id", "starts_at"),
        sa.Index("ix_counselling_bookings_risk_open", "risk_due_at",
                 sqlite_where=sa.text(_RISK_OPEN_SQL), postgresql_where=sa.text(_RISK_OPEN_SQL)),
    )

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="counselling_slots.id")
    counsellor_id: int = Field(foreign_key="counsellors.id")
    org_id: int = Field(foreign_key="organisations.id")
    user_id: int = Field(foreign_key="users.id")
    # Copied from the slot so a person's overlap and upcoming-count checks need no join.
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    mode: str = Field(max_length=16)
    status: str = Field(default="booked", max_length=20)  # booked | cancelled | cancelled_by_centre | attended | no_show
    # What the centre sees instead of the real name when the person chose one.
    nickname: str | None = Field(default=None, max_length=16)
    age_band: str = Field(max_length=8)
    # {"topic", "description", "self_harm_thoughts"} as JSON, encrypted as one value.
    intake: str = Field(sa_type=Encrypted("counselling_bookings.intake"))
    # The risk answer's consequence, kept plain so the duty queue can find it; it carries no text.
    risk_flag: bool = Field(default=False)
    # A flagged booking must be acknowledged by the centre's duty or its counsellor by this time
    # (counted in the centre's opening hours); past it, the sweeper escalates it to the whole duty list.
    # The person is never shown any of these.
    risk_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    risk_acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    risk_acknowledged_by: int | None = Field(default=None, foreign_key="users.id")
    risk_escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late_change: bool = Field(default=False)  # cancelled or moved within the late-cancel window
    reschedule_count: int = Field(default=0)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=500)  # the centre's reason, shown to the person
    attendance_marked_by: int | None = None
    attendance_marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CounsellingNote(SQLModel, table=True):
    """A counsellor's notes on one session; only their author ever reads them."""

    __tablename__ = "counselling_notes"
    __table_args__ = (sa.UniqueConstraint("booking_id", "author_id"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="counselling_bookings.id")
    author_id: int = Field(foreign_key="users.id")
    body: str = Field(sa_type=Encrypted("counselling_notes.body"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CounsellingCentre(SQLModel, table=True):
    """A counselling centre's own settings; a centre without a row has the defaults."""

    __tablename__ = "counselling_centres"

    org_id: int = Field(foreign_key="organisations.id", primary_key=True, ondelete="CASCADE")
    # Seven entries, Monday first: "09:00-18:00" (Asia/Shanghai wall-clock time) or null for closed.
    # The time a flagged booking has to be acknowledged in is counted in these hours.
    opening_hours: list[str | None] = Field(sa_type=sa.JSON)
    updated_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CounsellingDuty(SQLModel, table=True):
    """The centre's duty list: members who read every intake of the centre and answer risk flags. The
    first (lowest position) is told of a new flag; everyone on the list is told when it escalates."""

    __tablename__ = "counselling_duty"
    __table_args__ = (sa.UniqueConstraint("org_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisations.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    position: int = Field(default=0)
    added_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CounsellingRiskFollowUp(SQLModel, table=True):
    """What the centre did about a flagged booking (the first one acknowledges it). Readable only by
    the centre's duty and the booked counsellor; the person never sees it."""

    __tablename__ = "counselling_risk_followups"
    __table_args__ = (sa.Index("ix_counselling_risk_followups_booking", "booking_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="counselling_bookings.id")
    author_id: int = Field(foreign_key="users.id")
    action: str = Field(max_length=20)  # called_back | moved_earlier | referred | other
    note: str = Field(sa_type=Encrypted("counselling_risk_followups.note"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
