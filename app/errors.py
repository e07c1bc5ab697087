"""Errors as types, and the one catalogue of error codes.

Services raise these; one handler (app.main) renders ``{"code", "message"[, "fields"]}``.
Codes are stable English identifiers for the mini-program; messages are Chinese, for people.
Each service adds its own codes in its own section below, through ``define``.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    message: ClassVar[str] = "请求有误，请检查后重试"
    # Some failures must still persist what the request wrote (a login failure counter, a revoked
    # token family); the unit of work commits instead of rolling back when this is set.
    keep_changes: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.fields = fields
        self.headers = headers or {}
        super().__init__(f"{self.code}: {self.detail_message}")

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.detail_message}
        if self.fields:
            out["fields"] = self.fields
        return out


CATALOGUE: dict[str, type[AppError]] = {}


def define(code: str, status: int, message: str, *, base: type[AppError] = AppError, keep_changes: bool = False
           ) -> type[AppError]:
    """Create and register an error type; a code may be defined once only."""
    if code in CATALOGUE:
        raise RuntimeError(f"error code {code} defined twice")
    cls = type(code.title().replace("_", "") + "Error", (base,), {
        "status_code": status, "code": code, "message": message, "keep_changes": keep_changes,
        # The defining module (a service's errors.py), so docs/errors.md can group codes by owner.
        "__module__": sys._getframe(1).f_globals.get("__name__", __name__),
    })
    CATALOGUE[code] = cls
    return cls


# --- generic --------------------------------------------------------------------------------------
BadRequest = define("BAD_REQUEST", 400, "请求有误，请检查后重试")
ValidationFailed = define("VALIDATION_ERROR", 422, "填写的信息有误，请检查标出的项目")
NotFound = define("NOT_FOUND", 404, "找不到该内容，可能已被删除")
RouteNotFound = define("ROUTE_NOT_FOUND", 404, "请求的接口不存在")
MethodNotAllowed = define("METHOD_NOT_ALLOWED", 405, "不支持该请求方式")
Conflict = define("CONFLICT", 409, "操作冲突，请刷新后重试")
PayloadTooLarge = define("PAYLOAD_TOO_LARGE", 413, "提交的内容太大")
RateLimited = define("RATE_LIMITED", 429, "操作太频繁，请稍后再试")
InternalError = define("INTERNAL_ERROR", 500, "服务器开小差了，请稍后再试")
DbUnavailable = define("DB_UNAVAILABLE", 503, "系统繁忙，请稍后再试")
# Every pooled connection stayed busy for the whole pool timeout: a rush beyond what the database serves.
ServerBusy = define("SERVER_BUSY", 503, "当前访问人数较多，请稍后再试")
IdempotencyConflict = define("IDEMPOTENCY_KEY_REUSED", 409, "同一个请求编号已用于不同的内容，请重新提交")
IdempotencyInProgress = define("IDEMPOTENCY_IN_PROGRESS", 409, "相同的请求正在处理中，请稍候")
InvalidCursor = define("INVALID_CURSOR", 400, "翻页参数无效，请从第一页重新加载")

# --- auth -----------------------------------------------------------------------------------------
Unauthenticated = define("UNAUTHENTICATED", 401, "请先登录")
TokenInvalid = define("TOKEN_INVALID", 401, "登录状态无效，请重新登录")
TokenExpired = define("TOKEN_EXPIRED", 401, "登录已过期，请重新登录")
# The account logged out, changed its password or was suspended after this access token was issued.
TokenRevoked = define("TOKEN_REVOKED", 401, "登录状态已失效，请重新登录")
RefreshTokenInvalid = define("REFRESH_TOKEN_INVALID", 401, "登录状态已失效，请重新登录")
RefreshTokenReused = define("REFRESH_TOKEN_REUSED", 401, "检测到登录凭证被重复使用，为保护账号安全已退出所有设备，请重新登录",
                            keep_changes=True)
BadCredentials = define("BAD_CREDENTIALS", 401, "用户名或密码错误", keep_changes=True)
LoginLocked = define("LOGIN_LOCKED", 429, "登录失败次数过多，请稍后再试")
Forbidden = define("FORBIDDEN", 403, "没有权限进行此操作")
AccountSuspended = define("ACCOUNT_SUSPENDED", 403, "账号已被停用，如有疑问请联系团委工作人员")

# --- WeChat ---------------------------------------------------------------------------------------
WeChatCodeInvalid = define("WECHAT_CODE_INVALID", 400, "微信登录凭证无效，请重新进入小程序")
WeChatCodeUsed = define("WECHAT_CODE_USED", 400, "微信登录凭证已使用，请重新进入小程序")
WeChatRiskyUser = define("WECHAT_RISKY_USER", 403, "微信判定该账号存在风险，暂时无法登录")
WeChatRateLimited = define("WECHAT_RATE_LIMITED", 503, "微信服务繁忙，请稍后再试")
WeChatUnavailable = define("WECHAT_UNAVAILABLE", 503, "暂时无法连接微信服务，请稍后再试")
WeChatError = define("WECHAT_ERROR", 502, "微信服务返回错误，请稍后再试")
WeChatFaceResultInvalid = define("WECHAT_FACE_RESULT_INVALID", 400, "人脸核验结果无效或已使用，请重新核验")
WeChatPhoneCodeInvalid = define("WECHAT_PHONE_CODE_INVALID", 400, "手机号授权已失效，请重新授权")
WeChatNoCredit = define("WECHAT_NO_SUBSCRIBE_CREDIT", 409, "用户未订阅该消息")
WeChatBadTemplateData = define("WECHAT_BAD_TEMPLATE_DATA", 422, "消息模板内容不符合要求")

# --- profile and organisations --------------------------------------------------------------------
UsernameTaken = define("USERNAME_TAKEN", 409, "用户名已被使用")
# Raised by the shared provider dependencies (app.deps) for every service's provider routes.
OrgNotVerified = define("ORG_NOT_VERIFIED", 403, "机构尚未通过审核，暂不能进行此操作")
OrgSuspended = define("ORG_SUSPENDED", 403, "机构已被暂停使用，暂不能进行此操作，如有疑问请联系团委工作人员")
OrgRejected = define("ORG_REJECTED", 403, "机构未通过审核，暂不能进行此操作，如有疑问请联系团委工作人员")
NotOrgOwner = define("NOT_ORG_OWNER", 403, "只有机构负责人可以进行此操作")  # services check org roles too

# --- shared publishing workflow (app.kit.postings, app.services.moderation) -------------------------
ContentRejected = define("CONTENT_REJECTED", 422, "内容未通过安全检查，请修改后再提交")
PostingStateInvalid = define("POSTING_STATE_INVALID", 409, "该内容当前状态不允许此操作")
UnknownPostingKind = define("UNKNOWN_POSTING_KIND", 404, "不支持的内容类型")

