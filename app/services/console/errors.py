"""The staff console's error codes."""

from __future__ import annotations

from app.errors import define

LoginRequired = define("CONSOLE_LOGIN_REQUIRED", 401, "请先登录工作台")
SessionExpired = define("CONSOLE_SESSION_EXPIRED", 401, "登录已过期，请重新登录")
CsrfFailed = define("CONSOLE_CSRF_FAILED", 403, "页面已过期或请求来源不明，请刷新页面后重试")
StaffOnly = define("CONSOLE_STAFF_ONLY", 403, "工作台仅对团委工作人员开放")
SecondFactorRequired = define("CONSOLE_SECOND_FACTOR_REQUIRED", 401, "请先完成动态验证码验证")
TotpInvalid = define("CONSOLE_TOTP_INVALID", 422, "动态验证码不正确或已使用，请输入验证器上的最新6位数字")
TotpMandatory = define("CONSOLE_TOTP_MANDATORY", 409, "管理员已要求所有工作人员使用动态验证码，不能关闭")
AdminOnly = define("CONSOLE_ADMIN_ONLY", 403, "只有管理员可以修改此设置")
UnknownDashboard = define("CONSOLE_UNKNOWN_DASHBOARD", 404, "没有这个统计报表")
