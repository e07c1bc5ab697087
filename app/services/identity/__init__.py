"""Real-name identities: one ID number, one account, and a way back for the number's owner.

- A young person binds a name and number once (``PUT /me/identity``). A number nobody holds binds
  as *declared*. A number another account holds does not bind and is never named as taken: the same
  200 answer carries a claim under review instead, so each account can learn about one number at a
  time, and staff see every such attempt.
- With a WeChat face verification (``verify_result``) the identity binds as *face*-verified, and if
  another account holds the number it moves here: the other account is told.
- A bound identity changes only by a face verification or a claim staff approve (``POST
  /me/identity/claims``, with evidence); the same route corrects a wrong number.
- Only youth accounts carry ID numbers.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, crypto
from app import errors as app_errors  # the package's own errors module is .errors
from app.config import settings_of
from app.deps import Principal
from app.kit import ratelimit
from app.kit.pagination import Key, Page, keyset
from app.schemas.identity import ClaimIn, ClaimPublic, IdentityIn, IdentityOut, StaffClaim
from app.services import audit
from app.services.identity.errors import (
    IdentityAlreadyYours,
    IdentityClaimDecided,
    IdentityClaimOpen,
    IdentityLocked,
    IdentityVerificationFailed,
    IdentityVerificationRequired,
    IdentityYouthOnly,
)
from app.services.identity.settings import IdentitySettings
from app.services.identity.verifier import get_verifier
from app.services.notifications.catalogue import define, notify
from app.services.profile import get_user, public_me
from app.validators import InvalidIdNumber, mask_id_number, parse_id_number
from models.accounts import IdentityClaim, User

ratelimit.bucket("identity_bind", "5/86400", description="绑定实名信息，每人")
ratelimit.bucket("identity_claim", "3/86400", description="提交实名申请，每人")

IDENTITY_MOVED = define(
    "identity.moved", title="实名信息已从您的账号移除",
    body="经核验，身份证号 {masked} 属于另一位用户，已从您的账号移除。如有疑问请联系团委工作人员。",
    params=("masked",), wechat="account", keywords={"thing1": "title", "thing2": "=身份证号{masked}", "time3": "sent_at"},
)
CLAIM_APPROVED = define(
    "identity.claim_approved", title="实名申请已通过", body="身份证号 {masked} 已绑定到您的账号。",
    params=("masked",), wechat="account", keywords={"thing1": "title", "thing2": "=身份证号{masked}", "time3": "sent_at"},
)
CLAIM_REJECTED = define(
    "identity.claim_rejected", title="实名申请未通过", body="身份证号 {masked} 的申请未通过：{reason}",
    params=("masked", "reason"), wechat="account", keywords={"thing1": "title", "thing2": "reason", "time3": "sent_at"},
)


def _parsed(id_number: str) -> tuple[str, date, str]:
    try:
        return parse_id_number(id_number)
    except InvalidIdNumber as exc:
        raise app_errors.ValidationFailed(fields={"id_number": str(exc)})


def _claim_public(claim: IdentityClaim) -> ClaimPublic:
    return ClaimPublic.model_validate(claim, from_attributes=True)


async def _youth(session: AsyncSession, actor: Principal) -> User:
    if not actor.is_youth:
        raise IdentityYouthOnly()
    return await get_user(session, actor)


async def _pending_claim(session: AsyncSession, user_id: int) -> IdentityClaim | None:
    return (await session.execute(select(IdentityClaim).where(
        IdentityClaim.user_id == user_id, IdentityClaim.status == "pending"))).scalars().first()


async def _holder(session: AsyncSession, digest: str, *, lock: bool = False) -> User | None:
    stmt = select(User).where(User.id_number_hash == digest)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def _clear_identity(user: User) -> None:
    user.real_name = user.id_number = user.id_number_hash = user.id_number_masked = None
    user.birth_date = user.gender = user.identity_source = user.identity_bound_at = None


class _HeldElsewhere(Exception):
    pass


async def _take(session: AsyncSession, user: User, *, number: str, real_name: str, source: str,
                actor: Principal) -> None:
    """Bind ``number`` to ``user``. A verified source (face, staff) moves it from the account that holds
    it, which is told; a declared one never does (_HeldElsewhere)."""
    now = clock.now()
    number, birth, gender = _parsed(number)
    digest = crypto.lookup_hash(number, "id_number")
    holder = await _holder(session, digest, lock=True)
    if holder is not None and holder.id != user.id and source == "declared":
        raise _HeldElsewhere()
    if holder is not None and holder.id != user.id:
        _clear_identity(holder)
        holder.updated_at = now
        await session.flush()  # frees the unique lookup hash before this account takes it
        notify(session, IDENTITY_MOVED, holder.id, masked=mask_id_number(number))
        await audit.record(session, actor=actor, action="identity.moved", target_kind="user",
                           target_id=holder.id, detail={"to_user": user.id, "source": source})
    user.real_name = real_name
    user.id_number = number
    user.id_number_hash = digest
    user.id_number_masked = mask_id_number(number)
    user.birth_date, user.gender = birth, gender
    user.identity_source, user.identity_bound_at = source, now
    user.updated_at = now
    await session.flush()


async def bind(session: AsyncSession, *, actor: Principal, data: IdentityIn) -> IdentityOut:
    user = await _youth(session, actor)
    number, _birth, _gender = _parsed(data.id_number)
    if data.verify_result is not None:
        confirmed = await get_verifier().confirms(openid=user.openid, real_name=data.real_name, id_number=number,
                                                  evidence=data.verify_result)
        if not confirmed:
            # The same answer whether or not anyone holds the number.
            raise IdentityVerificationFailed()
        await _take(session, user, number=number, real_name=data.real_name, source="face", actor=actor)
        return IdentityOut(me=await public_me(session, user))
    if settings_of(IdentitySettings).identity_require_verification:
        raise IdentityVerificationRequired()
    digest = crypto.lookup_hash(number, "id_number")
    if user.id_number_hash is not None:
        if user.id_number_hash == digest and user.real_name == data.real_name:
            return IdentityOut(me=await public_me(session, user))
        raise IdentityLocked()
    if await _pending_claim(session, user.id) is not None:
        raise IdentityClaimOpen()
    holder = await _holder(session, digest)
    if holder is None:
        try:
            async with session.begin_nested():
                await _take(session, user, number=number, real_name=data.real_name, source="declared",
                            actor=actor)
            return IdentityOut(me=await public_me(session, user))
        except (IntegrityError, _HeldElsewhere):
            # Another account bound the same number between our look and our write.
            await session.refresh(user)
    claim = await _open_claim(session, user, number=number, real_name=data.real_name, evidence=None)
    return IdentityOut(me=await public_me(session, user), claim=_claim_public(claim))


async def _open_claim(session: AsyncSession, user: User, *, number: str, real_name: str, evidence: str | None
                      ) -> IdentityClaim:
    digest = crypto.lookup_hash(number, "id_number")
    holder = await _holder(session, digest)
    claim = IdentityClaim(user_id=user.id, real_name=real_name, id_number=number, id_number_hash=digest,
                          id_number_masked=mask_id_number(number), evidence=evidence,
                          held_by_other=holder is not None and holder.id != user.id)
    session.add(claim)
    await session.flush()
    return claim


async def file_claim(session: AsyncSession, *, actor: Principal, data: ClaimIn) -> ClaimPublic:
    """A claim staff review: a number someone else holds, or a correction of the person's own."""
    user = await _youth(session, actor)
    number, _birth, _gender = _parsed(data.id_number)
    digest = crypto.lookup_hash(number, "id_number")
    if user.id_number_hash == digest and user.real_name == data.real_name:
        raise IdentityAlreadyYours()
    pending = await _pending_claim(session, user.id)
    if pending is not None:
        if pending.id_number_hash != digest or pending.evidence is not None:
            raise IdentityClaimOpen()
        # The claim the binding opened, now with the evidence staff need.
        pending.real_name, pending.evidence, pending.updated_at = data.real_name, data.evidence, clock.now()
        await session.flush()
        return _claim_public(pending)
    return _claim_public(await _open_claim(session, user, number=number, real_name=data.real_name,
                                           evidence=data.evidence))


