"""The status pipeline of an application, as one table, and every move along it.

    submitted → viewed → interview → offered → accepted | declined | lapsed
    rejected (with a reason) from any open state;  withdrawn by the applicant before an offer

``TRANSITIONS`` says, for each (from, to), who may make it; anything else is refused with
OPENING_TRANSITION_NOT_ALLOWED (Frappe HR's bugs #680 and #3389 let offers go to rejected applicants).
Every change writes an append-only history row (who, from, to, reason, when) and tells the applicant.

How the rules hold under concurrent requests: a move locks the application row first (FOR UPDATE; SQLite
serialises writers anyway), so two moves of one application happen one after the other and the second
sees the first. Accepting takes a place with the opening's capacity counter (one conditional UPDATE,
app.kit.capacity) in the same transaction: concurrent accepts for the last place leave exactly one.
An offer lapses at its answer-by time: reads show it lapsed at once, moves treat it as lapsed, and the
sweeper job ``openings.lapse_offers`` stores it and tells the applicant. Lock order: the opening row
(accepting, bulk rejection, staff taking it down), then application rows in id order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.kit import sweeper
from app.kit.dialect import skip_locked
from app.schemas.openings import REJECT_REASONS, STATUS_LABELS, InterviewIn, OfferIn
from app.services import audit
from app.services.notifications.catalogue import notify
from app.services.openings import errors as oerr
from app.services.openings.common import ANSWERED, NOTICE_FOR, PLACES, A, tell_org
from app.services.openings.settings import settings
from models.openings import OPEN_STATUSES, Opening, OpeningApplication, OpeningApplicationEvent

YOUTH, PROVIDER, SYSTEM = "youth", "provider", "system"

# (from, to) → who may make the move. Nothing else is a move.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("submitted", "viewed"): frozenset({PROVIDER}),
    ("submitted", "interview"): frozenset({PROVIDER}),
    ("viewed", "interview"): frozenset({PROVIDER}),
    ("interview", "interview"): frozenset({PROVIDER}),  # rescheduled
    ("submitted", "offered"): frozenset({PROVIDER}),
    ("viewed", "offered"): frozenset({PROVIDER}),
    ("interview", "offered"): frozenset({PROVIDER}),
    ("offered", "accepted"): frozenset({YOUTH}),
    ("offered", "declined"): frozenset({YOUTH}),
    ("offered", "lapsed"): frozenset({SYSTEM}),
    **{(s, "rejected"): frozenset({PROVIDER, SYSTEM}) for s in OPEN_STATUSES},
    **{(s, "withdrawn"): frozenset({YOUTH}) for s in ("submitted", "viewed", "interview")},
}
# The provider's first decision, for its response time.
DECISIONS = frozenset({"interview", "offered", "rejected"})
_VERBS = {"viewed": "标记为已查看", "interview": "安排面试", "offered": "发出录用", "accepted": "接受录用",
          "declined": "婉拒录用", "lapsed": "作废录用", "rejected": "设为未通过", "withdrawn": "撤回"}


def effective_status(app: OpeningApplication, now: datetime) -> str:
    """The status as it is now: an offer past its answer-by time is lapsed even before the sweeper."""
    if app.status == "offered" and app.answer_by is not None and now >= app.answer_by:
        return "lapsed"
    return app.status


def can_withdraw(status: str) -> bool:
    return (status, "withdrawn") in TRANSITIONS


def allowed(status: str, to: str, role: str) -> bool:
    return role in TRANSITIONS.get((status, to), frozenset())


def check(app: OpeningApplication, to: str, role: str, now: datetime) -> None:
    """Refuse a move the table does not allow, with the status it is in now."""
    # The lapse itself is the move from the stored "offered"; every other move sees the lapse.
    current = app.status if to == "lapsed" else effective_status(app, now)
    if to == "lapsed" and effective_status(app, now) != "lapsed":
        raise oerr.TransitionNotAllowed("录用的答复期限还没到")
    if not allowed(current, to, role):
        if current == "lapsed" and app.status == "offered":
            raise oerr.OfferLapsed()
        raise oerr.TransitionNotAllowed(
            f"申请当前状态为「{STATUS_LABELS[current]}」，不能{_VERBS.get(to, to)}")


async def transition(session: AsyncSession, app: OpeningApplication, opening: Opening, to: str, *, role: str,
                     actor_id: int | None, now: datetime, reason_code: str | None = None, reason: str | None = None,
                     detail: dict[str, Any] | None = None, note: str | None = None) -> None:
    """Move ``app`` (locked by the caller) to ``to``: the table decides, the history and the applicant
    hear of it."""
    check(app, to, role, now)
    before = app.status
    app.status = to
    app.updated_at = now
    if to == "rejected":
        app.reason_code, app.reason = reason_code, reason
    if role == PROVIDER and to in DECISIONS and app.first_decision_at is None:
        app.first_decision_at = now
        app.response_seconds = max(0, int((now - app.submitted_at).total_seconds()))
    session.add(OpeningApplicationEvent(application_id=app.id, at=now, actor_id=actor_id, actor_role=role,
                                        from_status=before, to_status=to, reason_code=reason_code, reason=reason,
                                        detail=_jsonable(detail or {})))
    await session.flush()
    _tell_applicant(session, app, opening, to, reason_code=reason_code, reason=reason, note=note)


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in detail.items()}


def _tell_applicant(session: AsyncSession, app: OpeningApplication, opening: Opening, to: str, *,
                    reason_code: str | None, reason: str | None, note: str | None) -> None:
    kind = NOTICE_FOR[to]
    params: dict[str, Any] = {"opening": opening.title, "status": STATUS_LABELS[to]}
    if to == "interview":
        where = "、".join(x for x in (app.interview_place, app.interview_link and "线上（链接见申请详情）") if x)
        params.update(at=app.interview_at, where=where, note=note or "")
    elif to == "offered":
        params.update(answer_by=app.answer_by, note=note or "")
    elif to == "lapsed":
        params.update(answer_by=app.answer_by)
    elif to == "rejected":
        label = REJECT_REASONS.get(reason_code or "", "")
        params.update(reason=f"{label}（{reason}）" if reason and label else (reason or label))
    notify(session, kind, app.user_id, data={"application_id": app.id, "opening_id": opening.id}, **params)


# --- loading ------------------------------------------------------------------------------------------


async def _locked(session: AsyncSession, application_id: int) -> OpeningApplication | None:
    return (await session.execute(select(OpeningApplication).where(A.id == application_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one_or_none()


async def own_application(session: AsyncSession, actor: Principal, application_id: int, *,
                          lock_opening: bool = False) -> tuple[OpeningApplication, Opening]:
    """The person's own application, locked (after its opening's row when ``lock_opening``: the lock
    order); anyone else's answers 404."""
    if lock_opening:
        opening_id = (await session.execute(select(A.opening_id).where(A.id == application_id))).scalar_one_or_none()
        if opening_id is not None:
            # FOR NO KEY UPDATE: new applications (KEY SHARE through their foreign key) are not held up.
            await session.execute(select(Opening.id).where(Opening.id == opening_id)
                                  .with_for_update(key_share=True))
    app = await _locked(session, application_id)
    if app is None or app.user_id != actor.user_id:
        raise errors.NotFound()
    opening = await session.get(Opening, app.opening_id)
    assert opening is not None
    return app, opening


