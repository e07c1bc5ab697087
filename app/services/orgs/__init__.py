"""Provider organisations: sign-up, staff verification and suspension, members.

pending → verified | rejected;  verified → suspended → verified (reinstated);  rejected → verified.
A rejected or suspended organisation keeps its own record, its member list and its postings' review
state and nothing else: the shared provider dependencies (app.deps) refuse it everywhere else, so it
reads nobody's personal data, creates and submits nothing and adds no members. Owners can remove
members at any time. Every decision of staff tells the organisation's owners, with the reason.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, crypto
from app.deps import Principal, require_standing
from app.errors import Conflict, NotFound, NotOrgOwner, UsernameTaken
from app.kit import ratelimit
from app.kit.pagination import Key, Page, keyset
from app.schemas.orgs import MemberIn, MemberPublic, OrgDecision, OrgPublic, OrgSignupIn
from app.services import audit, auth
from app.services.notifications.catalogue import define, notify_many
from app.services.orgs.errors import CreditCodeTaken, LastOwner, OrgStateInvalid
from models.accounts import RefreshToken, User
from models.audit import AuditTarget
from models.orgs import Organisation, OrgMember, OrgRole, OrgStatus

# Each sign-up costs an argon2 hash and makes two rows, for anyone on the internet.
ratelimit.bucket("provider_signup", "10/3600", per="ip", description="机构注册，每个地址")

ORG_VERIFIED = define(
    "org.verified", title="机构已通过审核", body="「{org}」已通过审核，现在可以提交发布内容了。", params=("org", "at"),
    wechat="account", keywords={"thing1": "title", "thing2": "org", "time3": "at"},
)
ORG_REJECTED = define(
    "org.rejected", title="机构未通过审核", body="「{org}」未通过审核。原因：{reason}", params=("org", "reason", "at"),
    wechat="account", keywords={"thing1": "title", "thing2": "reason", "time3": "at"},
)
ORG_SUSPENDED = define(
    "org.suspended", title="机构已被暂停使用",
    body="「{org}」已被暂停使用。原因：{reason}。暂停期间不能发布内容、查看报名信息或添加成员，如有疑问请联系团委工作人员。",
    params=("org", "reason", "at"), wechat="account", keywords={"thing1": "title", "thing2": "reason", "time3": "at"},
)
ORG_REINSTATED = define(
    "org.reinstated", title="机构已恢复使用", body="「{org}」已恢复使用。说明：{reason}", params=("org", "reason", "at"),
    wechat="account", keywords={"thing1": "title", "thing2": "reason", "time3": "at"},
)


def to_public(org: Organisation) -> OrgPublic:
    return OrgPublic.model_validate(org, from_attributes=True)


async def owner_ids(session: AsyncSession, org_id: int) -> list[int]:
    """The accounts told about staff's decisions on the organisation and its postings."""
    return list((await session.execute(
        select(OrgMember.user_id).where(OrgMember.org_id == org_id, OrgMember.role == OrgRole.owner)
        .order_by(OrgMember.user_id))).scalars())


async def signup(session: AsyncSession, *, data: OrgSignupIn) -> OrgPublic:
    if (await session.execute(select(Organisation.id).where(Organisation.credit_code == data.credit_code))).first():
        raise CreditCodeTaken(fields={"credit_code": "该统一社会信用代码已注册"})
    if await auth.username_taken(session, data.owner_username):
        raise UsernameTaken(fields={"owner_username": "用户名已被使用"})
    org = Organisation(
        name=data.name, kind=data.kind, credit_code=data.credit_code, contact_name=data.contact_name,
        contact_phone=data.contact_phone, address=data.address,
    )
    owner = User(role="provider", username=data.owner_username, nickname=data.contact_name,
                 password_hash=await crypto.hash_password_async(data.owner_password))
    try:
        async with session.begin_nested():
            session.add_all([org, owner])
            await session.flush()
            session.add(OrgMember(org_id=org.id, user_id=owner.id, role=OrgRole.owner))
    except IntegrityError:
        raise Conflict("机构或用户名刚刚已被注册，请更换后重试")
    actor = Principal(owner.id, "provider", org.id, OrgRole.owner, org.kind, org.status)
    await audit.record(session, actor=actor, action="org.signup", target_kind=AuditTarget.organisation,
                       target_id=org.id)
    return to_public(org)


async def get_own(session: AsyncSession, *, actor: Principal) -> OrgPublic:
    org = await session.get(Organisation, actor.org_id)
    if org is None:
        raise NotFound()
    return to_public(org)


# --- members --------------------------------------------------------------------------------------


def _require_owner(actor: Principal) -> None:
    if actor.org_role != OrgRole.owner:
        raise NotOrgOwner()


