from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from app import errors
from app.config import KUNMING_DISTRICTS
from app.deps import OptionalUser, Principal, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit import csv
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.postings import owned, path_id
from app.kit.ratelimit import limit
from app.schemas.openings import (
    ApplicationProvider,
    ApplicationPublic,
    ApplicationStatus,
    ApplyIn,
    BulkRejectResult,
    InterviewIn,
    OfferIn,
    OpeningCreate,
    OpeningKind,
    OpeningProvider,
    OpeningPublic,
    OpeningSummary,
    OpeningUpdate,
    RejectIn,
    ResponseTime,
    ResumeIn,
    ResumePublic,
    WithdrawIn,
)
from app.schemas.profile import Education
from app.services import openings
from models.openings import Opening

router = APIRouter(tags=["openings"])

Provider = Annotated[Principal, Depends(provider_of("employer", "incubator"))]
OwnOpening = Annotated[Opening, owned(openings.KIND, "opening_id")]
OwnOpeningLocked = Annotated[Opening, owned(openings.KIND, "opening_id", for_update=True)]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
OpeningId = path_id("岗位编号")
ApplicationId = path_id("申请编号")
Text = Annotated[str | None, Query(min_length=1, max_length=50)]
Fen = Annotated[int | None, Query(ge=0, le=10_000_000, description="In fen")]


# --- young people ---------------------------------------------------------------------------------


@router.get("/api/v1/openings", response_model=Page[OpeningSummary],
            summary="Published openings of one kind still taking applications (newest, deadline, stipend or nearest)")
async def list_openings(
    session: SessionDep, kind: OpeningKind = "internship", district: District | None = None,
    education: Annotated[Education | None, Query(description="The applicant's education: openings it meets")] = None,
    major: Text = None, stipend_min: Fen = None, stipend_max: Fen = None,
    q: Annotated[str | None, Query(min_length=1, max_length=50, description="Keyword in title or description")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="GCJ-02")] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float, Query(gt=0, le=100)] = 10.0,
    sort: Literal["newest", "deadline", "stipend", "distance"] | None = None,
    cursor: Cursor = None, limit: Limit = 20,
) -> Page[OpeningSummary]:
    if (lat is None) != (lng is None):
        raise errors.ValidationFailed(fields={"lat": "纬度和经度需要同时提供"})
    near = (lat, lng) if lat is not None and lng is not None else None
    return await openings.browse(session, kind=kind, district=district, education=education, major=major,
                                 stipend_min=stipend_min, stipend_max=stipend_max, q=q, near=near, radius_km=radius_km,
                                 sort=sort, cursor=cursor, limit=limit)


@router.get("/api/v1/openings/{opening_id}", response_model=OpeningPublic,
            summary="An opening (and the caller's application to it, if any)")
async def get_opening(opening_id: OpeningId, user: OptionalUser, session: SessionDep) -> OpeningPublic:
    return await openings.detail(session, actor=user, opening_id=opening_id)


@router.post("/api/v1/openings/{opening_id}/applications", response_model=ApplicationPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[limit("opening_apply")],
             summary="Apply with the profile's résumé (edits for this application allowed) or a venture")
