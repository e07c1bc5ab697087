from fastapi import APIRouter, Request, status

from app import errors
from app.contract import raises
from app.deps import CurrentUser, SessionDep, client_ip
from app.kit.ratelimit import limit
from app.schemas.auth import LogoutIn, PasswordChangeIn, PasswordLoginIn, RefreshIn, TokenOut, WeChatLoginIn
from app.services import auth
from app.services.auth.errors import NoPassword, RefreshTokenLoggedOut, WrongPassword

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_WECHAT = (errors.WeChatCodeInvalid, errors.WeChatCodeUsed, errors.WeChatRiskyUser, errors.WeChatRateLimited,
           errors.WeChatUnavailable, errors.WeChatError)


@router.post("/wechat/login", response_model=TokenOut, dependencies=[limit("wechat_login")],
             summary="微信登录（青年）",
             description="用小程序 `wx.login` 的 code 登录；第一次登录即建立青年账号。回答访问令牌（有效 "
                         "`expires_in` 秒）、刷新令牌和账号资料。任何人可调用，不需要令牌；每个地址每分钟 60 次"
                         "（`wechat_login`）。每个 code 只能用一次；微信不可用时回答 503，可稍后重试。")
@raises(*_WECHAT, errors.AccountSuspended, errors.Conflict)
async def wechat_login(body: WeChatLoginIn, session: SessionDep) -> TokenOut:
    return await auth.wechat_login(session, code=body.code)


@router.post("/login", response_model=TokenOut, dependencies=[limit("password_login")],
             summary="密码登录（服务机构、团委工作人员）",
             description="用户名（不区分大小写）和密码登录。每个地址每分钟 30 次（`password_login`）。同一地址对同一"
                         "用户名失败 5 次后要等待 60 秒起（每多失败一次加倍，最多 15 分钟）；同一用户名各处累计失败"
                         " 10 次后，账号近 30 天未用过的地址每次要多等 1、2、4…秒（最多 60 秒），回答 429 `LOGIN_LOCKED`"
                         " 和 `Retry-After`。本人常用的地址不受影响。")
@raises(errors.BadCredentials, errors.LoginLocked, errors.AccountSuspended)
async def password_login(body: PasswordLoginIn, request: Request, session: SessionDep) -> TokenOut:
    return await auth.password_login(session, username=body.username, password=body.password, ip=client_ip(request))


@router.post("/refresh", response_model=TokenOut, summary="刷新令牌",
             description="用刷新令牌换一对新的令牌（旧的刷新令牌随即失效）。同一个刷新令牌用第二次，视为被盗用："
                         "它所在的整组登录全部退出（401 `REFRESH_TOKEN_REUSED`）；退出登录后再用回答 "
                         "`REFRESH_TOKEN_LOGGED_OUT`。不需要访问令牌。")
@raises(errors.RefreshTokenInvalid, errors.RefreshTokenReused, RefreshTokenLoggedOut, errors.AccountSuspended)
async def refresh(body: RefreshIn, session: SessionDep) -> TokenOut:
    return await auth.refresh(session, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="退出登录",
             description="登录后可调用。给出刷新令牌时退出那台设备的登录，不给则退出本人所有设备；两种情况下本人此前"
                         "发出的所有访问令牌都立即失效。别人的刷新令牌不会退出任何登录。")
@raises()
async def logout(user: CurrentUser, session: SessionDep, body: LogoutIn | None = None) -> None:
    await auth.logout(session, actor=user, refresh_token=body.refresh_token if body else None)


@router.post("/password", response_model=TokenOut, dependencies=[limit("password_change")],
             summary="修改密码",
             description="有密码的账号（服务机构、工作人员）修改自己的密码：需要当前密码，新密码至少 10 位、不含用户名、"
                         "与当前密码不同。成功后其他设备全部退出，回答里是这台设备的新令牌。每人 15 分钟 5 次"
                         "（`password_change`）。微信登录的账号没有密码（403 `NO_PASSWORD`）。")
@raises(NoPassword, WrongPassword)
async def change_password(body: PasswordChangeIn, user: CurrentUser, session: SessionDep) -> TokenOut:
    return await auth.change_password(session, actor=user, current=body.current_password, new=body.new_password)
