"""Openings (就业见习 / 创业孵化): internship posts of employers and incubator places of incubators, the
person's résumé, applications and their status history.

One table holds both kinds of opening (one id space: ``/openings/{id}`` names either); the fields of the
other kind stay empty. Places are counted on the opening row (``taken`` of ``places``,
app.kit.capacity): an accepted offer takes one in its own transaction. A person has at most one live
application per opening (the partial unique index), so nobody is accepted twice for the same opening.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow
from models.moderation import PostingFields

OPENING_KINDS = ("internship", "incubator")
# submitted → viewed → interview → offered → accepted | declined | lapsed; rejected from any open
# state; withdrawn by the applicant before an offer (app.services.openings.pipeline.TRANSITIONS).
APPLICATION_STATUSES = ("submitted", "viewed", "interview", "offered", "accepted", "declined", "lapsed", "rejected",
                        "withdrawn")
OPEN_STATUSES = ("submitted", "viewed", "interview", "offered")
_LIVE_SQL = "status <> 'withdrawn'"


class Opening(PostingFields, table=True):
    __tablename__ = "openings"
    __table_args__ = (
        sa.CheckConstraint("taken >= 0 AND taken <= places", name="taken_within_places"),
        sa.Index("ix_openings_public", "status", "hidden_by_reports", "kind", "deadline", "id"),
        sa.Index("ix_openings_due", "status", "deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # internship | incubator
    title: str = Field(max_length=100)
    description: str = Field(sa_type=sa.Text)
    district: str = Field(max_length=16, index=True)
    address: str | None = Field(default=None, max_length=200)
    # GCJ-02, as the mini-program's map uses; internships give a place of work.
    lat: float | None = None
    lng: float | None = None
    places: int
    taken: int = 0
    deadline: datetime = Field(sa_type=UTCDateTime)  # applications close at this instant
    contact_name: str = Field(max_length=32)
    # Shown to the organisation and to applicants it has invited to an interview.
    contact_phone: str = Field(sa_type=Encrypted("openings.contact_phone"))

    # internship (就业见习)
    starts_on: date | None = None
    stipend_fen: int | None = None  # monthly 见习补贴
    duration_months: int | None = None
    min_education: str | None = Field(default=None, max_length=16)
    education_rank: int = 0  # of min_education, for the listing's filter
    majors: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # "|计算机|软件工程|": the majors wanted as text, so that the listing filters with LIKE on both databases.
    majors_text: str = Field(default="", max_length=1000)
    # The 见习 programmes serve 16–24-year-olds and graduates up to two years out: an applicant within the
    # age range, or (when set) graduated within this many years, is eligible.
    min_age: int = 16
    max_age: int = 35
    graduated_within_years: int | None = None

    # incubator place (创业孵化)
    free_office_months: int | None = None
    mentoring: bool = False
    funding_help: bool = False
    offer_notes: str | None = Field(default=None, max_length=500)
    stages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    sectors: list[str] = Field(default_factory=list, sa_type=sa.JSON)

    # Set once by the sweeper when it closed the opening at its deadline (the claim).
    deadline_closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OpeningResume(SQLModel, table=True):
    """The one résumé a person keeps and applies with (each application keeps its own copy)."""

    __tablename__ = "opening_resumes"

    user_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    school: str | None = Field(default=None, max_length=100)
    major: str | None = Field(default=None, max_length=50)
    education: str | None = Field(default=None, max_length=16)
    graduation_year: int | None = None
    skills: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    self_intro: str | None = Field(default=None, max_length=2000)
    phone: str | None = Field(default=None, sa_type=Encrypted("opening_resumes.phone"))
    email: str | None = Field(default=None, sa_type=Encrypted("opening_resumes.email"))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OpeningApplication(SQLModel, table=True):
    __tablename__ = "opening_applications"
    __table_args__ = (
        # One live application per person and opening, whatever the race (a withdrawn one may be followed
        # by a new one); so one person is never accepted twice for the same opening.
        sa.Index("uq_opening_applications_live", "opening_id", "user_id", unique=True,
                 sqlite_where=sa.text(_LIVE_SQL), postgresql_where=sa.text(_LIVE_SQL)),
        sa.Index("ix_opening_applications_opening", "opening_id", "status", "id"),
        sa.Index("ix_opening_applications_user", "user_id", "id"),
        sa.Index("ix_opening_applications_offer_due", "status", "answer_by"),
        sa.Index("ix_opening_applications_org", "org_id", "first_decision_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    opening_id: int = Field(foreign_key="openings.id", ondelete="CASCADE")
    org_id: int = Field(foreign_key="organisations.id")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    status: str = Field(default="submitted", max_length=16)
    # The résumé as sent (internships) ...
    school: str | None = Field(default=None, max_length=100)
    major: str | None = Field(default=None, max_length=50)
    education: str | None = Field(default=None, max_length=16)
    graduation_year: int | None = None
    skills: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    self_intro: str | None = Field(default=None, max_length=2000)
    # ... or the venture (incubator places)
    team_size: int | None = None
    stage: str | None = Field(default=None, max_length=16)
    sector: str | None = Field(default=None, max_length=16)
    plan_summary: str | None = Field(default=None, max_length=2000)
    # Contact: the organisation sees it only once it has invited the person to an interview.
    phone: str = Field(sa_type=Encrypted("opening_applications.phone"))
    email: str | None = Field(default=None, sa_type=Encrypted("opening_applications.email"))
    interview_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    interview_place: str | None = Field(default=None, max_length=200)
    interview_link: str | None = Field(default=None, max_length=500)
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The provider's first decision (interview, offer or rejection) and how long it took, for the
    # staff dashboards (seconds: portable arithmetic, unlike differences of timestamps).
    first_decision_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_seconds: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OpeningApplicationEvent(SQLModel, table=True):
    """Every status change of an application: who, from, to, why, when. Append-only (the database
    refuses changes)."""

    __tablename__ = "opening_application_events"
    __table_args__ = (sa.Index("ix_opening_application_events_application", "application_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="opening_applications.id", ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = None  # empty: the system (the sweeper)
    actor_role: str = Field(max_length=16)  # youth | provider | system
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    # What the change carried: an interview's time and place, an offer's answer-by time.
    detail: dict = Field(default_factory=dict, sa_type=sa.JSON)
