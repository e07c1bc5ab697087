from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app import errors
from app.config import KUNMING_DISTRICTS
from app.deps import OptionalUser, Principal, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit import csv
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.postings import path_id
from app.kit.ratelimit import limit
from app.schemas.common import DayIn
from app.schemas.volunteer import (
    AdjustIn,
    AnswerIn,
    AttendancePublic,
    BulkResult,
    CancelShiftIn,
    Category,
    CertificateIn,
    CertificatePublic,
    CertificateVerification,
    ConfirmIn,
    DisputeIn,
    HoursDetail,
    HoursPublic,
    HoursStatus,
    LateOrganisation,
    LocationIn,
    MySignupItem,
    ProjectCreate,
    ProjectProvider,
    ProjectPublic,
    ProjectSummary,
    ProjectUpdate,
    ProviderHours,
    RevokeIn,
    ScanIn,
    ShiftIn,
    ShiftUpdate,
    SignupIn,
    SignupProvider,
    SignupPublic,
    SignupStatus,
    StaffCertificate,
    TicketPublic,
    VolunteerRecord,
    WaiveIn,
)
from app.services import volunteer

router = APIRouter(tags=["volunteer"])

Organiser = Annotated[Principal, Depends(provider_of("volunteer_org"))]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
ProjectId = path_id("志愿项目编号")
ShiftId = path_id("岗位编号")
HoursId = path_id("服务时长记录编号")
SignupId = path_id("报名编号")
CertificateId = path_id("证明编号（数字）")
CertificateCode = Annotated[str, Path(min_length=1, max_length=40, description="The code printed on the certificate")]


# --- young people ---------------------------------------------------------------------------------


@router.get("/api/v1/volunteer/projects", response_model=Page[ProjectSummary],
            summary="Published projects with shifts to come, soonest first (or nearest with lat/lng)")
async def list_projects(
    session: SessionDep, category: Category | None = None, district: District | None = None,
    date_from: Annotated[DayIn | None, Query(description="Local (Asia/Shanghai) date")] = None,
    date_to: Annotated[DayIn | None, Query(description="Local date, inclusive")] = None,
    open_only: Annotated[bool, Query(description="Only projects with an open shift with places left")] = False,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="GCJ-02")] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float, Query(gt=0, le=50)] = 10.0,
    sort: Literal["soonest", "distance"] | None = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[ProjectSummary]:
    if (lat is None) != (lng is None):
        raise errors.ValidationFailed(fields={"lat": "纬度和经度需要同时提供"})
    near = (lat, lng) if lat is not None and lng is not None else None
    return await volunteer.list_projects(session, category=category, district=district, date_from=date_from,
                                         date_to=date_to, open_only=open_only, near=near, radius_km=radius_km,
                                         sort=sort, cursor=cursor, limit=limit)


@router.get("/api/v1/volunteer/projects/{project_id}", response_model=ProjectPublic,
            summary="A project with its shifts and the places left per shift (and the caller's sign-ups)")
async def get_project(project_id: ProjectId, user: OptionalUser, session: SessionDep) -> ProjectPublic:
    return await volunteer.get_project(session, actor=user, project_id=project_id)


@router.post("/api/v1/volunteer/shifts/{shift_id}/signups", response_model=SignupPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[limit("volunteer_signup")],
             summary="Sign up: a place, or the waitlist when full and kept; a repeat answers the same sign-up")
