from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import Reason, StrictModel, display_name
from app.schemas.profile import ME_EXAMPLE, IdentitySource, MePublic

RealName = display_name(32)
# Up to 18 characters once trimmed; the service says what is wrong with it (ASCII digits, check, ...).
IdNumberIn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=18)]
ClaimStatus = Literal["pending", "approved", "rejected"]

_CLAIM = {"id": 7, "real_name": "李**", "id_number_masked": "5301**********123X",
          "evidence": "可于工作日到呈贡区团委出示身份证原件", "status": "pending",
          "created_at": "2026-12-01T02:30:00Z", "decided_at": None, "decision_reason": None}


class IdentityIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"real_name": "李华", "id_number": "53011220000501123X"}})

    real_name: RealName = Field(description="身份证上的姓名")  # type: ignore[valid-type]
    id_number: IdNumberIn = Field(description="18 位居民身份证号（或外国人永久居留身份证号），末位 X 大小写均可")
    # From wx.startFacialRecognitionVerify in the mini-program: binds the identity as face-verified.
    verify_result: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)] | None = Field(
        default=None, description="微信人脸核身（`wx.startFacialRecognitionVerify`）回调中的 `verifyResult`")


class ClaimIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "real_name": "李华", "id_number": "53011220000501123X", "evidence": "可于工作日到呈贡区团委出示身份证原件"}})

    real_name: RealName = Field(description="身份证上的姓名")  # type: ignore[valid-type]
    id_number: IdNumberIn = Field(description="申请绑定的 18 位身份证号")
    evidence: Reason = Field(description="工作人员可以核实的证据，例如何时何地可以出示身份证（2–500 字）")


class ClaimPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _CLAIM})

    id: int = Field(description="申请编号")
    real_name: str = Field(description="申请的姓名（遮盖）")
    id_number_masked: str = Field(description="申请的身份证号（遮盖）")
    evidence: str | None = Field(default=None, description="提交的证据")
    status: ClaimStatus = Field(description="`pending` 待审核、`approved` 已通过、`rejected` 已驳回")
    created_at: datetime = Field(description="提交时间")
    decided_at: datetime | None = Field(default=None, description="审核时间")
    decision_reason: str | None = Field(default=None, description="审核理由")


class StaffClaim(ClaimPublic):
    model_config = ConfigDict(json_schema_extra={"example": {
        **_CLAIM, "user_id": 42, "holder_id": 77, "holder_identity_source": "declared"}})

    user_id: int = Field(description="申请人的用户编号")
    # Who holds the number now (None: nobody), and how that account got it.
    holder_id: int | None = Field(default=None, description="现在持有该号码的用户编号（无人持有为空）")
    holder_identity_source: IdentitySource | None = Field(default=None, description="持有人的实名来源")


class IdentityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"me": ME_EXAMPLE, "claim": None}})

    me: MePublic = Field(description="本人资料（实名后）")
    # A claim under review instead of a bound identity: the number needs someone to look at it.
    claim: ClaimPublic | None = Field(default=None, description="号码已被他人使用时生成的待审核申请；否则为空")


class ClaimDecisionIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"approve": True, "reason": "已现场核验身份证原件"}})

    approve: bool = Field(description="`true` 通过、`false` 驳回")
    reason: Reason = Field(description="理由（申请人会收到，2–500 字）")
