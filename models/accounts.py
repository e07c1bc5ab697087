"""Accounts of every role, their refresh tokens, login throttles and identity claims."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"
    # "Admin" beside "admin" would let one pose as the other: usernames are unique whatever their case
    # (they are ASCII by the sign-up rules, so lower() means the same on both databases).
    __table_args__ = (sa.Index("uq_users_username_lower", sa.text("lower(username)"), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=16, index=True)  # youth | provider | moderator | admin
    status: str = Field(default="active", max_length=16)  # active | suspended
    suspended_reason: str | None = Field(default=None, max_length=200)

    username: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=200)
    # Carried in every access token ("ver"): raising it ends every access token issued before (logout,
    # suspension, a password change); the principal statement reads it on every request anyway.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    openid: str | None = Field(default=None, max_length=64, unique=True)
    unionid: str | None = Field(default=None, max_length=64)

    nickname: str | None = Field(default=None, max_length=32)
    real_name: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, sa_type=Encrypted("users.id_number"))
    id_number_hash: str | None = Field(default=None, max_length=64, unique=True)
    id_number_masked: str | None = Field(default=None, max_length=18)
    # How the identity came to the account: declared | face (WeChat face verification) | staff (a claim)
    identity_source: str | None = Field(default=None, max_length=16)
    identity_bound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    birth_date: date | None = None
    gender: str | None = Field(default=None, max_length=8)  # male | female
    district: str | None = Field(default=None, max_length=16)
    education: str | None = Field(default=None, max_length=16)
    graduation_year: int | None = None
    employment_status: str | None = Field(default=None, max_length=16)
    marital_status: str | None = Field(default=None, max_length=16)
    owns_home_in_kunming: bool | None = None
    works_in_kunming: bool | None = None
    phone: str | None = Field(default=None, sa_type=Encrypted("users.phone"))
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    phone_masked: str | None = Field(default=None, max_length=20)

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    family_id: str = Field(max_length=36, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=16)  # logout | reuse | password


class LoginThrottle(SQLModel, table=True):
    """Password-login counters (app.services.auth.throttle): one row per (username, address) pair, per
    username, and per address that recently logged in to a username successfully ("known:")."""

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    last_at: datetime = Field(sa_type=UTCDateTime)
    blocked_until: datetime = Field(sa_type=UTCDateTime)


class IdentityClaim(SQLModel, table=True):
    """A person's claim to an ID number, reviewed by staff: a number another account holds, or a
    correction of the person's own bound number."""

    __tablename__ = "identity_claims"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    real_name: str = Field(max_length=32)
    id_number: str = Field(sa_type=Encrypted("identity_claims.id_number"))
    id_number_hash: str = Field(max_length=64, index=True)
    id_number_masked: str = Field(max_length=18)
    evidence: str | None = Field(default=None, max_length=500)
    held_by_other: bool = False  # at filing: another account held the number
    status: str = Field(default="pending", max_length=16, index=True)  # pending | approved | rejected
    decided_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
