from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.postings import kind_enum
from app.schemas.common import Reason, StrictModel
from models.moderation import (
    REPORT_ON_USER,
    PostingStatus,
    ReportAction,
    ReportReason,
    ReportResolution,
    ReportStatus,
)

# The review queue's status filter: a posting status, or one of the queue's own views.
QueueStatus = StrEnum("QueueStatus", {
    **{s.name: s.value for s in PostingStatus},
    "hidden": "hidden",  # hidden by reports until staff decide
    "urgent": "urgent",  # put first by reports from people with standing
    "needs_review": "needs_review",  # what waits for staff: pending review or urgent (the default)
})


class ReviewDecision(StrEnum):
    approve = "approve"
    reject = "reject"
    take_down = "take_down"


_ITEM = {"kind": "housing_project", "id": 31, "org_id": 5, "org_name": "昆明青年公寓运营有限公司", "title": "春融青年公寓",
         "status": "pending_review", "review_flag": None, "review_reason": None, "hidden_by_reports": False,
         "urgent": False, "standing_reports": 0, "submitted_at": "2026-12-01T01:00:00Z", "published_at": None}
_REPORT = {"id": 12, "target_kind": "event", "target_id": 8, "reason_code": "fraud", "detail": "收取报名费后失联",
           "status": "open", "resolution": None, "created_at": "2026-12-01T03:00:00Z", "resolved_at": None}
_STAFF_REPORT = {**_REPORT, "reporter_id": 42, "counted": True, "resolved_by": None}
PostingKindField = Field(description="内容类型（已注册的内容类型之一，如 `housing_project`、`event`）",
                         json_schema_extra=kind_enum())


class ReviewItem(BaseModel):
    """A posting of any kind as the review queue and the provider's list show it (the same fields in
    every answer)."""

    model_config = ConfigDict(json_schema_extra={"example": _ITEM})

    kind: str = PostingKindField
    id: int = Field(description="内容编号（在同一内容类型中唯一）")
    org_id: int = Field(description="发布机构编号")
    org_name: str = Field(description="发布机构名称")
    title: str = Field(description="标题")
    status: PostingStatus = Field(description="审核状态：`draft` 草稿、`pending_review` 待审核、`published` 已发布、"
                                              "`rejected` 未通过、`closed` 已关闭、`taken_down` 已下架")
    review_flag: str | None = Field(default=None, description="内容安全检查给出的提示（有则需人工细看）")
    review_reason: str | None = Field(default=None, description="最近一次审核决定的理由")
    hidden_by_reports: bool = Field(default=False, description="因多人举报暂时隐藏，等待工作人员处理")
    # Reports from people with standing made it urgent (staff see it first in the queue).
    urgent: bool = Field(default=False, description="有资格的举报人举报达到阈值，排在审核队列最前")
    standing_reports: int = Field(default=0, description="有资格的举报人的未处理举报数")
    submitted_at: datetime | None = Field(default=None, description="提交审核时间")
    published_at: datetime | None = Field(default=None, description="发布时间")


class ReviewDetail(ReviewItem):
    model_config = ConfigDict(json_schema_extra={"example": {
        **_ITEM, "content": {"name": "春融青年公寓", "district": "呈贡区"}, "public_view": None}})

    content: dict[str, Any] = Field(description="内容的全部字段，如同存储")
    # The posting as a young person will see it, where its kind has a public view.
    public_view: dict[str, Any] | None = Field(default=None, description="青年看到的样子（该类型有公开页面时）")


class ReviewDecisionIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "信息完整，符合发布要求"}})

    reason: Reason | None = Field(default=None, description="理由（可不填；机构会收到）")


class ReasonRequiredIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "租金信息与实际不符，请核实后重新提交"}})

    reason: Reason = Field(description="理由（2–500 字；机构会收到）")


class ReportIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "target_kind": "event", "target_id": 8, "reason_code": "fraud", "detail": "收取报名费后失联"}})

    # A registered posting kind, or "user".
    target_kind: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="举报对象的类型：已注册的内容类型之一，或 `user`（一个用户）", json_schema_extra=kind_enum(REPORT_ON_USER))
    target_id: int = Field(description="举报对象的编号")
    reason_code: ReportReason = Field(description="举报原因")
    detail: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = Field(
        default=None, description="补充说明（最多 500 字）")


class ReportPublic(BaseModel):
    """A report as its reporter sees it."""

    model_config = ConfigDict(json_schema_extra={"example": _REPORT})

    id: int = Field(description="举报编号")
    target_kind: str = Field(description="举报对象的类型：内容类型或 `user`", json_schema_extra=kind_enum(REPORT_ON_USER))
    target_id: int = Field(description="举报对象的编号")
    reason_code: ReportReason = Field(description="举报原因")
    detail: str | None = Field(default=None, description="补充说明")
    status: ReportStatus = Field(description="`open` 待处理、`dismissed` 不予处理、`actioned` 已处理")
    resolution: ReportResolution | None = Field(default=None, description="处理结果")
    created_at: datetime = Field(description="举报时间")
    resolved_at: datetime | None = Field(default=None, description="处理时间")


class StaffReport(ReportPublic):
    model_config = ConfigDict(json_schema_extra={"example": _STAFF_REPORT})

    reporter_id: int = Field(description="举报人的用户编号")
    # The reporter had standing: the report counts towards urgent review and hiding.
    counted: bool = Field(description="举报人有资格（实名且账号满 30 天或与该机构有过往来），计入加急和隐藏")
    resolved_by: int | None = Field(default=None, description="处理的工作人员")


class ReportDecisionPublic(StaffReport):
    model_config = ConfigDict(json_schema_extra={"example": {**_STAFF_REPORT, "status": "actioned",
                                                             "resolution": "taken_down", "resolved_by": 3,
                                                             "resolved_at": "2026-12-01T04:00:00Z",
                                                             "settled_report_ids": [12, 15]}})

    # The open reports on the same target this decision settled (empty when it had been settled so before).
    settled_report_ids: list[int] = Field(description="这次决定一并处理的同一对象的未处理举报")


class ReportResolveIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"action": "take_down", "reason": "核实为虚假信息"}})

    action: ReportAction = Field(description="`dismiss` 不予处理、`take_down` 下架内容、`suspend_user` 停用被举报的用户")
    reason: Reason = Field(description="理由（2–500 字）")


class PostingState(BaseModel):
    """What a provider sees of a posting's moderation state; every service's provider view includes it."""

    status: PostingStatus = Field(description="审核状态")
    review_flag: str | None = Field(default=None, description="内容安全检查给出的提示")
    review_reason: str | None = Field(default=None, description="最近一次审核决定的理由")
    submitted_at: datetime | None = Field(default=None, description="提交审核时间")
    published_at: datetime | None = Field(default=None, description="发布时间")
    hidden_by_reports: bool = Field(default=False, description="因多人举报暂时隐藏，等待工作人员处理")

    @classmethod
    def fields_of(cls, posting: Any) -> dict[str, Any]:
        return {name: getattr(posting, name) for name in PostingState.model_fields}
