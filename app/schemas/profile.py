from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.config import KUNMING_DISTRICTS
from app.schemas.common import StrictModel, display_name

Gender = Literal["male", "female"]
Education = Literal["junior_high", "high_school", "vocational", "college", "bachelor", "master", "doctorate"]
Employment = Literal["student", "employed", "self_employed", "job_seeking", "other"]
Marital = Literal["single", "married", "divorced", "widowed"]
Nickname = display_name(32)


Role = Literal["youth", "provider", "moderator", "admin"]
IdentitySource = Literal["declared", "face", "staff"]
OrgRole = Literal["owner", "editor"]

ME_EXAMPLE = {
    "id": 42, "role": "youth", "nickname": "小李", "real_name": "李**", "id_number_masked": "5301**********123X",
    "birth_date": "2000-05-01", "age": 26, "gender": "female", "district": "呈贡区", "education": "bachelor",
    "graduation_year": 2022, "employment_status": "employed", "marital_status": "single",
    "owns_home_in_kunming": False, "works_in_kunming": True, "phone_masked": "138****8000",
    "real_name_verified": True, "identity_source": "declared", "identity_claim_status": None,
    "org_id": None, "org_role": None,
}


class MePublic(BaseModel):
    """The account as its owner sees it (sensitive numbers masked)."""

    model_config = ConfigDict(json_schema_extra={"example": ME_EXAMPLE})

    id: int = Field(description="用户编号")
    role: Role = Field(description="角色：`youth` 青年、`provider` 服务机构成员、`moderator`/`admin` 团委工作人员")
    nickname: str | None = Field(default=None, description="昵称")
    real_name: str | None = Field(default=None, description="实名（遮盖）")
    id_number_masked: str | None = Field(default=None, description="身份证号（遮盖，仅前 4 位和后 4 位）")
    birth_date: date | None = Field(default=None, description="出生日期（由身份证号得出）")
    age: int | None = Field(default=None, description="周岁（按上海时区的今天计算）")
    gender: Gender | None = Field(default=None, description="性别")
    district: str | None = Field(default=None, description="所在区县（昆明市）")
    education: Education | None = Field(default=None, description="学历")
    graduation_year: int | None = Field(default=None, description="毕业年份")
    employment_status: Employment | None = Field(default=None, description="就业状态")
    marital_status: Marital | None = Field(default=None, description="婚姻状况")
    owns_home_in_kunming: bool | None = Field(default=None, description="在昆明有自有住房（青年公寓资格用）")
    works_in_kunming: bool | None = Field(default=None, description="在昆明工作（青年公寓资格用）")
    phone_masked: str | None = Field(default=None, description="绑定的手机号（遮盖）")
    # Declared, unique and well-formed — see the README on what this does and does not prove.
    real_name_verified: bool = Field(default=False, description="已实名：填写了姓名和没有其他账号使用的有效身份证号"
                                     "（见 `identity_source`）")
    identity_source: IdentitySource | None = Field(
        default=None, description="实名来源：`declared` 本人填写、`face` 微信人脸核身、`staff` 工作人员核实")
    identity_claim_status: Literal["pending"] | None = Field(
        default=None, description="有身份证号申诉正在审核时为 `pending`")
    org_id: int | None = Field(default=None, description="所属机构编号（服务机构成员）")
    org_role: OrgRole | None = Field(default=None, description="在机构中的角色：`owner` 负责人、`editor` 编辑")


class MeUpdate(StrictModel):
    """Declared facts; the real name and ID number are bound through PUT /api/v1/me/identity."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "nickname": "小李", "district": "呈贡区", "education": "bachelor", "marital_status": "single"}})

    nickname: Nickname | None = Field(default=None, description="昵称（1–32 字，不含控制字符）")  # type: ignore[valid-type]
    gender: Gender | None = Field(default=None, description="性别")
    district: str | None = Field(default=None, description="所在区县，昆明市的区县之一，如 `呈贡区`")
    education: Education | None = Field(default=None, description="学历")
    graduation_year: int | None = Field(default=None, description="毕业年份（1950–2100）")
    employment_status: Employment | None = Field(default=None, description="就业状态")
    marital_status: Marital | None = Field(default=None, description="婚姻状况（单身活动按此判断）")
    owns_home_in_kunming: bool | None = Field(default=None, description="在昆明有自有住房")
    works_in_kunming: bool | None = Field(default=None, description="在昆明工作")

    @field_validator("district")
    @classmethod
    def _district(cls, v: str | None) -> str | None:
        if v is not None and v not in KUNMING_DISTRICTS:
            raise ValueError("请选择昆明市的区县")
        return v

    @field_validator("graduation_year")
    @classmethod
    def _year(cls, v: int | None) -> int | None:
        if v is not None and not 1950 <= v <= 2100:
            raise ValueError("毕业年份无效")
        return v


class PhoneBindIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"code": "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520"}})

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="小程序手机号快速验证组件（getPhoneNumber）给的 code")
