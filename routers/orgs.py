from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.deps import ProviderUser, SessionDep, StaffUser
from app.pagination import MAX_LIMIT, Page
from app.schemas.orgs import MemberIn, MemberPublic, OrgPublic, OrgRejectIn, OrgReviewIn, OrgSignupIn
from app.services import orgs

router = APIRouter(tags=["organisations"])


@router.post("/api/v1/provider/signup", response_model=OrgPublic, status_code=status.HTTP_201_CREATED,
             summary="Register an organisation with its first owner account (starts pending)")
async def signup(body: OrgSignupIn, session: SessionDep) -> OrgPublic:
    return await orgs.signup(session, data=body)


@router.get("/api/v1/provider/org", response_model=OrgPublic)
async def my_org(user: ProviderUser, session: SessionDep) -> OrgPublic:
    return await orgs.get_own(session, actor=user)


@router.get("/api/v1/provider/org/members", response_model=list[MemberPublic])
async def members(user: ProviderUser, session: SessionDep) -> list[MemberPublic]:
    return await orgs.list_members(session, actor=user)


@router.post("/api/v1/provider/org/members", response_model=MemberPublic, status_code=status.HTTP_201_CREATED)
async def add_member(body: MemberIn, user: ProviderUser, session: SessionDep) -> MemberPublic:
    return await orgs.add_member(session, actor=user, data=body)


@router.get("/api/v1/staff/orgs", response_model=Page[OrgPublic])
async def staff_list(
    user: StaffUser,
    session: SessionDep,
    status: Literal["pending", "verified", "rejected"] | None = None,
    kind: str | None = Query(None, max_length=32),
    cursor: str | None = Query(None, max_length=200),
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Page[OrgPublic]:
    return await orgs.staff_list(session, status=status, kind=kind, cursor=cursor, limit=limit)


@router.get("/api/v1/staff/orgs/{org_id}", response_model=OrgPublic)
async def staff_get(org_id: int, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.staff_get(session, org_id=org_id)


@router.post("/api/v1/staff/orgs/{org_id}/verify", response_model=OrgPublic)
async def verify(org_id: int, user: StaffUser, session: SessionDep, body: OrgReviewIn | None = None) -> OrgPublic:
    return await orgs.review(session, actor=user, org_id=org_id, verify=True, reason=body.reason if body else None)


@router.post("/api/v1/staff/orgs/{org_id}/reject", response_model=OrgPublic)
async def reject(org_id: int, body: OrgRejectIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.review(session, actor=user, org_id=org_id, verify=False, reason=body.reason)
