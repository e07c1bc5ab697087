"""Requests and responses of the housing service (春城青居). Money is integer fen; times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.config import KUNMING_DISTRICTS
from app.schemas.common import InstantIn, LongText, Reason, StrictModel
from app.schemas.moderation import PostingState
from models.housing import Allocation, ApplicationStatus, LotteryStatus

Layout = Literal["studio", "one_room", "two_rooms", "three_rooms"]
Decision = Literal[ApplicationStatus.eligible, ApplicationStatus.ineligible]

LAYOUT_LABELS = {"studio": "开间", "one_room": "一室", "two_rooms": "两室", "three_rooms": "三室"}
_S = ApplicationStatus
STATUS_LABELS: dict[str, str] = {
    _S.submitted: "待审核", _S.eligible: "审核通过", _S.ineligible: "未通过审核", _S.offered: "待确认入住",
    _S.accepted: "已确认入住", _S.declined: "已放弃", _S.expired: "确认超时", _S.withdrawn: "已撤回",
    _S.revoked: "房源已撤销",
}

Fen = Annotated[int, Field(ge=0, le=10_000_000)]
Units = Annotated[int, Field(ge=0, le=10_000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
Station = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Amenity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


def _https_url(v: str) -> str:
    if not v.startswith("https://"):
        raise ValueError("图片地址须以 https:// 开头")
    return v


PhotoUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500),
                     AfterValidator(_https_url)]
# Kunming's whole administrative area, with a margin: a point outside it is a typing mistake.
Lat = Annotated[float, Field(ge=24.0, le=26.8)]
Lng = Annotated[float, Field(ge=102.0, le=104.0)]
Age = Annotated[int, Field(ge=18, le=45)]
Seed = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SeedSource = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


def _district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


# --- provider input ---------------------------------------------------------------------------------


_UT = {"id": 21, "layout": "one_room", "layout_label": "一室", "name": "一室一厅", "area_sqm": 35.5, "rent_fen": 120000,
       "deposit_fen": 120000, "total_units": 40, "available_units": 12, "remaining_units": 5}
_UT_IN = {"layout": "one_room", "name": "一室一厅", "area_sqm": 35.5, "rent_fen": 120000, "deposit_fen": 120000,
          "total_units": 40, "available_units": 12}
_ELIG = {"min_age": 18, "max_age": 35, "require_no_home": True, "graduated_within_years": 5,
         "require_work_in_kunming": True, "rules": ["年龄 18–35 岁", "在昆明无自有住房", "毕业不超过 5 年", "在昆明工作"]}
_CARD = {"id": 7, "name": "呈贡青年公寓", "district": "呈贡区", "address": "呈贡区春融西路 88 号", "lat": 24.88, "lng": 102.82,
         "metro_station": "呈贡广场", "cover_photo": "https://img.example.cn/housing/7/cover.jpg", "amenities": ["空调", "洗衣机"],
         "allocation": "lottery", "min_rent_fen": 120000, "max_rent_fen": 180000, "units_remaining": 5,
         "org_name": "春城安居运营公司", "published_at": "2026-11-01T10:00:00+08:00", "distance_km": None, "favourited": True,
         "unit_types": [_UT]}
_DETAIL = {**_CARD, "description": "步行 5 分钟到地铁站。", "photo_urls": ["https://img.example.cn/housing/7/1.jpg"],
           "eligibility": _ELIG, "applications_close_at": "2026-12-31T18:00:00+08:00", "accepting_applications": True,
           "status": "published", "lottery_status": None,
           "my_application": {"id": 42, "number": "HC20261110-0042", "status": "submitted", "status_label": "已提交"}}
_PROJECT_IN = {"name": "呈贡青年公寓", "district": "呈贡区", "address": "呈贡区春融西路 88 号", "lat": 24.88, "lng": 102.82,
               "metro_station": "呈贡广场", "description": "步行 5 分钟到地铁站。", "amenities": ["空调", "洗衣机"],
               "photo_urls": ["https://img.example.cn/housing/7/1.jpg"], "allocation": "lottery",
               "applications_close_at": "2026-12-31T18:00:00+08:00", "min_age": 18, "max_age": 35,
               "require_no_home": True, "graduated_within_years": 5, "require_work_in_kunming": True,
               "unit_types": [_UT_IN]}
_PROVIDER = {"status": "published", "review_flag": None, "review_reason": None,
             "submitted_at": "2026-10-30T09:00:00+08:00", "published_at": "2026-11-01T10:00:00+08:00",
             "hidden_by_reports": False, "id": 7, "org_id": 3, "name": "呈贡青年公寓", "district": "呈贡区",
             "address": "呈贡区春融西路 88 号", "lat": 24.88, "lng": 102.82, "metro_station": "呈贡广场",
             "description": "步行 5 分钟到地铁站。", "amenities": ["空调", "洗衣机"],
             "photo_urls": ["https://img.example.cn/housing/7/1.jpg"], "allocation": "lottery",
             "applications_close_at": "2026-12-31T18:00:00+08:00", "intake_closed_at": None, "eligibility": _ELIG,
             "min_rent_fen": 120000, "max_rent_fen": 180000, "units_total": 40, "units_available": 12,
             "units_remaining": 5, "created_at": "2026-10-28T15:00:00+08:00", "updated_at": "2026-11-01T10:00:00+08:00",
             "unit_types": [_UT], "application_counts": {"submitted": 30, "eligible": 12}, "lottery_status": None}
_APP = {"id": 42, "number": "HC20261110-0042", "project_id": 7, "unit_type_id": 21, "layout": "one_room",
        "status": "offered", "status_label": "已获得房源，待确认", "status_reason": None, "draw_position": 3,
        "submitted_at": "2026-11-10T09:30:00+08:00", "offered_at": "2026-11-20T10:00:00+08:00",
        "offer_expires_at": "2026-11-23T10:00:00+08:00"}
_MY_APP = {**_APP, "project_name": "呈贡青年公寓", "district": "呈贡区", "layout_label": "一室", "rent_fen": 120000,
           "deposit_fen": 120000, "waiting_position": None, "responded_at": None,
           "history": [{"from_status": None, "to_status": "submitted", "to_status_label": "已提交", "reason": None,
                        "actor_role": "youth", "at": "2026-11-10T09:30:00+08:00"}]}
_PROVIDER_APP = {**_APP, "decided_at": "2026-11-12T16:00:00+08:00",
                 "applicant": {"real_name": "李云", "id_number_masked": "5301**********1234", "phone_masked": "138****5678",
                               "age": 26, "gender": "female", "district": "呈贡区", "education": "bachelor",
                               "graduation_year": 2023, "employment_status": "employed", "owns_home_in_kunming": False,
                               "works_in_kunming": True},
                 "unmet_rules": {}}
_LOTTERY = {"project_id": 7, "status": "drawn", "algorithm": "SHA-256(seed + 申请号) 升序", "list_sha256": "9f86d081884c7d65" * 4,
            "entries": ["HC20261110-0042", "HC20261111-0051"], "entries_count": 2, "frozen_at": "2026-12-31T18:00:00+08:00",
            "seed": "03 11 17 22 28 31 + 09", "seed_source": "中国福利彩票双色球 2026138 期开奖号码",
            "seed_set_at": "2027-01-02T21:30:00+08:00", "round": 1, "drawn_at": "2027-01-03T10:00:00+08:00",
            "order": ["HC20261111-0051", "HC20261110-0042"], "units_available": 1,
            "unit_types": [{"unit_type_id": 21, "layout": "one_room", "layout_label": "一室", "available_units": 1,
                            "remaining_units": 0, "entries": 2}],
            "results": [{"position": 1, "number": "HC20261111-0051", "unit_type_id": 21, "outcome": "offered",
                         "outcome_label": "已获得房源，待确认"},
                        {"position": 2, "number": "HC20261110-0042", "unit_type_id": 21, "outcome": "eligible",
                         "outcome_label": "符合条件，等候中"}],
            "previous_draws": []}


class UnitTypeIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": _UT_IN})

    layout: Layout = Field(description="户型：`studio` 开间、`one_room` 一室、`two_rooms` 两室、`three_rooms` 三室")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = Field(default=None, description="户型名称（可不填）")
    area_sqm: Annotated[float, Field(ge=5, le=300)] = Field(description="面积（平方米，5–300）")
    rent_fen: Fen = Field(description="月租金（分）")
    deposit_fen: Fen = Field(default=0, description="押金（分）")
    total_units: Units = Field(description="总套数")
    available_units: Units = Field(description="本项目可分配的套数（不能少于已发出和已确认的房源数）")

    @model_validator(mode="after")
    def _within_total(self) -> UnitTypeIn:
        if self.available_units > self.total_units:
            raise ValueError("可分配套数不能多于总套数")
        return self


class UnitTypeUpdate(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"rent_fen": 130000, "available_units": 10}})

    layout: Layout | None = Field(default=None, description="户型：`studio` 开间、`one_room` 一室、`two_rooms` 两室、`three_rooms` 三室；不填为不改")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = Field(default=None, description="户型名称（可不填）；不填为不改")
    area_sqm: Annotated[float, Field(ge=5, le=300)] | None = Field(default=None, description="面积（平方米，5–300）；不填为不改")
    rent_fen: Fen | None = Field(default=None, description="月租金（分）；不填为不改")
    deposit_fen: Fen | None = Field(default=None, description="押金（分）；不填为不改")
    total_units: Units | None = Field(default=None, description="总套数；不填为不改")
    available_units: Units | None = Field(default=None, description="本项目可分配的套数（不能少于已发出和已确认的房源数）；不填为不改")


class _ProjectFields(StrictModel):
    @field_validator("district", check_fields=False)
    @classmethod
    def _district_ok(cls, v: str | None) -> str | None:
        return _district(v)

    @model_validator(mode="after")
    def _ages(self) -> _ProjectFields:
        lo, hi = getattr(self, "min_age", None), getattr(self, "max_age", None)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("最低年龄不能高于最高年龄")
        return self


class ProjectIn(_ProjectFields):
    model_config = ConfigDict(json_schema_extra={"example": _PROJECT_IN})

    name: Name = Field(description="项目名称（2–100 字）")
    district: str = Field(description="所在区县（昆明市的区县之一）")
    address: Address = Field(description="地址")
    lat: Lat = Field(description="纬度")
    lng: Lng = Field(description="经度")
    metro_station: Station | None = Field(default=None, description="附近地铁站（可不填）")
    description: LongText = Field(default="", description="项目介绍")
    amenities: Annotated[list[Amenity], Field(max_length=30)] = Field(default=[], description="配套设施（最多 30 项）")
    photo_urls: Annotated[list[PhotoUrl], Field(max_length=20)] = Field(default=[], description="照片地址（https，最多 20 张）")
    allocation: Allocation = Field(default=Allocation.first_come, description="分配方式：`first_come` 按申请先后、`lottery` 摇号；已有申请后不能更改")
    applications_close_at: InstantIn | None = Field(default=None, description="申请截止时间（必须带时区）；不填为不设截止")
    min_age: Age = Field(default=18, description="申请人最小年龄（18–45）")
    max_age: Age = Field(default=35, description="申请人最大年龄（18–45）")
    require_no_home: bool = Field(default=True, description="是否要求在昆明无自有住房")
    graduated_within_years: Annotated[int, Field(ge=1, le=20)] | None = Field(default=None, description="是否要求毕业不超过若干年（1–20）；不填为不要求")
    require_work_in_kunming: bool = Field(default=False, description="是否要求在昆明工作")
    unit_types: Annotated[list[UnitTypeIn], Field(min_length=1, max_length=20)] = Field(description="户型（1–20 个）")


class ProjectUpdate(_ProjectFields):
    model_config = ConfigDict(json_schema_extra={"example": {"description": "步行 5 分钟到地铁站，拎包入住。", "applications_close_at": "2026-12-31T18:00:00+08:00"}})

    name: Name | None = Field(default=None, description="项目名称（2–100 字）；不填为不改")
    district: str | None = Field(default=None, description="所在区县（昆明市的区县之一）；不填为不改")
    address: Address | None = Field(default=None, description="地址；不填为不改")
    lat: Lat | None = Field(default=None, description="纬度；不填为不改")
    lng: Lng | None = Field(default=None, description="经度；不填为不改")
    metro_station: Station | None = Field(default=None, description="附近地铁站（可不填）；不填为不改")
    description: LongText | None = Field(default=None, description="项目介绍；不填为不改")
    amenities: Annotated[list[Amenity], Field(max_length=30)] | None = Field(default=None, description="配套设施（最多 30 项）；不填为不改")
    photo_urls: Annotated[list[PhotoUrl], Field(max_length=20)] | None = Field(default=None, description="照片地址（https，最多 20 张）；不填为不改")
    allocation: Allocation | None = Field(default=None, description="分配方式：`first_come` 按申请先后、`lottery` 摇号；已有申请后不能更改；不填为不改")
    applications_close_at: InstantIn | None = Field(default=None, description="申请截止时间（必须带时区）；不填为不设截止；不填为不改")
    min_age: Age | None = Field(default=None, description="申请人最小年龄（18–45）；不填为不改")
    max_age: Age | None = Field(default=None, description="申请人最大年龄（18–45）；不填为不改")
    require_no_home: bool | None = Field(default=None, description="是否要求在昆明无自有住房；不填为不改")
    graduated_within_years: Annotated[int, Field(ge=1, le=20)] | None = Field(default=None, description="是否要求毕业不超过若干年（1–20）；不填为不要求；不填为不改")
    require_work_in_kunming: bool | None = Field(default=None, description="是否要求在昆明工作；不填为不改")


class DecisionIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"decision": "ineligible", "reason": "申请人在昆明已有自有住房"}})

    decision: Decision = Field(description="审核结果：`eligible` 符合条件或 `ineligible` 不符合条件")
    reason: Reason | None = Field(default=None, description="理由；不符合条件时必填（申请人会看到）")

    @model_validator(mode="after")
    def _reason_for_refusal(self) -> DecisionIn:
        if self.decision == ApplicationStatus.ineligible and not self.reason:
            raise ValueError("审核不通过时请填写原因")
        return self


class CorrectionIn(StrictModel):
    """A decision made by mistake, corrected: the reason is shown to the applicant."""

    model_config = ConfigDict(json_schema_extra={"example": {"decision": "eligible", "reason": "经核实，申请人在昆明没有自有住房，更正为符合条件"}})


    decision: Decision = Field(description="更正后的审核结果：`eligible` 或 `ineligible`")
    reason: Reason = Field(description="更正的理由（申请人会看到）")


class WithdrawOfferIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "该房源需要维修，暂时不能入住"}})

    reason: Reason = Field(description="撤回房源的理由（申请人会看到）")  # shown to the applicant


class SeedIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"seed": "03 11 17 22 28 31 + 09", "source": "中国福利彩票双色球 2026138 期开奖号码"}})

    seed: Seed = Field(description="事先公布的公开随机数")
    source: SeedSource = Field(description="随机数的来源，如某期公开彩票的开奖号码")  # where the public value comes from, e.g. the draw number of a public lottery


class RedrawIn(SeedIn):
    model_config = ConfigDict(json_schema_extra={"example": {"seed": "05 09 14 20 26 33 + 12", "source": "中国福利彩票双色球 2026139 期开奖号码", "reason": "上次使用的随机数来源有误"}})

    reason: Reason = Field(description="重新抽签的理由（会公开）")


# --- youth input ------------------------------------------------------------------------------------


class ApplyIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"unit_type_id": 21}})

    unit_type_id: Annotated[int, Field(ge=1)] = Field(description="申请的户型编号")


class WithdrawIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "已找到其他住处"}})

    reason: Reason | None = Field(default=None, description="理由（可不填）")


# --- responses --------------------------------------------------------------------------------------


class UnitTypePublic(BaseModel):
    id: int = Field(description="户型编号")
    layout: str = Field(description="户型（英文，稳定）")
    layout_label: str = Field(description="户型的中文名称")
    name: str | None = Field(default=None, description="户型名称")
    area_sqm: float = Field(description="面积（平方米）")
    rent_fen: int = Field(description="月租金（分）")
    deposit_fen: int = Field(description="押金（分）")
    total_units: int = Field(description="总套数")
    available_units: int = Field(description="可分配的套数")
    remaining_units: int = Field(description="剩余可分配的套数（去掉已发出和已确认的房源）")


class Eligibility(BaseModel):
    min_age: int = Field(description="最小年龄")
    max_age: int = Field(description="最大年龄")
    require_no_home: bool = Field(description="是否要求在昆明无自有住房")
    graduated_within_years: int | None = Field(default=None, description="要求毕业不超过的年数；不要求为空")
    require_work_in_kunming: bool = Field(description="是否要求在昆明工作")
    rules: list[str] = Field(description="申请条件的中文说明，逐条")  # the same rules in words, as the applicant reads them


class ProjectCard(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _CARD})

    id: int = Field(description="项目编号")
    name: str = Field(description="项目名称")
    district: str = Field(description="所在区县")
    address: str = Field(description="地址")
    lat: float = Field(description="纬度")
    lng: float = Field(description="经度")
    metro_station: str | None = Field(default=None, description="附近地铁站")
    cover_photo: str | None = Field(default=None, description="封面照片地址")
    amenities: list[str] = Field(description="配套设施")
    allocation: str = Field(description="分配方式：`first_come` 按申请先后、`lottery` 摇号")
    min_rent_fen: int | None = Field(default=None, description="最低月租金（分）")
    max_rent_fen: int | None = Field(default=None, description="最高月租金（分）")
    units_remaining: int = Field(description="剩余可分配的套数")
    org_name: str = Field(description="运营机构名称")
    published_at: datetime | None = Field(default=None, description="发布时间")
    distance_km: float | None = Field(default=None, description="与 `near` 的距离（公里）；未给出 `near` 为空")
    favourited: bool | None = Field(default=None, description="我是否已收藏；未登录为空")  # only for a logged-in person
    unit_types: list[UnitTypePublic] = Field(description="户型")


class MyApplicationBrief(BaseModel):
    id: int = Field(description="申请编号")
    number: str = Field(description="申请号")
    status: ApplicationStatus = Field(description="申请状态")
    status_label: str = Field(description="申请状态的中文说明")


class ProjectDetail(ProjectCard):
    model_config = ConfigDict(json_schema_extra={"example": _DETAIL})

    description: str = Field(description="项目介绍")
    photo_urls: list[str] = Field(description="照片地址")
    eligibility: Eligibility = Field(description="申请条件")
    applications_close_at: datetime | None = Field(default=None, description="申请截止时间；不设截止为空")
    accepting_applications: bool = Field(description="现在是否接受申请")
    status: str = Field(description="项目状态")
    lottery_status: LotteryStatus | None = Field(default=None, description="摇号阶段（仅摇号项目截止申请后）：`frozen` 名单已封存、`seeded` 已登记随机数、`drawn` 已抽签")  # for lottery projects past intake
    my_application: MyApplicationBrief | None = Field(default=None, description="我对该项目的申请；未申请或未登录为空")


class EligibilityCheck(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"eligible": False, "real_name_verified": True, "unmet": {"require_no_home": "您在资料中填写了在昆明有自有住房"}}})

    eligible: bool = Field(description="按我现在的资料是否符合申请条件")
    real_name_verified: bool = Field(description="是否已完成实名认证")
    unmet: dict[str, str] = Field(description="不符合的条件及原因")  # rule → why it is not met


class ProviderProject(PostingState):
    model_config = ConfigDict(json_schema_extra={"example": _PROVIDER})

    id: int = Field(description="项目编号")
    org_id: int = Field(description="运营机构编号")
    name: str = Field(description="项目名称（2–100 字）")
    district: str = Field(description="所在区县（昆明市的区县之一）")
    address: str = Field(description="地址")
    lat: float = Field(description="纬度")
    lng: float = Field(description="经度")
    metro_station: str | None = Field(default=None, description="附近地铁站（可不填）")
    description: str = Field(description="项目介绍")
    amenities: list[str] = Field(description="配套设施（最多 30 项）")
    photo_urls: list[str] = Field(description="照片地址（https，最多 20 张）")
    allocation: str = Field(description="分配方式：`first_come` 按申请先后、`lottery` 摇号；已有申请后不能更改")
    applications_close_at: datetime | None = Field(default=None, description="申请截止时间（必须带时区）；不填为不设截止")
    intake_closed_at: datetime | None = Field(default=None, description="手动截止申请的时间；未截止为空")
    eligibility: Eligibility = Field(description="申请条件")
    min_rent_fen: int | None = Field(default=None, description="最低月租金（分）")
    max_rent_fen: int | None = Field(default=None, description="最高月租金（分）")
    units_total: int = Field(description="总套数")
    units_available: int = Field(description="可分配的套数（所有户型合计）")
    units_remaining: int = Field(description="剩余可分配的套数")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="最近修改时间")
    unit_types: list[UnitTypePublic] = Field(description="户型")
    application_counts: dict[str, int] = Field(description="各状态的申请数")
    lottery_status: LotteryStatus | None = Field(default=None, description="摇号阶段；未开始为空")


class HistoryItem(BaseModel):
    from_status: ApplicationStatus | None = Field(default=None, description="之前的状态；第一步为空")
    to_status: ApplicationStatus = Field(description="之后的状态")
    to_status_label: str = Field(description="之后状态的中文说明")
    reason: str | None = Field(default=None, description="理由")
    actor_role: str | None = Field(default=None, description="操作者的角色")
    at: datetime = Field(description="发生时间")


class MyApplication(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _MY_APP})

    id: int = Field(description="申请编号")
    number: str = Field(description="申请号")
    project_id: int = Field(description="项目编号")
    project_name: str = Field(description="项目名称")
    district: str = Field(description="所在区县")
    unit_type_id: int = Field(description="户型编号")
    layout: str = Field(description="户型")
    layout_label: str = Field(description="户型的中文名称")
    rent_fen: int = Field(description="月租金（分）")
    deposit_fen: int = Field(description="押金（分）")
    status: ApplicationStatus = Field(description="申请状态（确认期限已过的房源显示为 `expired`）")  # an offer past its answer-by time shows as expired
    status_label: str = Field(description="申请状态的中文说明")
    status_reason: str | None = Field(default=None, description="状态的理由")
    draw_position: int | None = Field(default=None, description="摇号顺序号（仅摇号项目抽签后）")
    # Eligible and waiting for a unit: 1 = next in line for this unit type (single-application view).
    waiting_position: int | None = Field(default=None, description="等候名次，1 表示该户型下一个获得房源（仅单个申请）")
    submitted_at: datetime = Field(description="申请时间")
    offered_at: datetime | None = Field(default=None, description="发出房源的时间")
    offer_expires_at: datetime | None = Field(default=None, description="确认入住的截止时间")
    responded_at: datetime | None = Field(default=None, description="确认或放弃的时间")
    history: list[HistoryItem] | None = Field(default=None, description="状态经过（仅在单个申请的回答中）")  # in the single-application view


class Applicant(BaseModel):
    """What the project's own organisation sees of an applicant; ID and phone numbers only masked."""

    real_name: str | None = Field(default=None, description="姓名")
    id_number_masked: str | None = Field(default=None, description="身份证号（打码）")
    phone_masked: str | None = Field(default=None, description="手机号（打码）")
    age: int | None = Field(default=None, description="年龄")
    gender: str | None = Field(default=None, description="性别")
    district: str | None = Field(default=None, description="居住区县")
    education: str | None = Field(default=None, description="学历")
    graduation_year: int | None = Field(default=None, description="毕业年份")
    employment_status: str | None = Field(default=None, description="就业状况")
    owns_home_in_kunming: bool | None = Field(default=None, description="是否在昆明有自有住房")
    works_in_kunming: bool | None = Field(default=None, description="是否在昆明工作")


