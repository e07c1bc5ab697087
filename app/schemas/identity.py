from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from app.schemas.common import Reason, StrictModel, display_name
from app.schemas.profile import MePublic

RealName = display_name(32)
# Up to 18 characters once trimmed; the service says what is wrong with it (ASCII digits, check, ...).
IdNumberIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=18)]


class IdentityIn(StrictModel):
    real_name: RealName  # type: ignore[valid-type]
    id_number: IdNumberIn
    # From wx.startFacialRecognitionVerify in the mini-program: binds the identity as face-verified.
    verify_result: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)] | None = None


class ClaimIn(StrictModel):
    real_name: RealName  # type: ignore[valid-type]
    id_number: IdNumberIn
    evidence: Reason  # what staff can check: e.g. where and when the person can show the ID card


class ClaimPublic(BaseModel):
    id: int
    real_name: str
    id_number_masked: str
    evidence: str | None
    status: str
    created_at: datetime
    decided_at: datetime | None = None
    decision_reason: str | None = None


class StaffClaim(ClaimPublic):
    user_id: int
    # Who holds the number now (None: nobody), and how that account got it.
    holder_id: int | None = None
    holder_identity_source: str | None = None


class IdentityOut(BaseModel):
    me: MePublic
    # A claim under review instead of a bound identity: the number needs someone to look at it.
    claim: ClaimPublic | None = None


class ClaimDecisionIn(StrictModel):
    approve: bool
    reason: Reason
