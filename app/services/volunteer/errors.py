"""The volunteering service's error codes (stable English codes, Chinese messages for people)."""

from __future__ import annotations

from app.errors import define

ShiftClosed = define("VOLUNTEER_SIGNUP_CLOSED", 409, "该岗位报名已截止")
ShiftStarted = define("VOLUNTEER_SHIFT_STARTED", 409, "该岗位已经开始，不能再报名或取消")
ShiftCancelled = define("VOLUNTEER_SHIFT_CANCELLED", 409, "该岗位已取消")
ShiftFull = define("VOLUNTEER_SHIFT_FULL", 409, "该岗位名额已满")
ShiftOverlap = define("VOLUNTEER_SHIFT_OVERLAP", 409, "您在这个时间已报名了其他志愿岗位")
UnderAge = define("VOLUNTEER_UNDER_AGE", 403, "您的年龄未达到该项目的要求")
GuardianConsentRequired = define("VOLUNTEER_GUARDIAN_CONSENT_REQUIRED", 403,
                                 "未满18周岁参加志愿服务需要监护人同意，请填写监护人信息并确认已征得同意")
ProfileRequired = define("VOLUNTEER_PROFILE_REQUIRED", 403, "报名前请在个人资料中填写身份证号，以核验年龄")
SignupRestricted = define("VOLUNTEER_SIGNUP_RESTRICTED", 403, "您近期多次爽约或临时取消，暂时不能报名志愿服务")
NotSignedUp = define("VOLUNTEER_NOT_SIGNED_UP", 404, "您没有报名该岗位")
TicketInvalid = define("VOLUNTEER_TICKET_INVALID", 422, "签到码无效，请让志愿者刷新签到码后重试")
TicketWrongShift = define("VOLUNTEER_TICKET_WRONG_SHIFT", 422, "这张签到码不属于本岗位")
CheckInNotOpen = define("VOLUNTEER_CHECK_IN_NOT_OPEN", 409, "现在不在签到时间内")
CheckOutNotOpen = define("VOLUNTEER_CHECK_OUT_NOT_OPEN", 409, "现在不在签退时间内")
AlreadyCheckedIn = define("VOLUNTEER_ALREADY_CHECKED_IN", 409, "您已经签到过了")
NotCheckedIn = define("VOLUNTEER_NOT_CHECKED_IN", 409, "请先签到再签退")
AlreadyCheckedOut = define("VOLUNTEER_ALREADY_CHECKED_OUT", 409, "您已经签退过了")
TooFar = define("VOLUNTEER_TOO_FAR", 409, "您离服务地点太远，不能签到")
LocationInaccurate = define("VOLUNTEER_LOCATION_INACCURATE", 409, "定位精度不够，请到开阔处重新定位后再试")
ShiftStateInvalid = define("VOLUNTEER_SHIFT_STATE", 409, "该岗位当前状态不允许此操作")
CapacityBelowTaken = define("VOLUNTEER_CAPACITY_BELOW_TAKEN", 409, "名额不能少于已报名的人数")
HoursState = define("VOLUNTEER_HOURS_STATE", 409, "该服务时长记录当前状态不允许此操作")
DisputeWindowClosed = define("VOLUNTEER_DISPUTE_WINDOW_CLOSED", 409, "服务时长确认已超过7天，不能再提出异议")
NoHoursToCertify = define("VOLUNTEER_NO_HOURS", 409, "所选范围内没有已确认的服务时长，暂不能开具证明")
CertificateProfileRequired = define("VOLUNTEER_CERTIFICATE_PROFILE_REQUIRED", 403,
                                    "开具志愿服务证明需要实名信息，请先在个人资料中填写姓名和身份证号")
CertificateCodeMistyped = define("CERTIFICATE_CODE_MISTYPED", 400, "证明编号有误（校验位不符），请核对后重新输入")
CertificateNotFound = define("CERTIFICATE_NOT_FOUND", 404, "查无此证明：编号格式正确，但本平台没有开具过这份证明")
CertificateRevoked = define("CERTIFICATE_ALREADY_REVOKED", 409, "该证明已作废")
NoStrike = define("VOLUNTEER_NO_STRIKE", 409, "该报名没有需要撤销的爽约或临时取消记录")
PdfUnavailable = define("CERTIFICATE_PDF_UNAVAILABLE", 503, "证明文件暂时无法生成，请稍后再试或使用电子证明信息")
