"""The person's own profile: declared facts, the real-name ID number, the phone number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crypto, errors
from app.deps import Principal
from app.schemas.profile import MePublic, MeUpdate
from app.validators import InvalidIdNumber, age_on, mask_id_number, mask_phone, parse_id_number
from app.wechat import get_wechat_client
from models.accounts import User
from models.base import utcnow
from models.orgs import OrgMember


async def get_user(session: AsyncSession, actor: Principal) -> User:
    user = await session.get(User, actor.user_id)
    if user is None:
        raise errors.TokenInvalid()
    return user


async def public_me(session: AsyncSession, user: User) -> MePublic:
    member = None
    if user.role == "provider":
        member = (await session.execute(select(OrgMember).where(OrgMember.user_id == user.id))).scalar_one_or_none()
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
        org_id=member.org_id if member else None,
        org_role=member.role if member else None,
    )


async def update_me(session: AsyncSession, *, actor: Principal, data: MeUpdate) -> MePublic:
    user = await get_user(session, actor)
    changes = data.model_dump(exclude_unset=True)
    for key in ("real_name", "id_number"):
        if key in changes and changes[key] is None:
            raise errors.ValidationFailed(fields={key: "实名信息不能清空"})
    id_number = changes.pop("id_number", None)
    if id_number is not None:
        try:
            number, birth, gender = parse_id_number(id_number)
        except InvalidIdNumber as exc:
            raise errors.ValidationFailed(fields={"id_number": str(exc)})
        if "gender" in changes and changes["gender"] != gender:
            raise errors.ValidationFailed(fields={"gender": "性别与身份证号不一致"})
        digest = crypto.lookup_hash(number, "id_number")
        if user.id_number_hash != digest:
            taken = (await session.execute(select(User.id).where(User.id_number_hash == digest))).first()
            if taken:
                raise errors.IdNumberTaken(fields={"id_number": "该身份证号已绑定其他账号"})
        user.id_number = number
        user.id_number_hash = digest
        user.id_number_masked = mask_id_number(number)
        user.birth_date = birth
        user.gender = gender
    elif "gender" in changes and user.id_number_hash and changes["gender"] != user.gender:
        raise errors.ValidationFailed(fields={"gender": "性别已由身份证号确定"})
    for key, value in changes.items():
        setattr(user, key, value)
    user.updated_at = utcnow()
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        # Someone else bound the same ID number between our check and our write.
        raise errors.IdNumberTaken(fields={"id_number": "该身份证号已绑定其他账号"})
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
