"""PostgreSQL's sign-up: the same decisions as ``signup.sign_up`` in two round trips instead of seven to
nine, for the rush (issue 17). One read on an autocommit connection brings the principal, the person,
their quota's counter, a registration they already hold and an answer already stored under the
Idempotency-Key; Python decides with the very checks of the portable path (``_check_event``,
``_check_person``, ``principal_of_row``, ``require_youth``); then one call of ``events_sign_up``
(migration events03) claims the key, inserts the registration, takes the place or the waitlist
position and stores the answer, atomically because it is one statement.

Whatever this path does not decide it hands back (``None``) before anything is written, or after the
function rolled itself back: a confirmed place at an event that ended with its no-shows not yet
recorded (their restriction needs the portable reading), a twin that registered between the read and
the call, places standing free while people wait (promotion). The caller then runs the portable path
in a transaction. ``YOUTH_EVENT_SIGNUP_FAST_PATH=false`` makes every request take the portable path.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, bindparam, case, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import (
    PRINCIPAL_COLUMNS,
    autocommit_session,
    claimed_user_id,
    principal_of_row,
    require_youth,
    with_principal_joins,
)
from app.idempotency import Idempotency
from app.schemas.events import RegistrationPublic
from app.services.events import errors as everr
from app.services.events.common import QUOTA_LOCK_CLASS, cancel_deadline
from app.services.events.signup import (
    _check_person,
    _checked_event,
    _event_rules,
    _events,
    _fresh_view,
    _Gate,
    _Person,
    _regs,
    _users,
    person_parts,
)
from models.base import utcnow
from models.events import ACTIVE_STATUSES
from models.platform import IdempotencyRecord

_records = IdempotencyRecord.__table__
_CREATED = 201


_EXISTING = 12  # person_parts' column of the registration already held


def _read_statement(gendered: bool) -> Any:
    columns, from_users = person_parts(gendered)
    held = aliased(_regs)
    ahead = aliased(_regs)
    ev = aliased(_events)
    position = case((held.c.status == "waitlisted",
                     select(func.count()).select_from(ahead)
                     .where(ahead.c.event_id == held.c.event_id, ahead.c.quota_key == held.c.quota_key,
                            ahead.c.status == "waitlisted", ahead.c.id <= held.c.id).scalar_subquery()))
    joined = (with_principal_joins(from_users)
              .outerjoin(held, and_(held.c.event_id == bindparam("event_id"), held.c.user_id == _users.c.id,
                                    held.c.status.in_(ACTIVE_STATUSES)))
              .outerjoin(ev, ev.c.id == held.c.event_id)
              .outerjoin(_records, and_(_records.c.scope == bindparam("scope"), _records.c.key == bindparam("key"))))
    # The person's columns without the id (the principal's) and without ``existing``: the join on
    # ``held`` below reads that registration whole.
    person = [c for i, c in enumerate(columns) if i not in (0, _EXISTING)]
    return (select(*PRINCIPAL_COLUMNS, *person,
                   held.c.id, held.c.status, held.c.quota_key, held.c.badge_number, held.c.created_at,
                   held.c.promoted_at, held.c.cancelled_at, held.c.late_cancel, held.c.checked_in_at, position,
                   ev.c.starts_at, ev.c.cancel_cutoff_hours,
                   _records.c.request_hash, _records.c.status_code, _records.c.response_body)
            .select_from(joined).where(_users.c.id == bindparam("user_id")))


_READ = {True: _read_statement(True), False: _read_statement(False)}
_N_PRINCIPAL = len(PRINCIPAL_COLUMNS)
_CALL = text(
    "SELECT outcome, reg_id, reg_status, waitlist_position, stored_hash, stored_status, stored_body "
    "FROM events_sign_up(:scope, :key, :route, :hash, :status_code, CAST(:body AS json), :event_id, :user_id, "
    ":quota_id, :quota_key, :take, :lock_class, :now)")


async def sign_up(session: AsyncSession, request: Request, claims: dict[str, Any], idem: Idempotency,
                  event_id: int) -> JSONResponse | None:
    """The answer, or None for the portable path (nothing written, and the session left as it came)."""
    async with autocommit_session(session) as conn:
        return await _sign_up(conn, request, claims, idem, event_id)


async def _sign_up(conn: AsyncConnection, request: Request, claims: dict[str, Any], idem: Idempotency,
                   event_id: int) -> JSONResponse | None:
    now = clock.now()
    user_id = claimed_user_id(claims)
    rules, cached = await _event_rules(conn, event_id)
    row = (await conn.execute(_READ[bool(rules and rules.gendered)], {
        "event_id": event_id, "user_id": user_id, "now": now, "scope": str(user_id), "key": idem.key or "",
    })).first()
    principal = require_youth(principal_of_row(claims, row[:_N_PRINCIPAL] if row is not None else None))
    request.state.principal = principal
    if rules is None:
        raise errors.NotFound()
    assert row is not None
    (birth, gender, marital, real_name, id_hash, r_until, r_reason, quota_id, capacity, taken, quota_open,
     pending, waiting, held_id, held_status, held_key, badge, held_created, promoted, cancelled, late, checked_in,
     position, starts, cutoff, stored_hash, stored_status, stored_body) = row[_N_PRINCIPAL:]
    if idem.key and stored_hash is not None:
        return idem.replay_stored(stored_hash, stored_status, stored_body)
    if held_id is not None:
        held_view = RegistrationPublic(
            id=held_id, event_id=event_id, status=held_status, quota_key=held_key, waitlist_position=position,
            badge_number=badge, created_at=held_created, promoted_at=promoted, cancelled_at=cancelled,
            late_cancel=late, checked_in_at=checked_in, cancel_deadline=cancel_deadline(starts, cutoff))
        return await idem.answer_once(conn, principal, held_view.model_dump(mode="json"), _CREATED)
    rules = await _checked_event(conn, rules, cached, now)
    if pending:
        return None  # a no-show due but not recorded: the portable path computes the restriction
    who = _Person(birth, gender, marital, bool(real_name and id_hash), r_until, r_reason, quota_id,
                  capacity or 0, taken or 0, bool(quota_open), None, False, bool(waiting))
    _check_person(rules, who, now)
    if quota_id is None:
        raise errors.Conflict("活动名额设置刚刚有变化，请刷新后重试")
    if not quota_open:
        raise everr.Cancelled()
    quota_key = gender if rules.gendered else "all"
    values = {"event_id": event_id, "user_id": user_id, "quota_key": quota_key, "created_at": utcnow()}
    view = _fresh_view(values, cancel_deadline(rules.starts, rules.cutoff_hours))
    take = who.taken < who.capacity and not who.waiting
    sem = _Gate.semaphore(quota_id) if take else None
    if sem:
        await sem.acquire()
    try:
        result = (await conn.execute(_CALL, {
            "scope": str(user_id), "key": idem.key or None, "route": idem.route, "hash": idem.request_hash,
            "status_code": _CREATED, "body": json.dumps(view(0, "confirmed", None).model_dump(mode="json")),
            "event_id": event_id, "user_id": user_id, "quota_id": quota_id, "quota_key": quota_key, "take": take,
            "lock_class": QUOTA_LOCK_CLASS, "now": values["created_at"],
        })).one()
    except DBAPIError as exc:
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if state == "YE001":
            raise everr.Cancelled() from None
        if state in ("YE002", "YE003"):
            return None
        raise
    finally:
        if sem:
            sem.release()
    if result.outcome == "replay":
        return idem.replay_stored(result.stored_hash, result.stored_status, result.stored_body)
    body = view(result.reg_id, result.reg_status, result.waitlist_position).model_dump(mode="json")
    return JSONResponse(body, status_code=_CREATED)