async def provider_application(session: AsyncSession, actor: Principal, application_id: int, *,
                               lock: bool = True) -> tuple[OpeningApplication, Opening]:
    """An application to one of the actor's organisation's openings; anyone else's answers 404."""
    from app.kit import postings
    from app.services.openings.common import KIND

    postings.require_org_kind(actor, KIND)
    app = await (_locked(session, application_id) if lock else session.get(OpeningApplication, application_id))
    if app is None or app.org_id != actor.org_id:
        raise errors.NotFound()
    opening = await session.get(Opening, app.opening_id)
    assert opening is not None
    return app, opening


# --- the applicant's moves ----------------------------------------------------------------------------


async def withdraw(session: AsyncSession, *, actor: Principal, application_id: int, reason: str | None
                   ) -> OpeningApplication:
    app, opening = await own_application(session, actor, application_id)
    now = clock.now()
    if app.status == "offered":
        raise oerr.TransitionNotAllowed("已收到录用通知，不能再撤回申请；如不能入职请选择婉拒录用")
    await transition(session, app, opening, "withdrawn", role=YOUTH, actor_id=actor.user_id, now=now, reason=reason)
    await tell_org(session, ANSWERED, app.org_id, data={"application_id": app.id, "opening_id": opening.id},
                   opening=opening.title, applicant=f"（申请编号{app.id}）", answer="撤回了申请")
    return app


