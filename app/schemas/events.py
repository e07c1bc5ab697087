"""Request and response models of the events service (青年联谊交友)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.config import KUNMING_DISTRICTS
from app.schemas.common import InstantIn, LongText, Reason, ShortText, StrictModel
from app.schemas.moderation import PostingState

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[LongText, StringConstraints(min_length=1)]
Capacity = Annotated[int, Field(ge=1, le=2000)]
Age = Annotated[int, Field(ge=18, le=35)]  # events are for adults; youth ends at 35
Hours = Annotated[int, Field(ge=0, le=168)]
# Kunming and its counties lie within these bounds; a point outside is a typo.
Latitude = Annotated[float, Field(ge=24.3, le=26.6)]
Longitude = Annotated[float, Field(ge=102.1, le=103.7)]

SignupState = Literal["not_open", "open", "full", "closed", "cancelled"]
RegistrationStatus = Literal["confirmed", "waitlisted", "cancelled", "no_show", "event_cancelled"]

_SUMMARY = {
    "id": 12, "title": "青年读书会 · 冬日分享", "org_name": "五华区青年之家", "venue_name": "翠湖青年之家",
    "district": "五华区", "starts_at": "2026-12-06T14:00:00+08:00", "ends_at": "2026-12-06T17:00:00+08:00",
    "signup_opens_at": "2026-11-25T09:00:00+08:00", "signup_closes_at": "2026-12-05T18:00:00+08:00",
    "capacity": 60, "places_left": 12, "gender_quotas": True, "min_age": 20, "max_age": 35, "require_single": True,
    "signup_state": "open",
}
_QUOTAS = [{"key": "male", "capacity": 30, "places_left": 5, "waitlisted": 0},
           {"key": "female", "capacity": 30, "places_left": 7, "waitlisted": 0}]
_REG = {
    "id": 88, "event_id": 12, "status": "confirmed", "quota_key": "female", "waitlist_position": None,
    "badge_number": 17, "created_at": "2026-11-26T10:00:00+08:00", "promoted_at": None, "cancelled_at": None,
    "late_cancel": False, "checked_in_at": None, "cancel_deadline": "2026-12-05T14:00:00+08:00",
}
_DETAIL = {
    "description": "一起读一本书，聊聊各自的故事。", "venue_address": "五华区翠湖南路 1 号", "latitude": 25.05,
    "longitude": 102.70, "require_real_name": True, "cancel_cutoff_hours": 24, "cancelled_at": None,
    "cancel_reason": None,
}
_PUBLIC = {**_SUMMARY, **_DETAIL, "quotas": _QUOTAS, "cancel_deadline": "2026-12-05T14:00:00+08:00",
           "choice_opens_at": "2026-12-06T17:00:00+08:00", "choice_closes_at": "2026-12-08T17:00:00+08:00",
           "my_registration": _REG}
_PROVIDER = {
    "status": "published", "review_flag": None, "review_reason": None, "submitted_at": "2026-11-20T09:00:00+08:00",
    "published_at": "2026-11-21T10:00:00+08:00", "hidden_by_reports": False,
    **{k: v for k, v in _SUMMARY.items() if k not in ("org_name", "places_left", "gender_quotas", "signup_state")},
    **_DETAIL, "org_id": 3, "quotas": [{**q, "confirmed": 25 if q["key"] == "male" else 23} for q in _QUOTAS],
    "choice_hours": 48, "checked_in": 0, "created_at": "2026-11-19T15:00:00+08:00",
    "updated_at": "2026-11-21T10:00:00+08:00",
}
_CREATE = {
    "title": _SUMMARY["title"], "description": _DETAIL["description"], "venue_name": "翠湖青年之家",
    "venue_address": "五华区翠湖南路 1 号", "district": "五华区", "latitude": 25.05, "longitude": 102.70,
    "starts_at": "2026-12-06T14:00:00+08:00", "ends_at": "2026-12-06T17:00:00+08:00",
    "signup_opens_at": "2026-11-25T09:00:00+08:00", "signup_closes_at": "2026-12-05T18:00:00+08:00",
    "capacity": 60, "quotas": {"male": 30, "female": 30}, "min_age": 20, "max_age": 35, "require_single": True,
    "require_real_name": True, "cancel_cutoff_hours": 24, "choice_hours": 48,
}


class GenderQuotas(StrictModel):
    male: Annotated[int, Field(ge=1, le=1000)] = Field(description="男性名额（1–1000）")
    female: Annotated[int, Field(ge=1, le=1000)] = Field(description="女性名额（1–1000）")


def _check_district(v: str | None) -> str | None:
    if v is not None and v not in KUNMING_DISTRICTS:
        raise ValueError("请选择昆明市的区县")
    return v


class _EventFields(StrictModel):
    @field_validator("district", check_fields=False)
    @classmethod
    def _district(cls, v: str | None) -> str | None:
        return _check_district(v)


class EventCreate(_EventFields):
    model_config = ConfigDict(json_schema_extra={"example": _CREATE})

    title: ShortText = Field(description="活动标题")
    description: Description = Field(description="活动介绍")
    venue_name: ShortText = Field(description="场地名称")
    venue_address: Address = Field(description="场地地址")
    district: str = Field(description="所在区县（昆明市的区县之一）")
    latitude: Latitude | None = Field(default=None, description="场地纬度（可不填）")
    longitude: Longitude | None = Field(default=None, description="场地经度（可不填）")
    starts_at: InstantIn = Field(description="开始时间（必须带时区，如 +08:00）")
    ends_at: InstantIn = Field(description="结束时间（必须带时区）")
    signup_opens_at: InstantIn = Field(description="报名开始时间（必须带时区）")
    signup_closes_at: InstantIn = Field(description="报名截止时间（必须带时区）")
    capacity: Capacity = Field(description="总名额（1–2000）")
    quotas: GenderQuotas | None = Field(None, description="按性别分配名额时的男女名额，两者之和应等于总名额；不填为不分性别")
    min_age: Age = Field(default=18, description="最小年龄（18–35）")
    max_age: Age = Field(default=35, description="最大年龄（18–35）")
    require_single: bool = Field(default=True, description="是否仅限单身青年报名")
    require_real_name: bool = Field(default=True, description="是否需要实名认证后才能报名")
    cancel_cutoff_hours: Hours = Field(default=24, description="开始前多少小时内取消算临时取消（0–168）")
    choice_hours: Hours = Field(48, description="活动结束后的互选时长（小时，0–168）；0 表示没有互选环节")

    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        if self.quotas is not None and self.quotas.male + self.quotas.female != self.capacity:
            raise ValueError("男女名额之和应等于总名额")
        if self.min_age > self.max_age:
            raise ValueError("最小年龄不能大于最大年龄")
        return self


class EventUpdate(_EventFields):
    """Capacity is changed through its own endpoint (it never drops below the confirmed places)."""

    model_config = ConfigDict(json_schema_extra={"example": {"venue_name": "翠湖青年之家二楼", "signup_closes_at": "2026-12-05T18:00:00+08:00"}})


    title: ShortText | None = Field(default=None, description="活动标题；不填为不改")
    description: Description | None = Field(default=None, description="活动介绍；不填为不改")
    venue_name: ShortText | None = Field(default=None, description="场地名称；不填为不改")
    venue_address: Address | None = Field(default=None, description="场地地址；不填为不改")
    district: str | None = Field(default=None, description="所在区县（昆明市的区县之一）；不填为不改")
    latitude: Latitude | None = Field(default=None, description="场地纬度（可不填）；不填为不改")
    longitude: Longitude | None = Field(default=None, description="场地经度（可不填）；不填为不改")
    starts_at: InstantIn | None = Field(default=None, description="开始时间（必须带时区，如 +08:00）；不填为不改")
    ends_at: InstantIn | None = Field(default=None, description="结束时间（必须带时区）；不填为不改")
    signup_opens_at: InstantIn | None = Field(default=None, description="报名开始时间（必须带时区）；不填为不改")
    signup_closes_at: InstantIn | None = Field(default=None, description="报名截止时间（必须带时区）；不填为不改")
    min_age: Age | None = Field(default=None, description="最小年龄（18–35）；不填为不改")
    max_age: Age | None = Field(default=None, description="最大年龄（18–35）；不填为不改")
    require_single: bool | None = Field(default=None, description="是否仅限单身青年报名；不填为不改")
    require_real_name: bool | None = Field(default=None, description="是否需要实名认证后才能报名；不填为不改")
    cancel_cutoff_hours: Hours | None = Field(default=None, description="开始前多少小时内取消算临时取消（0–168）；不填为不改")
    choice_hours: Hours | None = Field(default=None, description="活动结束后的互选时长（小时，0–168）；0 表示没有互选环节；不填为不改")


class CapacityIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"capacity": 60, "quotas": {"male": 30, "female": 30}}})

    capacity: Capacity = Field(description="新的总名额（1–2000），不能少于已报名成功的人数")
    quotas: GenderQuotas | None = Field(default=None, description="按性别分配名额的活动必须同时填写男女名额，两者之和应等于总名额")

    @model_validator(mode="after")
    def _consistent(self) -> CapacityIn:
        if self.quotas is not None and self.quotas.male + self.quotas.female != self.capacity:
            raise ValueError("男女名额之和应等于总名额")
        return self


class CancelEventIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "因场地临时检修，活动取消，敬请谅解"}})

    reason: Reason = Field(description="取消的理由（所有报名者都会收到）")


class WaiveIn(StrictModel):
    """Why the organiser excuses a no-show or late cancellation; the person is told."""

    model_config = ConfigDict(json_schema_extra={"example": {"reason": "因突发疾病未能到场，已提供证明"}})


    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)] = Field(description="撤销的理由（2–200 字，参加者会收到）")


class QuotaPublic(BaseModel):
    key: Literal["all", "male", "female"] = Field(description="名额组：`all` 不分性别、`male` 男、`female` 女")
    capacity: int = Field(description="该组的名额")
    places_left: int = Field(description="该组剩余的名额")
    waitlisted: int = Field(description="该组候补的人数")


class QuotaProvider(QuotaPublic):
    confirmed: int = Field(description="该组已报名成功的人数")


class EventSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _SUMMARY})

    id: int = Field(description="活动编号")
    title: str = Field(description="活动标题")
    org_name: str = Field(description="主办机构名称")
    venue_name: str = Field(description="场地名称")
    district: str = Field(description="所在区县")
    starts_at: datetime = Field(description="开始时间")
    ends_at: datetime = Field(description="结束时间")
    signup_opens_at: datetime = Field(description="报名开始时间")
    signup_closes_at: datetime = Field(description="报名截止时间")
    capacity: int = Field(description="总名额")
    places_left: int = Field(description="剩余名额（各组之和）")
    gender_quotas: bool = Field(description="是否按性别分配名额")
    min_age: int = Field(description="最小年龄")
    max_age: int = Field(description="最大年龄")
    require_single: bool = Field(description="是否仅限单身青年")
    signup_state: SignupState = Field(description="报名状态：`not_open` 未开始、`open` 报名中、`full` 已满（可候补）、`closed` 已截止、`cancelled` 已取消")


class RestrictionPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"restricted": True, "until": "2027-01-15T00:00:00+08:00", "reason": "近 90 天内 3 次爽约或临时取消"}})

    restricted: bool = Field(description="现在是否被限制报名")
    until: datetime | None = Field(default=None, description="限制到何时；未被限制为空")
    reason: str | None = Field(default=None, description="被限制的原因；未被限制为空")


class RegistrationPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _REG})

    id: int = Field(description="报名编号")
    event_id: int = Field(description="活动编号")
    status: RegistrationStatus = Field(description="报名状态：`confirmed` 报名成功、`waitlisted` 候补中、`cancelled` 已取消、`no_show` 未到场、`event_cancelled` 活动已取消")
    quota_key: str = Field(description="所在名额组：`all`、`male` 或 `female`")
    waitlist_position: int | None = Field(None, description="候补名次，1 表示下一个获得名额（仅候补中）")
    badge_number: int | None = Field(default=None, description="胸牌号（报名成功后分配）")
    created_at: datetime = Field(description="报名时间")
    promoted_at: datetime | None = Field(default=None, description="从候补转为报名成功的时间")
    cancelled_at: datetime | None = Field(default=None, description="取消时间")
    late_cancel: bool = Field(default=False, description="是否为临时取消（在取消截止时间之后取消）")
    checked_in_at: datetime | None = Field(default=None, description="签到时间")
    cancel_deadline: datetime | None = Field(None, description="取消截止时间：之后取消算临时取消")


class MyRegistrationItem(RegistrationPublic):
    model_config = ConfigDict(json_schema_extra={"example": {**_REG, "event_title": _SUMMARY["title"], "event_starts_at": _SUMMARY["starts_at"]}})

    event_title: str = Field(description="活动标题")
    event_starts_at: datetime = Field(description="活动开始时间")


class EventPublic(EventSummary):
    model_config = ConfigDict(json_schema_extra={"example": _PUBLIC})

    description: str = Field(description="活动介绍")
    venue_address: str = Field(description="场地地址")
    latitude: float | None = Field(default=None, description="场地纬度")
    longitude: float | None = Field(default=None, description="场地经度")
    quotas: list[QuotaPublic] = Field(description="各名额组的名额和剩余")
    require_real_name: bool = Field(description="是否需要实名认证后才能报名")
    cancel_cutoff_hours: int = Field(description="开始前多少小时内取消算临时取消")
    cancel_deadline: datetime = Field(description="取消截止时间：之后取消算临时取消")
    choice_opens_at: datetime | None = Field(default=None, description="互选开始时间；没有互选为空")
    choice_closes_at: datetime | None = Field(default=None, description="互选结束时间；没有互选为空")
    cancelled_at: datetime | None = Field(default=None, description="活动取消时间；未取消为空")
    cancel_reason: str | None = Field(default=None, description="活动取消的理由")
    my_registration: RegistrationPublic | None = Field(default=None, description="我的报名；未报名或未登录为空")


class EventProvider(PostingState):
    model_config = ConfigDict(json_schema_extra={"example": _PROVIDER})

    id: int = Field(description="活动编号")
    org_id: int = Field(description="主办机构编号")
    title: str = Field(description="活动标题")
    description: str = Field(description="活动介绍")
    venue_name: str = Field(description="场地名称")
    venue_address: str = Field(description="场地地址")
    district: str = Field(description="所在区县（昆明市的区县之一）")
    latitude: float | None = Field(default=None, description="场地纬度（可不填）")
    longitude: float | None = Field(default=None, description="场地经度（可不填）")
    starts_at: datetime = Field(description="开始时间（必须带时区，如 +08:00）")
    ends_at: datetime = Field(description="结束时间（必须带时区）")
    signup_opens_at: datetime = Field(description="报名开始时间（必须带时区）")
    signup_closes_at: datetime = Field(description="报名截止时间（必须带时区）")
    capacity: int = Field(description="总名额")
    quotas: list[QuotaProvider] = Field(description="各名额组的名额、剩余和已报名人数")
    min_age: int = Field(description="最小年龄（18–35）")
    max_age: int = Field(description="最大年龄（18–35）")
    require_single: bool = Field(description="是否仅限单身青年报名")
    require_real_name: bool = Field(description="是否需要实名认证后才能报名")
    cancel_cutoff_hours: int = Field(description="开始前多少小时内取消算临时取消（0–168）")
    choice_hours: int = Field(description="活动结束后的互选时长（小时，0–168）；0 表示没有互选环节")
    checked_in: int = Field(description="已签到人数")
    cancelled_at: datetime | None = Field(default=None, description="活动取消时间；未取消为空")
    cancel_reason: str | None = Field(default=None, description="活动取消的理由")
    created_at: datetime = Field(description="创建时间")
    updated_at: datetime = Field(description="最近修改时间")


class AttendeePublic(BaseModel):
    """What an organiser sees of a person: no names, ID numbers or phone numbers."""

    model_config = ConfigDict(json_schema_extra={"example": {"registration_id": 88, "badge_number": 17, "nickname": "小云", "gender": "female", "age": 27, "status": "confirmed", "waitlist_position": None, "checked_in_at": None}})


    registration_id: int = Field(description="报名编号")
    badge_number: int | None = Field(default=None, description="胸牌号")
    nickname: str | None = Field(default=None, description="昵称")
    gender: str | None = Field(default=None, description="性别")
    age: int | None = Field(default=None, description="年龄")
    status: RegistrationStatus = Field(description="报名状态")
    waitlist_position: int | None = Field(default=None, description="候补名次（仅候补中）")
    checked_in_at: datetime | None = Field(default=None, description="签到时间")


class TicketPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"ticket": "eyJyIjo4OCwiZSI6MTJ9.c2lnbmF0dXJl", "event_id": 12, "registration_id": 88, "expires_at": "2026-12-06T14:10:00+08:00"}})

    ticket: str = Field(description="签名的入场券，以二维码展示给主办方扫描")
    event_id: int = Field(description="活动编号")
    registration_id: int = Field(description="报名编号")
    expires_at: datetime = Field(description="入场券过期时间，过期后重新获取")


class CheckInIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"ticket": "eyJyIjo4OCwiZSI6MTJ9.c2lnbmF0dXJl"}})

    ticket: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = Field(description="扫描到的入场券内容")


class CheckInResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"registration_id": 88, "badge_number": 17, "nickname": "小云", "gender": "female", "checked_in_at": "2026-12-06T13:40:00+08:00"}})

    registration_id: int = Field(description="报名编号")
    badge_number: int = Field(description="胸牌号")
    nickname: str | None = Field(default=None, description="昵称")
    gender: str | None = Field(default=None, description="性别")
    checked_in_at: datetime = Field(description="签到时间")


class PicksIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"badges": [5, 23], "contact": "微信号 abc123"}})

    badges: Annotated[list[Annotated[int, Field(ge=1, le=100_000)]], Field(max_length=3)] = Field(description="心仪嘉宾的胸牌号，最多 3 个，不能重复，不能选自己")
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="联系方式，只给互相选择的人看，如：微信号 abc123"
    )

    @field_validator("badges")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("不能重复选择同一位嘉宾")
        return v


class PicksPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"badges": [5, 23], "contact": "微信号 abc123", "submitted_at": "2026-12-06T18:10:00+08:00", "choice_closes_at": "2026-12-08T17:00:00+08:00"}})

    badges: list[int] = Field(description="我选择的胸牌号")
    contact: str | None = Field(default=None, description="我留下的联系方式")
    submitted_at: datetime | None = Field(default=None, description="提交时间；未提交为空")
    choice_closes_at: datetime = Field(description="互选结束时间")


class MatchPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"badge_number": 23, "nickname": "阿杰", "contact": "微信号 xyz789"}})

    badge_number: int = Field(description="对方的胸牌号")
    nickname: str | None = Field(default=None, description="对方的昵称")
    contact: str | None = Field(None, description="对方留下的联系方式")


class ChoiceSummary(BaseModel):
    """Organisers see how the mutual choice went, never who picked whom."""

    model_config = ConfigDict(json_schema_extra={"example": {"checked_in": 48, "participants": 40, "picks": 97, "mutual_matches": 11, "choice_closes_at": "2026-12-08T17:00:00+08:00"}})


    checked_in: int = Field(description="签到人数")
    participants: int = Field(description="参与互选的人数")
    picks: int = Field(description="选择的总次数")
    mutual_matches: int = Field(description="互相选择的对数")
    choice_closes_at: datetime | None = Field(default=None, description="互选结束时间；没有互选为空")