class ProviderApplication(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _PROVIDER_APP})

    id: int = Field(description="申请编号")
    number: str = Field(description="申请号")
    project_id: int = Field(description="项目编号")
    unit_type_id: int = Field(description="户型编号")
    layout: str = Field(description="户型")
    status: ApplicationStatus = Field(description="申请状态（确认期限已过的房源显示为 `expired`）")  # an offer past its answer-by time shows as expired
    status_label: str = Field(description="申请状态的中文说明")
    status_reason: str | None = Field(default=None, description="状态的理由")
    draw_position: int | None = Field(default=None, description="摇号顺序号（仅摇号项目抽签后）")
    submitted_at: datetime = Field(description="申请时间")
    decided_at: datetime | None = Field(default=None, description="审核时间")
    offered_at: datetime | None = Field(default=None, description="发出房源的时间")
    offer_expires_at: datetime | None = Field(default=None, description="确认入住的截止时间")
    applicant: Applicant = Field(description="申请人资料（身份证号和手机号打码）")
    # The project's rules checked against the applicant's profile as it is now, to help the review.
    unmet_rules: dict[str, str] = Field(description="按申请人现在的资料不符合的条件及原因")


class LotteryResult(BaseModel):
    position: int = Field(description="抽签顺序号")
    number: str = Field(description="申请号")
    unit_type_id: int | None = Field(default=None, description="户型编号")
    outcome: str = Field(description="该申请现在的状态（`eligible` 表示仍按顺序等候）")  # the application's status (ApplicationStatus): eligible means still waiting in draw order
    outcome_label: str = Field(description="状态的中文说明")


