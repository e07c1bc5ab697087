"""Provider organisations: sign-up, staff verification, members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto, errors
from app.deps import Principal
from app.pagination import Page, decode_cursor, encode_cursor
from app.schemas.orgs import MemberIn, MemberPublic, OrgPublic, OrgSignupIn
from app.services import audit
from models.accounts import User
from models.base import utcnow
from models.orgs import Organisation, OrgMember


def to_public(org: Organisation) -> OrgPublic:
    return OrgPublic.model_validate(org, from_attributes=True)


async def signup(session: AsyncSession, *, data: OrgSignupIn) -> OrgPublic:
    if (await session.execute(select(Organisation.id).where(Organisation.credit_code == data.credit_code))).first():
        raise errors.CreditCodeTaken(fields={"credit_code": "该统一社会信用代码已注册"})
    if (await session.execute(select(User.id).where(User.username == data.owner_username))).first():
        raise errors.UsernameTaken(fields={"owner_username": "用户名已被使用"})
    org = Organisation(
        name=data.name, kind=data.kind, credit_code=data.credit_code, contact_name=data.contact_name,
        contact_phone=data.contact_phone, address=data.address,
    )
    owner = User(role="provider", username=data.owner_username, nickname=data.contact_name,
                 password_hash=crypto.hash_password(data.owner_password))
    try:
        async with session.begin_nested():
            session.add_all([org, owner])
            await session.flush()
            session.add(OrgMember(org_id=org.id, user_id=owner.id, role="owner"))
    except IntegrityError:
        raise errors.Conflict("机构或用户名刚刚已被注册，请更换后重试")
    actor = Principal(owner.id, "provider", org.id, "owner", org.kind, org.status)
    await audit.record(session, actor=actor, action="org.signup", target_kind="organisation", target_id=org.id)
    return to_public(org)


async def get_own(session: AsyncSession, *, actor: Principal) -> OrgPublic:
    org = await session.get(Organisation, actor.org_id)
    if org is None:
        raise errors.NotFound()
    return to_public(org)


async def add_member(session: AsyncSession, *, actor: Principal, data: MemberIn) -> MemberPublic:
    if actor.org_role != "owner":
        raise errors.NotOrgOwner()
    if (await session.execute(select(User.id).where(User.username == data.username))).first():
        raise errors.UsernameTaken(fields={"username": "用户名已被使用"})
    user = User(role="provider", username=data.username, nickname=data.username,
                password_hash=crypto.hash_password(data.password))
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
            member = OrgMember(org_id=actor.org_id, user_id=user.id, role=data.role)
            session.add(member)
    except IntegrityError:
        raise errors.UsernameTaken(fields={"username": "用户名已被使用"})
    await audit.record(session, actor=actor, action="org.member_added", target_kind="user", target_id=user.id,
                       detail={"role": data.role})
    return MemberPublic(user_id=user.id, username=user.username, role=member.role, created_at=member.created_at)


async def list_members(session: AsyncSession, *, actor: Principal) -> list[MemberPublic]:
    rows = (
        await session.execute(
            select(OrgMember, User.username).join(User, User.id == OrgMember.user_id)
            .where(OrgMember.org_id == actor.org_id).order_by(OrgMember.id)
        )
    ).all()
    return [MemberPublic(user_id=m.user_id, username=u, role=m.role, created_at=m.created_at) for m, u in rows]


async def staff_list(
    session: AsyncSession, *, status: str | None, kind: str | None, cursor: str | None, limit: int
) -> Page[OrgPublic]:
    stmt = select(Organisation).order_by(Organisation.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, "id")
    if after:
        stmt = stmt.where(Organisation.id < int(after["id"]))
    if status:
        stmt = stmt.where(Organisation.status == status)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    rows = list((await session.execute(stmt)).scalars())
    nxt = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return Page(items=[to_public(o) for o in rows[:limit]], next_cursor=nxt)


async def staff_get(session: AsyncSession, *, org_id: int) -> OrgPublic:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise errors.NotFound()
    return to_public(org)


async def review(session: AsyncSession, *, actor: Principal, org_id: int, verify: bool, reason: str | None
                 ) -> OrgPublic:
    org = await session.get(Organisation, org_id, with_for_update=True)
    if org is None:
        raise errors.NotFound()
    target = "verified" if verify else "rejected"
    if org.status == target:
        return to_public(org)
    if not verify and org.status == "verified" and not reason:
        raise errors.ValidationFailed(fields={"reason": "请填写原因"})
    org.status = target
    org.review_reason = reason
    org.reviewed_by = actor.user_id
    org.reviewed_at = utcnow()
    await session.flush()
    await audit.record(session, actor=actor, action=f"org.{'verify' if verify else 'reject'}",
                       target_kind="organisation", target_id=org.id, org_id=org.id, reason=reason)
    return to_public(org)
