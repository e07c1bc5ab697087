"""The staff console: browser sessions, staff second factors (TOTP) and the console's own switches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Encrypted, UTCDateTime, utcnow


class ConsoleSession(SQLModel, table=True):
    """One signed-in browser. The cookie carries a random token; only its hash is stored, so a copy of
    the table logs nobody in. ``token_version`` is the account's at login: a logout elsewhere, a new
    password or a suspension raises the account's and ends this session too."""

    __tablename__ = "console_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_version: int
    # False until the second factor is given (or enrolled, where an admin made it mandatory).
    verified: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class StaffTotp(SQLModel, table=True):
    """A staff account's TOTP secret (RFC 6238). ``confirmed_at`` is set once a code from the app was
    accepted; ``last_step`` refuses the same code twice."""

    __tablename__ = "staff_totp"

    user_id: int = Field(primary_key=True, foreign_key="users.id", ondelete="CASCADE")
    secret: str = Field(sa_type=Encrypted("staff_totp.secret"))
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_step: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsoleSetting(SQLModel, table=True):
    """Switches admins change in the console (e.g. ``totp_required``), each change audited."""

    __tablename__ = "console_settings"

    key: str = Field(primary_key=True, max_length=40)
    value: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    updated_by: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
