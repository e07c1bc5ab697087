"""The openings service's error codes (stable English codes, Chinese messages for people)."""

from __future__ import annotations

from app.errors import define

DeadlinePassed = define("OPENING_DEADLINE_PASSED", 409, "该岗位的报名已截止")
NotOpen = define("OPENING_NOT_OPEN", 409, "该岗位目前不接受报名")
NotEligible = define("OPENING_NOT_ELIGIBLE", 403, "您不符合该岗位的报名条件，请查看标出的各项要求")
AlreadyApplied = define("OPENING_ALREADY_APPLIED", 409, "您已经报名过该岗位，可在“我的申请”中查看进度")
ProfileRequired = define("OPENING_PROFILE_REQUIRED", 403, "报名前请在个人资料中填写身份证号，以核验年龄")
ResumeIncomplete = define("OPENING_RESUME_INCOMPLETE", 422, "简历信息不完整，请补充标出的项目")
TransitionNotAllowed = define("OPENING_TRANSITION_NOT_ALLOWED", 409, "该申请当前的状态不允许这项操作")
OfferLapsed = define("OPENING_OFFER_LAPSED", 409, "录用通知已超过答复期限，已失效")
PlacesFilled = define("OPENING_PLACES_FILLED", 409, "该岗位的名额已满")
PlacesBelowTaken = define("OPENING_PLACES_BELOW_TAKEN", 409, "名额不能少于已接受录用的人数")
WrongOrgKind = define("OPENING_WRONG_ORG_KIND", 403, "您的机构类型不能发布这类岗位")
ReasonTextRequired = define("OPENING_REASON_TEXT_REQUIRED", 422, "选择“其他”原因时请填写具体说明")
