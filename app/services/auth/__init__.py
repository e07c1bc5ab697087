"""Logins (WeChat and password), access and refresh tokens, passwords, staff accounts."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto
from app import errors as app_errors  # the package's own errors module is .errors
from app.config import get_settings
from app.deps import Principal
from app.kit import ratelimit
from app.kit.dialect import insert_for
from app.schemas.auth import TokenOut
from app.security import create_access_token
from app.services import audit, profile
from app.services.auth import throttle
from app.services.auth.errors import NoPassword, RefreshTokenLoggedOut, WrongPassword
from app.wechat import get_wechat_client
from models.accounts import RefreshToken, User
from models.base import utcnow

PASSWORD_ROLES = frozenset({"provider", "moderator", "admin"})
# ASCII only, so that "unique whatever the case" (lower() in the database) means the same everywhere.
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,64}")
MIN_PASSWORD = 10

# Each WeChat login costs a call to WeChat; each password attempt an argon2 hash.
ratelimit.bucket("wechat_login", "60/60", per="ip", description="微信登录，每个地址")
ratelimit.bucket("password_login", "30/60", per="ip", description="密码登录，每个地址")
ratelimit.bucket("password_change", "5/900", description="修改密码，每人")


@lru_cache(maxsize=2)
def _login_upsert(insert: Any) -> Any:
    """Find or make the account and stamp the login in one statement: a person's first login racing
    with itself on another connection meets the unique openid and takes the other's row. Built once per
    dialect, with the values bound at execution: building it per login took longer than running it."""
    now = bindparam("now")
    return (insert(User)
            .values(role="youth", openid=bindparam("openid"), unionid=bindparam("unionid"), created_at=now,
                    updated_at=now, last_login_at=now)
            .on_conflict_do_update(index_elements=[User.openid], set_={"last_login_at": now})
            .returning(User))


async def wechat_login(session: AsyncSession, *, code: str) -> TokenOut:
    wx = await get_wechat_client().code2session(code)
    now = utcnow()
    stmt = _login_upsert(insert_for(session))
    # dml_strategy "orm": the parameters fill the statement's bound values (without it, the ORM takes a
    # dictionary of parameters for a bulk INSERT of rows).
    user = (await session.execute(stmt, {"openid": wx.openid, "unionid": wx.unionid, "now": now},
                                  execution_options={"populate_existing": True, "dml_strategy": "orm"})
            ).scalar_one()
    # Made by this very statement: nobody can have claimed anything for it yet.
    return await _issue(session, user, now=now, new=user.created_at == now)


async def _user_by_openid(session: AsyncSession, openid: str) -> User | None:
    return (await session.execute(select(User).where(User.openid == openid))).scalar_one_or_none()


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return (await session.execute(select(User).where(func.lower(User.username) == username.lower()))
            ).scalar_one_or_none()


async def username_taken(session: AsyncSession, username: str) -> bool:
    """Whether an account has this username in any case ("Admin" is taken when "admin" exists)."""
    return (await session.execute(select(User.id).where(func.lower(User.username) == username.lower()))
            ).first() is not None


async def password_login(session: AsyncSession, *, username: str, password: str, ip: str) -> TokenOut:
    return await _issue(session, await check_password(session, username=username, password=password, ip=ip))


async def check_password(session: AsyncSession, *, username: str, password: str, ip: str) -> User:
    """The account a password login names, under the login throttle (also the staff console's login)."""
    # Counted before the password is checked, on its own connection, before this session's first query.
    counted_user = await throttle.reserve(username, ip)
    user = await user_by_username(session, username)
    ok = await crypto.verify_password_async(user.password_hash if user else None, password)
    if not ok or user is None or user.role not in PASSWORD_ROLES:
        raise app_errors.BadCredentials()
    await throttle.succeeded(session, username, ip, counted_user=counted_user)
    if user.status != "active":
        raise app_errors.AccountSuspended()
    return user


async def refresh(session: AsyncSession, *, refresh_token: str) -> TokenOut:
    row = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == crypto.token_hash(refresh_token)))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None:
        raise app_errors.RefreshTokenInvalid()
    if row.revoked_reason in ("logout", "password") and row.used_at is None:
        # The person ended this session themself: not a theft, nothing more to revoke.
        raise RefreshTokenLoggedOut()
    if row.used_at is not None or row.revoked_at is not None:
        await _revoke_family(session, row.family_id)
        raise app_errors.RefreshTokenReused()
    if row.expires_at <= now:
        raise app_errors.RefreshTokenInvalid()
    # Conditional update: of two concurrent uses of one token, exactly one wins.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        await _revoke_family(session, row.family_id)
        raise app_errors.RefreshTokenReused()
    user = await session.get(User, row.user_id)
    if user is None:
        raise app_errors.RefreshTokenInvalid()
    return await _issue(session, user, family_id=row.family_id)


