"""Volunteering (志愿之城): projects and their shifts, sign-ups and attendance, service hours with their
history, and certificates (志愿服务证明).

Places are counted on the shift row (``taken`` of ``capacity``, app.kit.capacity). A sign-up copies
its shift's start and end so that PostgreSQL can refuse two overlapping active sign-ups of one person
with an exclusion constraint (created in the migration: SQLite has none, the service checks there).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow
from models.moderation import PostingFields

# A sign-up in one of these states holds (or waits for) a place; they also count for overlaps.
ACTIVE_SIGNUP = ("signed_up", "waitlisted")
SIGNUP_STATUSES = ("signed_up", "waitlisted", "cancelled", "no_show", "shift_cancelled", "released")
HOURS_STATUSES = ("pending", "confirmed")
OVERLAP_CONSTRAINT = "ex_volunteer_signups_no_overlap"


class VolunteerProject(PostingFields, table=True):
    __tablename__ = "volunteer_projects"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    category: str = Field(max_length=24, index=True)
    description: str = Field(sa_type=sa.Text)
    # What the work asks and what its risks are (志愿服务条例 Art. 12: recruit truthfully).
    requirements: str | None = Field(default=None, max_length=1000)
    skills: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    district: str = Field(max_length=16, index=True)
    place: str = Field(max_length=100)
    address: str = Field(max_length=200)
    # GCJ-02, as the mini-program's map and wx.getLocation use.
    lat: float
    lng: float
    contact_name: str = Field(max_length=32)
    # Shown to the organisation and to people signed up for one of the project's shifts only.
    contact_phone: str = Field(sa_type=Encrypted("volunteer_projects.contact_phone"))
    min_age: int = 14
    waitlist_enabled: bool = False


class VolunteerShift(SQLModel, table=True):
    """One shift of a project: its time, place and places (the counter row sign-ups take from)."""

    __tablename__ = "volunteer_shifts"
    __table_args__ = (
        sa.CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_volunteer_shifts_project_start", "project_id", "starts_at"),
        sa.Index("ix_volunteer_shifts_due", "ends_at", "no_shows_marked_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="volunteer_projects.id", ondelete="CASCADE")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    signup_closes_at: datetime = Field(sa_type=UTCDateTime)
    # Where the shift differs from the project's place; empty means the project's.
    place: str | None = Field(default=None, max_length=100)
    lat: float | None = None
    lng: float | None = None
    check_in_radius_m: int = 300
    capacity: int
    taken: int = 0
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=500)
    # Set once by the sweeper when it recorded the shift's no-shows (the claim).
    no_shows_marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VolunteerSignup(SQLModel, table=True):
    __tablename__ = "volunteer_signups"
    __table_args__ = (
        # One active sign-up per person and shift; a duplicate request meets it (ON CONFLICT DO NOTHING).
        sa.Index("uq_volunteer_signups_active", "shift_id", "user_id", unique=True,
                 postgresql_where=sa.text("status IN ('signed_up', 'waitlisted')"),
                 sqlite_where=sa.text("status IN ('signed_up', 'waitlisted')")),
        sa.Index("ix_volunteer_signups_queue", "shift_id", "status", "id"),
        sa.Index("ix_volunteer_signups_user", "user_id", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="volunteer_shifts.id", ondelete="CASCADE")
    project_id: int = Field(foreign_key="volunteer_projects.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    status: str = Field(max_length=16)
    # Copies of the shift's time (kept in step when the shift moves), for the overlap constraint.
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    promoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late_cancel: bool = False
    # 14–17-year-olds: who the guardian is who agreed, and when the volunteer confirmed it.
    guardian_name: str | None = Field(default=None, max_length=32)
    guardian_phone: str | None = Field(default=None, sa_type=Encrypted("volunteer_signups.guardian_phone"))
    guardian_consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_by: int | None = None  # the organiser's account; empty for a self check-in
    check_in_distance_m: int | None = None
    check_in_accuracy_m: int | None = None
    checked_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_out_by: int | None = None
    check_out_distance_m: int | None = None
    check_out_accuracy_m: int | None = None


class VolunteerHours(SQLModel, table=True):
    """The service hours of one sign-up: proposed from check-in and out, counted once confirmed."""

    __tablename__ = "volunteer_hours"
    __table_args__ = (
        sa.Index("ix_volunteer_hours_user", "user_id", "status", "served_on"),
        sa.Index("ix_volunteer_hours_org", "org_id", "status", "due_at"),
        sa.Index("ix_volunteer_hours_remind", "status", "remind_at", "reminded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="volunteer_signups.id", unique=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    # The organisation that ran the activity records and certifies it (谁组织谁记录，谁记录谁证明).
    org_id: int = Field(foreign_key="organisations.id")
    project_id: int = Field(foreign_key="volunteer_projects.id", ondelete="CASCADE")
    shift_id: int = Field(foreign_key="volunteer_shifts.id", ondelete="CASCADE")
    category: str = Field(max_length=24)
    served_on: date  # the shift's Shanghai day
    measured_minutes: int  # check-out minus check-in, capped at the shift, rounded to a quarter hour
    minutes: int  # what counts once confirmed
    status: str = Field(default="pending", max_length=16)
    missing_check_out: bool = False
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_by: int | None = None
    # 民政部令第67号 Art. 11: records are due within 10 working days; a reminder goes out before.
    remind_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispute_status: str | None = Field(default=None, max_length=16)  # open | answered
    dispute_reason: str | None = Field(default=None, max_length=500)
    disputed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispute_answer: str | None = Field(default=None, max_length=500)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VolunteerHoursEvent(SQLModel, table=True):
    """Every change of a record of hours: who, what, why. Append-only (the database refuses changes)."""

    __tablename__ = "volunteer_hours_events"
    __table_args__ = (sa.Index("ix_volunteer_hours_events_hours", "hours_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    hours_id: int = Field(foreign_key="volunteer_hours.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = None  # empty: the system (check-out, sweeper)
    actor_role: str | None = Field(default=None, max_length=16)
    # measured | confirmed | adjusted | disputed | answered
    action: str = Field(max_length=16)
    minutes_before: int | None = None
    minutes_after: int | None = None
    reason: str | None = Field(default=None, max_length=500)


class VolunteerCertificate(SQLModel, table=True):
    """A certificate of service (志愿服务证明) as issued: what it stated is kept as it was."""

    __tablename__ = "volunteer_certificates"
    __table_args__ = (sa.Index("ix_volunteer_certificates_user", "user_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=24, unique=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    scope: str = Field(max_length=16)  # period | project
    period_from: date | None = None
    period_to: date | None = None
    project_id: int | None = Field(default=None, foreign_key="volunteer_projects.id")
    total_minutes: int
    # Name, masked ID number, the organisations with their hours, the projects and service content.
    content: dict = Field(sa_type=sa.JSON)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="valid", max_length=16)  # valid | revoked
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_by: int | None = None  # empty: revoked automatically (its hours were corrected)
    revoke_kind: str | None = Field(default=None, max_length=24)  # hours_corrected | staff


class VolunteerCertificateHours(SQLModel, table=True):
    """Which records of hours a certificate counted: a correction to one revokes the certificate."""

    __tablename__ = "volunteer_certificate_hours"

    certificate_id: int = Field(foreign_key="volunteer_certificates.id", primary_key=True, ondelete="CASCADE")
    hours_id: int = Field(foreign_key="volunteer_hours.id", primary_key=True, index=True)
