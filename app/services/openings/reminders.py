"""Reminders of openings (app.services.notifications.reminders): an offer's answer-by time and an
interview, each a while ahead (settings), for live applications only — an offer still ``offered``, an
interview still ``interview`` (withdrawn, rejected or answered ones are not). A rescheduled interview is
a new moment, so only its new time is reminded; an interview or offer made inside the lead is not
reminded (its own message just told the person)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, literal, select

from app.services.notifications import reminders
from app.services.notifications.catalogue import define
from app.services.openings.common import OP, A
from app.services.openings.settings import settings

OFFER = define(
    "remind.opening_offer", title="录用答复即将截止",
    body="「{opening}」的录用请在 {answer_by} 前答复，逾期视为放弃。", params=("opening", "answer_by"),
    wechat="reminder", reminder=True,
    keywords={"thing1": "opening", "time2": "answer_by", "thing3": "=请尽快答复录用"})
INTERVIEW = define(
    "remind.opening_interview", title="面试即将开始", body="「{opening}」的面试将于 {at} 开始，地点：{where}。",
    params=("opening", "at", "where"), wechat="reminder", reminder=True,
    keywords={"thing1": "opening", "time2": "at", "thing3": "where"})


def _hours(name: str) -> Callable[[], timedelta]:
    return lambda: timedelta(hours=getattr(settings(), name))


def _offers(now: datetime, until: datetime) -> Select[Any]:
    return (select(A.user_id, A.id.label("item_id"), A.answer_by.label("moment"),
                   func.coalesce(A.offered_at, A.updated_at).label("told"), A.answer_by, OP.title.label("opening"),
                   A.id.label("application_id"), A.opening_id)
            .join(OP, OP.id == A.opening_id)
            .where(A.status == "offered", A.answer_by > now, A.answer_by <= until))


def _interviews(now: datetime, until: datetime) -> Select[Any]:
    # The interview's scheduling (or rescheduling) is the application's latest change while it is in
    # "interview", so ``updated_at`` is when the person heard of this time.
    where = func.coalesce(A.interview_place, literal("线上（链接见申请详情）"))
    return (select(A.user_id, A.id.label("item_id"), A.interview_at.label("moment"), A.updated_at.label("told"),
                   A.interview_at.label("at"), where.label("where"), OP.title.label("opening"),
                   A.id.label("application_id"), A.opening_id)
            .join(OP, OP.id == A.opening_id)
            .where(A.status == "interview", A.interview_at > now, A.interview_at <= until))


reminders.register(OFFER, lead=_hours("openings_offer_reminder_hours"), due=_offers,
                   ids=("application_id", "opening_id"))
reminders.register(INTERVIEW, lead=_hours("openings_interview_reminder_hours"), due=_interviews,
                   ids=("application_id", "opening_id"))
