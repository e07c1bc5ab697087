"""The auth service's own error codes (the older ones are in app.errors)."""

from app.errors import define

RefreshTokenLoggedOut = define("REFRESH_TOKEN_LOGGED_OUT", 401, "您已退出登录，请重新登录")
NoPassword = define("NO_PASSWORD", 403, "该账号通过微信登录，没有密码")
WrongPassword = define("WRONG_PASSWORD", 422, "当前密码不正确")
