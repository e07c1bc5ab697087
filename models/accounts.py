"""Accounts of every role, and their refresh tokens."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=16, index=True)  # youth | provider | moderator | admin
    status: str = Field(default="active", max_length=16)  # active | suspended
    suspended_reason: str | None = Field(default=None, max_length=200)

    username: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=200)
    openid: str | None = Field(default=None, max_length=64, unique=True)
    unionid: str | None = Field(default=None, max_length=64)

    nickname: str | None = Field(default=None, max_length=32)
    real_name: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, sa_type=Encrypted("users.id_number"))
    id_number_hash: str | None = Field(default=None, max_length=64, unique=True)
    id_number_masked: str | None = Field(default=None, max_length=18)
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


class LoginFailure(SQLModel, table=True):
    """One row per failed password login, keyed by account and by address, for the lockout window."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
