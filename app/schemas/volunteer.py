"""Request and response models of the volunteering service (志愿之城)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.config import KUNMING_DISTRICTS
from app.schemas.common import DayIn, InstantIn, LongText, Reason, ShortText, StrictModel
from app.schemas.moderation import PostingState
from app.schemas.profile import Role

CATEGORY_LABELS: dict[str, str] = {
    "dianchi": "滇池保护", "elderly_children": "关爱老人儿童", "double_reduction": "助力双减",
    "civilisation": "文明实践", "events_service": "赛会服务", "community": "社区服务", "other": "其他",
}
Category = Literal["dianchi", "elderly_children", "double_reduction", "civilisation", "events_service",
                   "community", "other"]
SignupStatus = Literal["signed_up", "waitlisted", "cancelled", "no_show", "shift_cancelled", "released"]
ShiftState = Literal["open", "full", "waitlist", "closed", "started", "cancelled"]
HoursStatus = Literal["pending", "confirmed"]
DisputeStatus = Literal["open", "answered"]
CertificateScope = Literal["period", "project"]
CertificateStatus = Literal["valid", "revoked"]
RevokeKind = Literal["hours_corrected", "staff"]

# The texts that name each closed set's values, shared by the fields and the routes' parameters.
CATEGORY_TEXT = ("服务类别：`dianchi` 滇池保护、`elderly_children` 关爱老人儿童、`double_reduction` 助力双减、"
                 "`civilisation` 文明实践、`events_service` 赛会服务、`community` 社区服务、`other` 其他")
SIGNUP_STATUS_TEXT = ("报名状态：`signed_up` 报名成功、`waitlisted` 候补中、`cancelled` 本人已取消、`no_show` 未到场（爽约）、"
                      "`shift_cancelled` 岗位已取消、`released` 岗位改时间后与本人其他报名冲突，已自动取消")
HOURS_STATUS_TEXT = "时长状态：`pending` 待组织确认、`confirmed` 已确认（只有已确认的时长计入记录、星级和证明）"

Description = Annotated[LongText, StringConstraints(min_length=1)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Requirements = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{5,20}$")]
# Kunming and its counties lie within these bounds (GCJ-02 shifts them by a few hundred metres at most).
Latitude = Annotated[float, Field(ge=24.3, le=26.6)]
Longitude = Annotated[float, Field(ge=102.1, le=103.7)]
Capacity = Annotated[int, Field(ge=1, le=2000)]
Radius = Annotated[int, Field(ge=50, le=5000)]
MinAge = Annotated[int, Field(ge=14, le=35)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60, multiple_of=15)]
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Ids = Annotated[list[RecordId], Field(min_length=1, max_length=200)]


def _district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


def _both_or_neither(lat: float | None, lng: float | None) -> None:
    if (lat is None) != (lng is None):
        raise ValueError("纬度和经度需要同时填写")


# --- examples (requests in Shanghai time with their offset, answers in UTC) -------------------------

_SHIFT_IN = {"starts_at": "2026-12-12T09:00:00+08:00", "ends_at": "2026-12-12T12:00:00+08:00",
             "signup_closes_at": "2026-12-11T20:00:00+08:00", "capacity": 20, "check_in_radius_m": 300}
_PROJECT_IN = {
    "title": "滇池卫士·海埂湿地守护", "category": "dianchi", "description": "沿湖岸拾捡垃圾、劝导游客文明观鸥。",
    "requirements": "请穿防滑鞋，靠近水边时注意安全。", "skills": ["体力好"], "district": "西山区",
    "place": "海埂大坝", "address": "昆明市西山区海埂路", "lat": 24.9637, "lng": 102.6644, "contact_name": "王老师",
    "contact_phone": "0871-63100000", "min_age": 14, "waitlist_enabled": True, "shifts": [_SHIFT_IN],
}
_SHIFT = {"id": 301, "starts_at": "2026-12-12T01:00:00Z", "ends_at": "2026-12-12T04:00:00Z",
          "signup_closes_at": "2026-12-11T12:00:00Z", "place": "海埂大坝", "lat": 24.9637, "lng": 102.6644,
          "check_in_radius_m": 300, "capacity": 20, "places_left": 6, "waitlisted": 0, "state": "open",
          "cancelled_at": None, "cancel_reason": None}
_SUMMARY = {"id": 21, "title": "滇池卫士·海埂湿地守护", "category": "dianchi", "category_label": "滇池保护",
            "org_name": "昆明市青年志愿者协会", "district": "西山区", "place": "海埂大坝", "lat": 24.9637,
            "lng": 102.6644, "distance_km": 1.8, "min_age": 14, "next_shift_starts_at": "2026-12-12T01:00:00Z",
            "upcoming_shifts": 3, "places_left": 18}
_SIGNUP = {"id": 5001, "shift_id": 301, "project_id": 21, "status": "signed_up", "waitlist_position": None,
           "starts_at": "2026-12-12T01:00:00Z", "ends_at": "2026-12-12T04:00:00Z",
           "created_at": "2026-12-01T06:00:00Z", "cancel_deadline": "2026-12-11T22:00:00Z", "cancelled_at": None,
           "late_cancel": False, "checked_in_at": None, "checked_out_at": None}
_PUBLIC = {**_SUMMARY, "distance_km": None, "description": "沿湖岸拾捡垃圾、劝导游客文明观鸥。",
           "requirements": "请穿防滑鞋，靠近水边时注意安全。", "skills": ["体力好"], "address": "昆明市西山区海埂路",
           "contact_name": "王老师", "contact_phone": "0871-63100000", "waitlist_enabled": True, "shifts": [_SHIFT],
           "my_signups": [_SIGNUP]}
_PROVIDER = {
    "status": "published", "review_flag": None, "review_reason": None, "submitted_at": "2026-11-28T02:00:00Z",
    "published_at": "2026-11-28T06:00:00Z", "hidden_by_reports": False, "id": 21, "org_id": 9,
    **{k: _PROJECT_IN[k] for k in ("title", "category", "description", "requirements", "skills", "district", "place",
                                   "address", "lat", "lng", "contact_name", "contact_phone", "min_age",
                                   "waitlist_enabled")},
    "shifts": [{**_SHIFT, "signed_up": 14, "checked_in": 0, "checked_out": 0}],
    "created_at": "2026-11-27T08:00:00Z", "updated_at": "2026-11-28T06:00:00Z",
}
_HOURS = {"id": 9001, "signup_id": 5001, "project_id": 21, "project_title": "滇池卫士·海埂湿地守护", "shift_id": 301,
          "served_on": "2026-12-12", "measured_minutes": 180, "minutes": 180, "hours": 3.0, "status": "confirmed",
          "missing_check_out": False, "confirmed_at": "2026-12-13T02:00:00Z", "due_at": "2026-12-26T04:00:00Z",
          "dispute_status": None, "dispute_reason": None, "dispute_answer": None,
          "dispute_deadline": "2026-12-20T02:00:00Z"}
_PENDING = {**_HOURS, "minutes": 165, "measured_minutes": 165, "hours": 2.75, "status": "pending",
            "confirmed_at": None, "dispute_deadline": None}
_HISTORY = [{"at": "2026-12-12T03:45:00Z", "action": "measured", "actor_role": None, "minutes_before": None,
             "minutes_after": 180, "reason": None},
            {"at": "2026-12-13T02:00:00Z", "action": "confirmed", "actor_role": "provider", "minutes_before": 180,
             "minutes_after": 180, "reason": None}]
_CODE = "7KQ2-M9XH-C4RT-P8WD-X"
_CERTIFICATE = {
    "id": 77, "code": _CODE, "verify_url": f"https://youth.example.cn/api/v1/certificates/{_CODE}",
    "pdf_path": "/api/v1/me/volunteer-certificates/77/pdf", "scope": "period", "date_from": "2026-01-01",
    "date_to": "2026-12-31", "holder_name": "张小明", "holder_id_number_masked": "5301**********1234",
    "total_hours": 126.5, "organisations": [{"name": "昆明市青年志愿者协会", "hours": 126.5}],
    "projects": [{"title": "滇池卫士·海埂湿地守护", "category": "滇池保护", "organisation": "昆明市青年志愿者协会",
                  "hours": 126.5, "first_day": "2026-03-07", "last_day": "2026-12-12", "places": ["海埂大坝"]}],
    "issued_at": "2026-12-20T02:30:00Z", "status": "valid", "revoked_at": None, "revoked_reason": None,
}


# --- the organiser's side -------------------------------------------------------------------------


class ShiftIn(StrictModel):
    """One shift (岗位) of a project: a time, a place (the project's unless given) and its places."""

    model_config = ConfigDict(json_schema_extra={"example": _SHIFT_IN})

    starts_at: InstantIn = Field(description="开始时间（必须带时区，如 +08:00）；应晚于现在，最多提前一年")
    ends_at: InstantIn = Field(description="结束时间（必须带时区）；晚于开始时间，一个岗位最长 24 小时")
    signup_closes_at: InstantIn | None = Field(None, description="报名截止时间（带时区），不晚于开始时间；不填为岗位开始时")
    place: ShortText | None = Field(None, description="岗位地点，与项目地点不同时填写；不填为项目地点")
    lat: Latitude | None = Field(None, description="岗位地点纬度（GCJ-02），与 `lng` 同时填写；不填用项目的位置")
    lng: Longitude | None = Field(None, description="岗位地点经度（GCJ-02），与 `lat` 同时填写")
    check_in_radius_m: Radius = Field(300, description="自助签到、签退的范围（米，50–5000），默认 300")
    capacity: Capacity = Field(description="名额（1–2000）")

    @model_validator(mode="after")
    def _consistent(self) -> ShiftIn:
        _both_or_neither(self.lat, self.lng)
        return self


class ShiftUpdate(StrictModel):
    """Only the fields sent change; people signed up are told when the time or the place moves."""

    model_config = ConfigDict(json_schema_extra={"example": {"capacity": 25, "place": "海埂大坝南段"}})

    starts_at: InstantIn | None = Field(None, description="开始时间（带时区）；不填为不改")
    ends_at: InstantIn | None = Field(None, description="结束时间（带时区）；不填为不改")
    signup_closes_at: InstantIn | None = Field(None, description="报名截止时间（带时区），不晚于开始时间；不填为不改")
    place: ShortText | None = Field(None, description="岗位地点；填 null 改回项目地点，不填为不改")
    lat: Latitude | None = Field(None, description="岗位地点纬度（GCJ-02），与 `lng` 同时填写；不填为不改")
    lng: Longitude | None = Field(None, description="岗位地点经度（GCJ-02），与 `lat` 同时填写；不填为不改")
    check_in_radius_m: Radius | None = Field(None, description="自助签到范围（米，50–5000）；不填为不改")
    capacity: Capacity | None = Field(None, description="名额（1–2000），不能少于已报名成功的人数；增加的名额先给候补的人")

    @model_validator(mode="after")
    def _consistent(self) -> ShiftUpdate:
        _both_or_neither(self.lat, self.lng)
        return self


class ProjectCreate(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": _PROJECT_IN})

    title: ShortText = Field(description="项目名称")
    category: Category = Field(description=CATEGORY_TEXT)
    description: Description = Field(description="项目介绍：做什么、为谁服务")
    requirements: Requirements | None = Field(None, description="对志愿者的要求和服务中的风险提示（最多 1000 字）")
    skills: list[Skill] = Field(default_factory=list, max_length=10, description="需要的技能（最多 10 项，每项最多 20 字）")
    district: str = Field(description="所在区县（昆明市的区县之一）")
    place: ShortText = Field(description="服务地点名称（岗位不另填地点时使用）")
    address: Address = Field(description="详细地址")
    lat: Latitude = Field(description="服务地点纬度（GCJ-02，昆明市范围内）；自助签到按它计算距离")
    lng: Longitude = Field(description="服务地点经度（GCJ-02，昆明市范围内）")
    contact_name: Name = Field(description="联系人")
    contact_phone: Phone = Field(description="联系电话（只对报名成功的志愿者显示）")
    min_age: MinAge = Field(14, description="最低年龄（14–35 周岁，按岗位当天计算）；未满 18 周岁报名须监护人同意")
    waitlist_enabled: bool = Field(False, description="名额满后可以候补；有人取消时候补的第一位自动报名成功")
    shifts: list[ShiftIn] = Field(min_length=1, max_length=50, description="岗位（1–50 个）")

    _d = field_validator("district")(_district)


class ProjectUpdate(StrictModel):
    """Only the fields sent change; public text edited on a published project goes back to review."""

    model_config = ConfigDict(json_schema_extra={"example": {"contact_name": "李老师",
                                                             "requirements": "请穿防滑鞋，自备饮用水。"}})

    title: ShortText | None = Field(None, description="项目名称；不填为不改")
    category: Category | None = Field(None, description="服务类别（取值同创建项目）；不填为不改")
    description: Description | None = Field(None, description="项目介绍；不填为不改")
    requirements: Requirements | None = Field(None, description="对志愿者的要求和风险提示；填 null 清空，不填为不改")
    skills: list[Skill] | None = Field(None, max_length=10, description="需要的技能（最多 10 项）；不填为不改")
    district: str | None = Field(None, description="所在区县（昆明市的区县之一）；不填为不改")
    place: ShortText | None = Field(None, description="服务地点名称；不填为不改")
    address: Address | None = Field(None, description="详细地址；不填为不改")
    lat: Latitude | None = Field(None, description="服务地点纬度（GCJ-02）；不填为不改")
    lng: Longitude | None = Field(None, description="服务地点经度（GCJ-02）；不填为不改")
    contact_name: Name | None = Field(None, description="联系人；不填为不改")
    contact_phone: Phone | None = Field(None, description="联系电话；不填为不改")
    min_age: MinAge | None = Field(None, description="最低年龄（14–35 周岁）；不填为不改")
    waitlist_enabled: bool | None = Field(None, description="名额满后可以候补；不填为不改")

    _d = field_validator("district")(_district)


class CancelShiftIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "暴雨预警，为安全起见本次活动取消"}})

    reason: Reason = Field(description="取消的理由（2–500 字，报名和候补的人都会收到）")