async def accept(session: AsyncSession, *, actor: Principal, application_id: int) -> OpeningApplication:
    """Accept an offer: a place is taken in this transaction, or the answer is that they are gone."""
    app, opening = await own_application(session, actor, application_id, lock_opening=True)
    now = clock.now()
    check(app, "accepted", YOUTH, now)
    if await PLACES.take(session, opening.id) is None:
        raise oerr.PlacesFilled(f"很抱歉，「{opening.title}」的{opening.places}个名额已被先接受录用的人占满")
    await transition(session, app, opening, "accepted", role=YOUTH, actor_id=actor.user_id, now=now)
    await tell_org(session, ANSWERED, app.org_id, data={"application_id": app.id, "opening_id": opening.id},
                   opening=opening.title, applicant=f"（申请编号{app.id}）", answer="接受了录用")
    return app


async def decline(session: AsyncSession, *, actor: Principal, application_id: int, reason: str | None
                  ) -> OpeningApplication:
    app, opening = await own_application(session, actor, application_id)
    now = clock.now()
    await transition(session, app, opening, "declined", role=YOUTH, actor_id=actor.user_id, now=now, reason=reason)
    await tell_org(session, ANSWERED, app.org_id, data={"application_id": app.id, "opening_id": opening.id},
                   opening=opening.title, applicant=f"（申请编号{app.id}）", answer="婉拒了录用")
    return app


# --- the provider's moves -----------------------------------------------------------------------------


async def mark_viewed(session: AsyncSession, app: OpeningApplication, opening: Opening, actor: Principal) -> None:
    if app.status == "submitted":
        await transition(session, app, opening, "viewed", role=PROVIDER, actor_id=actor.user_id, now=clock.now())


async def interview(session: AsyncSession, *, actor: Principal, application_id: int, data: InterviewIn
                    ) -> OpeningApplication:
    app, opening = await provider_application(session, actor, application_id)
    now = clock.now()
    check(app, "interview", PROVIDER, now)
    if data.at <= now:
        raise errors.ValidationFailed(fields={"at": "面试时间应晚于现在"})
    app.interview_at, app.interview_place, app.interview_link = data.at, data.place, data.link
    await transition(session, app, opening, "interview", role=PROVIDER, actor_id=actor.user_id, now=now,
                     detail={"at": data.at, "place": data.place, "link": data.link}, note=data.note)
    await _audit(session, actor, "opening_application.interview", app)
    return app


async def offer(session: AsyncSession, *, actor: Principal, application_id: int, data: OfferIn) -> OpeningApplication:
    app, opening = await provider_application(session, actor, application_id)
    now = clock.now()
    check(app, "offered", PROVIDER, now)
    s = settings()
    answer_by = data.answer_by or now + timedelta(days=s.openings_offer_default_days)
    if answer_by < now + timedelta(hours=s.openings_offer_min_hours):
        raise errors.ValidationFailed(fields={"answer_by": f"答复期限至少在{s.openings_offer_min_hours}小时之后"})
    if answer_by > now + timedelta(days=s.openings_offer_max_days):
        raise errors.ValidationFailed(fields={"answer_by": f"答复期限最多在{s.openings_offer_max_days}天之内"})
    if opening.taken >= opening.places:
        raise oerr.PlacesFilled("名额已满，不能再发出录用；可以先增加名额")
    app.offered_at, app.answer_by = now, answer_by
    await transition(session, app, opening, "offered", role=PROVIDER, actor_id=actor.user_id, now=now,
                     detail={"answer_by": answer_by}, note=data.note)
    await _audit(session, actor, "opening_application.offer", app)
    return app


