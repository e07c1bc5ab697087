from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status

from app import errors
from app.config import KUNMING_DISTRICTS
from app.contract import raises
from app.deps import OptionalUser, Principal, SessionDep, YouthClaims, YouthUser, provider_of
from app.idempotency import IdempotencyDep
from app.kit.pagination import Page
from app.kit.postings import owned, path_id
from app.kit.ratelimit import limit
from app.schemas.common import Cursor, DayIn, Limit
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
from app.services.events import errors as everr
from models.events import Event

router = APIRouter(tags=["events"])

Organiser = Annotated[Principal, Depends(provider_of("event_organizer"))]
# The organiser's own event (another organisation's answers 404); locked where the route changes it.
OwnEvent = Annotated[Event, owned(events.KIND, "event_id")]
OwnEventLocked = Annotated[Event, owned(events.KIND, "event_id", for_update=True)]
District = Literal[KUNMING_DISTRICTS]  # type: ignore[valid-type]
EventId = path_id("活动编号")
RegistrationId = path_id("报名编号")
RegistrationStatus = Literal["confirmed", "waitlisted", "cancelled", "no_show", "event_cancelled"]


# --- young people ---------------------------------------------------------------------------------


@router.get("/api/v1/events", response_model=Page[EventSummary], summary="活动列表",
            description="不需要登录。已发布、尚未开始且未取消的活动，按开始时间从早到晚排列；可按区县和日期（本地日期，Asia/Shanghai，含首尾两天）筛选。")
@raises()
async def list_events(session: SessionDep,
                      district: Annotated[District | None, Query(description="区县；不填为全部")] = None,
                      date_from: Annotated[DayIn | None, Query(description="从这一天起（本地日期，Asia/Shanghai）")] = None,
                      date_to: Annotated[DayIn | None, Query(description="到这一天止（本地日期，含当天）")] = None,
                      cursor: Cursor = None, limit: Limit = 20) -> Page[EventSummary]:
    return await events.list_events(session, district=district, date_from=date_from, date_to=date_to,
                                    cursor=cursor, limit=limit)


@router.get("/api/v1/events/{event_id}", response_model=EventPublic,
            summary="活动详情",
            description="不需要登录；登录的青年用户还能看到自己的报名。活动介绍、各名额组的剩余名额和候补人数、取消截止时间（`cancel_cutoff_hours`）和互选时间。")
@raises(errors.NotFound)
async def get_event(event_id: EventId, user: OptionalUser, session: SessionDep) -> EventPublic:
    return await events.get_event(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/registrations", response_model=RegistrationPublic,
             status_code=status.HTTP_201_CREATED, dependencies=[limit("event_signup")],
             summary="报名活动",
            description="青年用户。在报名时间内报名：有名额即报名成功，名额已满则进入候补并得到候补名次。幂等：重复报名回答同一条报名；可带 `Idempotency-Key`。报名规则：实名认证（`require_real_name`）、年龄范围、仅限单身（`require_single`）、按性别分配名额时须填写性别；多次爽约或临时取消会被限制报名（`YOUTH_RESTRICTION_*`）。每人每分钟 10 次（`event_signup`）。")
@raises(errors.NotFound, errors.Conflict, everr.Cancelled, everr.SignupNotOpen, everr.SignupClosed, everr.SignupRestricted, everr.ProfileRequired, everr.AgeIneligible, everr.SingleRequired)
async def sign_up(event_id: EventId, request: Request, claims: YouthClaims, session: SessionDep,
                  idem: IdempotencyDep) -> RegistrationPublic:
    # The principal is read by the service, in the rush's one read on PostgreSQL (YouthClaims' rules).
    return await events.sign_up_request(session, request, claims, idem, event_id)


@router.get("/api/v1/events/{event_id}/registrations/mine", response_model=RegistrationPublic,
            summary="我的报名",
            description="青年用户。查看自己在这场活动的报名（状态、候补名次、胸牌号、取消截止时间）。")
@raises(everr.NotRegistered)
async def my_registration(event_id: EventId, user: YouthUser, session: SessionDep) -> RegistrationPublic:
    return await events.my_registration(session, actor=user, event_id=event_id)


@router.delete("/api/v1/events/{event_id}/registrations/mine", response_model=RegistrationPublic,
               summary="取消报名",
            description="青年用户。取消报名或退出候补；空出的名额立即给同一名额组候补的第一位。活动开始后不能取消；在取消截止时间（开始前 `cancel_cutoff_hours` 小时）之后取消报名成功的名额算临时取消，计入爽约记录（`YOUTH_RESTRICTION_*`）。")