async def add_member(session: AsyncSession, *, actor: Principal, data: MemberIn) -> MemberPublic:
    require_standing(actor)
    _require_owner(actor)
    if await auth.username_taken(session, data.username):
        raise UsernameTaken(fields={"username": "用户名已被使用"})
    user = User(role="provider", username=data.username, nickname=data.username,
                password_hash=await crypto.hash_password_async(data.password))
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
            member = OrgMember(org_id=actor.org_id, user_id=user.id, role=data.role)
            session.add(member)
    except IntegrityError:
        raise UsernameTaken(fields={"username": "用户名已被使用"})
    await audit.record(session, actor=actor, action="org.member_added", target_kind=AuditTarget.user,
                       target_id=user.id, detail={"role": data.role})
    return MemberPublic(user_id=user.id, username=user.username, role=member.role, created_at=member.created_at)


async def list_members(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int
                       ) -> Page[MemberPublic]:
    stmt = (select(OrgMember.user_id, User.username, OrgMember.role, OrgMember.created_at)
            .join(User, User.id == OrgMember.user_id).where(OrgMember.org_id == actor.org_id))
    page = await keyset(session, stmt, [Key("id", OrgMember.id)], cursor=cursor, limit=limit, tag="org-members")
    return page.page(lambda r: MemberPublic(user_id=r.user_id, username=r.username, role=r.role,
                                            created_at=r.created_at))


async def remove_member(session: AsyncSession, *, actor: Principal, user_id: int) -> None:
    """An owner takes a member's access away, also while the organisation lost its standing: the
    account is suspended and its refresh tokens revoked (it acted for this organisation only)."""
    _require_owner(actor)
    # Member changes of one organisation take turns, so two owners removing each other at once cannot
    # leave it with none.
    await session.get(Organisation, actor.org_id, with_for_update=True)
    member = (await session.execute(
        select(OrgMember).where(OrgMember.org_id == actor.org_id, OrgMember.user_id == user_id))).scalar_one_or_none()
    if member is None:
        raise NotFound()
    if member.role == OrgRole.owner and len(await owner_ids(session, actor.org_id)) <= 1:
        raise LastOwner()
    now = clock.now()
    await session.delete(member)
    await session.execute(update(User).where(User.id == user_id).values(
        status="suspended", suspended_reason="已被机构负责人移出", updated_at=now,
        token_version=User.token_version + 1))  # its access tokens end too
    await session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                          .values(revoked_at=now))
    await session.flush()
    await audit.record(session, actor=actor, action="org.member_removed", target_kind=AuditTarget.user,
                       target_id=user_id, detail={"role": member.role})


# --- staff ----------------------------------------------------------------------------------------


async def staff_list(session: AsyncSession, *, status: OrgStatus | None, kind: str | None, cursor: str | None,
                     limit: int) -> Page[OrgPublic]:
    stmt = select(Organisation)
    if status:
        stmt = stmt.where(Organisation.status == status)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    page = await keyset(session, stmt, [Key("id", Organisation.id, desc=True)], cursor=cursor, limit=limit,
                        tag="orgs")
    return page.page(lambda r: to_public(r[0]))


async def staff_get(session: AsyncSession, *, org_id: int) -> OrgPublic:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound()
    return to_public(org)


# Which decision moves an organisation from which states, and what it is called.
_DECISIONS = {
    OrgDecision.verify: ((OrgStatus.pending, OrgStatus.rejected), OrgStatus.verified, ORG_VERIFIED),
    OrgDecision.reject: ((OrgStatus.pending, OrgStatus.verified), OrgStatus.rejected, ORG_REJECTED),
    OrgDecision.suspend: ((OrgStatus.verified,), OrgStatus.suspended, ORG_SUSPENDED),
    OrgDecision.reinstate: ((OrgStatus.suspended,), OrgStatus.verified, ORG_REINSTATED),
}
_STATUS_LABELS = {OrgStatus.pending: "待审核", OrgStatus.verified: "已认证", OrgStatus.rejected: "未通过",
                  OrgStatus.suspended: "已暂停"}


async def decide(session: AsyncSession, *, actor: Principal, org_id: int, decision: OrgDecision, reason: str | None
                 ) -> OrgPublic:
    """Staff verify, reject, suspend or reinstate an organisation. The same decision again answers the
    organisation as it is (a retry, or two staff members agreeing); any other move is refused."""
    org = await session.get(Organisation, org_id, with_for_update=True)
    if org is None:
        raise NotFound()
    sources, target, notice = _DECISIONS[decision]
    if org.status == target:
        return to_public(org)
    if org.status not in sources:
        raise OrgStateInvalid(f"机构当前状态为「{_STATUS_LABELS.get(org.status, org.status)}」，不能执行此操作")
    now = clock.now()
    org.status = target
    org.review_reason = reason
    org.reviewed_by = actor.user_id
    org.reviewed_at = now
    await session.flush()
    params = {"org": org.name, "at": now, **({} if notice is ORG_VERIFIED else {"reason": reason})}
    notify_many(session, notice, await owner_ids(session, org.id), data={"org_id": org.id}, **params)
    await audit.record(session, actor=actor, action=f"org.{decision}", target_kind=AuditTarget.organisation,
                       target_id=org.id, org_id=org.id, reason=reason)
    return to_public(org)
