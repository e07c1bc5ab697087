from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app import errors
from app.contract import raises
from app.deps import CurrentUser, SessionDep, StaffUser, YouthUser
from app.kit.pagination import Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, Limit
from app.schemas.identity import ClaimDecisionIn, ClaimIn, ClaimPublic, IdentityIn, IdentityOut, StaffClaim
from app.schemas.profile import MePublic, MeUpdate, PhoneBindIn
from app.services import identity, profile
from app.services.identity import errors as ierr

router = APIRouter(tags=["profile"])



@router.get("/api/v1/me", response_model=MePublic, summary="我的资料",
            description="登录的本人资料：角色、昵称、实名状态（姓名和身份证号遮盖）、自填的学历就业等信息，"
                        "服务机构成员还有所属机构。任何登录的账号可调用。")
@raises()
async def me_get(user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.public_me(session, await profile.get_user(session, user))


@router.patch("/api/v1/me", response_model=MePublic, dependencies=[limit("profile_update")],
              summary="修改我的资料",
              description="修改自填的资料（只改给出的字段）。实名姓名和身份证号另有接口（`identity_bind`）；"
                          "实名后性别由身份证号确定，不能再改。每人 10 分钟 30 次（`profile_update`）。")
@raises()
async def me_update(body: MeUpdate, user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.update_me(session, actor=user, data=body)


@router.post("/api/v1/me/phone", response_model=MePublic, summary="绑定手机号",
             description="用小程序手机号快速验证组件给的 code，经微信换取手机号并绑定（加密保存，只回答遮盖后的号码）。")
@raises(errors.WeChatPhoneCodeInvalid, errors.WeChatUnavailable, errors.WeChatRateLimited, errors.WeChatError)
async def me_bind_phone(body: PhoneBindIn, user: CurrentUser, session: SessionDep) -> MePublic:
    return await profile.bind_phone(session, actor=user, code=body.code)


@router.put("/api/v1/me/identity", response_model=IdentityOut, dependencies=[limit("identity_bind")],
            summary="实名认证：绑定姓名和身份证号",
            description="仅青年用户。绑定一次后不能自行修改；带上微信人脸核身（`wx.startFacialRecognitionVerify`）"
                        "的 `verify_result` 可以绑定或更正。身份证号已被其他账号使用时同样回答 200，但不绑定，"
                        "而是生成一份待审核的申请（`claim`），由工作人员审核。每人每天 5 次（`identity_bind`）。")
@raises(ierr.IdentityYouthOnly, ierr.IdentityLocked, ierr.IdentityVerificationRequired,
        ierr.IdentityVerificationFailed, ierr.IdentityVerifierUnavailable, ierr.IdentityClaimOpen,
        errors.WeChatFaceResultInvalid, errors.WeChatUnavailable, errors.WeChatRateLimited, errors.WeChatError)
async def identity_bind(body: IdentityIn, user: YouthUser, session: SessionDep) -> IdentityOut:
    return await identity.bind(session, actor=user, data=body)


@router.post("/api/v1/me/identity/claims", response_model=ClaimPublic, status_code=status.HTTP_202_ACCEPTED,
             dependencies=[limit("identity_claim")], summary="提交身份证号申诉或更正申请",
             description="仅青年用户。身份证号被他人占用，或本人实名信息有误时，提交证据由工作人员审核；审核通过后"
                         "身份证号转到本人账号，对方会收到通知。同一时间只能有一份申请。每人每天 3 次（`identity_claim`）。")
@raises(ierr.IdentityYouthOnly, ierr.IdentityAlreadyYours, ierr.IdentityClaimOpen)
async def identity_file_claim(body: ClaimIn, user: YouthUser, session: SessionDep) -> ClaimPublic:
    return await identity.file_claim(session, actor=user, data=body)


@router.get("/api/v1/me/identity/claims", response_model=Page[ClaimPublic], summary="我的实名申请",
            description="仅青年用户。本人提交过的申请，最新的在前（一页全部给出，`next_cursor` 总是空）。")
@raises(ierr.IdentityYouthOnly)
async def identity_my_claims(user: YouthUser, session: SessionDep) -> Page[ClaimPublic]:
    return Page(items=await identity.my_claims(session, actor=user))


@router.get("/api/v1/staff/identity-claims", response_model=Page[StaffClaim], summary="实名申请审核列表",
            description="仅团委工作人员。按状态筛选的申请（默认待审核），附当前持有该号码的账号及其实名来源。")
@raises()
async def identity_staff_claims(
    user: StaffUser, session: SessionDep,
    status: Annotated[Literal["pending", "approved", "rejected"] | None,
                      Query(description="申请状态；不填为全部")] = "pending",
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[StaffClaim]:
    return await identity.staff_claims(session, status=status, cursor=cursor, limit=limit)


@router.post("/api/v1/staff/identity-claims/{claim_id}/decision", response_model=StaffClaim,
             summary="审核实名申请",
             description="仅团委工作人员。通过：身份证号转到申请人账号（原持有人失去它并收到通知）；驳回：申请人收到理由。"
                         "每份申请只能审核一次。")
@raises(errors.NotFound, ierr.IdentityClaimDecided)
async def identity_decide_claim(claim_id: path_id("申请编号"), body: ClaimDecisionIn, user: StaffUser,
                                session: SessionDep) -> StaffClaim:
    return await identity.decide(session, actor=user, claim_id=claim_id, approve=body.approve, reason=body.reason)