async def logout(session: AsyncSession, *, actor: Principal, refresh_token: str | None) -> None:
    """End the given refresh token's family (or all of the caller's) and every access token issued so
    far: other devices refresh once and carry on, the logged-out one cannot. A refresh token that is
    not the caller's ends nothing."""
    stmt = update(RefreshToken).where(RefreshToken.user_id == actor.user_id, RefreshToken.revoked_at.is_(None))
    if refresh_token:
        family = (
            await session.execute(
                select(RefreshToken.family_id).where(
                    RefreshToken.token_hash == crypto.token_hash(refresh_token),
                    RefreshToken.user_id == actor.user_id,
                )
            )
        ).scalar_one_or_none()
        if family is None:
            return
        stmt = stmt.where(RefreshToken.family_id == family)
    await session.execute(stmt.values(revoked_at=utcnow(), revoked_reason="logout"))
    await end_access_tokens(session, actor.user_id)


async def end_access_tokens(session: AsyncSession, user_id: int) -> None:
    """Every access token of the account issued before now stops working (logout, suspension, a new
    password): the principal statement compares the token's "ver" with the account's on each request."""
    await session.execute(update(User).where(User.id == user_id).values(token_version=User.token_version + 1))


async def staff_suspend(session: AsyncSession, *, actor: Principal, user_id: int, reason: str) -> User:
    """Staff suspend a young person's or provider's account (never staff): every token and console
    session ends at once, the person's next request is refused with the reason's code."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise app_errors.NotFound()
    if user.role not in ("youth", "provider"):
        raise app_errors.Forbidden("不能停用工作人员账号")
    if user.status == "suspended":
        return user  # a retry, or two staff members agreeing
    user.status = "suspended"
    user.suspended_reason = reason
    user.updated_at = utcnow()
    user.token_version += 1
    await session.flush()
    await audit.record(session, actor=actor, action="user.suspend", target_kind="user", target_id=user.id,
                       reason=reason)
    return user


async def staff_reinstate(session: AsyncSession, *, actor: Principal, user_id: int, reason: str) -> User:
    """Lift a suspension; tokens issued before it stay ended (the person logs in again)."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None or user.role not in ("youth", "provider"):
        raise app_errors.NotFound()
    if user.status == "active":
        return user
    user.status = "active"
    user.suspended_reason = None
    user.updated_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action="user.reinstate", target_kind="user", target_id=user.id,
                       reason=reason)
    return user


async def _revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason="reuse")
    )


_NEW_REFRESH_TOKEN = insert(RefreshToken.__table__)


async def _issue(session: AsyncSession, user: User, *, family_id: str | None = None,
                 now: datetime | None = None, new: bool = False) -> TokenOut:
    if user.status != "active":
        raise app_errors.AccountSuspended()
    settings = get_settings()
    now = now or utcnow()
    if user.last_login_at != now:  # a WeChat login stamped it already
        user.last_login_at = now
    raw = crypto.new_token()
    await session.flush()  # the account's changes (last login, token version) first, as before
    # A plain INSERT: nothing reads the row back, and the ORM's unit of work cost more than the statement.
    await session.execute(_NEW_REFRESH_TOKEN, {
        "user_id": user.id, "family_id": family_id or str(uuid.uuid4()), "token_hash": crypto.token_hash(raw),
        "created_at": now, "expires_at": now + timedelta(days=settings.refresh_token_ttl_days),
    })
    access, ttl = create_access_token(user_id=user.id, role=user.role, version=user.token_version)
    return TokenOut(access_token=access, refresh_token=raw, expires_in=ttl,
                    user=await profile.public_me(session, user, new=new))


def check_new_password(password: str, *, username: str | None, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise app_errors.ValidationFailed(fields={field: f"密码至少{MIN_PASSWORD}位"})
    if username and username.lower() in password.lower():
        raise app_errors.ValidationFailed(fields={field: "密码不能包含用户名"})


async def change_password(session: AsyncSession, *, actor: Principal, current: str, new: str) -> TokenOut:
    """Everyone with a password can change it: every other session ends (their refresh tokens and
    every access token), and the caller carries on with the tokens in the answer."""
    user = await profile.get_user(session, actor)
    if user.password_hash is None:
        raise NoPassword()
    if not await crypto.verify_password_async(user.password_hash, current):
        raise WrongPassword(fields={"current_password": "当前密码不正确"})
    if new == current:
        raise app_errors.ValidationFailed(fields={"new_password": "新密码不能与当前密码相同"})
    check_new_password(new, username=user.username, field="new_password")
    user.password_hash = await crypto.hash_password_async(new)
    user.updated_at = utcnow()
    await session.execute(
        update(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason="password"))
    user.token_version += 1  # on the object: the tokens issued below carry the new version
    return await _issue(session, user)


async def create_staff(session: AsyncSession, *, username: str, password: str, role: str) -> User:
    if role not in ("moderator", "admin"):
        raise app_errors.ValidationFailed(fields={"role": "角色只能是 moderator 或 admin"})
    if not USERNAME.fullmatch(username):
        raise app_errors.ValidationFailed(fields={"username": "用户名为3到64位字母、数字或 _ . @ -"})
    check_new_password(password, username=username)
    if await username_taken(session, username):
        raise app_errors.UsernameTaken()
    user = User(role=role, username=username, password_hash=await crypto.hash_password_async(password),
                nickname=username)
    session.add(user)
    await session.flush()
    return user