# --- what everyone sees ---------------------------------------------------------------------------


class ShiftPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _SHIFT})

    id: int = Field(description="岗位编号")
    starts_at: datetime = Field(description="开始时间")
    ends_at: datetime = Field(description="结束时间")
    signup_closes_at: datetime = Field(description="报名截止时间")
    place: str = Field(description="岗位地点（没有单独填写时为项目地点）")
    lat: float = Field(description="岗位地点纬度（GCJ-02）")
    lng: float = Field(description="岗位地点经度（GCJ-02）")
    check_in_radius_m: int = Field(description="自助签到、签退的范围（米）")
    capacity: int = Field(description="名额")
    places_left: int = Field(description="剩余名额（岗位取消后为 0）")
    waitlisted: int = Field(description="候补人数")
    state: ShiftState = Field(description="报名状态：`open` 可报名、`full` 已满、`waitlist` 已满可候补、`closed` 报名已截止、"
                                          "`started` 已开始、`cancelled` 已取消")
    cancelled_at: datetime | None = Field(None, description="取消时间（岗位取消时）")
    cancel_reason: str | None = Field(None, description="取消的理由（岗位取消时）")


class ProjectSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _SUMMARY})

    id: int = Field(description="志愿项目编号")
    title: str = Field(description="项目名称")
    category: Category = Field(description=CATEGORY_TEXT)
    category_label: str = Field(description="服务类别的中文名称")
    org_name: str | None = Field(None, description="发布项目的志愿服务组织")
    district: str = Field(description="所在区县")
    place: str = Field(description="服务地点名称")
    lat: float = Field(description="服务地点纬度（GCJ-02）")
    lng: float = Field(description="服务地点经度（GCJ-02）")
    distance_km: float | None = Field(None, description="与查询位置的距离（公里）；没有给出位置时为空")
    min_age: int = Field(description="最低年龄（周岁）")
    next_shift_starts_at: datetime = Field(description="最近一个未开始岗位的开始时间")
    upcoming_shifts: int = Field(description="未开始、未取消的岗位数")
    places_left: int = Field(description="报名尚未截止的未开始岗位的剩余名额之和")


class SignupPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _SIGNUP})

    id: int = Field(description="报名编号")
    shift_id: int = Field(description="岗位编号")
    project_id: int = Field(description="志愿项目编号")
    status: SignupStatus = Field(description=SIGNUP_STATUS_TEXT + "；签退截止后仍未签到的报名即显示为 `no_show`")
    waitlist_position: int | None = Field(None, description="候补名次，1 为下一个得到名额的人（仅候补中）")
    starts_at: datetime = Field(description="岗位开始时间")
    ends_at: datetime = Field(description="岗位结束时间")
    created_at: datetime = Field(description="报名时间")
    cancel_deadline: datetime = Field(description="取消截止时间（岗位开始前 `YOUTH_VOLUNTEER_CANCEL_CUTOFF_HOURS` 小时）："
                                                  "此后取消算临时取消")
    cancelled_at: datetime | None = Field(None, description="取消时间")
    late_cancel: bool = Field(False, description="取消时已过取消截止时间（临时取消，计入爽约记录）")
    checked_in_at: datetime | None = Field(None, description="签到时间")
    checked_out_at: datetime | None = Field(None, description="签退时间")


class MySignupItem(SignupPublic):
    model_config = ConfigDict(json_schema_extra={"example": {**_SIGNUP, "project_title": "滇池卫士·海埂湿地守护",
                                                             "place": "海埂大坝"}})

    project_title: str = Field(description="项目名称")
    place: str = Field(description="岗位地点")