def _check_reason(reason_code: str, reason: str | None) -> None:
    if reason_code == "other" and not reason:
        raise oerr.ReasonTextRequired(fields={"reason": "请填写具体原因"})


async def reject(session: AsyncSession, *, actor: Principal, application_id: int, reason_code: str,
                 reason: str | None) -> OpeningApplication:
    _check_reason(reason_code, reason)
    app, opening = await provider_application(session, actor, application_id)
    await transition(session, app, opening, "rejected", role=PROVIDER, actor_id=actor.user_id, now=clock.now(),
                     reason_code=reason_code, reason=reason)
    await _audit(session, actor, "opening_application.reject", app, reason=reason_code)
    return app


async def reject_open(session: AsyncSession, opening: Opening, *, actor: Principal | None, reason_code: str,
                      reason: str | None) -> int:
    """Reject every application of the opening still open (not an accepted one), each with its history
    row and message. Locks them in id order (the lock order of the module docstring)."""
    now = clock.now()
    rows = (await session.execute(
        select(OpeningApplication).where(A.opening_id == opening.id, A.status.in_(OPEN_STATUSES))
        .order_by(A.id).with_for_update().execution_options(populate_existing=True))).scalars().all()
    role, actor_id = (PROVIDER, actor.user_id) if actor else (SYSTEM, None)
    done = 0
    for app in rows:
        if not allowed(effective_status(app, now), "rejected", role):
            continue  # an offer lapsed meanwhile: the sweeper tells its applicant
        await transition(session, app, opening, "rejected", role=role, actor_id=actor_id, now=now,
                         reason_code=reason_code, reason=reason)
        done += 1
    return done


async def reject_rest(session: AsyncSession, *, actor: Principal, opening: Opening, reason_code: str,
                      reason: str | None) -> int:
    """The places are filled: tell everyone still waiting, with the reason."""
    _check_reason(reason_code, reason)
    done = await reject_open(session, opening, actor=actor, reason_code=reason_code, reason=reason)
    await audit.record(session, actor=actor, action="opening.reject_rest", target_kind="opening",
                       target_id=opening.id, reason=reason_code, detail={"rejected": done})
    return done


async def _audit(session: AsyncSession, actor: Principal, action: str, app: OpeningApplication,
                 reason: str | None = None) -> None:
    await audit.record(session, actor=actor, action=action, target_kind="opening_application", target_id=app.id,
                       reason=reason)


# --- the sweeper --------------------------------------------------------------------------------------

LAPSE_BATCH = 100


@sweeper.job("openings.lapse_offers", every=60, batch=LAPSE_BATCH,
             description="见习/孵化：超过答复期限的录用作废，并通知申请人")
async def lapse_offers(session: AsyncSession, now: datetime) -> int:
    """Offers past their answer-by time become lapsed (history row, message). Claimed with SKIP LOCKED:
    an application being accepted right now is skipped, and its accept sees the lapse itself."""
    claim = skip_locked(select(OpeningApplication).where(A.status == "offered", A.answer_by <= now)
                        .order_by(A.answer_by, A.id).limit(LAPSE_BATCH).with_for_update()
                        .execution_options(populate_existing=True), session)
    apps = (await session.execute(claim)).scalars().all()
    for app in apps:
        opening = await session.get(Opening, app.opening_id)
        assert opening is not None
        await transition(session, app, opening, "lapsed", role=SYSTEM, actor_id=None, now=now,
                         reason_code="offer_lapsed")
        await tell_org(session, ANSWERED, app.org_id, data={"application_id": app.id, "opening_id": opening.id},
                       opening=opening.title, applicant=f"（申请编号{app.id}）", answer="未在期限内答复，录用已失效")
    return len(apps)