@raises(everr.NotRegistered, everr.AlreadyStarted)
async def cancel_registration(event_id: EventId, user: YouthUser, session: SessionDep) -> RegistrationPublic:
    return await events.cancel_registration(session, actor=user, event_id=event_id)


@router.get("/api/v1/events/{event_id}/ticket", response_model=TicketPublic,
            summary="入场券",
            description="青年用户。报名成功的参加者获取签名的入场券，以二维码展示给主办方扫描签到；入场券有过期时间，过期后重新获取。")
@raises(errors.NotFound, everr.Cancelled, everr.TicketUnavailable)
async def ticket(event_id: EventId, user: YouthUser, session: SessionDep) -> TicketPublic:
    return await events.get_ticket(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/picks", response_model=PicksPublic,
             summary="提交互选",
            description="青年用户。到场签到的参加者在互选时间内（活动结束后 `choice_hours` 小时）按胸牌号选择最多 3 位签到的嘉宾，并留下联系方式；再次提交替换之前的选择（可重复调用）。")
@raises(errors.NotFound, errors.ValidationFailed, everr.ChoiceNotOpen, everr.ChoiceNotEligible)
async def submit_picks(event_id: EventId, body: PicksIn, user: YouthUser, session: SessionDep) -> PicksPublic:
    return await events.submit_picks(session, actor=user, event_id=event_id, data=body)


@router.get("/api/v1/events/{event_id}/picks", response_model=PicksPublic,
            summary="我的互选",
            description="青年用户。到场签到的参加者查看自己提交的互选和互选结束时间。")
@raises(errors.NotFound, everr.ChoiceNotOpen, everr.ChoiceNotEligible)
async def my_picks(event_id: EventId, user: YouthUser, session: SessionDep) -> PicksPublic:
    return await events.my_picks(session, actor=user, event_id=event_id)


@router.get("/api/v1/events/{event_id}/matches", response_model=Page[MatchPublic],
            summary="互选结果",
            description="青年用户。到场签到的参加者在互选结束后查看互相选择的人及其留下的联系方式；互选结束前不公布，只回答互相选择的。"
                        "每人最多选 3 人，结果总在一页内（`next_cursor` 为空）。")
@raises(errors.NotFound, everr.ChoiceNotOpen, everr.ChoiceNotEligible, everr.ChoiceResultsPending)
async def matches(event_id: EventId, user: YouthUser, session: SessionDep) -> Page[MatchPublic]:
    return await events.matches(session, actor=user, event_id=event_id)


@router.get("/api/v1/me/event-registrations", response_model=Page[MyRegistrationItem],
            summary="我报名的活动",
            description="青年用户。查看自己的所有活动报名（含已取消的），带活动标题和开始时间。只读。")
@raises()
async def my_registrations(user: YouthUser, session: SessionDep, cursor: Cursor = None, limit: Limit = 20
                           ) -> Page[MyRegistrationItem]:
    return await events.my_registrations(session, actor=user, cursor=cursor, limit=limit)


@router.get("/api/v1/me/event-restriction", response_model=RestrictionPublic,
            summary="我的报名限制",
            description="青年用户。查看自己现在是否因多次爽约或临时取消被限制报名活动、限制到何时以及原因（规则见 `YOUTH_RESTRICTION_*`）。只读。")
@raises()
async def my_restriction(user: YouthUser, session: SessionDep) -> RestrictionPublic:
    return await events.my_restriction(session, actor=user)


# --- organisers -----------------------------------------------------------------------------------


@router.post("/api/v1/provider/events", response_model=EventProvider, status_code=status.HTTP_201_CREATED,
             summary="创建活动",
            description="仅活动主办机构（联谊交友类机构）成员。创建的活动为草稿，通过 `/api/v1/provider/postings/event/{id}/submit` 提交审核，审核通过后发布。时间必须带时区。可带 `Idempotency-Key`，重复请求回答同一个活动。")
@raises(errors.ValidationFailed)
async def create_event(body: EventCreate, user: Organiser, session: SessionDep, idem: IdempotencyDep
                       ) -> EventProvider:
    return await idem.run(session, user, lambda: events.create_event(session, actor=user, data=body),
                          status_code=status.HTTP_201_CREATED)


