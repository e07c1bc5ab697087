from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from app.schemas.common import StrictModel
from app.schemas.profile import ME_EXAMPLE, MePublic

_ACCESS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"
_REFRESH = "rt_Jm1mC1qW3u0sQ1v3lX8yZJm1mC1qW3u0sQ1v3lX8yZ"


class WeChatLoginIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"code": "0a3Xb1000bM1sQ1x7Ebz1Sk"}})

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="小程序 `wx.login` 得到的登录凭证 code（5 分钟内有效，只能用一次）")


class PasswordLoginIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"username": "housing_owner",
                                                             "password": "demo-password-2026"}})

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="用户名（不区分大小写）")
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(description="密码")


class RefreshIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"refresh_token": _REFRESH}})

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="上次登录或刷新得到的刷新令牌（每个只能用一次）")


class LogoutIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"refresh_token": _REFRESH}})

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="只退出这台设备：它的刷新令牌；不填则退出所有设备")


class TokenOut(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "access_token": _ACCESS, "refresh_token": _REFRESH, "token_type": "bearer", "expires_in": 900,
        "user": ME_EXAMPLE}})

    access_token: str = Field(description="访问令牌：请求时放在 `Authorization: Bearer …` 中")
    refresh_token: str = Field(description="刷新令牌：访问令牌过期后换一对新的（只能用一次）")
    token_type: str = Field(default="bearer", description="总是 `bearer`")
    expires_in: int = Field(description="访问令牌的有效秒数")
    user: MePublic = Field(description="登录的账号")


class PasswordChangeIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"example": {"current_password": "demo-password-2026",
                                                             "new_password": "a-longer-passphrase-2027"}})

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="当前密码")
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="新密码：至少 10 位，不能包含用户名，不能与当前密码相同")
