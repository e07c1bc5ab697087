"""FastAPI dependencies: the request's unit of work, the acting principal, role guards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.contract import raises
from app.db import get_sessionmaker
from app.security import decode_access_token
from models.accounts import User
from models.orgs import LOST_STANDING, Organisation, OrgMember, OrgStatus


@raises(errors.ServerBusy, errors.DbUnavailable)
async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The one commit point of a request: services only flush; this commits once after the handler.

    A GET writes nothing (``tests/authz/test_reads_write_nothing.py`` holds every GET to that, but for
    the audit trail of staff reads and the rate and token counters), so on PostgreSQL its statements go
    in autocommit: no BEGIN and no COMMIT, two round trips of a read's three to six. Each statement
    sees a snapshot of its own, as it would inside a READ COMMITTED transaction anyway."""
    async with get_sessionmaker()() as session:
        if request.method in _READ_METHODS:
            _read_only(session)
        try:
            yield session
        except errors.AppError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


_READ_METHODS = frozenset({"GET", "HEAD"})


def _read_only(session: AsyncSession) -> None:
    bind = session.sync_session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        # Bound to the same pool with autocommit, the connection is still taken only when a statement
        # needs one: an answer from a cache holds no connection, even in a rush.
        session.sync_session.bind = autocommit(bind)


@asynccontextmanager
async def autocommit_session(session: AsyncSession) -> AsyncIterator[AsyncConnection]:
    """The request's session on an autocommit connection, for a hot path's read (and, on PostgreSQL, a
    write that is one statement). Afterwards the connection is given back and the session is bound as
    it came, so the request may still go on in a transaction."""
    bind = session.sync_session.bind
    session.sync_session.bind = autocommit(bind)
    try:
        yield await session.connection()
    finally:
        await session.close()
        session.sync_session.bind = bind


_autocommits: dict[Any, Any] = {}


