"""Matchmaking and social events for single young people (青年联谊交友).

Places are counted on ``event_quotas`` rows (one per gender quota, or one ``all`` row), not on the
event row: a sign-up rush contends on a small counter row that a conditional UPDATE can take a place
from, and the event posting itself stays free for editing and review.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow
from models.moderation import PostingFields

# A registration in one of these states holds (or waits for) a place; a person has at most one.
ACTIVE_STATUSES = ("confirmed", "waitlisted")
REGISTRATION_STATUSES = ("confirmed", "waitlisted", "cancelled", "no_show", "event_cancelled")
QUOTA_KEYS = ("all", "male", "female")


class Event(PostingFields, table=True):
    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_public_start", "status", "starts_at"),
        # The sweeper's question: which events ended without their no-shows recorded.
        sa.Index("ix_events_due", "ends_at", "no_shows_marked_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    description: str = Field(sa_type=sa.Text)
    venue_name: str = Field(max_length=100)
    venue_address: str = Field(max_length=200)
    district: str = Field(max_length=16, index=True)
    latitude: float | None = None
    longitude: float | None = None

    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    signup_opens_at: datetime = Field(sa_type=UTCDateTime)
    signup_closes_at: datetime = Field(sa_type=UTCDateTime)

    capacity: int
    # Both set (and summing to capacity) when places are split by gender; both empty otherwise.
    quota_male: int | None = None
    quota_female: int | None = None
    min_age: int = 18
    max_age: int = 35
    require_single: bool = True
    require_real_name: bool = True
    # Cancelling a confirmed place later than this many hours before the start counts as a late cancellation.
    cancel_cutoff_hours: int = 24
    # Mutual choice runs from the end of the event for this many hours; 0 means no mutual choice.
    choice_hours: int = 48

    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=500)
    badges_issued: int = 0
    no_shows_marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last change of time or place while people were signed up. Whoever signed up (or was given a
    # place) before it did not agree to the event as it ran: they may cancel without a late
    # cancellation, and are never recorded as no-shows of it.
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EventQuota(SQLModel, table=True):
    """The place counter of one quota of an event: ``taken`` confirmed places out of ``capacity``."""

    __tablename__ = "event_quotas"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "quota_key"),
        sa.CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", ondelete="CASCADE")
    quota_key: str = Field(max_length=8)  # all | male | female
    capacity: int
    taken: int = 0
    # Cleared when the event is cancelled, in the same statement order as the rush reads it.
    open: bool = True


class EventRegistration(SQLModel, table=True):
    __tablename__ = "event_registrations"
    __table_args__ = (
        # Nobody holds two places: at most one active registration per person and event.
        sa.Index("uq_event_registrations_active", "event_id", "user_id", unique=True,
                 postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"),
                 sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')")),
        # Waitlist order and promotion: the lowest id of a quota goes first.
        sa.Index("ix_event_registrations_queue", "event_id", "quota_key", "status", "id"),
        sa.Index("ix_event_registrations_user", "user_id", "status"),
        sa.UniqueConstraint("event_id", "badge_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    quota_key: str = Field(max_length=8)
    status: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    promoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A late cancellation; it and a no-show are strikes in the shared record (app.services.restrictions).
    late_cancel: bool = False
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_by: int | None = None
    badge_number: int | None = None
    # Mutual choice: badge numbers picked (at most 3) and the contact shown to mutual matches only.
    picks: list[int] | None = Field(default=None, sa_type=sa.JSON)
    pick_contact: str | None = Field(default=None, sa_type=Encrypted("event_registrations.pick_contact"))
    picks_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
