"""Console sign-in: staff password (under the shared login throttle), an optional TOTP second factor
an admin can make mandatory, a server-side session behind an HttpOnly cookie, CSRF tokens, expiry
and logout.

The cookie holds a random token; the table keeps its hash. A session stays valid while the account is
active staff, its token version is the one at login (a logout from the API, a new password or a
suspension ends it too), it has been used within ``console_session_idle_minutes`` and is younger than
``console_session_max_hours``. The CSRF token is an HMAC of the session token: a page's forms and
htmx requests carry it, and another site cannot read it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, crypto
from app import errors as app_errors
from app.config import get_settings
from app.deps import STAFF_ROLES, Principal, principal_from_claims
from app.kit import sweeper
from app.services import audit, auth
from app.services.console import totp
from app.services.console.errors import (
    AdminOnly,
    SessionExpired,
    StaffOnly,
    TotpInvalid,
    TotpMandatory,
)
from app.services.console.settings import cookie_secure, settings
from models.accounts import User
from models.console import ConsoleSession, ConsoleSetting, StaffTotp

TOTP_REQUIRED = "totp_required"
# Touching last_seen_at on every page would make every read a write; once a minute is enough for
# an idle timeout counted in minutes.
_TOUCH_EVERY = timedelta(seconds=60)


def cookie_name() -> str:
    # __Host-: sent only over HTTPS, to this host, for every path; a subdomain cannot plant it.
    return "__Host-youth_console" if cookie_secure() else "youth_console"


def pre_cookie_name() -> str:
    return "__Host-youth_console_pre" if cookie_secure() else "youth_console_pre"


def _mac(purpose: str, token: str) -> str:
    key = get_settings().jwt_secret.get_secret_value().encode()
    return hmac.new(key, f"console-csrf:{purpose}:{token}".encode(), hashlib.sha256).hexdigest()


def csrf_for(token: str, purpose: str = "session") -> str:
    return _mac(purpose, token)


def csrf_ok(token: str | None, given: str | None, purpose: str = "session") -> bool:
    return bool(token and given) and hmac.compare_digest(_mac(purpose, token or ""), given or "")


@dataclass(frozen=True)
class Signed:
    principal: Principal
    username: str
    session: ConsoleSession
    token: str

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)

    @property
    def is_admin(self) -> bool:
        return self.principal.role == "admin"


async def totp_required(session: AsyncSession) -> bool:
    row = await session.get(ConsoleSetting, TOTP_REQUIRED)
    return bool(row and row.value)


async def confirmed_totp(session: AsyncSession, user_id: int) -> StaffTotp | None:
    row = await session.get(StaffTotp, user_id)
    return row if row is not None and row.confirmed_at is not None else None


async def login(session: AsyncSession, *, username: str, password: str, ip: str) -> tuple[str, bool]:
    """A new session for a staff member's password; returns the cookie token and whether a second
    factor must follow. Providers and young people are refused, whatever their password."""
    user = await auth.check_password(session, username=username, password=password, ip=ip)
    if user.role not in STAFF_ROLES:
        raise StaffOnly()
    now = clock.now()
    s = settings()
    needs_second = await confirmed_totp(session, user.id) is not None or await totp_required(session)
    if needs_second and await session.get(StaffTotp, user.id) is None:
        # Mandatory and not enrolled yet: the secret is made here (a POST), the next page shows it.
        session.add(StaffTotp(user_id=user.id, secret=totp.new_secret()))
    token = crypto.new_token()
    session.add(ConsoleSession(token_hash=crypto.token_hash(token), user_id=user.id, token_version=user.token_version,
                               verified=not needs_second, created_at=now, last_seen_at=now,
                               expires_at=now + timedelta(hours=s.console_session_max_hours)))
    user.last_login_at = now
    await session.flush()
    actor = Principal(user.id, user.role)
    await audit.record(session, actor=actor, action="console.login", target_kind="user", target_id=user.id,
                       detail={"second_factor": needs_second})
    return token, needs_second


async def load(session: AsyncSession, token: str | None, *, require_verified: bool = True) -> Signed:
    """The signed-in staff member behind a cookie token, or LoginRequired / SessionExpired."""
    from app.services.console.errors import LoginRequired, SecondFactorRequired

    if not token:
        raise LoginRequired()
    row = await session.get(ConsoleSession, crypto.token_hash(token))
    if row is None:
        raise LoginRequired()
    now = clock.now()
    idle = timedelta(minutes=settings().console_session_idle_minutes)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        raise SessionExpired()
    try:
        principal = await principal_from_claims(await session.connection(),
                                                {"sub": str(row.user_id), "ver": row.token_version})
    except (app_errors.TokenInvalid, app_errors.TokenRevoked, app_errors.AccountSuspended):
        raise SessionExpired()
    if not principal.is_staff:
        raise StaffOnly()
    if require_verified and not row.verified:
        raise SecondFactorRequired()
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        await session.flush()
    username = (await session.execute(select(User.username).where(User.id == row.user_id))).scalar_one()
    return Signed(principal, username or "", row, token)


async def logout(session: AsyncSession, signed: Signed) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == signed.session.token_hash))
    await audit.record(session, actor=signed.principal, action="console.logout", target_kind="user",
                       target_id=signed.principal.user_id)


# --- the second factor ------------------------------------------------------------------------------


async def start_enrolment(session: AsyncSession, signed: Signed) -> None:
    """A new TOTP secret for a staff member without a confirmed one; unconfirmed until a code from it
    is given (a fresh secret each time, so an abandoned one is never reused)."""
    row = await session.get(StaffTotp, signed.principal.user_id)
    if row is not None and row.confirmed_at is not None:
        return
    if row is None:
        session.add(StaffTotp(user_id=signed.principal.user_id, secret=totp.new_secret()))
    else:
        row.secret = totp.new_secret()
        row.last_step = 0
    await session.flush()


async def pending_enrolment(session: AsyncSession, signed: Signed) -> StaffTotp | None:
    row = await session.get(StaffTotp, signed.principal.user_id)
    return row if row is not None and row.confirmed_at is None else None


async def check_code(session: AsyncSession, signed: Signed, code: str) -> None:
    """Accept a code from the staff member's authenticator: confirms an enrolment, verifies the session.
    Each code works once (the step is remembered under a row lock)."""
    row = await session.get(StaffTotp, signed.principal.user_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise TotpInvalid()
    step = totp.matching_step(row.secret, code, clock.now(), after=row.last_step)
    if step is None:
        raise TotpInvalid(fields={"code": "动态验证码不正确"})
    row.last_step = step
    first = row.confirmed_at is None
    if first:
        row.confirmed_at = clock.now()
    signed.session.verified = True
    await session.flush()
    await audit.record(session, actor=signed.principal, action="console.totp_enrolled" if first else "console.totp",
                       target_kind="user", target_id=signed.principal.user_id)


async def disable_totp(session: AsyncSession, signed: Signed) -> None:
    if await totp_required(session):
        raise TotpMandatory()
    row = await session.get(StaffTotp, signed.principal.user_id)
    if row is not None:
        await session.delete(row)
        await session.flush()
        await audit.record(session, actor=signed.principal, action="console.totp_disabled", target_kind="user",
                           target_id=signed.principal.user_id)


async def set_totp_required(session: AsyncSession, signed: Signed, required: bool) -> None:
    """An admin makes the second factor mandatory for every staff member (or optional again). Staff
    without one are sent to enrol at their next login."""
    if not signed.is_admin:
        raise AdminOnly()
    row = await session.get(ConsoleSetting, TOTP_REQUIRED)
    if row is None:
        row = ConsoleSetting(key=TOTP_REQUIRED)
        session.add(row)
    row.value = required
    row.updated_by = signed.principal.user_id
    row.updated_at = clock.now()
    await session.flush()
    await audit.record(session, actor=signed.principal, action="console.totp_required", target_kind="console",
                       target_id=TOTP_REQUIRED, detail={"required": required})


@sweeper.job("console.expired_sessions", every=3600, description="删除已过期的工作台会话")
async def forget_expired(session: AsyncSession, now: datetime) -> int:
    idle = timedelta(minutes=settings().console_session_idle_minutes)
    done = await session.execute(delete(ConsoleSession).where(
        (ConsoleSession.expires_at <= now) | (ConsoleSession.last_seen_at <= now - idle)))
    return done.rowcount or 0