@router.get("/api/v1/provider/events/{event_id}", response_model=EventProvider,
            summary="我的活动详情",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。活动的全部设置、各名额组的报名人数、签到人数和审核状态。")
@raises()
async def get_own_event(ev: OwnEvent, session: SessionDep) -> EventProvider:
    return await events.get_own_event(session, ev=ev)


@router.patch("/api/v1/provider/events/{event_id}", response_model=EventProvider,
              summary="修改活动",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。只改填写的字段；已发布的活动修改公开内容后重新进入审核。已取消的活动不能修改；已有人报名的活动不能把时间改到过去。名额通过“修改名额”修改。")
@raises(errors.ValidationFailed, errors.PostingStateInvalid, everr.StateInvalid, everr.TimeInPast)
async def update_event(ev: OwnEventLocked, body: EventUpdate, user: Organiser, session: SessionDep) -> EventProvider:
    return await events.update_event(session, actor=user, ev=ev, data=body)


@router.put("/api/v1/provider/events/{event_id}/capacity", response_model=EventProvider,
            summary="修改名额",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。修改总名额（按性别分配的活动须同时给出男女名额）；不能少于已报名成功的人数，增加的名额先给候补的人。已取消或已结束的活动不能修改。")
@raises(errors.ValidationFailed, everr.StateInvalid, everr.CapacityBelowConfirmed)
async def change_capacity(ev: OwnEventLocked, body: CapacityIn, user: Organiser, session: SessionDep
                          ) -> EventProvider:
    return await events.change_capacity(session, actor=user, ev=ev, data=body)


@router.post("/api/v1/provider/events/{event_id}/cancel", response_model=EventProvider,
             summary="取消活动",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。取消整场活动，必须给出理由；所有报名和候补的人都会收到通知。已取消或已结束的活动不能取消。")
@raises(everr.StateInvalid)
async def cancel_event(ev: OwnEventLocked, body: CancelEventIn, user: Organiser, session: SessionDep
                       ) -> EventProvider:
    return await events.cancel_event(session, actor=user, ev=ev, reason=body.reason)


@router.get("/api/v1/provider/events/{event_id}/attendees", response_model=Page[AttendeePublic],
            summary="报名名单",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。报名名单，只有胸牌号、昵称、性别和年龄，不含姓名、身份证号和电话；可按报名状态筛选。")
@raises()
async def attendees(ev: OwnEvent, user: Organiser, session: SessionDep, status: Annotated[RegistrationStatus | None, Query(description="报名状态；不填为全部")] = None,
                    cursor: Cursor = None, limit: Limit = 50) -> Page[AttendeePublic]:
    return await events.attendees(session, actor=user, ev=ev, status=status, cursor=cursor, limit=limit)


@router.post("/api/v1/provider/events/{event_id}/check-ins", response_model=CheckInResult,
             summary="扫码签到",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。扫描参加者的入场券签到，每张入场券只能签到一次；签到从活动开始前 `event_check_in_opens_minutes` 分钟（默认 120）开放到活动结束。")
@raises(everr.Cancelled, everr.TicketInvalid, everr.TicketWrongEvent, everr.CheckInNotOpen, everr.AlreadyCheckedIn, everr.TicketRevoked)
async def check_in(ev: OwnEventLocked, body: CheckInIn, user: Organiser, session: SessionDep) -> CheckInResult:
    return await events.check_in(session, actor=user, ev=ev, ticket=body.ticket)


@router.get("/api/v1/provider/events/{event_id}/choice-summary", response_model=ChoiceSummary,
            summary="互选统计",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。互选的整体情况（签到、参与、选择和互相选择的人数），从不显示谁选了谁。")
@raises()
async def choice_summary(ev: OwnEvent, session: SessionDep) -> ChoiceSummary:
    return await events.choice_summary(session, ev=ev)


@router.post("/api/v1/provider/events/{event_id}/registrations/{registration_id}/waive-strike",
             response_model=AttendeePublic,
summary="撤销爽约记录",
            description="仅活动主办机构（联谊交友类机构）成员，只能操作本机构的活动（其他机构的活动回答 404）。撤销一次爽约或临时取消记录，必须给出理由（参加者会收到）；由它造成的报名限制随之解除。")
@raises(errors.NotFound, everr.NoStrike)
async def waive_strike(ev: OwnEvent, registration_id: RegistrationId, body: WaiveIn, user: Organiser,
                       session: SessionDep) -> AttendeePublic:
    return await events.waive_strike(session, actor=user, ev=ev, registration_id=registration_id, reason=body.reason)
