from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, StringConstraints, field_validator

from app.schemas.common import Reason, StrictModel, display_name
from app.validators import validate_credit_code
from models.orgs import OrgKind, OrgRole, OrgStatus

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64,
                                            pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9-]{7,20}$")]


class OrgSignupIn(StrictModel):
    name: display_name(100, min_length=2)  # type: ignore[valid-type]
    kind: OrgKind
    credit_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=18)]
    contact_name: display_name(32)  # type: ignore[valid-type]
    contact_phone: Phone
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    owner_username: Username
    owner_password: Password

    @field_validator("credit_code")
    @classmethod
    def _cc(cls, v: str) -> str:
        return validate_credit_code(v)


class MemberIn(StrictModel):
    username: Username
    password: Password
    role: OrgRole = OrgRole.editor


class MemberPublic(BaseModel):
    user_id: int
    username: str | None
    role: OrgRole
    created_at: datetime


class OrgPublic(BaseModel):
    id: int
    name: str
    kind: OrgKind
    credit_code: str
    contact_name: str
    contact_phone: str
    address: str | None
    status: OrgStatus
    review_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime


class OrgDecision(StrEnum):
    verify = "verify"
    reject = "reject"
    suspend = "suspend"
    reinstate = "reinstate"


class OrgReviewIn(StrictModel):
    reason: Reason | None = None


class OrgReasonIn(StrictModel):
    """A decision of staff that needs its reason (reject, suspend, reinstate): the owners are told it."""

    reason: Reason
