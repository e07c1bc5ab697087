from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.schemas.common import Reason, StrictModel, display_name
from app.validators import validate_credit_code
from models.orgs import OrgKind, OrgRole, OrgStatus

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64,
                                            pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9-]{7,20}$")]

_ORG = {"id": 5, "name": "昆明青年公寓运营有限公司", "kind": "housing_operator", "credit_code": "91530100MA6K8XYZ1B",
        "contact_name": "王经理", "contact_phone": "0871-63100000", "address": "呈贡区春融街 1 号", "status": "verified",
        "review_reason": None, "reviewed_at": "2026-11-20T03:00:00Z", "created_at": "2026-11-18T08:12:00Z"}


class OrgSignupIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "name": "昆明青年公寓运营有限公司", "kind": "housing_operator", "credit_code": "91530100MA6K8XYZ1B",
        "contact_name": "王经理", "contact_phone": "0871-63100000", "address": "呈贡区春融街 1 号",
        "owner_username": "chunrong_owner", "owner_password": "a-long-passphrase-2026"}})

    name: display_name(100, min_length=2) = Field(description="机构全称（2–100 字）")  # type: ignore[valid-type]
    kind: OrgKind = Field(description="机构类型：决定能发布哪类内容")
    credit_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=18)] = Field(
        description="18 位统一社会信用代码（校验位会检查；每个代码只能注册一次）")
    contact_name: display_name(32) = Field(description="联系人姓名")  # type: ignore[valid-type]
    contact_phone: Phone = Field(description="联系电话")
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        default=None, description="地址")
    owner_username: Username = Field(description="第一位负责人的用户名（3–64 位字母、数字或 _ . @ -）")
    owner_password: Password = Field(description="负责人的密码（至少 10 位）")

    @field_validator("credit_code")
    @classmethod
    def _cc(cls, v: str) -> str:
        return validate_credit_code(v)


class MemberIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "username": "chunrong_editor", "password": "another-passphrase-26", "role": "editor"}})

    username: Username = Field(description="新成员的用户名（3–64 位字母、数字或 _ . @ -）")
    password: Password = Field(description="新成员的初始密码（至少 10 位）")
    role: OrgRole = Field(default=OrgRole.editor, description="`owner` 负责人（可管理成员）或 `editor` 编辑")


class MemberPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "user_id": 88, "username": "chunrong_editor", "role": "editor", "created_at": "2026-11-21T02:00:00Z"}})

    user_id: int = Field(description="成员的用户编号")
    username: str | None = Field(default=None, description="用户名")
    role: OrgRole = Field(description="`owner` 负责人或 `editor` 编辑")
    created_at: datetime = Field(description="加入时间")


class OrgPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _ORG})

    id: int = Field(description="机构编号")
    name: str = Field(description="机构全称")
    kind: OrgKind = Field(description="机构类型")
    credit_code: str = Field(description="统一社会信用代码")
    contact_name: str = Field(description="联系人")
    contact_phone: str = Field(description="联系电话")
    address: str | None = Field(default=None, description="地址")
    status: OrgStatus = Field(description="`pending` 待审核、`verified` 已认证、`rejected` 未通过、`suspended` 已暂停")
    review_reason: str | None = Field(default=None, description="最近一次审核、暂停或恢复的理由")
    reviewed_at: datetime | None = Field(default=None, description="最近一次审核时间")
    created_at: datetime = Field(description="注册时间")


class OrgDecision(StrEnum):
    verify = "verify"
    reject = "reject"
    suspend = "suspend"
    reinstate = "reinstate"


class OrgReviewIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "营业执照与信用代码一致"}})

    reason: Reason | None = Field(default=None, description="理由（可不填；机构负责人会收到）")


class OrgReasonIn(StrictModel):
    """A decision of staff that needs its reason (reject, suspend, reinstate): the owners are told it."""

    model_config = ConfigDict(json_schema_extra={"example": {"reason": "营业执照已过期，请更新后重新提交"}})

    reason: Reason = Field(description="理由（2–500 字；机构负责人会收到）")