class ProjectPublic(ProjectSummary):
    model_config = ConfigDict(json_schema_extra={"example": _PUBLIC})

    description: str = Field(description="项目介绍")
    requirements: str | None = Field(None, description="对志愿者的要求和风险提示")
    skills: list[str] = Field(description="需要的技能")
    address: str = Field(description="详细地址")
    contact_name: str = Field(description="联系人")
    contact_phone: str | None = Field(None, description="联系电话：只对报名成功其中一个岗位的本人显示，其他人为空")
    waitlist_enabled: bool = Field(description="名额满后可以候补")
    shifts: list[ShiftPublic] = Field(description="尚未结束的岗位（含已取消的），按开始时间排列")
    my_signups: list[SignupPublic] = Field(default_factory=list,
                                           description="登录的青年本人在这个项目的报名（含已取消的）；未登录为空")


class ShiftProvider(ShiftPublic):
    model_config = ConfigDict(json_schema_extra={"example": {**_SHIFT, "signed_up": 14, "checked_in": 0,
                                                             "checked_out": 0}})

    signed_up: int = Field(description="报名成功的人数")
    checked_in: int = Field(description="已签到的人数")
    checked_out: int = Field(description="已签退的人数")


class ProjectProvider(PostingState):
    model_config = ConfigDict(json_schema_extra={"example": _PROVIDER})

    id: int = Field(description="志愿项目编号")
    org_id: int = Field(description="发布机构编号")
    title: str = Field(description="项目名称")
    category: Category = Field(description=CATEGORY_TEXT)
    description: str = Field(description="项目介绍")
    requirements: str | None = Field(None, description="对志愿者的要求和风险提示")
    skills: list[str] = Field(description="需要的技能")
    district: str = Field(description="所在区县")
    place: str = Field(description="服务地点名称")
    address: str = Field(description="详细地址")
    lat: float = Field(description="服务地点纬度（GCJ-02）")
    lng: float = Field(description="服务地点经度（GCJ-02）")
    contact_name: str = Field(description="联系人")
    contact_phone: str = Field(description="联系电话")
    min_age: int = Field(description="最低年龄（周岁）")
    waitlist_enabled: bool = Field(description="名额满后可以候补")
    shifts: list[ShiftProvider] = Field(description="全部岗位（含已结束和已取消的），按开始时间排列")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="最后修改时间")