async def sign_up(shift_id: ShiftId, user: YouthUser, session: SessionDep, idem: IdempotencyDep,
                  body: SignupIn | None = None) -> SignupPublic:
    return await idem.run(session, user, lambda: volunteer.sign_up(session, actor=user, shift_id=shift_id, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/volunteer/shifts/{shift_id}/signups/mine", response_model=SignupPublic)
async def my_signup(shift_id: ShiftId, user: YouthUser, session: SessionDep) -> SignupPublic:
    return await volunteer.my_signup(session, actor=user, shift_id=shift_id)


@router.delete("/api/v1/volunteer/shifts/{shift_id}/signups/mine", response_model=SignupPublic,
               summary="Cancel (after the cut-off it counts as a late cancellation); the waitlist moves up")
async def cancel_signup(shift_id: ShiftId, user: YouthUser, session: SessionDep) -> SignupPublic:
    return await volunteer.cancel(session, actor=user, shift_id=shift_id)


@router.get("/api/v1/volunteer/shifts/{shift_id}/ticket", response_model=TicketPublic,
            summary="The signed ticket (QR code) the organiser scans at check-in and check-out")
async def ticket(shift_id: ShiftId, user: YouthUser, session: SessionDep) -> TicketPublic:
    return await volunteer.ticket(session, actor=user, shift_id=shift_id)


@router.post("/api/v1/volunteer/shifts/{shift_id}/self-check-in", response_model=AttendancePublic,
             summary="Check in with wx.getLocation (GCJ-02) inside the shift's time window and radius")
async def self_check_in(shift_id: ShiftId, body: LocationIn, user: YouthUser, session: SessionDep
                        ) -> AttendancePublic:
    return await volunteer.self_check_in(session, actor=user, shift_id=shift_id, at=body)


@router.post("/api/v1/volunteer/shifts/{shift_id}/self-check-out", response_model=AttendancePublic,
             summary="Check out the same way; the hours are proposed and wait for the organiser")
async def self_check_out(shift_id: ShiftId, body: LocationIn, user: YouthUser, session: SessionDep
                         ) -> AttendancePublic:
    return await volunteer.self_check_out(session, actor=user, shift_id=shift_id, at=body)


@router.get("/api/v1/me/volunteer-signups", response_model=Page[MySignupItem],
            summary="My sign-ups: upcoming soonest first, or all newest first")
async def my_signups(user: YouthUser, session: SessionDep, upcoming: bool = True, cursor: Cursor = None,
                     limit: Limit = 20) -> Page[MySignupItem]:
    return await volunteer.my_signups(session, actor=user, upcoming=upcoming, cursor=cursor, limit=limit)


@router.get("/api/v1/me/volunteer-hours", response_model=Page[HoursPublic])
async def my_hours(user: YouthUser, session: SessionDep, status: HoursStatus | None = None, cursor: Cursor = None,
                   limit: Limit = 20) -> Page[HoursPublic]:
    return await volunteer.my_hours(session, actor=user, status=status, cursor=cursor, limit=limit)


@router.get("/api/v1/me/volunteer-hours/{hours_id}", response_model=HoursDetail,
            summary="One record of hours with its whole history (who changed what, and why)")
async def my_hours_detail(hours_id: HoursId, user: YouthUser, session: SessionDep) -> HoursDetail:
    return await volunteer.my_hours_detail(session, actor=user, hours_id=hours_id)


@router.post("/api/v1/me/volunteer-hours/{hours_id}/dispute", response_model=HoursDetail,
             summary="Dispute confirmed hours (within 7 days of the confirmation), with a reason")
async def dispute(hours_id: HoursId, body: DisputeIn, user: YouthUser, session: SessionDep) -> HoursDetail:
    return await volunteer.dispute(session, actor=user, hours_id=hours_id, reason=body.reason)


@router.get("/api/v1/me/volunteer-record", response_model=VolunteerRecord,
            summary="Confirmed hours in total, per project, category and year; the star level and the next")
async def my_record(user: YouthUser, session: SessionDep) -> VolunteerRecord:
    return await volunteer.record(session, actor=user)


@router.post("/api/v1/me/volunteer-certificates", response_model=CertificatePublic,
             status_code=status.HTTP_201_CREATED, summary="Issue a certificate for a period or a project (free)")
async def issue_certificate(body: CertificateIn, user: YouthUser, session: SessionDep, idem: IdempotencyDep
                            ) -> CertificatePublic:
    return await idem.run(session, user, lambda: volunteer.issue_certificate(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/me/volunteer-certificates", response_model=Page[CertificatePublic])
async def my_certificates(user: YouthUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                          ) -> Page[CertificatePublic]:
    return await volunteer.my_certificates(session, actor=user, cursor=cursor, limit=limit)


@router.get("/api/v1/me/volunteer-certificates/{certificate_id}", response_model=CertificatePublic)
async def my_certificate(certificate_id: CertificateId, user: YouthUser, session: SessionDep) -> CertificatePublic:
    return await volunteer.get_certificate(session, actor=user, certificate_id=certificate_id)


@router.get("/api/v1/me/volunteer-certificates/{certificate_id}/pdf", response_class=Response,
            summary="The certificate as a PDF (Chinese text, QR code of the verification link)",
            responses={200: {"content": {"application/pdf": {}}}})
async def my_certificate_pdf(certificate_id: CertificateId, user: YouthUser, session: SessionDep) -> Response:
    name, pdf = await volunteer.certificate_pdf(session, actor=user, certificate_id=certificate_id)
    return Response(content=pdf, media_type="application/pdf", headers={
        "Content-Disposition": csv.attachment(name),
        "Cache-Control": "no-store"})


@router.get("/api/v1/certificates/{code}", response_model=CertificateVerification,
            dependencies=[limit("certificate_verify")],
            summary="Public verification of a certificate (no login): masked name, hours, organisations, status")
async def verify_certificate(code: CertificateCode, session: SessionDep) -> CertificateVerification:
    return await volunteer.verify_certificate(session, raw_code=code)


# --- organisers -----------------------------------------------------------------------------------


@router.post("/api/v1/provider/volunteer/projects", response_model=ProjectProvider,
             status_code=status.HTTP_201_CREATED,
             summary="Create a project with its shifts (a draft: submit it through "
                     "/provider/postings/volunteer_project/{id}/submit)")
async def create_project(body: ProjectCreate, user: Organiser, session: SessionDep, idem: IdempotencyDep
                         ) -> ProjectProvider:
    return await idem.run(session, user, lambda: volunteer.create_project(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/provider/volunteer/projects/{project_id}", response_model=ProjectProvider)
async def get_own_project(project_id: ProjectId, user: Organiser, session: SessionDep) -> ProjectProvider:
    return await volunteer.get_own_project(session, actor=user, project_id=project_id)


@router.patch("/api/v1/provider/volunteer/projects/{project_id}", response_model=ProjectProvider,
              summary="Edit; public text edited on a published project sends it back to review")
async def update_project(project_id: ProjectId, body: ProjectUpdate, user: Organiser, session: SessionDep
                         ) -> ProjectProvider:
    return await volunteer.update_project(session, actor=user, project_id=project_id, data=body)


@router.post("/api/v1/provider/volunteer/projects/{project_id}/shifts", response_model=ProjectProvider,
             status_code=status.HTTP_201_CREATED, summary="Add a shift")
async def add_shift(project_id: ProjectId, body: ShiftIn, user: Organiser, session: SessionDep) -> ProjectProvider:
    return await volunteer.add_shift(session, actor=user, project_id=project_id, data=body)


@router.patch("/api/v1/provider/volunteer/shifts/{shift_id}", response_model=ProjectProvider,
              summary="Change a shift before it starts; people signed up are told when the time or place moves")
async def update_shift(shift_id: ShiftId, body: ShiftUpdate, user: Organiser, session: SessionDep) -> ProjectProvider:
    return await volunteer.update_shift(session, actor=user, shift_id=shift_id, data=body)


@router.post("/api/v1/provider/volunteer/shifts/{shift_id}/cancel", response_model=ProjectProvider,
             summary="Cancel a shift; everyone signed up or waiting is told why")
async def cancel_shift(shift_id: ShiftId, body: CancelShiftIn, user: Organiser, session: SessionDep
                       ) -> ProjectProvider:
    return await volunteer.cancel_shift(session, actor=user, shift_id=shift_id, reason=body.reason)


@router.get("/api/v1/provider/volunteer/shifts/{shift_id}/signups", response_model=Page[SignupProvider],
            summary="Sign-ups of a shift with attendance and hours")
async def shift_signups(shift_id: ShiftId, user: Organiser, session: SessionDep, status: SignupStatus | None = None,
                        cursor: Cursor = None, limit: Limit = 50) -> Page[SignupProvider]:
    return await volunteer.shift_signups(session, actor=user, shift_id=shift_id, status=status, cursor=cursor,
                                         limit=limit)


@router.get("/api/v1/provider/volunteer/shifts/{shift_id}/signups.csv", response_class=Response,
            summary="The same as CSV (audited)", responses={200: {"content": {"text/csv": {}}}})
async def shift_signups_csv(shift_id: ShiftId, user: Organiser, session: SessionDep,
                            status: SignupStatus | None = None) -> Response:
    return csv.response(await volunteer.shift_signups_csv(session, actor=user, shift_id=shift_id, status=status))


@router.post("/api/v1/provider/volunteer/shifts/{shift_id}/check-ins", response_model=AttendancePublic,
             summary="Scan a volunteer's ticket to check them in")
async def scan_check_in(shift_id: ShiftId, body: ScanIn, user: Organiser, session: SessionDep) -> AttendancePublic:
    return await volunteer.scan_check_in(session, actor=user, shift_id=shift_id, ticket=body.ticket)


@router.post("/api/v1/provider/volunteer/shifts/{shift_id}/check-outs", response_model=AttendancePublic,
             summary="Scan the ticket again to check them out; their hours are proposed")
async def scan_check_out(shift_id: ShiftId, body: ScanIn, user: Organiser, session: SessionDep) -> AttendancePublic:
    return await volunteer.scan_check_out(session, actor=user, shift_id=shift_id, ticket=body.ticket)


@router.post("/api/v1/provider/volunteer/signups/{signup_id}/waive-strike", response_model=SignupProvider,
             summary="Excuse a no-show or late cancellation with a reason (the shared restriction policy)")
async def waive_strike(signup_id: SignupId, body: WaiveIn, user: Organiser, session: SessionDep) -> SignupProvider:
    return await volunteer.waive_strike(session, actor=user, signup_id=signup_id, reason=body.reason)


@router.get("/api/v1/provider/volunteer/hours", response_model=Page[ProviderHours],
            summary="The organisation's records of hours, closest to the 10-working-day limit first")
async def provider_hours(user: Organiser, session: SessionDep, status: HoursStatus | None = None,
                         disputed: bool | None = None,
                         shift_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                         cursor: Cursor = None, limit: Limit = 50) -> Page[ProviderHours]:
    return await volunteer.provider_hours(session, actor=user, status=status, disputed=disputed, shift_id=shift_id,
                                          cursor=cursor, limit=limit)


@router.post("/api/v1/provider/volunteer/hours/confirm", response_model=BulkResult,
             summary="Confirm proposed hours in bulk")
async def confirm_hours(body: ConfirmIn, user: Organiser, session: SessionDep) -> BulkResult:
    return BulkResult(updated=await volunteer.confirm(session, actor=user, ids=body.ids))


@router.post("/api/v1/provider/volunteer/hours/adjust", response_model=BulkResult,
             summary="Set hours with a reason, in bulk (a correction revokes certificates that counted them)")
async def adjust_hours(body: AdjustIn, user: Organiser, session: SessionDep) -> BulkResult:
    return BulkResult(updated=await volunteer.adjust(session, actor=user, items=body.items))


@router.post("/api/v1/provider/volunteer/hours/{hours_id}/answer", response_model=HoursPublic,
             summary="Answer a volunteer's dispute with a reason (and new hours when it is upheld)")
async def answer_dispute(hours_id: HoursId, body: AnswerIn, user: Organiser, session: SessionDep) -> HoursPublic:
    return await volunteer.answer(session, actor=user, hours_id=hours_id, reason=body.reason, minutes=body.minutes)


# --- staff ----------------------------------------------------------------------------------------


@router.get("/api/v1/staff/volunteer/late-organisations", response_model=Page[LateOrganisation],
            summary="Organisations with hours unconfirmed past the 10-working-day limit")
async def late_organisations(user: StaffUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                             ) -> Page[LateOrganisation]:
    return await volunteer.late_organisations(session, cursor=cursor, limit=limit)


@router.get("/api/v1/staff/volunteer/certificates", response_model=Page[StaffCertificate],
            summary="Look up certificates ever issued (audited)")
async def search_certificates(
    user: StaffUser, session: SessionDep, code: Annotated[str | None, Query(max_length=40)] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: Literal["valid", "revoked"] | None = None,
    issued_from: Annotated[DayIn | None, Query(description="Local date")] = None,
    issued_to: Annotated[DayIn | None, Query(description="Local date, inclusive")] = None,
    cursor: Cursor = None, limit: Limit = 50,
) -> Page[StaffCertificate]:
    return await volunteer.search_certificates(session, actor=user, code=code, user_id=user_id, status=status,
                                               issued_from=issued_from, issued_to=issued_to, cursor=cursor,
                                               limit=limit)


@router.get("/api/v1/staff/volunteer/certificates/{certificate_id}", response_model=StaffCertificate)
async def staff_certificate(certificate_id: CertificateId, user: StaffUser, session: SessionDep) -> StaffCertificate:
    return await volunteer.staff_certificate(session, actor=user, certificate_id=certificate_id)


@router.post("/api/v1/staff/volunteer/certificates/{certificate_id}/revoke", response_model=StaffCertificate,
             summary="Revoke a certificate with a reason; its holder is told")
async def revoke_certificate(certificate_id: CertificateId, body: RevokeIn, user: StaffUser, session: SessionDep
                             ) -> StaffCertificate:
    return await volunteer.revoke_certificate(session, actor=user, certificate_id=certificate_id, reason=body.reason)
