"""Request and response models of the openings service (就业见习 / 创业孵化)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.config import KUNMING_DISTRICTS
from app.schemas.common import DayIn, InstantIn, LongText, ShortText, StrictModel
from app.schemas.moderation import PostingState
from app.schemas.profile import Education

OpeningKind = Literal["internship", "incubator"]
ApplicationStatus = Literal["submitted", "viewed", "interview", "offered", "accepted", "declined", "lapsed",
                            "rejected", "withdrawn"]
Stage = Literal["idea", "prototype", "early_revenue", "growth"]
Sector = Literal["digital", "agriculture", "culture_tourism", "biomedicine", "manufacturing", "services",
                 "education", "green", "other"]
RejectReason = Literal["not_qualified", "education_mismatch", "major_mismatch", "interview_failed",
                       "interview_absent", "places_filled", "plan_not_ready", "sector_mismatch", "other"]

EDUCATION_ORDER: tuple[str, ...] = ("junior_high", "high_school", "vocational", "college", "bachelor", "master",
                                    "doctorate")
EDUCATION_LABELS = {"junior_high": "初中", "high_school": "高中", "vocational": "中专/职高", "college": "大专",
                    "bachelor": "本科", "master": "硕士", "doctorate": "博士"}
STAGE_LABELS = {"idea": "创意阶段", "prototype": "产品原型", "early_revenue": "初创有收入", "growth": "成长期"}
SECTOR_LABELS = {"digital": "数字经济", "agriculture": "高原特色农业", "culture_tourism": "文化旅游",
                 "biomedicine": "生物医药", "manufacturing": "先进制造", "services": "现代服务", "education": "教育培训",
                 "green": "绿色能源", "other": "其他"}
STATUS_LABELS = {"submitted": "已投递", "viewed": "已查看", "interview": "邀请面试", "offered": "拟录用",
                 "accepted": "已接受录用", "declined": "已婉拒录用", "lapsed": "录用已失效", "rejected": "未通过",
                 "withdrawn": "已撤回"}
REJECT_REASONS = {"not_qualified": "条件不符", "education_mismatch": "学历要求不符", "major_mismatch": "专业要求不符",
                  "interview_failed": "面试未通过", "interview_absent": "未参加面试", "places_filled": "名额已满",
                  "plan_not_ready": "创业项目尚不成熟", "sector_mismatch": "行业方向不符", "other": "其他原因",
                  # given by the system, never chosen by a provider
                  "offer_lapsed": "未在期限内答复录用", "opening_taken_down": "岗位已下架"}

Description = Annotated[LongText, StringConstraints(min_length=1)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{5,20}$")]
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1[3-9][0-9]{9}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100,
                                         pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")]
Major = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Intro = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Latitude = Annotated[float, Field(ge=24.3, le=26.6)]
Longitude = Annotated[float, Field(ge=102.1, le=103.7)]
Places = Annotated[int, Field(ge=1, le=1000)]
Fen = Annotated[int, Field(ge=0, le=10_000_000, description="单位：分（300000 即 3000.00 元）")]
Age = Annotated[int, Field(ge=14, le=35)]
Year = Annotated[int, Field(ge=1950, le=2100)]


_SUMMARY = {"id": 42, "kind": "internship", "title": "新媒体运营见习生", "org_name": "昆明青年科技有限公司",
            "district": "呈贡区", "lat": 24.88, "lng": 102.82, "distance_km": None, "places": 5, "places_left": 3,
            "deadline": "2026-12-31T10:00:00Z", "state": "open", "stipend_fen": 300000, "duration_months": 6,
            "min_education": "college", "majors": ["新闻学", "市场营销"], "free_office_months": None,
            "published_at": "2026-11-20T03:00:00Z"}
_PUBLIC = {**_SUMMARY, "description": "负责公众号和短视频的日常运营。", "address": "呈贡区春融街 1 号",
           "contact_name": "李老师", "contact_phone": None, "starts_on": "2027-01-04", "min_age": 16, "max_age": 24,
           "graduated_within_years": 2, "mentoring": False, "funding_help": False, "offer_notes": None,
           "stages": [], "sectors": [], "my_application": {"id": 301, "status": "submitted", "can_withdraw": True}}
_PROVIDER = {"status": "published", "review_flag": None, "review_reason": None,
             "submitted_at": "2026-11-19T08:00:00Z", "published_at": "2026-11-20T03:00:00Z",
             "hidden_by_reports": False, "id": 42, "org_id": 5, "kind": "internship", "title": "新媒体运营见习生",
             "description": "负责公众号和短视频的日常运营。", "district": "呈贡区", "address": "呈贡区春融街 1 号",
             "lat": 24.88, "lng": 102.82, "places": 5, "taken": 2, "deadline": "2026-12-31T10:00:00Z",
             "contact_name": "李老师", "contact_phone": "0871-63100000", "starts_on": "2027-01-04",
             "stipend_fen": 300000, "duration_months": 6, "min_education": "college", "majors": ["新闻学"],
             "min_age": 16, "max_age": 24, "graduated_within_years": 2, "free_office_months": None,
             "mentoring": False, "funding_help": False, "offer_notes": None, "stages": [], "sectors": [],
             "counts": {"submitted": 3, "interview": 1, "accepted": 2}, "created_at": "2026-11-18T08:00:00Z",
             "updated_at": "2026-11-20T03:00:00Z"}
_CREATE_INTERNSHIP = {"kind": "internship", "title": "新媒体运营见习生", "description": "负责公众号和短视频的日常运营。",
                      "district": "呈贡区", "places": 5, "deadline": "2026-12-31T18:00:00+08:00",
                      "contact_name": "李老师", "contact_phone": "0871-63100000", "address": "呈贡区春融街 1 号",
                      "lat": 24.88, "lng": 102.82, "stipend_fen": 300000, "duration_months": 6,
                      "starts_on": "2027-01-04", "min_education": "college", "majors": ["新闻学", "市场营销"]}
_CREATE_INCUBATOR = {"kind": "incubator", "title": "青年创业园入驻名额", "description": "面向初创团队的免费工位与辅导。",
                     "district": "五华区", "places": 10, "deadline": "2026-12-31T18:00:00+08:00",
                     "contact_name": "赵老师", "contact_phone": "0871-65100000", "free_office_months": 12,
                     "mentoring": True, "funding_help": True, "stages": ["idea", "prototype"], "sectors": ["digital"]}
_RESUME_IN = {"school": "云南大学", "major": "新闻学", "education": "bachelor", "graduation_year": 2026,
              "skills": ["Excel", "新媒体运营"], "self_intro": "热爱内容创作，有校园公众号运营经验。",
              "phone": "13800138000", "email": "xiaoming@example.com"}
_RESUME = {"school": "云南大学", "major": "新闻学", "education": "bachelor", "graduation_year": 2026,
           "skills": ["Excel", "新媒体运营"], "self_intro": "热爱内容创作，有校园公众号运营经验。",
           "phone_masked": "138****8000", "email_masked": "x***@example.com", "updated_at": "2026-11-25T02:00:00Z"}
_VENTURE = {"team_size": 3, "stage": "prototype", "sector": "agriculture",
            "plan_summary": "用小程序把高原特色农产品直接卖给城市青年。"}
_HISTORY = [{"at": "2026-11-26T02:00:00Z", "from_status": None, "to_status": "submitted", "status_label": "已投递",
             "actor_role": "youth", "reason_code": None, "reason_label": None, "reason": None, "detail": {}},
            {"at": "2026-11-27T06:00:00Z", "from_status": "submitted", "to_status": "viewed", "status_label": "已查看",
             "actor_role": "provider", "reason_code": None, "reason_label": None, "reason": None, "detail": {}}]
_APP = {"id": 301, "opening_id": 42, "opening_title": "新媒体运营见习生", "kind": "internship", "status": "viewed",
        "status_label": "已查看", "can_withdraw": True, "submitted_at": "2026-11-26T02:00:00Z", "interview_at": None,
        "interview_place": None, "interview_link": None, "answer_by": None, "reason_code": None, "reason_label": None,
        "reason": None, "school": "云南大学", "major": "新闻学", "education": "bachelor", "graduation_year": 2026,
        "skills": ["Excel", "新媒体运营"], "self_intro": "热爱内容创作。", "team_size": None, "stage": None,
        "sector": None, "plan_summary": None, "phone_masked": "138****8000", "history": _HISTORY}
_APP_PROVIDER = {"id": 301, "opening_id": 42, "status": "viewed", "status_label": "已查看",
                 "submitted_at": "2026-11-26T02:00:00Z", "nickname": "小明", "real_name": "张小明", "age": 22,
                 "school": "云南大学", "major": "新闻学", "education": "bachelor", "graduation_year": 2026,
                 "skills": ["Excel", "新媒体运营"], "self_intro": "热爱内容创作。", "team_size": None, "stage": None,
                 "sector": None, "plan_summary": None, "phone_masked": None, "phone": None, "email": None,
                 "interview_at": None, "interview_place": None, "interview_link": None, "answer_by": None,
                 "reason_code": None, "reason": None, "history": _HISTORY}


def _district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


# --- the provider's side --------------------------------------------------------------------------


class _OpeningBase(StrictModel):
    title: ShortText = Field(description="岗位名称")
    description: Description = Field(description="岗位介绍")
    district: str = Field(description="所在区县（昆明市）")
    places: Places = Field(description="名额")
    deadline: InstantIn = Field(description="报名在这一时刻截止（带时区）")
    contact_name: Name = Field(description="联系人")
    contact_phone: Phone = Field(description="联系电话")

    _d = field_validator("district")(_district)


class InternshipCreate(_OpeningBase):
    """就业见习岗位 (employers)."""

    model_config = ConfigDict(json_schema_extra={"example": _CREATE_INTERNSHIP})

    kind: Literal["internship"] = Field(description="`internship` 就业见习或 `incubator` 创业孵化")
    address: Address = Field(description="地址")
    lat: Latitude = Field(description="纬度（GCJ-02）")
    lng: Longitude = Field(description="经度（GCJ-02）")
    stipend_fen: Fen = Field(description="每月见习补贴，单位：分")
    duration_months: Annotated[int, Field(ge=1, le=12)] = Field(description="见习期（月）")
    starts_on: DayIn = Field(description="开始日期")
    min_education: Education | None = Field(None, description="最低学历；不填为不限")
    majors: list[Major] = Field(default_factory=list, max_length=20, description="要求的专业；为空表示不限")
    min_age: Age = Field(16, description="最低年龄")
    max_age: Age = Field(24, description="最高年龄")
    graduated_within_years: Annotated[int, Field(ge=0, le=5)] | None = Field(
        2, description="毕业这么多年以内的不受年龄限制；为空只看年龄")

    @model_validator(mode="after")
    def _ages(self) -> InternshipCreate:
        if self.min_age > self.max_age:
            raise ValueError("最低年龄不能高于最高年龄")
        return self


class IncubatorCreate(_OpeningBase):
    """创业孵化入驻名额 (incubators)."""

    model_config = ConfigDict(json_schema_extra={"example": _CREATE_INCUBATOR})

    kind: Literal["incubator"] = Field(description="`internship` 就业见习或 `incubator` 创业孵化")
    address: Address | None = Field(None, description="地址")
    lat: Latitude | None = Field(None, description="纬度（GCJ-02）")
    lng: Longitude | None = Field(None, description="经度（GCJ-02）")
    free_office_months: Annotated[int, Field(ge=0, le=60)] = Field(0, description="免费办公场地（月）")
    mentoring: bool = Field(False, description="提供创业导师")
    funding_help: bool = Field(False, description="协助申请创业资金")
    offer_notes: Notes | None = Field(None, description="其他扶持说明")
    stages: list[Stage] = Field(default_factory=list, max_length=4, description="接受的项目阶段；为空表示不限")
    sectors: list[Sector] = Field(default_factory=list, max_length=9, description="接受的行业；为空表示不限")
    min_age: Age = Field(18, description="最低年龄")
    max_age: Age = Field(35, description="最高年龄")

    @model_validator(mode="after")
    def _consistent(self) -> IncubatorCreate:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("纬度和经度需要同时填写")
        if self.min_age > self.max_age:
            raise ValueError("最低年龄不能高于最高年龄")
        return self


OpeningCreate = Annotated[InternshipCreate | IncubatorCreate, Field(discriminator="kind")]
CREATE_EXAMPLES = {"internship": {"summary": "就业见习岗位", "value": _CREATE_INTERNSHIP},
                   "incubator": {"summary": "创业孵化名额", "value": _CREATE_INCUBATOR}}


class OpeningUpdate(StrictModel):
    """Only the fields sent change (the kind never does); public text edited on a published opening
    goes back to review."""

    model_config = ConfigDict(json_schema_extra={"example": {"places": 8, "deadline": "2026-12-31T18:00:00+08:00"}})

    title: ShortText | None = Field(None, description="岗位名称")
    description: Description | None = Field(None, description="岗位介绍")
    district: str | None = Field(None, description="所在区县（昆明市）")
    address: Address | None = Field(None, description="地址")
    places: Places | None = Field(None, description="名额")
    deadline: InstantIn | None = Field(None, description="报名截止时间（带时区）")
    contact_name: Name | None = Field(None, description="联系人")
    contact_phone: Phone | None = Field(None, description="联系电话")
    stipend_fen: Fen | None = Field(None, description="每月见习补贴，单位：分（300000 即 3000 元）")
    duration_months: Annotated[int, Field(ge=1, le=12)] | None = Field(None, description="见习期（月）")
    starts_on: DayIn | None = Field(None, description="开始日期")
    min_education: Education | None = Field(None, description="最低学历；不填为不限")
    majors: list[Major] | None = Field(None, max_length=20, description="要求的专业；为空表示不限")
    free_office_months: Annotated[int, Field(ge=0, le=60)] | None = Field(None, description="免费办公场地（月）")
    mentoring: bool | None = Field(None, description="提供创业导师")
    funding_help: bool | None = Field(None, description="协助申请创业资金")
    offer_notes: Notes | None = Field(None, description="其他扶持说明")
    stages: list[Stage] | None = Field(None, description="接受的项目阶段；为空表示不限")
    sectors: list[Sector] | None = Field(None, description="接受的行业；为空表示不限")

    _d = field_validator("district")(_district)


# --- what everyone sees ---------------------------------------------------------------------------


class OpeningSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _SUMMARY})

    id: int = Field(description="岗位编号")
    kind: OpeningKind = Field(description="`internship` 就业见习或 `incubator` 创业孵化")
    title: str = Field(description="岗位名称")
    org_name: str = Field(description="发布机构名称")
    district: str = Field(description="所在区县（昆明市）")
    lat: float | None = Field(None, description="纬度（GCJ-02）")
    lng: float | None = Field(None, description="经度（GCJ-02）")
    distance_km: float | None = Field(None, description="与给出位置的距离（公里）；未给位置时为空")
    places: int = Field(description="名额")
    places_left: int = Field(description="剩余名额")
    deadline: datetime = Field(description="报名截止时间（带时区）")
    state: Literal["open", "full", "closed"] = Field(description="`open` 接受报名、`full` 名额已满、`closed` 已截止或关闭")
    stipend_fen: int | None = Field(None, description="每月见习补贴，单位：分（300000 即 3000 元）")
    duration_months: int | None = Field(None, description="见习期（月）")
    min_education: str | None = Field(None, description="最低学历；不填为不限")
    majors: list[str] = Field(default_factory=list, description="要求的专业；为空表示不限")
    free_office_months: int | None = Field(None, description="免费办公场地（月）")
    published_at: datetime | None = Field(None, description="发布时间")


class MyApplicationBrief(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"id": 301, "status": "submitted", "can_withdraw": True}})

    id: int = Field(description="申请编号")
    status: ApplicationStatus = Field(description="申请状态")
    can_withdraw: bool = Field(description="现在是否可以撤回")


class OpeningPublic(OpeningSummary):
    model_config = ConfigDict(json_schema_extra={"example": _PUBLIC})

    description: str = Field(description="岗位介绍")
    address: str | None = Field(None, description="地址")
    contact_name: str = Field(description="联系人")
    contact_phone: str | None = Field(None, description="联系电话：只对被邀请面试的申请人显示")
    starts_on: date | None = Field(None, description="开始日期")
    min_age: int = Field(description="最低年龄")
    max_age: int = Field(description="最高年龄")
    graduated_within_years: int | None = Field(None, description="毕业这么多年以内的不受年龄限制；为空只看年龄")
    mentoring: bool = Field(False, description="提供创业导师")
    funding_help: bool = Field(False, description="协助申请创业资金")
    offer_notes: str | None = Field(None, description="其他扶持说明")
    stages: list[str] = Field(default_factory=list, description="接受的项目阶段；为空表示不限")
    sectors: list[str] = Field(default_factory=list, description="接受的行业；为空表示不限")
    my_application: MyApplicationBrief | None = Field(None, description="当前用户对该岗位的申请；未登录或未申请时为空")


class OpeningProvider(PostingState):
    model_config = ConfigDict(json_schema_extra={"example": _PROVIDER})

    id: int = Field(description="岗位编号")
    org_id: int = Field(description="发布机构编号")
    kind: OpeningKind = Field(description="`internship` 就业见习或 `incubator` 创业孵化")
    title: str = Field(description="岗位名称")
    description: str = Field(description="岗位介绍")
    district: str = Field(description="所在区县（昆明市）")
    address: str | None = Field(None, description="地址")
    lat: float | None = Field(None, description="纬度（GCJ-02）")
    lng: float | None = Field(None, description="经度（GCJ-02）")
    places: int = Field(description="名额")
    taken: int = Field(description="已接受录用的人数")
    deadline: datetime = Field(description="报名截止时间（带时区）")
    contact_name: str = Field(description="联系人")
    contact_phone: str = Field(description="联系电话")
    starts_on: date | None = Field(None, description="开始日期")
    stipend_fen: int | None = Field(None, description="每月见习补贴，单位：分（300000 即 3000 元）")
    duration_months: int | None = Field(None, description="见习期（月）")
    min_education: str | None = Field(None, description="最低学历；不填为不限")
    majors: list[str] = Field(description="要求的专业；为空表示不限")
    min_age: int = Field(description="最低年龄")
    max_age: int = Field(description="最高年龄")
    graduated_within_years: int | None = Field(None, description="毕业这么多年以内的不受年龄限制；为空只看年龄")
    free_office_months: int | None = Field(None, description="免费办公场地（月）")
    mentoring: bool = Field(description="提供创业导师")
    funding_help: bool = Field(description="协助申请创业资金")
    offer_notes: str | None = Field(None, description="其他扶持说明")
    stages: list[str] = Field(description="接受的项目阶段；为空表示不限")
    sectors: list[str] = Field(description="接受的行业；为空表示不限")
    counts: dict[str, int] = Field(default_factory=dict, description="各状态的申请数")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="最后修改时间")


# --- the person's résumé and applications ---------------------------------------------------------


class ResumeIn(StrictModel):
    """The résumé kept in the profile; PUT replaces it."""

    model_config = ConfigDict(json_schema_extra={"example": _RESUME_IN})

    school: ShortText | None = Field(None, description="学校")
    major: Major | None = Field(None, description="专业")
    education: Education | None = Field(None, description="学历")
    graduation_year: Year | None = Field(None, description="毕业年份")
    skills: list[Skill] = Field(default_factory=list, max_length=20, description="技能（最多 20 项）")
    self_intro: Intro | None = Field(None, description="自我介绍")
    phone: Mobile | None = Field(None, description="手机号")
    email: Email | None = Field(None, description="邮箱")


class ResumePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _RESUME})

    school: str | None = Field(None, description="学校")
    major: str | None = Field(None, description="专业")
    education: str | None = Field(None, description="学历")
    graduation_year: int | None = Field(None, description="毕业年份")
    skills: list[str] = Field(default_factory=list, description="技能（最多 20 项）")
    self_intro: str | None = Field(None, description="自我介绍")
    phone_masked: str | None = Field(None, description="打码的手机号")
    email_masked: str | None = Field(None, description="打码的邮箱")
    updated_at: datetime | None = Field(None, description="最后修改时间")


class ResumeEdits(StrictModel):
    """Changes for this application only, over the résumé kept in the profile."""

    model_config = ConfigDict(json_schema_extra={"example": {"skills": ["Excel", "新媒体运营"]}})

    school: ShortText | None = Field(None, description="学校")
    major: Major | None = Field(None, description="专业")
    education: Education | None = Field(None, description="学历")
    graduation_year: Year | None = Field(None, description="毕业年份")
    skills: list[Skill] | None = Field(None, max_length=20, description="技能（最多 20 项）")
    self_intro: Intro | None = Field(None, description="自我介绍")
    phone: Mobile | None = Field(None, description="手机号")
    email: Email | None = Field(None, description="邮箱")


class VentureIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": _VENTURE})

    team_size: Annotated[int, Field(ge=1, le=100)] = Field(description="团队人数")
    stage: Stage = Field(description="项目阶段")
    sector: Sector = Field(description="行业")
    plan_summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)] = Field(
        description="项目简介（10–2000 字）")


class ApplyIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"resume": {"skills": ["Excel", "新媒体运营"]}}})

    resume: ResumeEdits | None = Field(None, description="只为这次申请修改的简历项目；不填则用个人资料中的简历")
    venture: VentureIn | None = Field(None, description="创业项目：申请孵化名额时必填")


class HistoryEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _HISTORY[0]})

    at: datetime = Field(description="时间")
    from_status: str | None = Field(None, description="原状态；投递时为空")
    to_status: str = Field(description="新状态")
    status_label: str = Field(description="状态的中文名称")
    actor_role: str = Field(description="操作方：`youth` 申请人、`provider` 机构、`system` 系统")
    reason_code: str | None = Field(None, description="理由代码")
    reason_label: str | None = Field(None, description="理由的中文说明")
    reason: str | None = Field(None, description="补充说明")
    detail: dict = Field(default_factory=dict, description="其他细节（如面试时间、答复期限）")


class ApplicationPublic(BaseModel):
    """What the applicant sees: the current status (a lapse due but not swept shows as lapsed), the
    interview and offer, and the whole history with its reasons."""

    model_config = ConfigDict(json_schema_extra={"example": _APP})

    id: int = Field(description="申请编号")
    opening_id: int = Field(description="岗位编号")
    opening_title: str = Field(description="岗位名称")
    kind: OpeningKind = Field(description="`internship` 就业见习或 `incubator` 创业孵化")
    status: ApplicationStatus = Field(description="申请状态")
    status_label: str = Field(description="状态的中文名称")
    can_withdraw: bool = Field(description="现在是否可以撤回")
    submitted_at: datetime = Field(description="投递时间")
    interview_at: datetime | None = Field(None, description="面试时间")
    interview_place: str | None = Field(None, description="面试地点")
    interview_link: str | None = Field(None, description="线上面试链接")
    answer_by: datetime | None = Field(None, description="录用的答复期限")
    reason_code: str | None = Field(None, description="婉拒或撤回的理由代码")
    reason_label: str | None = Field(None, description="理由的中文说明")
    reason: str | None = Field(None, description="理由的补充说明")
    school: str | None = Field(None, description="学校")
    major: str | None = Field(None, description="专业")
    education: str | None = Field(None, description="学历")
    graduation_year: int | None = Field(None, description="毕业年份")
    skills: list[str] = Field(default_factory=list, description="技能（最多 20 项）")
    self_intro: str | None = Field(None, description="自我介绍")
    team_size: int | None = Field(None, description="团队人数")
    stage: str | None = Field(None, description="项目阶段")
    sector: str | None = Field(None, description="行业")
    plan_summary: str | None = Field(None, description="项目简介（10–2000 字）")
    phone_masked: str = Field(description="申请时留下的手机号（打码）")
    history: list[HistoryEntry] = Field(description="进度记录，按时间先后")


# --- the provider's pipeline ----------------------------------------------------------------------


class ApplicationProvider(BaseModel):
    """What the organisation sees: the résumé or venture, never the ID number; the contact only once it
    has invited the person to an interview."""

    model_config = ConfigDict(json_schema_extra={"example": _APP_PROVIDER})

    id: int = Field(description="申请编号")
    opening_id: int = Field(description="岗位编号")
    status: ApplicationStatus = Field(description="申请状态")
    status_label: str = Field(description="状态的中文名称")
    submitted_at: datetime = Field(description="投递时间")
    nickname: str | None = Field(None, description="申请人昵称")
    real_name: str | None = Field(None, description="申请人实名")
    age: int | None = Field(None, description="申请人年龄")
    school: str | None = Field(None, description="学校")
    major: str | None = Field(None, description="专业")
    education: str | None = Field(None, description="学历")
    graduation_year: int | None = Field(None, description="毕业年份")
    skills: list[str] = Field(default_factory=list, description="技能（最多 20 项）")
    self_intro: str | None = Field(None, description="自我介绍")
    team_size: int | None = Field(None, description="团队人数")
    stage: str | None = Field(None, description="项目阶段")
    sector: str | None = Field(None, description="行业")
    plan_summary: str | None = Field(None, description="项目简介（10–2000 字）")
    phone_masked: str | None = Field(None, description="打码的手机号：邀请面试之后显示")
    phone: str | None = Field(None, description="完整手机号：在申请详情中、邀请面试之后显示")
    email: str | None = Field(None, description="邮箱：在申请详情中、邀请面试之后显示")
    interview_at: datetime | None = Field(None, description="面试时间")
    interview_place: str | None = Field(None, description="面试地点")
    interview_link: str | None = Field(None, description="线上面试链接")
    answer_by: datetime | None = Field(None, description="录用的答复期限")
    reason_code: str | None = Field(None, description="婉拒的理由代码")
    reason: str | None = Field(None, description="理由的补充说明")
    history: list[HistoryEntry] = Field(default_factory=list, description="进度记录，按时间先后")


class InterviewIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "at": "2026-12-10T10:00:00+08:00", "place": "呈贡区春融街 1 号 3 楼会议室", "note": "请带上学生证"}})

    at: InstantIn
    place: Address | None = Field(None, description="面试地点")
    link: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500,
                                           pattern=r"^https://\S+$")] | None = Field(
        None, description="线上会议链接（https）")
    note: Notes | None = Field(None, description="给申请人的附言")

    @model_validator(mode="after")
    def _somewhere(self) -> InterviewIn:
        if not self.place and not self.link:
            raise ValueError("请填写面试地点或线上会议链接")
        return self


class OfferIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"answer_by": "2026-12-20T18:00:00+08:00",
                                                             "note": "期待您的加入"}})

    answer_by: InstantIn | None = Field(None, description="答复期限；不填为 YOUTH_OPENINGS_OFFER_DEFAULT_DAYS 天后")
    note: Notes | None = Field(None, description="给申请人的附言")


class RejectIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason_code": "places_filled"}})

    reason_code: RejectReason = Field(description="婉拒理由代码")
    reason: Notes | None = Field(None, description="补充说明：理由为 `other`（其他）时必填")


class WithdrawIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "已找到其他见习岗位"}})

    reason: Notes | None = Field(None, description="理由（可不填）")


class BulkRejectResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"rejected": 12}})

    rejected: int = Field(description="婉拒的申请数")


class ResponseTime(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "org_id": 5, "org_name": "昆明青年科技有限公司", "applications": 40, "decided": 35, "undecided": 5,
        "avg_response_hours": 30.5, "max_response_hours": 96.0}})

    org_id: int = Field(description="机构编号")
    org_name: str = Field(description="机构名称")
    applications: int = Field(description="收到的申请数")
    decided: int = Field(description="已处理的申请数")
    undecided: int = Field(description="还在等待处理的申请数")
    avg_response_hours: float | None = Field(None, description="首次处理的平均用时（小时）")
    max_response_hours: float | None = Field(None, description="首次处理的最长用时（小时）")