# --- sign-up and attendance -----------------------------------------------------------------------


class GuardianIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"name": "张建国", "phone": "13800138000",
                                                             "consent": True}})

    name: Name = Field(description="监护人姓名")
    phone: Phone = Field(description="监护人电话（组织者只看到遮盖后的号码）")
    consent: Literal[True] = Field(description="志愿者确认监护人已同意参加，只能为 true")


class SignupIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"guardian": {"name": "张建国", "phone": "13800138000",
                                                                          "consent": True}}})

    guardian: GuardianIn | None = Field(None, description="监护人信息：岗位当天未满 18 周岁（14–17 周岁）时必填")


class TicketPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "ticket": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOjMwMSwidWlkIjo1MDAxfQ.c2lnbmF0dXJl",
        "shift_id": 301, "signup_id": 5001, "expires_at": "2026-12-12T06:00:00Z"}})

    ticket: str = Field(description="签名的签到码，以二维码展示给组织者扫描签到和签退")
    shift_id: int = Field(description="岗位编号")
    signup_id: int = Field(description="报名编号")
    expires_at: datetime = Field(description="签到码过期时间（签退截止后 1 小时）")


class LocationIn(StrictModel):
    """From ``wx.getLocation({type: 'gcj02'})``."""

    model_config = ConfigDict(json_schema_extra={"example": {"lat": 24.9641, "lng": 102.6650, "accuracy_m": 25}})

    lat: Annotated[float, Field(ge=-90, le=90)] = Field(description="纬度（`wx.getLocation` 的 `gcj02` 坐标）")
    lng: Annotated[float, Field(ge=-180, le=180)] = Field(description="经度（`gcj02` 坐标）")
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] = Field(
        description="定位精度（米，`wx.getLocation` 的 `accuracy`）；大于岗位的签到范围时不能签到")


class ScanIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "ticket": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOjMwMSwidWlkIjo1MDAxfQ.c2lnbmF0dXJl"}})

    ticket: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = Field(
        description="扫描志愿者签到码二维码得到的文本")


class HoursPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _HOURS})

    id: int = Field(description="服务时长记录编号")
    signup_id: int = Field(description="报名编号")
    project_id: int = Field(description="志愿项目编号")
    project_title: str = Field(description="项目名称")
    shift_id: int = Field(description="岗位编号")
    served_on: date = Field(description="服务日期（上海时间）")
    measured_minutes: int = Field(description="签到到签退测得的分钟数（按 15 分钟取整，不超过岗位时长）")
    minutes: int = Field(description="记录的分钟数（组织者确认或调整后的，15 的倍数）")
    hours: float = Field(description="记录的小时数（`minutes` / 60）")
    status: HoursStatus = Field(description=HOURS_STATUS_TEXT)
    missing_check_out: bool = Field(False, description="签到后没有签退：时长记为 0，等组织者核实填写")
    confirmed_at: datetime | None = Field(None, description="组织者确认的时间")
    due_at: datetime = Field(description="组织者应确认的期限（岗位结束后 `YOUTH_VOLUNTEER_RECORD_DUE_WORKING_DAYS` 个工作日）")
    dispute_status: DisputeStatus | None = Field(None, description="异议：`open` 待组织答复、`answered` 已答复；没有异议为空")
    dispute_reason: str | None = Field(None, description="志愿者提出异议的理由")
    dispute_answer: str | None = Field(None, description="组织对异议的答复")
    dispute_deadline: datetime | None = Field(
        None, description="可以提出异议的截止时间（确认后 `YOUTH_VOLUNTEER_DISPUTE_DAYS` 天）；不能再提出时为空")


class HoursEventPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _HISTORY[1]})

    at: datetime = Field(description="发生时间")
    action: Literal["measured", "confirmed", "adjusted", "disputed", "answered"] = Field(
        description="`measured` 签退时测得、`confirmed` 组织确认、`adjusted` 组织调整、`disputed` 志愿者提出异议、"
                    "`answered` 组织答复异议")
    actor_role: Role | None = Field(None, description="操作者的角色（`youth` 志愿者本人、`provider` 组织）；系统记录的为空")
    minutes_before: int | None = Field(None, description="变更前的分钟数")
    minutes_after: int | None = Field(None, description="变更后的分钟数")
    reason: str | None = Field(None, description="理由（调整、异议、答复时）")


class HoursDetail(HoursPublic):
    model_config = ConfigDict(json_schema_extra={"example": {**_HOURS, "history": _HISTORY}})

    history: list[HoursEventPublic] = Field(description="这条记录的全部变更，先发生的在前（只增不改）")


class ProviderHours(HoursPublic):
    model_config = ConfigDict(json_schema_extra={"example": {
        **_PENDING, "user_id": 1042, "nickname": "小明", "real_name": "张小明", "shift_starts_at": "2026-12-12T01:00:00Z"}})

    user_id: int = Field(description="志愿者的用户编号")
    nickname: str | None = Field(None, description="志愿者昵称")
    real_name: str | None = Field(None, description="志愿者实名（填写了的）")
    shift_starts_at: datetime = Field(description="岗位开始时间")


class AttendancePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "signup_id": 5001, "nickname": None, "checked_in_at": "2026-12-12T00:50:00Z",
        "checked_out_at": "2026-12-12T04:05:00Z", "distance_m": 46, "hours": _PENDING}})

    signup_id: int = Field(description="报名编号")
    nickname: str | None = Field(None, description="志愿者昵称（组织者扫码时）")
    checked_in_at: datetime | None = Field(None, description="签到时间")
    checked_out_at: datetime | None = Field(None, description="签退时间")
    distance_m: int | None = Field(None, description="与岗位地点的距离（米，自助签到、签退时）")
    hours: HoursPublic | None = Field(None, description="签退时生成的待确认服务时长")