async def my_claims(session: AsyncSession, *, actor: Principal) -> list[ClaimPublic]:
    rows = (await session.execute(select(IdentityClaim).where(IdentityClaim.user_id == actor.user_id)
                                  .order_by(IdentityClaim.id.desc()).limit(20))).scalars()
    return [_claim_public(c) for c in rows]


async def staff_claims(session: AsyncSession, *, status: str | None, cursor: str | None, limit: int
                       ) -> Page[StaffClaim]:
    stmt = select(IdentityClaim, User.id, User.identity_source).outerjoin(
        User, User.id_number_hash == IdentityClaim.id_number_hash)
    if status:
        stmt = stmt.where(IdentityClaim.status == status)
    page = await keyset(session, stmt, [Key("id", IdentityClaim.id)], cursor=cursor, limit=limit, tag="identity_claims")
    return page.page(lambda row: StaffClaim(**_claim_public(row[0]).model_dump(), user_id=row[0].user_id,
                                            holder_id=row[1], holder_identity_source=row[2]))


async def decide(session: AsyncSession, *, actor: Principal, claim_id: int, approve: bool, reason: str
                 ) -> StaffClaim:
    claim = await session.get(IdentityClaim, claim_id, with_for_update=True)
    if claim is None:
        raise app_errors.NotFound()
    if claim.status != "pending":
        raise IdentityClaimDecided()
    claimant = await session.get(User, claim.user_id, with_for_update=True)
    if claimant is None:
        raise app_errors.NotFound()
    now = clock.now()
    claim.status = "approved" if approve else "rejected"
    claim.decided_by, claim.decided_at, claim.decision_reason, claim.updated_at = actor.user_id, now, reason, now
    if approve:
        await _take(session, claimant, number=claim.id_number, real_name=claim.real_name, source="staff",
                    actor=actor)
        notify(session, CLAIM_APPROVED, claimant.id, data={"claim_id": claim.id}, masked=claim.id_number_masked)
    else:
        notify(session, CLAIM_REJECTED, claimant.id, data={"claim_id": claim.id}, masked=claim.id_number_masked,
               reason=reason)
    await audit.record(session, actor=actor, action=f"identity.claim_{claim.status}", target_kind="identity_claim",
                       target_id=claim.id, reason=reason, detail={"user_id": claimant.id})
    await session.flush()
    holder = await _holder(session, claim.id_number_hash)
    return StaffClaim(**_claim_public(claim).model_dump(), user_id=claim.user_id,
                      holder_id=holder.id if holder else None,
                      holder_identity_source=holder.identity_source if holder else None)
