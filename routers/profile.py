from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, SessionDep, StaffUser, YouthUser
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.ratelimit import limit
from app.schemas.identity import ClaimDecisionIn, ClaimIn, ClaimPublic, IdentityIn, IdentityOut, StaffClaim
from app.schemas.profile import MePublic, MeUpdate, PhoneBindIn
from app.services import identity, profile

router = APIRouter(tags=["profile"])


@router.get("/api/v1/me", response_model=MePublic)
async def get_me(user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.public_me(session, await profile.get_user(session, user))


@router.patch("/api/v1/me", response_model=MePublic, dependencies=[limit("profile_update")],
              summary="Change declared facts (the real-name identity has its own route)")
async def update_me(body: MeUpdate, user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.update_me(session, actor=user, data=body)


@router.post("/api/v1/me/phone", response_model=MePublic, summary="Bind the phone number through WeChat's phone API")
async def bind_phone(body: PhoneBindIn, user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.bind_phone(session, actor=user, code=body.code)


@router.put("/api/v1/me/identity", response_model=IdentityOut, dependencies=[limit("identity_bind")],
            summary="Bind the real name and ID number (youth; once, or with a WeChat face verification)")
async def bind_identity(body: IdentityIn, user: YouthUser, session: SessionDep) -> IdentityOut:
    return await identity.bind(session, actor=user, data=body)


@router.post("/api/v1/me/identity/claims", response_model=ClaimPublic, status_code=status.HTTP_202_ACCEPTED,
             dependencies=[limit("identity_claim")],
             summary="Claim an ID number (held by another account, or a correction) for staff review")
async def file_claim(body: ClaimIn, user: YouthUser, session: SessionDep) -> ClaimPublic:
    return await identity.file_claim(session, actor=user, data=body)


@router.get("/api/v1/me/identity/claims", response_model=list[ClaimPublic])
async def my_claims(user: YouthUser, session: SessionDep) -> list[ClaimPublic]:
    return await identity.my_claims(session, actor=user)


@router.get("/api/v1/staff/identity-claims", response_model=Page[StaffClaim])
async def staff_claims(
    user: StaffUser, session: SessionDep, status: Literal["pending", "approved", "rejected"] | None = "pending",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Page[StaffClaim]:
    return await identity.staff_claims(session, status=status, cursor=cursor, limit=limit)


@router.post("/api/v1/staff/identity-claims/{claim_id}/decision", response_model=StaffClaim,
             summary="Approve (the identity moves to the claimant) or reject a claim")
async def decide_claim(claim_id: int, body: ClaimDecisionIn, user: StaffUser, session: SessionDep) -> StaffClaim:
    return await identity.decide(session, actor=user, claim_id=claim_id, approve=body.approve, reason=body.reason)