class SignupProvider(BaseModel):
    """What the organiser sees of a volunteer: who to expect, attendance, hours."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "signup_id": 5001, "user_id": 1042, "nickname": "小明", "real_name": "张小明", "age": 16, "status": "signed_up",
        "waitlist_position": None, "created_at": "2026-12-01T06:00:00Z", "guardian_name": "张建国",
        "guardian_phone_masked": "138****8000", "guardian_consent_at": "2026-12-01T06:00:00Z",
        "checked_in_at": "2026-12-12T00:50:00Z", "checked_out_at": "2026-12-12T04:05:00Z",
        "check_in_distance_m": 46, "hours_id": 9001, "minutes": 180, "hours_status": "pending"}})

    signup_id: int = Field(description="报名编号")
    user_id: int = Field(description="志愿者的用户编号")
    nickname: str | None = Field(None, description="昵称")
    real_name: str | None = Field(None, description="实名（填写了的）")
    age: int | None = Field(None, description="岗位当天的周岁")
    status: SignupStatus = Field(description=SIGNUP_STATUS_TEXT)
    waitlist_position: int | None = Field(None, description="候补名次（仅候补中）")
    created_at: datetime = Field(description="报名时间")
    guardian_name: str | None = Field(None, description="监护人姓名（未满 18 周岁的志愿者）")
    guardian_phone_masked: str | None = Field(None, description="监护人电话（遮盖）")
    guardian_consent_at: datetime | None = Field(None, description="志愿者确认监护人同意的时间")
    checked_in_at: datetime | None = Field(None, description="签到时间")
    checked_out_at: datetime | None = Field(None, description="签退时间")
    check_in_distance_m: int | None = Field(None, description="自助签到时与岗位地点的距离（米）；扫码签到为空")
    hours_id: int | None = Field(None, description="服务时长记录编号（签退后）")
    minutes: int | None = Field(None, description="记录的分钟数")
    hours_status: HoursStatus | None = Field(None, description=HOURS_STATUS_TEXT + "；还没有时长记录为空")


# --- hours ------------------------------------------------------------------------------------------


class DisputeIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "我 12:30 才离开，签退时手机没电，实际服务约 3.5 小时"}})

    reason: Reason = Field(description="异议的理由（2–500 字，组织的成员都会收到）")


class ConfirmIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"ids": [9001, 9002, 9003]}})

    ids: Ids = Field(description="要确认的服务时长记录编号（1–200 个，须为本机构的）")


class AdjustItem(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"id": 9002, "minutes": 210, "reason": "签退时手机没电，按组织者记录补足"}})

    id: RecordId = Field(description="服务时长记录编号")
    minutes: Minutes = Field(description="新的分钟数（0–1440，15 的倍数）")
    reason: Reason = Field(description="调整的理由（2–500 字，志愿者会收到）")


class AdjustIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"items": [
        {"id": 9002, "minutes": 210, "reason": "签退时手机没电，按组织者记录补足"}]}})

    items: list[AdjustItem] = Field(min_length=1, max_length=200, description="要调整的记录（1–200 条，同一条只能出现一次）")


class AnswerIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "已核实现场签到表，按 3.5 小时记录", "minutes": 210}})

    reason: Reason = Field(description="答复（2–500 字，志愿者会收到）")
    minutes: Minutes | None = Field(None, description="异议成立时的新分钟数（0–1440，15 的倍数）；不填为维持原记录")


class WaiveIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "因病请假，已提前电话告知"}})

    reason: Reason = Field(description="撤销的理由（2–500 字，志愿者会收到）")


class BulkResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"updated": [_HOURS]}})

    updated: list[HoursPublic] = Field(description="请求中的每条记录处理后的样子，顺序同请求")


# --- the record and certificates ------------------------------------------------------------------


class HoursBy(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"key": "dianchi", "label": "滇池保护", "hours": 96.5}})

    key: str = Field(description="分组：项目编号、服务类别或年份")
    label: str = Field(description="分组的中文名称（项目名称、类别名称或“2026年”）")
    hours: float = Field(description="已确认的小时数")


class VolunteerRecord(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "total_hours": 126.5, "pending_hours": 2.75,
        "by_project": [{"key": "21", "label": "滇池卫士·海埂湿地守护", "hours": 96.5},
                       {"key": "34", "label": "“青蜗牛”流动教室·周末学业辅导", "hours": 30.0}],
        "by_category": [{"key": "dianchi", "label": "滇池保护", "hours": 96.5},
                        {"key": "double_reduction", "label": "助力双减", "hours": 30.0}],
        "by_year": [{"key": "2026", "label": "2026年", "hours": 126.5}],
        "star_level": 1, "next_level": 2, "next_level_hours": 300.0, "hours_to_next_level": 173.5}})

    total_hours: float = Field(description="已确认的服务时长合计（小时）")
    pending_hours: float = Field(description="待组织确认的时长（小时），确认前不计入")
    by_project: list[HoursBy] = Field(description="按项目（`key` 为项目编号），多的在前")
    by_category: list[HoursBy] = Field(description="按服务类别（`key` 为类别），多的在前")
    by_year: list[HoursBy] = Field(description="按服务年份（`key` 为年份），早的在前")
    star_level: int = Field(description="星级志愿者等级 0–5（门槛见 `YOUTH_VOLUNTEER_STAR_THRESHOLDS_HOURS`，"
                                        "默认 100、300、600、1000、1500 小时）")
    next_level: int | None = Field(None, description="下一星级；已是最高级为空")
    next_level_hours: float | None = Field(None, description="下一星级需要的小时数")
    hours_to_next_level: float | None = Field(None, description="距下一星级还差的小时数")


class CertificateIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"scope": "period", "date_from": "2026-01-01", "date_to": "2026-12-31"},
        {"scope": "project", "project_id": 21}]})

    scope: CertificateScope = Field(description="`period` 按时段（填 `date_from`、`date_to`）或 `project` 按项目（填 `project_id`）")
    date_from: DayIn | None = Field(None, description="按时段：起始服务日期（含），YYYY-MM-DD，上海时间")
    date_to: DayIn | None = Field(None, description="按时段：截止服务日期（含），YYYY-MM-DD，上海时间")
    project_id: RecordId | None = Field(None, description="按项目：志愿项目编号")

    @model_validator(mode="after")
    def _consistent(self) -> CertificateIn:
        if self.scope == "project" and self.project_id is None:
            raise ValueError("按项目开具证明时请选择项目")
        if self.scope == "period":
            if self.date_from is None or self.date_to is None:
                raise ValueError("按时段开具证明时请填写起止日期")
            if self.date_from > self.date_to:
                raise ValueError("开始日期不能晚于结束日期")
        return self


class CertificateOrg(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _CERTIFICATE["organisations"][0]})

    name: str = Field(description="记录服务时长的组织")
    hours: float = Field(description="该组织记录的小时数")


class CertificateProject(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _CERTIFICATE["projects"][0]})

    title: str = Field(description="项目名称")
    category: str = Field(description="服务类别的中文名称")
    organisation: str = Field(description="组织名称")
    hours: float = Field(description="小时数")
    first_day: date = Field(description="证明范围内第一次服务的日期")
    last_day: date = Field(description="证明范围内最后一次服务的日期")
    places: list[str] = Field(description="服务地点")


class CertificatePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _CERTIFICATE})

    id: int = Field(description="证明编号（数字，用于本人查看和下载）")
    code: str = Field(description="证明编号（印在证明上，4 位一组，最后一位是校验位），用于公开核验")
    verify_url: str = Field(description="公开核验地址（证明上的二维码）")
    pdf_path: str = Field(description="下载 PDF 的接口路径（需登录）")
    scope: CertificateScope = Field(description="`period` 按时段或 `project` 按项目")
    date_from: date | None = Field(None, description="证明范围的起始日期（含；按项目时为第一次服务的日期）")
    date_to: date | None = Field(None, description="证明范围的截止日期（含；按项目时为最后一次服务的日期）")
    holder_name: str = Field(description="持有人姓名")
    holder_id_number_masked: str | None = Field(None, description="持有人身份证号（遮盖）")
    total_hours: float = Field(description="证明的服务时长合计（小时，只含已确认的）")
    organisations: list[CertificateOrg] = Field(description="记录时长的组织及各自的小时数")
    projects: list[CertificateProject] = Field(description="参加的项目")
    issued_at: datetime = Field(description="开具时间")
    status: CertificateStatus = Field(description="`valid` 有效、`revoked` 已作废")
    revoked_at: datetime | None = Field(None, description="作废时间")
    revoked_reason: str | None = Field(None, description="作废的原因")


class StaffCertificate(CertificatePublic):
    model_config = ConfigDict(json_schema_extra={"example": {**_CERTIFICATE, "user_id": 1042, "revoke_kind": None}})

    user_id: int = Field(description="持有人的用户编号")
    revoke_kind: RevokeKind | None = Field(None, description="作废方式：`hours_corrected` 所含时长被更正、`staff` 工作人员作废")


class CertificateVerification(BaseModel):
    """What a verifier sees: enough to trust the paper, nothing more."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "code": _CODE, "valid": True, "status": "valid", "holder_name": "张*明", "total_hours": 126.5,
        "organisations": ["昆明市青年志愿者协会"], "issued_on": "2026-12-20", "revoked_on": None, "revoke_kind": None,
        "notice": "本证明由春城青年平台开具，信息与平台记录一致。本核验不代表全国志愿服务信息系统的核验结果。"}})

    code: str = Field(description="证明编号（规范写法）")
    valid: bool = Field(description="证明有效（未作废）")
    status: CertificateStatus = Field(description="`valid` 有效、`revoked` 已作废")
    holder_name: str = Field(description="持有人姓名（遮盖，如 张*明）")
    total_hours: float = Field(description="服务时长合计（小时）")
    organisations: list[str] = Field(description="记录时长的组织")
    issued_on: date = Field(description="开具日期（上海时间）")
    revoked_on: date | None = Field(None, description="作废日期（上海时间）")
    revoke_kind: RevokeKind | None = Field(None, description="作废方式：`hours_corrected` 所含时长被更正、`staff` 工作人员作废")
    notice: str = Field(description="给核验人的说明")


class RevokeIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "持有人申请作废，已重新开具"}})

    reason: Reason = Field(description="作废的理由（2–500 字，持有人会收到）")


class LateOrganisation(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "org_id": 9, "org_name": "昆明市青年志愿者协会", "overdue_records": 4, "oldest_due_at": "2026-11-20T04:00:00Z"}})

    org_id: int = Field(description="机构编号")
    org_name: str = Field(description="机构名称")
    overdue_records: int = Field(description="超过期限（`YOUTH_VOLUNTEER_RECORD_DUE_WORKING_DAYS` 个工作日）仍未确认的记录数")
    oldest_due_at: datetime = Field(description="其中最早的期限")