def autocommit(engine: Any) -> Any:
    """The engine's twin whose connections run in autocommit (same pool)."""
    if engine not in _autocommits:
        _autocommits[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return _autocommits[engine]



STAFF_ROLES = frozenset({"moderator", "admin"})


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: str  # youth | provider | moderator | admin
    org_id: int | None = None
    org_role: str | None = None  # owner | editor
    org_kind: str | None = None
    org_status: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_youth(self) -> bool:
        return self.role == "youth"

    @property
    def is_member(self) -> bool:
        """Belongs to an organisation, whatever the organisation's standing."""
        return self.role == "provider" and self.org_id is not None

    @property
    def is_provider(self) -> bool:
        """Acts for an organisation in standing: staff have not rejected or suspended it."""
        return self.is_member and self.org_in_standing

    @property
    def org_in_standing(self) -> bool:
        return self.org_status not in LOST_STANDING


_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/*")


_users, _members, _orgs = User.__table__, OrgMember.__table__, Organisation.__table__
# Every authenticated request runs this: built once, on the tables (no ORM layer), with a bound id.
PRINCIPAL_COLUMNS = (_users.c.id, _users.c.role, _users.c.status, _users.c.token_version, _members.c.org_id,
                     _members.c.role, _orgs.c.kind, _orgs.c.status)


def with_principal_joins(from_users: Any) -> Any:
    """``from_users`` (a FROM clause starting at users) joined to what ``PRINCIPAL_COLUMNS`` read."""
    return (from_users.outerjoin(_members, _members.c.user_id == _users.c.id)
            .outerjoin(_orgs, _orgs.c.id == _members.c.org_id))


_PRINCIPAL = (select(*PRINCIPAL_COLUMNS).select_from(with_principal_joins(_users))
              .where(_users.c.id == bindparam("user_id")))


@raises(errors.TokenInvalid, errors.TokenExpired)
async def token_claims(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> dict[str, Any] | None:
    """The request's access token, verified once (FastAPI caches this per request): the rate limits
    and the principal both read it. None without a token; a bad token answers 401."""
    if creds is None:
        return None
    return decode_access_token(creds.credentials)


TokenClaims = Annotated[dict[str, Any] | None, Depends(token_claims)]


def claimed_user_id(claims: dict[str, Any]) -> int:
    try:
        return int(claims["sub"])
    except (KeyError, ValueError):
        raise errors.TokenInvalid()


async def principal_from_claims(conn: AsyncConnection, claims: dict[str, Any]) -> Principal:
    row = (await conn.execute(_PRINCIPAL, {"user_id": claimed_user_id(claims)})).first()
    return principal_of_row(claims, row)


def principal_of_row(claims: dict[str, Any], row: Any) -> Principal:
    """The principal from ``PRINCIPAL_COLUMNS`` read for the token's user (None: no such user). A hot
    path may read them in its own statement (events' sign-up); the rules stay here."""
    if row is None:
        raise errors.TokenInvalid()
    uid, role, status, version, org_id, org_role, org_kind, org_status = row
    if status != "active":
        raise errors.AccountSuspended()
    if claims.get("ver", 0) != version:
        raise errors.TokenRevoked()
    return Principal(uid, role, org_id, org_role, org_kind, org_status)


@raises(errors.TokenInvalid, errors.TokenRevoked, errors.AccountSuspended)
async def optional_principal(request: Request, session: SessionDep, claims: TokenClaims) -> Principal | None:
    if claims is None:
        return None
    # On the request's own connection: one pool checkout and one transaction per request.
    principal = await principal_from_claims(await session.connection(), claims)
    request.state.principal = principal
    return principal


@raises(errors.Unauthenticated)
async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise errors.Unauthenticated()
    return principal


def require_youth(principal: Principal) -> Principal:
    if not principal.is_youth:
        raise errors.Forbidden("该功能仅对青年用户开放")
    return principal


@raises(errors.Forbidden)
async def youth_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    return require_youth(principal)


@raises(errors.Unauthenticated, errors.TokenInvalid, errors.TokenRevoked, errors.AccountSuspended,
        errors.Forbidden)
async def youth_claims(claims: TokenClaims) -> dict[str, Any]:
    """For a youth route that loads its principal itself, in a statement of its own (``principal_of_row``
    and ``require_youth`` decide as ``YouthUser`` does): the verified token of a signed-in caller."""
    if claims is None:
        raise errors.Unauthenticated()
    return claims


async def youth_of(session: AsyncSession, request: Request, claims: dict[str, Any]) -> Principal:
    """What ``YouthUser`` gives, for a route declared with ``YouthClaims``."""
    principal = require_youth(await principal_from_claims(await session.connection(), claims))
    request.state.principal = principal
    return principal


def require_standing(principal: Principal) -> None:
    """A rejected or suspended organisation reads nothing personal and changes nothing."""
    if principal.org_status == OrgStatus.suspended:
        raise errors.OrgSuspended()
    if principal.org_status == OrgStatus.rejected:
        raise errors.OrgRejected()


@raises(errors.Forbidden)
async def member_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A member of an organisation, also of one that lost its standing: only for what such an
    organisation keeps (its own record and members, its postings' review state)."""
    if not principal.is_member:
        raise errors.Forbidden("该功能仅对服务机构开放")
    return principal


@raises(errors.OrgSuspended, errors.OrgRejected, errors.Forbidden)
async def provider_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A provider acting for an organisation in standing (pending or verified). Every service's provider
    routes stand on this (directly, through ``provider_of`` or ``postings.owned``); a rejected or
    suspended organisation gets ORG_REJECTED / ORG_SUSPENDED, and service code that checks
    ``is_provider`` itself refuses it too."""
    if principal.is_member:
        require_standing(principal)
    if not principal.is_provider:
        raise errors.Forbidden("该功能仅对服务机构开放")
    return principal


@raises(errors.Forbidden)
async def staff_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_staff:
        raise errors.Forbidden("该功能仅对团委工作人员开放")
    return principal


def provider_of(*kinds: str):
    """A provider whose organisation is one of ``kinds``, pending or verified (a rejected or suspended
    one is refused: every service's provider routes stand on this or on ``postings.owned``)."""

    @raises(errors.Forbidden)
    async def dep(principal: Annotated[Principal, Depends(provider_principal)]) -> Principal:
        if principal.org_kind not in kinds:
            raise errors.Forbidden("您的机构类型不能使用该功能")
        return principal

    return dep


OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
YouthUser = Annotated[Principal, Depends(youth_principal)]
YouthClaims = Annotated[dict[str, Any], Depends(youth_claims)]
ProviderUser = Annotated[Principal, Depends(provider_principal)]
OrgMemberUser = Annotated[Principal, Depends(member_principal)]
StaffUser = Annotated[Principal, Depends(staff_principal)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
