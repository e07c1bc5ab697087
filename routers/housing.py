"""春城青居: public search, applications, the provider back office and the staff lottery steps."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response, StreamingResponse

from app.config import KUNMING_DISTRICTS
from app.deps import OptionalUser, Principal, ReadSession, SessionDep, StaffUser, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit import csv
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.ratelimit import limit
from app.schemas.housing import (
    ApplyIn,
    CorrectionIn,
    DecisionIn,
    EligibilityCheck,
    FavouriteState,
    Layout,
    LotteryPublic,
    MyApplication,
    ProjectCard,
    ProjectDetail,
    ProjectIn,
    ProjectUpdate,
    ProviderApplication,
    ProviderProject,
    RedrawIn,
    SeedIn,
    UnitTypeIn,
    UnitTypeUpdate,
    WithdrawIn,
    WithdrawOfferIn,
)
from app.services import housing
from models.housing import ApplicationStatus
from models.moderation import PostingStatus

router = APIRouter(tags=["housing"])

HousingProvider = Annotated[Principal, Depends(provider_of("housing_operator"))]
Cursor = Annotated[str | None, Query(max_length=300)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
Fen = Annotated[int | None, Query(ge=0, le=10_000_000, description="fen (1/100 yuan)")]


# --- young people -----------------------------------------------------------------------------------


@router.get("/api/v1/housing/projects", response_model=Page[ProjectCard],
            summary="Search published housing projects (by district, rent, layout, keyword, distance)")
async def search_projects(
    session: ReadSession,
    viewer: OptionalUser,
    district: Annotated[list[District] | None, Query(max_length=len(KUNMING_DISTRICTS))] = None,
    rent_min: Fen = None,
    rent_max: Fen = None,
    layout: Annotated[list[Layout] | None, Query(max_length=4)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    near: Annotated[str | None, Query(max_length=40, description="lat,lng e.g. 25.04,102.71")] = None,
    radius_km: Annotated[float, Query(gt=0, le=50)] = 5.0,
    available_only: bool = False,
    sort: Literal["newest", "rent", "rent_desc", "distance"] | None = Query(
        None, description="default: distance when near is given, else newest"),
    cursor: Cursor = None,
    limit: Limit = 20,
) -> Response:
    # Already the Page[ProjectCard] JSON (validated in the service): no second validation here.
    return Response(await housing.search(session, viewer=viewer, districts=district or (), rent_min=rent_min,
                                         rent_max=rent_max, layouts=layout or (), q=q, near=near,
                                         radius_km=radius_km, available_only=available_only, sort=sort,
                                         cursor=cursor, limit=limit), media_type="application/json")


@router.get("/api/v1/housing/projects/{project_id}", response_model=ProjectDetail)
async def project_detail(project_id: int, session: SessionDep, viewer: OptionalUser) -> ProjectDetail:
    return await housing.project_detail(session, viewer=viewer, project_id=project_id)


@router.get("/api/v1/housing/projects/{project_id}/eligibility", response_model=EligibilityCheck,
            summary="Check the logged-in person's profile against the project's rules")
async def check_eligibility(project_id: int, user: YouthUser, session: SessionDep) -> EligibilityCheck:
    return await housing.check_eligibility(session, actor=user, project_id=project_id)


@router.get("/api/v1/housing/projects/{project_id}/lottery", response_model=LotteryPublic,
            summary="The published lottery: frozen list and its hash, seed, algorithm, order")
async def lottery(project_id: int, session: SessionDep) -> LotteryPublic:
    return await housing.lottery_view(session, project_id=project_id)


@router.post("/api/v1/housing/projects/{project_id}/applications", response_model=MyApplication,
             status_code=status.HTTP_201_CREATED, summary="Apply for a unit type (Idempotency-Key honoured)",
             dependencies=[limit("housing_apply")])
async def apply(project_id: int, body: ApplyIn, user: YouthUser, session: SessionDep, idem: IdempotencyDep
                ) -> MyApplication:
    return await idem.run(session, user, lambda: housing.apply(session, actor=user, project_id=project_id,
                                                                unit_type_id=body.unit_type_id), status_code=201)


@router.put("/api/v1/housing/projects/{project_id}/favourite", response_model=FavouriteState)
async def add_favourite(project_id: int, user: YouthUser, session: SessionDep) -> FavouriteState:
    return await housing.set_favourite(session, actor=user, project_id=project_id, on=True)


@router.delete("/api/v1/housing/projects/{project_id}/favourite", response_model=FavouriteState)
async def remove_favourite(project_id: int, user: YouthUser, session: SessionDep) -> FavouriteState:
    return await housing.set_favourite(session, actor=user, project_id=project_id, on=False)


@router.get("/api/v1/me/housing-favourites", response_model=Page[ProjectCard])
async def my_favourites(user: YouthUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                        ) -> Page[ProjectCard]:
    return await housing.my_favourites(session, actor=user, cursor=cursor, limit=limit)


@router.get("/api/v1/me/housing-applications", response_model=Page[MyApplication])
async def my_applications(user: YouthUser, session: SessionDep, active_only: bool = False, cursor: Cursor = None,
                          limit: Limit = 20) -> Page[MyApplication]:
    return await housing.my_applications(session, actor=user, active_only=active_only, cursor=cursor, limit=limit)


@router.get("/api/v1/me/housing-applications/{application_id}", response_model=MyApplication,
            summary="One application with its status history")
async def my_application(application_id: int, user: YouthUser, session: SessionDep) -> MyApplication:
    return await housing.my_application(session, actor=user, application_id=application_id)


@router.post("/api/v1/me/housing-applications/{application_id}/accept", response_model=MyApplication)
async def accept_offer(application_id: int, user: YouthUser, session: SessionDep) -> MyApplication:
    return await housing.respond(session, actor=user, application_id=application_id, action="accept")


@router.post("/api/v1/me/housing-applications/{application_id}/decline", response_model=MyApplication)
async def decline_offer(application_id: int, user: YouthUser, session: SessionDep,
                        body: WithdrawIn | None = None) -> MyApplication:
    return await housing.respond(session, actor=user, application_id=application_id, action="decline",
                                 reason=body.reason if body else None)


@router.post("/api/v1/me/housing-applications/{application_id}/withdraw", response_model=MyApplication,
             summary="Withdraw an application (any time before accepting an offer)")
async def withdraw(application_id: int, user: YouthUser, session: SessionDep, body: WithdrawIn | None = None
                   ) -> MyApplication:
    return await housing.respond(session, actor=user, application_id=application_id, action="withdraw",
                                 reason=body.reason if body else None)


# --- housing operators ----------------------------------------------------------------------------------


@router.post("/api/v1/provider/housing/projects", response_model=ProviderProject,
             status_code=status.HTTP_201_CREATED, summary="Create a project (a draft) with its unit types")
async def create_project(body: ProjectIn, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.create_project(session, actor=user, data=body)


@router.get("/api/v1/provider/housing/projects", response_model=Page[ProviderProject])
async def provider_projects(user: HousingProvider, session: SessionDep, status: PostingStatus | None = None,
                            cursor: Cursor = None, limit: Limit = 20) -> Page[ProviderProject]:
    return await housing.provider_projects(session, actor=user, status=status, cursor=cursor, limit=limit)


@router.get("/api/v1/provider/housing/projects/{project_id}", response_model=ProviderProject)
async def provider_project(project_id: int, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.provider_project(session, actor=user, project_id=project_id)


@router.patch("/api/v1/provider/housing/projects/{project_id}", response_model=ProviderProject,
              summary="Edit a project (public text edited on a live project goes back to review)")
async def update_project(project_id: int, body: ProjectUpdate, user: HousingProvider, session: SessionDep
                         ) -> ProviderProject:
    return await housing.update_project(session, actor=user, project_id=project_id, data=body)


@router.post("/api/v1/provider/housing/projects/{project_id}/unit-types", response_model=ProviderProject,
             status_code=status.HTTP_201_CREATED)
async def add_unit_type(project_id: int, body: UnitTypeIn, user: HousingProvider, session: SessionDep
                        ) -> ProviderProject:
    return await housing.add_unit_type(session, actor=user, project_id=project_id, data=body)


@router.patch("/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}",
              response_model=ProviderProject)
async def update_unit_type(project_id: int, unit_type_id: int, body: UnitTypeUpdate, user: HousingProvider,
                           session: SessionDep) -> ProviderProject:
    return await housing.update_unit_type(session, actor=user, project_id=project_id, unit_type_id=unit_type_id,
                                          data=body)


@router.delete("/api/v1/provider/housing/projects/{project_id}/unit-types/{unit_type_id}",
               response_model=ProviderProject)
async def delete_unit_type(project_id: int, unit_type_id: int, user: HousingProvider, session: SessionDep
                           ) -> ProviderProject:
    return await housing.delete_unit_type(session, actor=user, project_id=project_id, unit_type_id=unit_type_id)


@router.post("/api/v1/provider/housing/projects/{project_id}/close-applications", response_model=ProviderProject)
async def close_applications(project_id: int, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.set_intake(session, actor=user, project_id=project_id, open_=False)


@router.post("/api/v1/provider/housing/projects/{project_id}/reopen-applications", response_model=ProviderProject)
async def reopen_applications(project_id: int, user: HousingProvider, session: SessionDep) -> ProviderProject:
    return await housing.set_intake(session, actor=user, project_id=project_id, open_=True)


@router.get("/api/v1/provider/housing/projects/{project_id}/applications", response_model=Page[ProviderApplication],
            summary="The project's applications with applicants' details (masked ID and phone; audited)")
async def provider_applications(
    project_id: int, user: HousingProvider, session: SessionDep, status: ApplicationStatus | None = None,
    unit_type_id: Annotated[int | None, Query(ge=1)] = None,
    number: Annotated[str | None, Query(max_length=32)] = None,
    order: Literal["submitted", "draw"] = "submitted", cursor: Cursor = None, limit: Limit = 50,
) -> Page[ProviderApplication]:
    return await housing.provider_applications(session, actor=user, project_id=project_id, status=status,
                                               unit_type_id=unit_type_id, number=number, order=order,
                                               cursor=cursor, limit=limit)


@router.get("/api/v1/provider/housing/projects/{project_id}/applications.csv", response_class=StreamingResponse,
            summary="Export the applications as CSV (ID and phone numbers masked; audited)",
            responses={200: {"content": {"text/csv": {}}}})
async def export_applications(project_id: int, user: HousingProvider, session: SessionDep,
                              status: ApplicationStatus | None = None) -> StreamingResponse:
    return csv.response(await housing.export_csv(session, actor=user, project_id=project_id, status=status))


@router.post("/api/v1/provider/housing/applications/{application_id}/decision", response_model=ProviderApplication,
             summary="Decide eligibility (a reason is required for ineligible)")
async def decide(application_id: int, body: DecisionIn, user: HousingProvider, session: SessionDep
                 ) -> ProviderApplication:
    return await housing.decide(session, actor=user, application_id=application_id, decision=body.decision,
                                reason=body.reason)


@router.post("/api/v1/provider/housing/applications/{application_id}/correct-decision",
             response_model=ProviderApplication,
             summary="Correct an earlier decision, with a reason the applicant sees (not after a lottery freeze)")
async def correct_decision(application_id: int, body: CorrectionIn, user: HousingProvider, session: SessionDep
                           ) -> ProviderApplication:
    return await housing.correct_decision(session, actor=user, application_id=application_id,
                                          decision=body.decision, reason=body.reason)


@router.post("/api/v1/provider/housing/applications/{application_id}/withdraw-offer",
             response_model=ProviderApplication,
             summary="Withdraw an outstanding offer, with a reason the applicant sees; the unit passes on")
async def withdraw_offer(application_id: int, body: WithdrawOfferIn, user: HousingProvider, session: SessionDep
                         ) -> ProviderApplication:
    return await housing.withdraw_offer(session, actor=user, application_id=application_id, reason=body.reason)


@router.post("/api/v1/provider/housing/projects/{project_id}/lottery/freeze", response_model=LotteryPublic,
             summary="Close applications and freeze the eligible list (its SHA-256 is published)")
async def freeze_lottery(project_id: int, user: HousingProvider, session: SessionDep) -> LotteryPublic:
    return await housing.freeze(session, actor=user, project_id=project_id)


# --- league staff -----------------------------------------------------------------------------------------


@router.post("/api/v1/staff/housing/projects/{project_id}/lottery/seed", response_model=LotteryPublic,
             summary="Record the announced public seed (once)")
async def lottery_seed(project_id: int, body: SeedIn, user: StaffUser, session: SessionDep) -> LotteryPublic:
    return await housing.set_seed(session, actor=user, project_id=project_id, seed=body.seed, source=body.source)


@router.post("/api/v1/staff/housing/projects/{project_id}/lottery/draw", response_model=LotteryPublic)
async def lottery_draw(project_id: int, user: StaffUser, session: SessionDep) -> LotteryPublic:
    return await housing.draw(session, actor=user, project_id=project_id)


@router.post("/api/v1/staff/housing/projects/{project_id}/lottery/redraw", response_model=LotteryPublic,
             summary="Draw again with a new seed and a reason (impossible once an offer was accepted)")
async def lottery_redraw(project_id: int, body: RedrawIn, user: StaffUser, session: SessionDep) -> LotteryPublic:
    return await housing.redraw(session, actor=user, project_id=project_id, seed=body.seed, source=body.source,
                                reason=body.reason)
