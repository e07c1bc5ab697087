"""A risk answer acted on.

A booking whose intake says "recently thought of harming myself" is flagged. The person is shown the
crisis lines at once and told that a counsellor of the centre will reach out — nothing more, ever,
about how the centre handles it. The centre must acknowledge the flag within
``YOUTH_COUNSELLING_RISK_ACK_HOURS`` of its opening hours (app.services.counselling.centre): the first
on its duty list and the booked counsellor are told at once; one of the care team records what was done
(called back, moved the session earlier, referred, other), and the first such follow-up acknowledges
the flag. Unacknowledged past the time, the sweeper job ``counselling.risk_escalation`` tells everyone
on the duty list (the owners when the list is empty), once. The obligation stands whatever the booking
becomes: a person who cancels a flagged booking still said what they said.

Follow-ups are readable only by the care team, each read audited; staff see counts only (the stats'
``risk_awaiting`` / ``risk_overdue``, computed from the due time at read, so they never wait for a
sweep).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.deps import Principal
from app.kit import sweeper
from app.kit.dialect import skip_locked
from app.kit.pagination import Key, Page, keyset
from app.kit.time import local
from app.schemas.counselling import (
    FOLLOW_UP_LABELS,
    RiskFollowUpIn,
    RiskFollowUpPublic,
    RiskQueueItem,
    RiskState,
)
from app.services import audit
from app.services.counselling import errors as cerr
from app.services.counselling.centre import (
    counsellor_member,
    due_after,
    duty_ids,
    is_on_duty,
    opening_hours,
    owner_ids,
    require_care_team,
)
from app.services.counselling.common import BOOKING, centre_booking_of, client_name
from app.services.counselling.notices import RISK_ESCALATED, RISK_FLAGGED
from app.services.counselling.settings import settings
from app.services.notifications.catalogue import notify_many
from models.accounts import User
from models.counselling import CounsellingBooking, CounsellingRiskFollowUp, Counsellor

B = CounsellingBooking
OUTREACH = "中心的咨询师会尽快主动联系您。如果您现在感到难以承受，请马上拨打下面的电话，或去最近的医院急诊。"


async def due_for(session: AsyncSession, org_id: int, now: datetime) -> datetime:
    week, _ = await opening_hours(session, org_id)
    return due_after(now, settings().counselling_risk_ack_hours, week)


async def alert(session: AsyncSession, booking: CounsellingBooking, counsellor: Counsellor) -> None:
    """Tell the first on the duty list (the owners without one) and the booked counsellor."""
    assert booking.risk_due_at is not None
    first = (await duty_ids(session, booking.org_id))[:1] or await owner_ids(session, booking.org_id)
    mine = await counsellor_member(session, counsellor)
    recipients = list(dict.fromkeys([*first, *([mine] if mine else [])]))
    notify_many(session, RISK_FLAGGED, recipients, data={"booking_id": booking.id},
                starts_at=booking.starts_at, due_at=booking.risk_due_at)


async def state(session: AsyncSession, booking: CounsellingBooking, now: datetime) -> RiskState | None:
    """The care team's view of a flagged booking's handling (None for an unflagged one)."""
    if booking.risk_due_at is None:
        return None
    rows = (await session.execute(select(CounsellingRiskFollowUp).where(CounsellingRiskFollowUp.booking_id == booking.id)
                                  .order_by(CounsellingRiskFollowUp.id))).scalars().all()
    return RiskState(
        due_at=local(booking.risk_due_at), acknowledged_at=booking.risk_acknowledged_at,
        overdue=booking.risk_acknowledged_at is None and booking.risk_due_at <= now,
        acknowledged_by=booking.risk_acknowledged_by, escalated_at=booking.risk_escalated_at,
        followups=[RiskFollowUpPublic(id=f.id, action=f.action, action_label=FOLLOW_UP_LABELS[f.action], note=f.note,
                                      author_id=f.author_id, created_at=f.created_at) for f in rows],
    )


async def follow_up(session: AsyncSession, *, actor: Principal, booking_id: int, data: RiskFollowUpIn) -> RiskState:
    now = clock.now()
    booking, counsellor = await centre_booking_of(session, actor, booking_id, for_update=True)
    await require_care_team(session, actor, booking, counsellor)
    if booking.risk_due_at is None:
        raise cerr.NotFlagged()
    session.add(CounsellingRiskFollowUp(booking_id=booking.id, author_id=actor.user_id, action=data.action,
                                        note=data.note, created_at=now))
    first = booking.risk_acknowledged_at is None
    if first:
        booking.risk_acknowledged_at, booking.risk_acknowledged_by = now, actor.user_id
    await session.flush()
    await audit.record(session, actor=actor, action="counselling.risk_followup", target_kind=BOOKING,
                       target_id=booking.id, detail={"action": data.action, "acknowledged": first})
    return await state(session, booking, now)  # type: ignore[return-value]


async def queue(session: AsyncSession, *, actor: Principal, cursor: str | None, limit: int) -> Page[RiskQueueItem]:
    """Flagged bookings of the centre nobody has acknowledged, most urgent first: all of them to the
    duty list, a counsellor's own to the counsellor, none to anyone else."""
    now = clock.now()
    stmt = (select(B.id, B.status, B.starts_at, B.counsellor_id, Counsellor.display_name, client_name(), B.age_band,
                   B.risk_due_at, B.risk_escalated_at)
            .join(Counsellor, Counsellor.id == B.counsellor_id).join(User, User.id == B.user_id)
            .where(B.org_id == actor.org_id, B.risk_due_at.is_not(None), B.risk_acknowledged_at.is_(None)))
    if not await is_on_duty(session, actor, actor.org_id or 0):
        stmt = stmt.where(Counsellor.user_id == actor.user_id)
    page = await keyset(session, stmt, [Key("due", B.risk_due_at, datetime), Key("id", B.id)], cursor=cursor,
                        limit=limit, tag="counselling.risk_queue")
    await audit.record(session, actor=actor, action="counselling.risk_queue", target_kind=BOOKING,
                       detail={"count": len(page.rows)})
    return page.page(lambda r: RiskQueueItem(
        booking_id=r.id, status=r.status, starts_at=local(r.starts_at), counsellor_id=r.counsellor_id,
        counsellor_name=r.display_name, client_name=r[5] or "来访者", age_band=r.age_band,
        due_at=local(r.risk_due_at), overdue=r.risk_due_at <= now, escalated_at=r.risk_escalated_at))


