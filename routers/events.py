from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from app.config import KUNMING_DISTRICTS
from app.deps import OptionalUser, Principal, SessionDep, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit.pagination import MAX_LIMIT, Page
from app.kit.postings import owned, path_id
from app.kit.ratelimit import limit
from app.schemas.common import DayIn
from app.schemas.events import (
    AttendeePublic,
    CancelEventIn,
    CapacityIn,
    CheckInIn,
    CheckInResult,
    ChoiceSummary,
    EventCreate,
    EventProvider,
    EventPublic,
    EventSummary,
    EventUpdate,
    MatchPublic,
    MyRegistrationItem,
    PicksIn,
    PicksPublic,
    RegistrationPublic,
    RestrictionPublic,
    TicketPublic,
    WaiveIn,
)
from app.services import events
from models.events import Event

router = APIRouter(tags=["events"])

Organiser = Annotated[Principal, Depends(provider_of("event_organizer"))]
# The organiser's own event (another organisation's answers 404); locked where the route changes it.
OwnEvent = Annotated[Event, owned(events.KIND, "event_id")]
OwnEventLocked = Annotated[Event, owned(events.KIND, "event_id", for_update=True)]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
EventId = path_id("Event id")
RegistrationId = path_id("Registration id")
RegistrationStatus = Literal["confirmed", "waitlisted", "cancelled", "no_show", "event_cancelled"]


# --- young people ---------------------------------------------------------------------------------


@router.get("/api/v1/events", response_model=Page[EventSummary], summary="Upcoming events, soonest first")
async def list_events(session: SessionDep, district: District | None = None,
                      date_from: Annotated[DayIn | None, Query(description="Local (Asia/Shanghai) date")] = None,
                      date_to: Annotated[DayIn | None, Query(description="Local date, inclusive")] = None,
                      cursor: Cursor = None, limit: Limit = 20) -> Page[EventSummary]:
    return await events.list_events(session, district=district, date_from=date_from, date_to=date_to,
                                    cursor=cursor, limit=limit)


@router.get("/api/v1/events/{event_id}", response_model=EventPublic,
            summary="An event with the places left per quota (and the caller's own registration)")
async def get_event(event_id: EventId, user: OptionalUser, session: SessionDep) -> EventPublic:
    return await events.get_event(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/registrations", response_model=RegistrationPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[limit("event_signup")],
             summary="Sign up: confirmed, or waitlisted with a position; a repeat answers the same registration")
