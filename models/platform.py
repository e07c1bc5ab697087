"""State shared by every API process: idempotency records, rate counters, the WeChat server token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=40)  # the acting user
    key: str = Field(max_length=100)
    route: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class RateCounter(SQLModel, table=True):
    """Fixed-window counters; one row per key, reset when its window moves on."""

    __tablename__ = "rate_counters"

    key: str = Field(primary_key=True, max_length=160)
    window_start: int
    count: int


class ServiceToken(SQLModel, table=True):
    """WeChat's server token, cached once for every process (WeChat invalidates older tokens)."""

    __tablename__ = "service_tokens"

    name: str = Field(primary_key=True, max_length=80)
    token: str | None = Field(default=None, sa_type=Encrypted("service_tokens.token"))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fetch_count: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SweepState(SQLModel, table=True):
    """The last run of each sweeper job (app.kit.sweeper): for the console and the sweeper-lag metric."""

    __tablename__ = "sweep_state"

    job: str = Field(primary_key=True, max_length=80)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ok_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_count: int = 0
    last_error: str | None = Field(default=None, max_length=500)