async def counts(session: AsyncSession, org_id: int | None, now: datetime) -> tuple[int, int]:
    """(awaiting, overdue): flagged bookings not yet acknowledged, before and past their time."""
    stmt = select(func.count(), func.sum(case((B.risk_due_at <= now, 1), else_=0))).where(
        B.risk_due_at.is_not(None), B.risk_acknowledged_at.is_(None))
    if org_id:
        stmt = stmt.where(B.org_id == org_id)
    total, overdue = (await session.execute(stmt)).one()
    return total - (overdue or 0), overdue or 0


@sweeper.job("counselling.risk_escalation", every=60, batch=100,
             description="Tell the whole duty list of flagged bookings nobody acknowledged in time")
async def escalate(session: AsyncSession, now: datetime) -> int:
    due = skip_locked(select(B.id).where(B.risk_due_at <= now, B.risk_acknowledged_at.is_(None),
                                         B.risk_escalated_at.is_(None)).order_by(B.risk_due_at).limit(100), session)
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return 0
    # Claimed by the conditional UPDATE: a booking acknowledged meanwhile, or taken by another sweeper, drops out.
    claimed = (await session.execute(
        update(B).where(B.id.in_(ids), B.risk_acknowledged_at.is_(None), B.risk_escalated_at.is_(None))
        .values(risk_escalated_at=now).returning(B.id, B.org_id, B.starts_at, B.risk_due_at)
        .execution_options(synchronize_session=False))).all()
    for booking_id, org_id, starts_at, due_at in claimed:
        recipients = await duty_ids(session, org_id) or await owner_ids(session, org_id)
        notify_many(session, RISK_ESCALATED, recipients, data={"booking_id": booking_id}, starts_at=starts_at,
                    due_at=due_at)
        await audit.record(session, actor=None, action="counselling.risk_escalated", target_kind=BOOKING,
                           target_id=booking_id, org_id=org_id, detail={"notified": len(recipients)})
    return len(claimed)
