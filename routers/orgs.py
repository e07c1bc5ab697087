from typing import Annotated

from fastapi import APIRouter, Query, status

from app import errors
from app.contract import raises
from app.deps import OrgMemberUser, ProviderUser, SessionDep, StaffUser
from app.kit.pagination import Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, Limit
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
from app.services.orgs.errors import CreditCodeTaken, LastOwner, OrgStateInvalid
from models.orgs import OrgKind, OrgStatus

router = APIRouter(tags=["organisations"])

OrgId = path_id("机构编号")

_DECIDE = (errors.NotFound, OrgStateInvalid)


@router.post("/api/v1/provider/signup", response_model=OrgPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[limit("provider_signup")], summary="服务机构注册",
             description="注册机构和它的第一位负责人账号，状态为待审核（`pending`）；团委工作人员认证后才能发布内容。"
                         "不需要登录；每个地址每小时 10 次（`provider_signup`）。信用代码和用户名不能重复。")
@raises(CreditCodeTaken, errors.UsernameTaken, errors.Conflict)
async def signup(body: OrgSignupIn, session: SessionDep) -> OrgPublic:
    return await orgs.signup(session, data=body)


@router.get("/api/v1/provider/org", response_model=OrgPublic, summary="我的机构",
            description="机构成员查看本机构的资料和审核状态；被驳回或暂停时也能查看，并看到理由。")
@raises(errors.NotFound)
async def my_org(user: OrgMemberUser, session: SessionDep) -> OrgPublic:
    return await orgs.get_own(session, actor=user)


@router.get("/api/v1/provider/org/members", response_model=Page[MemberPublic], summary="机构成员列表",
            description="机构成员查看本机构的所有成员账号（被驳回或暂停的机构也可以）。")
@raises()
async def members(user: OrgMemberUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                       ) -> Page[MemberPublic]:
    return await orgs.list_members(session, actor=user, cursor=cursor, limit=limit)


@router.post("/api/v1/provider/org/members", response_model=MemberPublic, status_code=status.HTTP_201_CREATED,
             summary="添加机构成员",
             description="仅机构负责人，且机构未被驳回或暂停：新建一个成员账号（负责人或编辑）。")
@raises(errors.NotOrgOwner, errors.UsernameTaken)
async def add_member(body: MemberIn, user: ProviderUser, session: SessionDep) -> MemberPublic:
    return await orgs.add_member(session, actor=user, data=body)


@router.delete("/api/v1/provider/org/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="移除机构成员",
               description="仅机构负责人（被驳回或暂停的机构也可以）：移除成员并关闭其账号，它的登录立即失效。"
                           "不能移除最后一位负责人。")
@raises(errors.NotOrgOwner, errors.NotFound, LastOwner)
async def remove_member(member_id: path_id("成员的用户编号"), user: OrgMemberUser, session: SessionDep) -> None:
    await orgs.remove_member(session, actor=user, user_id=member_id)


@router.get("/api/v1/staff/orgs", response_model=Page[OrgPublic], summary="机构列表（工作人员）",
            description="仅团委工作人员。按状态和类型筛选注册的机构。")
@raises()
async def staff_list(
    user: StaffUser, session: SessionDep,
    status: Annotated[OrgStatus | None, Query(description="机构状态；不填为全部")] = None,
    kind: Annotated[OrgKind | None, Query(description="机构类型；不填为全部")] = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[OrgPublic]:
    return await orgs.staff_list(session, status=status, kind=kind, cursor=cursor, limit=limit)


@router.get("/api/v1/staff/orgs/{org_id}", response_model=OrgPublic, summary="机构详情（工作人员）",
            description="仅团委工作人员。一个机构的注册资料、状态和最近一次审核的理由。")
@raises(errors.NotFound)
async def staff_get(org_id: OrgId, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.staff_get(session, org_id=org_id)


@router.post("/api/v1/staff/orgs/{org_id}/verify", response_model=OrgPublic, summary="认证机构",
             description="仅团委工作人员。待审核或曾被驳回的机构通过认证，可以发布内容；理由可不填，负责人会收到通知。")
@raises(*_DECIDE)
async def verify(org_id: OrgId, user: StaffUser, session: SessionDep, body: OrgReviewIn | None = None
                      ) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.verify,
                             reason=body.reason if body else None)


@router.post("/api/v1/staff/orgs/{org_id}/reject", response_model=OrgPublic, summary="驳回机构",
             description="仅团委工作人员。驳回待审核的机构，必须给出理由（负责人会收到）；驳回后机构只能查看自己的资料。")
@raises(*_DECIDE)
async def reject(org_id: OrgId, body: OrgReasonIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.reject, reason=body.reason)


@router.post("/api/v1/staff/orgs/{org_id}/suspend", response_model=OrgPublic, summary="暂停机构",
             description="仅团委工作人员。暂停已认证的机构，必须给出理由：恢复之前它只能查看自己的资料、成员和内容的"
                         "审核状态，不能读取报名者的信息，也不能发布或修改任何内容。")
@raises(*_DECIDE)
async def suspend(org_id: OrgId, body: OrgReasonIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.suspend, reason=body.reason)


@router.post("/api/v1/staff/orgs/{org_id}/reinstate", response_model=OrgPublic, summary="恢复机构",
             description="仅团委工作人员。解除暂停，机构重新为已认证；必须给出理由（负责人会收到）。")
@raises(*_DECIDE)
async def reinstate(org_id: OrgId, body: OrgReasonIn, user: StaffUser, session: SessionDep) -> OrgPublic:
    return await orgs.decide(session, actor=user, org_id=org_id, decision=OrgDecision.reinstate, reason=body.reason)
