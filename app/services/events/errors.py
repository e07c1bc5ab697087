"""The events service's error codes (registered in the one catalogue, app.errors)."""

from __future__ import annotations

from app.errors import define

SignupNotOpen = define("EVENT_SIGNUP_NOT_OPEN", 409, "活动报名尚未开始，请留意报名开始时间")
SignupClosed = define("EVENT_SIGNUP_CLOSED", 409, "活动报名已截止")
Cancelled = define("EVENT_CANCELLED", 409, "该活动已取消")
ProfileRequired = define("EVENT_PROFILE_REQUIRED", 403, "报名前请先在个人资料中完成实名认证并补全资料")
AgeIneligible = define("EVENT_AGE_INELIGIBLE", 403, "您的年龄不在本活动的报名范围内")
SingleRequired = define("EVENT_SINGLE_REQUIRED", 403, "本活动仅限单身青年报名，请在个人资料中如实填写婚姻状况")
SignupRestricted = define("EVENT_SIGNUP_RESTRICTED", 403, "您近期多次爽约或临时取消，暂时不能报名活动")
AlreadyStarted = define("EVENT_ALREADY_STARTED", 409, "活动已开始，不能再取消报名")
NotRegistered = define("EVENT_NOT_REGISTERED", 404, "您没有报名该活动")
TicketUnavailable = define("EVENT_TICKET_UNAVAILABLE", 409, "报名成功后才有入场券")
TicketInvalid = define("EVENT_TICKET_INVALID", 422, "入场券无效，请让参加者刷新入场码后重试")
TicketWrongEvent = define("EVENT_TICKET_WRONG_EVENT", 422, "这张入场券不属于本场活动")
TicketRevoked = define("EVENT_TICKET_REVOKED", 409, "该报名已取消或已失效，入场券不能使用")
AlreadyCheckedIn = define("EVENT_ALREADY_CHECKED_IN", 409, "该入场券已签到过")
CheckInNotOpen = define("EVENT_CHECK_IN_NOT_OPEN", 409, "现在不在活动签到时间内")
ChoiceNotOpen = define("EVENT_CHOICE_NOT_OPEN", 409, "现在不在互选时间内")
ChoiceNotEligible = define("EVENT_CHOICE_NOT_ELIGIBLE", 403, "只有到场签到的嘉宾才能参与互选")
ChoiceResultsPending = define("EVENT_CHOICE_RESULTS_PENDING", 409, "互选结果将在互选结束后公布，请耐心等待")
CapacityBelowConfirmed = define("EVENT_CAPACITY_BELOW_CONFIRMED", 409, "名额不能少于已报名成功的人数")
StateInvalid = define("EVENT_STATE_INVALID", 409, "活动当前状态不允许此操作")
# Moving a time of an event people signed up for to a moment already past would turn their places
# into instant no-shows (issue 11, retroactive no-shows).
TimeInPast = define("EVENT_TIME_IN_PAST", 409, "已有人报名的活动不能把时间改到过去")
NoStrike = define("EVENT_NO_STRIKE", 409, "该报名没有需要撤销的爽约或临时取消记录")
