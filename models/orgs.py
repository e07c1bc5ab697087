"""Provider organisations and their members."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow


class OrgKind(StrEnum):
    housing_operator = "housing_operator"
    employer = "employer"
    incubator = "incubator"
    event_organizer = "event_organizer"
    volunteer_org = "volunteer_org"
    counselling_center = "counselling_center"


class OrgStatus(StrEnum):
    """pending → verified | rejected;  verified → suspended → verified (reinstated); rejected → verified.

    A rejected or suspended organisation has lost its standing: its accounts still log in and see
    their own organisation and their postings' review state, and nothing else (app.deps)."""

    pending = "pending"
    verified = "verified"
    rejected = "rejected"
    suspended = "suspended"


LOST_STANDING = frozenset({OrgStatus.rejected, OrgStatus.suspended})


class OrgRole(StrEnum):
    owner = "owner"
    editor = "editor"


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=32, index=True)  # OrgKind
    credit_code: str = Field(max_length=18, unique=True)
    contact_name: str = Field(max_length=32)
    contact_phone: str = Field(sa_type=Encrypted("organisations.contact_phone"))
    address: str | None = Field(default=None, max_length=200)
    status: str = Field(default=OrgStatus.pending, max_length=16, index=True)  # OrgStatus
    # The reason staff gave for the current status (a rejection, a suspension, a reinstatement).
    review_reason: str | None = Field(default=None, max_length=500)
    reviewed_by: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OrgMember(SQLModel, table=True):
    __tablename__ = "org_members"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisations.id", index=True, ondelete="CASCADE")
    # A provider account acts for exactly one organisation.
    user_id: int = Field(foreign_key="users.id", unique=True, ondelete="CASCADE")
    role: str = Field(max_length=16)  # OrgRole
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
