"""The person's own profile: declared facts and the phone number (the real-name identity is
app.services.identity)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto, errors
from app.deps import Principal
from app.kit import ratelimit
from app.schemas.profile import MePublic, MeUpdate
from app.validators import age_on, mask_phone
from app.wechat import get_wechat_client
from models.accounts import IdentityClaim, User
from models.base import utcnow
from models.orgs import OrgMember

ratelimit.bucket("profile_update", "30/600", description="修改个人资料，每人")


async def get_user(session: AsyncSession, actor: Principal) -> User:
    user = await session.get(User, actor.user_id)
    if user is None:
        raise errors.TokenInvalid()
    return user


async def public_me(session: AsyncSession, user: User, *, new: bool = False) -> MePublic:
    """What a person sees of their own account; ``new``: the account was made in this transaction
    (nothing can be pending for it, so nothing is looked up)."""
    member = claim = None
    if new:
        pass  # a new account has no membership and no claim
    elif user.role == "provider":
        member = (await session.execute(select(OrgMember).where(OrgMember.user_id == user.id))).scalar_one_or_none()
    elif user.role == "youth":
        claim = (await session.execute(select(IdentityClaim.status).where(
            IdentityClaim.user_id == user.id, IdentityClaim.status == "pending"))).first()
    return MePublic(
        id=user.id,
        role=user.role,
        nickname=user.nickname,
        real_name=user.real_name,
        id_number_masked=user.id_number_masked,
        birth_date=user.birth_date,
        age=age_on(user.birth_date) if user.birth_date else None,
        gender=user.gender,
        district=user.district,
        education=user.education,
        graduation_year=user.graduation_year,
        employment_status=user.employment_status,
        marital_status=user.marital_status,
        owns_home_in_kunming=user.owns_home_in_kunming,
        works_in_kunming=user.works_in_kunming,
        phone_masked=user.phone_masked,
        real_name_verified=bool(user.real_name and user.id_number_hash),
        identity_source=user.identity_source,
        identity_claim_status="pending" if claim else None,
        org_id=member.org_id if member else None,
        org_role=member.role if member else None,
    )


async def update_me(session: AsyncSession, *, actor: Principal, data: MeUpdate) -> MePublic:
    user = await get_user(session, actor)
    changes = data.model_dump(exclude_unset=True)
    if "gender" in changes and user.id_number_hash and changes["gender"] != user.gender:
        raise errors.ValidationFailed(fields={"gender": "性别已由身份证号确定"})
    for key, value in changes.items():
        setattr(user, key, value)
    user.updated_at = utcnow()
    await session.flush()
    return await public_me(session, user)


async def bind_phone(session: AsyncSession, *, actor: Principal, code: str) -> MePublic:
    # Ask WeChat before the first query: on SQLite the transaction holds the only write lock.
    phone = await get_wechat_client().get_phone_number(code)
    user = await get_user(session, actor)
    number = phone.pure_phone_number or phone.phone_number
    user.phone = number
    user.phone_hash = crypto.lookup_hash(number, "phone")
    user.phone_masked = mask_phone(number)
    user.updated_at = utcnow()
    await session.flush()
    return await public_me(session, user)
