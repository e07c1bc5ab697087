from fastapi import APIRouter, Request, status

from app.deps import CurrentUser, SessionDep, client_ip
from app.kit.ratelimit import limit
from app.schemas.auth import LogoutIn, PasswordChangeIn, PasswordLoginIn, RefreshIn, TokenOut, WeChatLoginIn
from app.services import auth

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/wechat/login", response_model=TokenOut, summary="Log in (youth) with a wx.login code",
             dependencies=[limit("wechat_login")])
async def wechat_login(body: WeChatLoginIn, session: SessionDep) -> TokenOut:
    return await auth.wechat_login(session, code=body.code)


@router.post("/login", response_model=TokenOut, summary="Log in (provider or staff) with a password",
             dependencies=[limit("password_login")])
async def password_login(body: PasswordLoginIn, request: Request, session: SessionDep) -> TokenOut:
    return await auth.password_login(session, username=body.username, password=body.password, ip=client_ip(request))


@router.post("/refresh", response_model=TokenOut, summary="Rotate a refresh token")
async def refresh(body: RefreshIn, session: SessionDep) -> TokenOut:
    return await auth.refresh(session, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT,
             summary="Revoke the given refresh token's family (or all of the caller's) and every access token")
async def logout(user: CurrentUser, session: SessionDep, body: LogoutIn | None = None) -> None:
    await auth.logout(session, actor=user, refresh_token=body.refresh_token if body else None)


@router.post("/password", response_model=TokenOut, dependencies=[limit("password_change")],
             summary="Change one's own password (every other session ends; the answer carries new tokens)")
async def change_password(body: PasswordChangeIn, user: CurrentUser, session: SessionDep) -> TokenOut:
    return await auth.change_password(session, actor=user, current=body.current_password, new=body.new_password)
