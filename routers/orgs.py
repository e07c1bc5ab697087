from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import OrgMemberUser, ProviderUser, SessionDep, StaffUser
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.orgs import (
    MemberIn,
    MemberPublic,
    OrgDecision,
    OrgPublic,
    OrgReasonIn,
    OrgReviewIn,
    OrgSignupIn,
)
from app.services import orgs
from models.orgs import OrgKind, OrgStatus

router = APIRouter(tags=["organisations"])

Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
OrgId = path_id("机构编号")


@router.post("/api/v1/provider/signup", response_model=OrgPublic, status_code=status.HTTP_201_CREATED,
             summary="Register an organisation with its first owner account (starts pending)",
             dependencies=[limit("provider_signup")])
async def signup(body: OrgSignupIn, session: SessionDep) -> OrgPublic:
    return await orgs.signup(session, data=body)


@router.get("/api/v1/provider/org", response_model=OrgPublic,
            summary="The caller's organisation (also when rejected or suspended, with the reason)")
async def my_org(user: OrgMemberUser, session: SessionDep) -> OrgPublic:
    return await orgs.get_own(session, actor=user)


@router.get("/api/v1/provider/org/members", response_model=Page[MemberPublic])
async def members(user: OrgMemberUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                  ) -> Page[MemberPublic]:
    return await orgs.list_members(session, actor=user, cursor=cursor, limit=limit)


@router.post("/api/v1/provider/org/members", response_model=MemberPublic, status_code=status.HTTP_201_CREATED,
             summary="An owner adds a member (not while the organisation is rejected or suspended)")
async def add_member(body: MemberIn, user: ProviderUser, session: SessionDep) -> MemberPublic:
    return await orgs.add_member(session, actor=user, data=body)


@router.delete("/api/v1/provider/org/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="An owner removes a member: the account is closed (never the last owner)")
async def remove_member(member_id: path_id("成员的用户编号"), user: OrgMemberUser, session: SessionDep) -> None:
    await orgs.remove_member(session, actor=user, user_id=member_id)


@router.get("/api/v1/staff/orgs", response_model=Page[OrgPublic])
async def staff_list(user: StaffUser, session: SessionDep, status: OrgStatus | None = None,
                     kind: OrgKind | None = None, cursor: Cursor = None, limit: Limit = 20) -> Page[OrgPublic]:
    return await orgs.staff_list(session, status=status, kind=kind, cursor=cursor, limit=limit)


@router.get("/api/v1/staff/orgs/{org_id}", response_model=OrgPublic)
async def staff_get(org_id: OrgId, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.staff_get(session, org_id=org_id)


@router.post("/api/v1/staff/orgs/{org_id}/verify", response_model=OrgPublic)
async def verify(org_id: OrgId, user: StaffUser, session: SessionDep, body: OrgReviewIn | None = None) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.verify,
                             reason=body.reason if body else None)


@router.post("/api/v1/staff/orgs/{org_id}/reject", response_model=OrgPublic)
async def reject(org_id: OrgId, body: OrgReasonIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.reject, reason=body.reason)


@router.post("/api/v1/staff/orgs/{org_id}/suspend", response_model=OrgPublic,
             summary="Suspend a verified organisation: it keeps nothing but its own record until reinstated")
async def suspend(org_id: OrgId, body: OrgReasonIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.suspend, reason=body.reason)


@router.post("/api/v1/staff/orgs/{org_id}/reinstate", response_model=OrgPublic,
             summary="Lift a suspension (the organisation is verified again)")
async def reinstate(org_id: OrgId, body: OrgReasonIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.reinstate, reason=body.reason)