class LotteryUnits(BaseModel):
    """One unit type in the lottery: offers are made per unit type, to its own entries in draw order."""

    unit_type_id: int = Field(description="户型编号")  # its name and rent are on the project's page
    layout: str = Field(description="户型")
    layout_label: str = Field(description="户型的中文名称")
    available_units: int = Field(description="本轮可分配的套数")  # in this allocation round
    remaining_units: int = Field(description="剩余套数（去掉已发出和已确认的房源）")  # available minus outstanding offers and accepted ones
    entries: int = Field(description="封存名单中申请该户型的人数")  # applications for this unit type in the frozen list


class LotteryDrawPublic(BaseModel):
    round: int = Field(description="第几轮抽签")
    seed: str = Field(description="使用的公开随机数")
    seed_source: str | None = Field(default=None, description="随机数来源")
    reason: str | None = Field(default=None, description="重新抽签的理由")
    drawn_at: datetime = Field(description="抽签时间")
    order: list[str] = Field(description="抽签得到的申请号顺序")


class LotteryPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _LOTTERY})

    project_id: int = Field(description="项目编号")
    status: LotteryStatus = Field(description="摇号阶段：`frozen` 名单已封存、`seeded` 已登记随机数、`drawn` 已抽签")
    algorithm: str = Field(description="抽签算法的说明（任何人可据此复算）")
    list_sha256: str = Field(description="封存名单的 SHA-256")
    entries: list[str] = Field(description="封存名单：审核通过的申请号，已排序")  # the frozen list: eligible application numbers, sorted
    entries_count: int = Field(description="封存名单的人数")
    frozen_at: datetime = Field(description="封存时间")
    seed: str | None = Field(default=None, description="公开随机数；未登记为空")
    seed_source: str | None = Field(default=None, description="随机数来源")
    seed_set_at: datetime | None = Field(default=None, description="登记随机数的时间")
    round: int = Field(description="当前抽签轮次")
    drawn_at: datetime | None = Field(default=None, description="抽签时间；未抽签为空")
    order: list[str] | None = Field(default=None, description="抽签得到的申请号顺序；未抽签为空")
    units_available: int = Field(description="可分配的套数（所有户型合计）")  # all unit types together; per unit type in unit_types
    unit_types: list[LotteryUnits] = Field(description="各户型的套数和申请人数")
    results: list[LotteryResult] | None = Field(default=None, description="各申请的抽签结果；未抽签为空")
    previous_draws: list[LotteryDrawPublic] = Field(description="之前各轮的抽签")


class FavouriteState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"project_id": 7, "favourited": True}})

    project_id: int = Field(description="项目编号")
    favourited: bool = Field(description="是否已收藏")
