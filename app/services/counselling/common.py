"""Shared pieces of the counselling service: the posting kind, the slot counter, limits and small helpers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.orm import defer
from sqlmodel.ext.asyncio.session import AsyncSession

from app import errors
from app.deps import Principal
from app.kit import postings
from app.kit.capacity import Counter
from app.kit.postings import PostingKind
from app.kit.time import day_start
from app.schemas.counselling import CrisisResource
from app.services.counselling.settings import settings
from app.validators import age_on
from models.accounts import User
from models.counselling import CounsellingBooking, CounsellingSlot, Counsellor

KIND = postings.register(PostingKind(
    kind="counsellor", model=Counsellor, org_kinds=("counselling_center",), title_field="display_name",
    # The photo is checked and re-reviewed like text: a new picture is new public content.
    text_fields=("display_name", "qualifications", "introduction", "languages", "photo_url"), label="咨询师",
    interactions=lambda user_id: select(CounsellingBooking.counsellor_id).where(CounsellingBooking.user_id == user_id),
))

# A slot's one place: taken only while the slot is open (withdrawn slots take nobody).
SLOTS = Counter(CounsellingSlot, when=lambda t: (t.c.status == "open",))

BOOKING = "counselling_booking"  # audit and strike source kind
MAX_SLOT_RANGE = timedelta(days=62)
MAX_SLOTS_AHEAD = timedelta(days=180)
MAX_PATTERN_SLOTS = 500

S = CounsellingSlot
# What a slot looks like to the API: free (open with a place left), booked (open and full), withdrawn.
FREE = and_(S.status == "open", S.taken < S.capacity)


def slot_state() -> Any:
    return case((S.status != "open", "withdrawn"), (S.taken >= S.capacity, "booked"), else_="free")


def slot_state_of(slot: CounsellingSlot) -> str:
    if slot.status != "open":
        return "withdrawn"
    return "booked" if slot.taken >= slot.capacity else "free"


# --- time and small helpers ------------------------------------------------------------------------


def age_band(birth: date, on: date) -> str:
    age = age_on(birth, on)
    for upper, band in ((13, "<14"), (17, "14-17"), (24, "18-24"), (29, "25-29"), (35, "30-35")):
        if age <= upper:
            return band
    return ">35"


def hours_text(value: float) -> str:
    return f"{value:g}"


def tags_for(specialties: list[str], modes: list[str]) -> str:
    return "|" + "".join(f"s:{s}|" for s in specialties) + "".join(f"m:{m}|" for m in modes)


def crisis_resources() -> list[CrisisResource]:
    return [CrisisResource(**r) for r in settings().counselling_crisis_resources]


def crisis_text() -> str:
    return "、".join(f"{r.name} {r.phone}" for r in crisis_resources())


def day_range(first: date | None, last: date | None, default_first: date, default_days: int
              ) -> tuple[datetime, datetime]:
    """The instants [start, end) of Shanghai days ``first`` to ``last`` (both included; by default
    ``default_days`` days from ``default_first``, or from ``first``), at most ``MAX_SLOT_RANGE``."""
    first = first or default_first
    last = last or first + timedelta(days=default_days - 1)
    if last < first:
        raise errors.ValidationFailed(fields={"date_to": "截止日期不能早于起始日期"})
    if (last - first).days + 1 > MAX_SLOT_RANGE.days:
        raise errors.ValidationFailed(fields={"date_to": f"一次最多查询 {MAX_SLOT_RANGE.days} 天"})
    return day_start(first), day_start(last + timedelta(days=1))


def overlaps(start: datetime, end: datetime, taken: list[tuple[datetime, datetime]]) -> bool:
    return any(s < end and start < e for s, e in taken)


# --- loading bookings ----------------------------------------------------------------------------------


async def load_booking(session: AsyncSession, booking_id: int, *, for_update: bool = False,
                       with_intake: bool = False) -> tuple[CounsellingBooking, Counsellor] | None:
    stmt = (select(CounsellingBooking, Counsellor).join(Counsellor, Counsellor.id == CounsellingBooking.counsellor_id)
            .where(CounsellingBooking.id == booking_id))
    if not with_intake:
        # Decrypt the intake only where it is shown (and audited); touching it elsewhere is an error.
        stmt = stmt.options(defer(CounsellingBooking.intake, raiseload=True))
    if for_update:
        stmt = stmt.with_for_update(of=CounsellingBooking)
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def centre_booking_of(session: AsyncSession, actor: Principal, booking_id: int, **kw: bool
                            ) -> tuple[CounsellingBooking, Counsellor]:
    """A booking of the actor's own centre. Staff, other providers and people get 404: to them the
    booking does not exist."""
    row = await load_booking(session, booking_id, **kw)
    if row is None or not actor.is_provider or row[0].org_id != actor.org_id:
        raise errors.NotFound()
    return row


def client_name() -> Any:
    # Chosen in SQL, so a nickname booking's real name never even leaves the database.
    return case((CounsellingBooking.nickname.is_(None), User.real_name), else_=CounsellingBooking.nickname)