async def sign_up(event_id: EventId, user: YouthUser, session: SessionDep, idem: IdempotencyDep) -> RegistrationPublic:
    return await idem.run(session, user, lambda: events.sign_up(session, actor=user, event_id=event_id),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/events/{event_id}/registrations/mine", response_model=RegistrationPublic)
async def my_registration(event_id: EventId, user: YouthUser, session: SessionDep) -> RegistrationPublic:
    return await events.my_registration(session, actor=user, event_id=event_id)


@router.delete("/api/v1/events/{event_id}/registrations/mine", response_model=RegistrationPublic,
               summary="Cancel; the first person waiting in the same quota gets the place")
async def cancel_registration(event_id: EventId, user: YouthUser, session: SessionDep) -> RegistrationPublic:
    return await events.cancel_registration(session, actor=user, event_id=event_id)


@router.get("/api/v1/events/{event_id}/ticket", response_model=TicketPublic,
            summary="The signed entrance ticket (QR code) of a confirmed attendee")
async def ticket(event_id: EventId, user: YouthUser, session: SessionDep) -> TicketPublic:
    return await events.get_ticket(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/picks", response_model=PicksPublic,
             summary="Mutual choice: pick up to 3 checked-in attendees by badge number (replaces earlier picks)")
async def submit_picks(event_id: EventId, body: PicksIn, user: YouthUser, session: SessionDep) -> PicksPublic:
    return await events.submit_picks(session, actor=user, event_id=event_id, data=body)


@router.get("/api/v1/events/{event_id}/picks", response_model=PicksPublic)
async def my_picks(event_id: EventId, user: YouthUser, session: SessionDep) -> PicksPublic:
    return await events.my_picks(session, actor=user, event_id=event_id)


@router.get("/api/v1/events/{event_id}/matches", response_model=list[MatchPublic],
            summary="Mutual picks only, once the choice window has closed")
async def matches(event_id: EventId, user: YouthUser, session: SessionDep) -> list[MatchPublic]:
    return await events.matches(session, actor=user, event_id=event_id)


@router.get("/api/v1/me/event-registrations", response_model=Page[MyRegistrationItem])
async def my_registrations(user: YouthUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                           ) -> Page[MyRegistrationItem]:
    return await events.my_registrations(session, actor=user, cursor=cursor, limit=limit)


@router.get("/api/v1/me/event-restriction", response_model=RestrictionPublic,
            summary="Whether repeated no-shows or late cancellations currently block sign-ups, and why")
async def my_restriction(user: YouthUser, session: SessionDep) -> RestrictionPublic:
    return await events.my_restriction(session, actor=user)


# --- organisers -----------------------------------------------------------------------------------


@router.post("/api/v1/provider/events", response_model=EventProvider, status_code=status.HTTP_201_CREATED,
             summary="Create an event (a draft; submit it for review through /provider/postings/event/{id}/submit)")
async def create_event(body: EventCreate, user: Organiser, session: SessionDep, idem: IdempotencyDep
                       ) -> EventProvider:
    return await idem.run(session, user, lambda: events.create_event(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/provider/events/{event_id}", response_model=EventProvider)
async def get_own_event(ev: OwnEvent, session: SessionDep) -> EventProvider:
    return await events.get_own_event(session, ev=ev)


@router.patch("/api/v1/provider/events/{event_id}", response_model=EventProvider,
              summary="Edit; public text edited on a published event sends it back to review")
async def update_event(ev: OwnEventLocked, body: EventUpdate, user: Organiser, session: SessionDep) -> EventProvider:
    return await events.update_event(session, actor=user, ev=ev, data=body)


@router.put("/api/v1/provider/events/{event_id}/capacity", response_model=EventProvider,
            summary="Change the places (never below the confirmed ones); added places go to the waitlist first")
async def change_capacity(ev: OwnEventLocked, body: CapacityIn, user: Organiser, session: SessionDep
                          ) -> EventProvider:
    return await events.change_capacity(session, actor=user, ev=ev, data=body)


@router.post("/api/v1/provider/events/{event_id}/cancel", response_model=EventProvider,
             summary="Cancel the whole event; everyone registered is notified")
async def cancel_event(ev: OwnEventLocked, body: CancelEventIn, user: Organiser, session: SessionDep
                       ) -> EventProvider:
    return await events.cancel_event(session, actor=user, ev=ev, reason=body.reason)


@router.get("/api/v1/provider/events/{event_id}/attendees", response_model=Page[AttendeePublic],
            summary="Registrations with badge number, nickname, gender and age only")
async def attendees(ev: OwnEvent, user: Organiser, session: SessionDep, status: RegistrationStatus | None = None,
                    cursor: Cursor = None, limit: Limit = 50) -> Page[AttendeePublic]:
    return await events.attendees(session, actor=user, ev=ev, status=status, cursor=cursor, limit=limit)


@router.post("/api/v1/provider/events/{event_id}/check-ins", response_model=CheckInResult,
             summary="Scan an attendee's ticket; each ticket checks in once")
async def check_in(ev: OwnEventLocked, body: CheckInIn, user: Organiser, session: SessionDep) -> CheckInResult:
    return await events.check_in(session, actor=user, ev=ev, ticket=body.ticket)


@router.get("/api/v1/provider/events/{event_id}/choice-summary", response_model=ChoiceSummary,
            summary="How the mutual choice went, in counts (never who picked whom)")
async def choice_summary(ev: OwnEvent, session: SessionDep) -> ChoiceSummary:
    return await events.choice_summary(session, ev=ev)


@router.post("/api/v1/provider/events/{event_id}/registrations/{registration_id}/waive-strike",
             response_model=AttendeePublic,
             summary="Excuse a no-show or late cancellation (with a reason the person is told); a restriction it "
                     "caused is lifted")
async def waive_strike(ev: OwnEvent, registration_id: RegistrationId, body: WaiveIn, user: Organiser,
                       session: SessionDep) -> AttendeePublic:
    return await events.waive_strike(session, actor=user, ev=ev, registration_id=registration_id, reason=body.reason)
