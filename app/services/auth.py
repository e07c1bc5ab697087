"""Logins (WeChat and password), access and refresh tokens, staff accounts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto, errors
from app.config import get_settings
from app.deps import Principal
from app.schemas.auth import TokenOut
from app.security import create_access_token
from app.services import profile
from app.wechat import get_wechat_client
from models.accounts import LoginFailure, RefreshToken, User
from models.base import utcnow

PASSWORD_ROLES = frozenset({"provider", "moderator", "admin"})


async def wechat_login(session: AsyncSession, *, code: str) -> TokenOut:
    wx = await get_wechat_client().code2session(code)
    user = await _user_by_openid(session, wx.openid)
    if user is None:
        try:
            async with session.begin_nested():
                user = User(role="youth", openid=wx.openid, unionid=wx.unionid)
                session.add(user)
        except IntegrityError:
            # The same person's first login raced with itself on another connection.
            user = await _user_by_openid(session, wx.openid)
            if user is None:
                raise errors.Conflict()
    return await _issue(session, user)


async def _user_by_openid(session: AsyncSession, openid: str) -> User | None:
    return (await session.execute(select(User).where(User.openid == openid))).scalar_one_or_none()


async def password_login(session: AsyncSession, *, username: str, password: str, ip: str) -> TokenOut:
    settings = get_settings()
    window = timedelta(seconds=settings.login_failure_window_seconds)
    now = utcnow()
    keys = (f"user:{username.lower()}", f"ip:{ip}")
    rows = (
        await session.execute(
            select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
            .where(LoginFailure.key.in_(keys), LoginFailure.at > now - window)
            .group_by(LoginFailure.key)
        )
    ).all()
    for _key, count, oldest in rows:
        if count >= settings.login_max_failures:
            retry = max(1, int((oldest + window - now).total_seconds()) + 1)
            raise errors.LoginLocked(headers={"Retry-After": str(retry)})

    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    ok = crypto.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.role not in PASSWORD_ROLES:
        session.add_all([LoginFailure(key=k, at=now) for k in keys])
        raise errors.BadCredentials()
    return await _issue(session, user)


async def refresh(session: AsyncSession, *, refresh_token: str) -> TokenOut:
    row = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == crypto.token_hash(refresh_token)))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None:
        raise errors.RefreshTokenInvalid()
    if row.used_at is not None or row.revoked_at is not None:
        await _revoke_family(session, row.family_id)
        raise errors.RefreshTokenReused()
    if row.expires_at <= now:
        raise errors.RefreshTokenInvalid()
    # Conditional update: of two concurrent uses of one token, exactly one wins.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        await _revoke_family(session, row.family_id)
        raise errors.RefreshTokenReused()
    user = await session.get(User, row.user_id)
    if user is None:
        raise errors.RefreshTokenInvalid()
    return await _issue(session, user, family_id=row.family_id)


async def logout(session: AsyncSession, *, actor: Principal, refresh_token: str | None) -> None:
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
    await session.execute(stmt.values(revoked_at=utcnow()))


async def _revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def _issue(session: AsyncSession, user: User, *, family_id: str | None = None) -> TokenOut:
    if user.status != "active":
        raise errors.AccountSuspended()
    settings = get_settings()
    now = utcnow()
    user.last_login_at = now
    raw = crypto.new_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or str(uuid.uuid4()),
            token_hash=crypto.token_hash(raw),
            expires_at=now + timedelta(days=settings.refresh_token_ttl_days),
        )
    )
    await session.flush()
    access, ttl = create_access_token(user_id=user.id, role=user.role)
    return TokenOut(access_token=access, refresh_token=raw, expires_in=ttl,
                    user=await profile.public_me(session, user))


async def create_staff(session: AsyncSession, *, username: str, password: str, role: str) -> User:
    if role not in ("moderator", "admin"):
        raise errors.ValidationFailed(fields={"role": "角色只能是 moderator 或 admin"})
    if len(password) < 10:
        raise errors.ValidationFailed(fields={"password": "密码至少10位"})
    existing = (await session.execute(select(User.id).where(User.username == username))).first()
    if existing:
        raise errors.UsernameTaken()
    user = User(role=role, username=username, password_hash=crypto.hash_password(password), nickname=username)
    session.add(user)
    await session.flush()
    return user
