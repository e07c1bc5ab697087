from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints, field_validator

from app.config import KUNMING_DISTRICTS
from app.schemas.common import StrictModel, display_name

Gender = Literal["male", "female"]
Education = Literal["junior_high", "high_school", "vocational", "college", "bachelor", "master", "doctorate"]
Employment = Literal["student", "employed", "self_employed", "job_seeking", "other"]
Marital = Literal["single", "married", "divorced", "widowed"]
Nickname = display_name(32)


class MePublic(BaseModel):
    id: int
    role: str
    nickname: str | None = None
    real_name: str | None = None
    id_number_masked: str | None = None
    birth_date: date | None = None
    age: int | None = None
    gender: str | None = None
    district: str | None = None
    education: str | None = None
    graduation_year: int | None = None
    employment_status: str | None = None
    marital_status: str | None = None
    owns_home_in_kunming: bool | None = None
    works_in_kunming: bool | None = None
    phone_masked: str | None = None
    # Declared, unique and well-formed — see the README on what this does and does not prove.
    real_name_verified: bool = False
    identity_source: str | None = None  # declared | face | staff
    identity_claim_status: str | None = None  # "pending" while a claim to a number is under review
    org_id: int | None = None
    org_role: str | None = None


class MeUpdate(StrictModel):
    """Declared facts; the real name and ID number are bound through PUT /api/v1/me/identity."""

    nickname: Nickname | None = None  # type: ignore[valid-type]
    gender: Gender | None = None
    district: str | None = None
    education: Education | None = None
    graduation_year: int | None = None
    employment_status: Employment | None = None
    marital_status: Marital | None = None
    owns_home_in_kunming: bool | None = None
    works_in_kunming: bool | None = None

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
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