async def apply(opening_id: OpeningId, user: YouthUser, session: SessionDep, idem: IdempotencyDep,
                body: ApplyIn | None = None) -> ApplicationPublic:
    return await idem.run(session, user, lambda: openings.apply(session, actor=user, opening_id=opening_id, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/me/opening-resume", response_model=ResumePublic)
async def get_resume(user: YouthUser, session: SessionDep) -> ResumePublic:
    return await openings.get_resume(session, actor=user)


@router.put("/api/v1/me/opening-resume", response_model=ResumePublic, summary="Replace the résumé kept in the profile")
async def put_resume(body: ResumeIn, user: YouthUser, session: SessionDep) -> ResumePublic:
    return await openings.put_resume(session, actor=user, data=body)


@router.get("/api/v1/me/opening-applications", response_model=Page[ApplicationPublic],
            summary="My applications, newest first, each with its current status and full history")
async def my_applications(user: YouthUser, session: SessionDep, status: ApplicationStatus | None = None,
                          cursor: Cursor = None, limit: Limit = 20) -> Page[ApplicationPublic]:
    return await openings.mine(session, actor=user, status=status, cursor=cursor, limit=limit)


@router.get("/api/v1/me/opening-applications/{application_id}", response_model=ApplicationPublic)
async def my_application(application_id: ApplicationId, user: YouthUser, session: SessionDep) -> ApplicationPublic:
    return await openings.my_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/me/opening-applications/{application_id}/withdraw", response_model=ApplicationPublic,
             summary="Withdraw before an offer")
async def withdraw(application_id: ApplicationId, user: YouthUser, session: SessionDep,
                   body: WithdrawIn | None = None) -> ApplicationPublic:
    app = await openings.withdraw(session, actor=user, application_id=application_id,
                                  reason=body.reason if body else None)
    return await openings.view_of(session, app)


@router.post("/api/v1/me/opening-applications/{application_id}/accept", response_model=ApplicationPublic,
             summary="Accept an offer before its answer-by time: takes a place, or OPENING_PLACES_FILLED")
async def accept(application_id: ApplicationId, user: YouthUser, session: SessionDep) -> ApplicationPublic:
    app = await openings.accept(session, actor=user, application_id=application_id)
    return await openings.view_of(session, app)


@router.post("/api/v1/me/opening-applications/{application_id}/decline", response_model=ApplicationPublic)
async def decline(application_id: ApplicationId, user: YouthUser, session: SessionDep,
                  body: WithdrawIn | None = None) -> ApplicationPublic:
    app = await openings.decline(session, actor=user, application_id=application_id,
                                 reason=body.reason if body else None)
    return await openings.view_of(session, app)


# --- providers ------------------------------------------------------------------------------------


@router.post("/api/v1/provider/openings", response_model=OpeningProvider, status_code=status.HTTP_201_CREATED,
             summary="Create an opening (a draft: submit it through /provider/postings/opening/{id}/submit)")
async def create_opening(body: OpeningCreate, user: Provider, session: SessionDep, idem: IdempotencyDep
                         ) -> OpeningProvider:
    return await idem.run(session, user, lambda: openings.create(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/provider/openings/{opening_id}", response_model=OpeningProvider)
async def get_own_opening(opening: OwnOpening, session: SessionDep) -> OpeningProvider:
    return await openings.opening_view(session, opening)


@router.patch("/api/v1/provider/openings/{opening_id}", response_model=OpeningProvider,
              summary="Edit; public text edited on a published opening sends it back to review")
async def update_opening(opening_id: OpeningId, body: OpeningUpdate, user: Provider, session: SessionDep
                         ) -> OpeningProvider:
    return await openings.update_opening(session, actor=user, opening_id=opening_id, data=body)


@router.get("/api/v1/provider/openings/{opening_id}/applications", response_model=Page[ApplicationProvider],
            summary="Applications to the opening, in the order they came")
async def applications(opening: OwnOpening, session: SessionDep, status: ApplicationStatus | None = None,
                       education: Education | None = None, major: Text = None, cursor: Cursor = None,
                       limit: Limit = 50) -> Page[ApplicationProvider]:
    return await openings.applications(session, opening=opening, status=status, education=education, major=major,
                                       cursor=cursor, limit=limit)


@router.get("/api/v1/provider/openings/{opening_id}/applications.csv", response_class=Response,
            summary="The same as CSV (audited)", responses={200: {"content": {"text/csv": {}}}})
async def applications_csv(opening: OwnOpening, user: Provider, session: SessionDep,
                           status: ApplicationStatus | None = None, education: Education | None = None,
                           major: Text = None) -> Response:
    return csv.response(await openings.applications_csv(session, actor=user, opening=opening, status=status,
                                                        education=education, major=major))


@router.post("/api/v1/provider/openings/{opening_id}/reject-rest", response_model=BulkRejectResult,
             summary="Reject, with one reason, every application still open (the places are filled)")
async def reject_rest(opening: OwnOpeningLocked, body: RejectIn, user: Provider, session: SessionDep
                      ) -> BulkRejectResult:
    return BulkRejectResult(rejected=await openings.reject_rest(session, actor=user, opening=opening,
                                                                reason_code=body.reason_code, reason=body.reason))


@router.get("/api/v1/provider/opening-applications/{application_id}", response_model=ApplicationProvider,
            summary="One application with its history (reading it changes nothing)")
async def get_application(application_id: ApplicationId, user: Provider, session: SessionDep) -> ApplicationProvider:
    return await openings.get_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/provider/opening-applications/{application_id}/open", response_model=ApplicationProvider,
             summary="Open the application: a submitted one becomes viewed and the applicant is told")
async def open_application(application_id: ApplicationId, user: Provider, session: SessionDep) -> ApplicationProvider:
    return await openings.open_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/provider/opening-applications/{application_id}/interview", response_model=ApplicationProvider,
             summary="Schedule (or reschedule) an interview: a time and a place or an online link")
async def interview(application_id: ApplicationId, body: InterviewIn, user: Provider, session: SessionDep
                    ) -> ApplicationProvider:
    app = await openings.interview(session, actor=user, application_id=application_id, data=body)
    return await openings.provider_view(session, app)


@router.post("/api/v1/provider/opening-applications/{application_id}/offer", response_model=ApplicationProvider,
             summary="Make an offer with an answer-by time (it lapses after)")
async def offer(application_id: ApplicationId, body: OfferIn, user: Provider, session: SessionDep
                ) -> ApplicationProvider:
    app = await openings.offer(session, actor=user, application_id=application_id, data=body)
    return await openings.provider_view(session, app)


@router.post("/api/v1/provider/opening-applications/{application_id}/reject", response_model=ApplicationProvider,
             summary="Reject with a reason code (and text; required for 'other') from any open state")
async def reject(application_id: ApplicationId, body: RejectIn, user: Provider, session: SessionDep
                 ) -> ApplicationProvider:
    app = await openings.reject(session, actor=user, application_id=application_id, reason_code=body.reason_code,
                                reason=body.reason)
    return await openings.provider_view(session, app)


# --- staff ----------------------------------------------------------------------------------------


@router.get("/api/v1/staff/openings/response-times", response_model=Page[ResponseTime],
            summary="Per organisation: how fast it first decides on applications, and how many wait")
async def response_times(user: StaffUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
                         ) -> Page[ResponseTime]:
    return await openings.response_times(session, cursor=cursor, limit=limit)
