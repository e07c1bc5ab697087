"""The verifiable lottery.

1. The provider freezes the list when applications close: the eligible application numbers, sorted,
   and their SHA-256 are public from then on (and nobody can be added, removed or re-reviewed).
2. Staff record the seed: a public value announced before the draw and unknown when the list was
   frozen (e.g. the result of a future public lottery). It is set once; a mistake is corrected only
   by an audited re-draw, so nobody can try seeds until one gives the order they like.
3. Staff draw: the order is the list sorted by HMAC-SHA256(seed, number); offers go to the first
   applications of each unit type while units remain, the rest wait in draw order.
4. A re-draw needs a reason and a new seed, is audited, keeps the earlier draws public, and is
   impossible once anyone has accepted an offer (it would take a home away).

Anyone can recompute the hash and the order from ``GET /api/v1/housing/projects/{id}/lottery``
(``verify_lottery`` here; ``youth verify-lottery`` on the command line).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, errors
from app.deps import Principal
from app.schemas.housing import (
    LAYOUT_LABELS,
    STATUS_LABELS,
    LotteryDrawPublic,
    LotteryPublic,
    LotteryResult,
    LotteryUnits,
)
from app.services import audit
from app.services.housing import allocation, notices
from app.services.housing.common import APP, KIND, UT, P, S, lottery_of, own_locked, shown_status, transition
from app.services.housing.errors import (
    HousingLotteryEmpty,
    HousingLotteryState,
    HousingNotLottery,
    HousingRedrawAfterAccept,
    HousingSeedReused,
    HousingUndecidedApplications,
)
from app.services.notifications.catalogue import notify
from models.housing import Allocation, HousingLottery, HousingLotteryDraw, HousingProject, LotteryStatus
from models.moderation import PostingStatus

ALGORITHM = (
    "hmac-sha256-v1: entries = the eligible application numbers at the freeze, sorted ascending; "
    "list_sha256 = hex SHA-256 of the entries joined by '\\n' (UTF-8); "
    "order = the entries sorted ascending by hex HMAC-SHA256(key = seed in UTF-8, message = number in UTF-8)"
)


def list_sha256(numbers: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(numbers)).encode("utf-8")).hexdigest()


def draw_key(seed: str, number: str) -> str:
    return hmac.new(seed.encode("utf-8"), number.encode("utf-8"), hashlib.sha256).hexdigest()


def lottery_order(seed: str, numbers: Iterable[str]) -> list[str]:
    return sorted(numbers, key=lambda n: (draw_key(seed, n), n))


def verify_lottery(data: dict[str, Any]) -> list[str]:
    """Check a published lottery (the JSON of GET …/lottery); returns the problems found (none: valid)."""
    problems: list[str] = []
    entries = [str(n) for n in data.get("entries") or []]
    if list_sha256(entries) != data.get("list_sha256"):
        problems.append("the SHA-256 of the published list does not match list_sha256")
    if len(set(entries)) != len(entries):
        problems.append("the published list contains a number twice")
    order = data.get("order")
    if order is not None:
        if sorted(order) != sorted(entries):
            problems.append("the order is not a permutation of the frozen list")
        if not data.get("seed"):
            problems.append("an order is published without a seed")
        elif lottery_order(data["seed"], entries) != list(order):
            problems.append("the order differs from the one recomputed from the seed")
    for draw in data.get("previous_draws") or []:
        if lottery_order(draw["seed"], entries) != list(draw["order"]):
            problems.append(f"round {draw['round']}: the order differs from the one recomputed from its seed")
    return problems


async def freeze(session: AsyncSession, *, actor: Principal, project_id: int) -> LotteryPublic:
    """Close applications and freeze the eligible list; its hash is public from now on."""
    now = clock.now()
    project = await own_locked(session, actor, project_id)
    if project.allocation != Allocation.lottery:
        raise HousingNotLottery()
    if project.status not in (PostingStatus.published, PostingStatus.closed):
        raise errors.PostingStateInvalid("项目发布后才能封存摇号名单")
    if await lottery_of(session, project.id) is not None:
        raise HousingLotteryState("摇号名单已经封存")
    undecided = (await session.execute(select(func.count()).select_from(APP).where(
        APP.project_id == project.id, APP.status == S.submitted))).scalar()
    if undecided:
        raise HousingUndecidedApplications(f"还有 {undecided} 份申请未审核，请全部审核后再封存摇号名单")
    numbers = sorted((await session.execute(select(APP.number).where(
        APP.project_id == project.id, APP.status == S.eligible))).scalars().all())
    if not numbers:
        raise HousingLotteryEmpty()
    lot = HousingLottery(project_id=project.id, status=LotteryStatus.frozen, entries=numbers,
                         list_sha256=list_sha256(numbers), frozen_at=now, frozen_by=actor.user_id)
    session.add(lot)
    project.intake_closed_at = project.intake_closed_at or now
    project.updated_at = now
    await session.flush()
    await audit.record(session, actor=actor, action="housing_lottery.freeze", target_kind=KIND.kind,
                       target_id=project.id, detail={"entries": len(numbers), "list_sha256": lot.list_sha256})
    return await _public(session, project, lot, now)


async def _staff_lottery(session: AsyncSession, project_id: int, now: datetime
                         ) -> tuple[HousingProject, HousingLottery]:
    project = await allocation.lock(session, project_id, now)
    if project.allocation != Allocation.lottery:
        raise HousingNotLottery()
    lot = await lottery_of(session, project.id, for_update=True)
    if lot is None:
        raise HousingLotteryState("运营机构尚未封存摇号名单")
    return project, lot


async def set_seed(session: AsyncSession, *, actor: Principal, project_id: int, seed: str, source: str
                   ) -> LotteryPublic:
    now = clock.now()
    project, lot = await _staff_lottery(session, project_id, now)
    if lot.status != LotteryStatus.frozen:
        raise HousingLotteryState("随机种子已经公布，不能更改；如需重新抽签请说明原因")
    lot.seed, lot.seed_source, lot.seed_set_at, lot.seed_set_by = seed, source, now, actor.user_id
    lot.status = LotteryStatus.seeded
    await session.flush()
    await audit.record(session, actor=actor, action="housing_lottery.seed", target_kind=KIND.kind,
                       target_id=project.id, org_id=project.org_id, detail={"seed": seed, "source": source})
    return await _public(session, project, lot, now)


async def _run_draw(session: AsyncSession, actor: Principal, project: HousingProject, lot: HousingLottery,
                    reason: str | None, now: datetime, freed: list[int]) -> int:
    """Draw, then offer the units (with ``freed``, those of the offers a re-draw withdrew) in draw order."""
    order = lottery_order(lot.seed, lot.entries)
    lot.round += 1
    lot.order, lot.drawn_at, lot.drawn_by, lot.status = order, now, actor.user_id, LotteryStatus.drawn
    session.add(HousingLotteryDraw(project_id=project.id, round=lot.round, seed=lot.seed,
                                   seed_source=lot.seed_source, order=order, reason=reason, drawn_at=now,
                                   drawn_by=actor.user_id))
    position = {number: i for i, number in enumerate(order, start=1)}
    apps = (await session.execute(select(APP).where(APP.project_id == project.id)
                                  .execution_options(populate_existing=True))).scalars().all()
    for app in apps:
        app.draw_position = position.get(app.number)
    await session.flush()
    offered = await allocation.settle(session, project, now, freed=freed)
    for app in apps:  # the offered ones were told by their offer
        if app.status == S.eligible and app.draw_position is not None:
            notify(session, notices.LOTTERY_WAITING, app.user_id,
                   data={"application_id": app.id, "project_id": project.id}, project=project.name,
                   position=app.draw_position, at=now)
    return offered


async def draw(session: AsyncSession, *, actor: Principal, project_id: int) -> LotteryPublic:
    now = clock.now()
    project, lot = await _staff_lottery(session, project_id, now)
    if lot.status != LotteryStatus.seeded:
        raise HousingLotteryState("请先公布随机种子" if lot.status == LotteryStatus.frozen else "已经抽签")
    offered = await _run_draw(session, actor, project, lot, None, now, [])
    await audit.record(session, actor=actor, action="housing_lottery.draw", target_kind=KIND.kind,
                       target_id=project.id, org_id=project.org_id,
                       detail={"round": lot.round, "list_sha256": lot.list_sha256, "offers": offered})
    return await _public(session, project, lot, now)


async def redraw(session: AsyncSession, *, actor: Principal, project_id: int, seed: str, source: str,
                 reason: str) -> LotteryPublic:
    """Draw again with a new announced seed: outstanding offers are withdrawn and made again in the
    new order. Applicants who declined, let an offer lapse or withdrew stay so."""
    now = clock.now()
    project, lot = await _staff_lottery(session, project_id, now)
    if lot.status != LotteryStatus.drawn:
        raise HousingLotteryState("尚未抽签，不能重新抽签")
    if (await session.execute(select(APP.id).where(APP.project_id == project.id, APP.status == S.accepted)
                              .limit(1))).first():
        raise HousingRedrawAfterAccept()
    used = set((await session.execute(select(HousingLotteryDraw.seed).where(
        HousingLotteryDraw.project_id == project.id))).scalars())
    if seed in used:
        raise HousingSeedReused()
    outstanding = (await session.execute(select(APP).where(APP.project_id == project.id, APP.status == S.offered)
                                         .execution_options(populate_existing=True))).scalars().all()
    for app in outstanding:
        transition(session, app, S.eligible, reason=f"重新抽签：{reason}", actor_role="staff", now=now)
        app.offered_at = app.offer_expires_at = None
        notify(session, notices.REDRAW, app.user_id, data={"application_id": app.id, "project_id": project.id},
               project=project.name, reason=reason, at=now)
    await session.flush()
    lot.seed, lot.seed_source, lot.seed_set_at, lot.seed_set_by = seed, source, now, actor.user_id
    offers = await _run_draw(session, actor, project, lot, reason, now, [a.unit_type_id for a in outstanding])
    await audit.record(session, actor=actor, action="housing_lottery.redraw", target_kind=KIND.kind,
                       target_id=project.id, org_id=project.org_id, reason=reason,
                       detail={"round": lot.round, "seed": seed, "source": source,
                               "revoked_offers": len(outstanding), "offers": offers})
    return await _public(session, project, lot, now)


async def lottery_view(session: AsyncSession, *, project_id: int) -> LotteryPublic:
    now = clock.now()
    project = await session.get(P, project_id)
    if project is None or not KIND.is_visible(project):
        raise errors.NotFound()
    lot = await lottery_of(session, project_id)
    if lot is None:
        raise errors.NotFound("该项目还没有封存摇号名单")
    return await _public(session, project, lot, now)


async def lottery_for_verification(session: AsyncSession, *, project_id: int) -> LotteryPublic:
    """The published lottery of any project (for the command line, which runs as the operator)."""
    project = await session.get(P, project_id)
    lot = await lottery_of(session, project_id) if project else None
    if project is None or lot is None:
        raise errors.NotFound("该项目还没有封存摇号名单")
    return await _public(session, project, lot, clock.now())


async def _public(session: AsyncSession, project: HousingProject, lot: HousingLottery, now: datetime
                  ) -> LotteryPublic:
    """The lottery as anyone may check it. Outcomes use the application's status names (an offer past
    its time shows as expired before the sweeper stores it); units are counted per unit type, since
    every applicant applied for one unit type and offers are made per type."""
    entered = set(lot.entries)
    apps = [a for a in (await session.execute(select(APP).where(APP.project_id == project.id)
                                              .execution_options(populate_existing=True))).scalars()
            if a.number in entered]
    results = None
    if lot.order:
        by_number = {a.number: a for a in apps}
        results = []
        for i, n in enumerate(lot.order, start=1):
            a = by_number.get(n)
            outcome = shown_status(a, now) if a else "unknown"
            results.append(LotteryResult(position=i, number=n, unit_type_id=a.unit_type_id if a else None,
                                         outcome=outcome, outcome_label=STATUS_LABELS.get(outcome, "未知")))
    entries_per_type = Counter(a.unit_type_id for a in apps)
    units = (await session.execute(select(UT).where(UT.project_id == project.id).order_by(UT.rent_fen, UT.id)
                                   .execution_options(populate_existing=True))).scalars().all()
    draws = (await session.execute(
        select(HousingLotteryDraw).where(HousingLotteryDraw.project_id == project.id,
                                         HousingLotteryDraw.round < lot.round)
        .order_by(HousingLotteryDraw.round)
    )).scalars().all()
    return LotteryPublic(
        project_id=project.id, status=lot.status, algorithm=ALGORITHM, list_sha256=lot.list_sha256,
        entries=list(lot.entries), entries_count=len(lot.entries), frozen_at=lot.frozen_at, seed=lot.seed,
        seed_source=lot.seed_source, seed_set_at=lot.seed_set_at, round=lot.round, drawn_at=lot.drawn_at,
        order=list(lot.order) if lot.order else None, units_available=project.units_available,
        unit_types=[LotteryUnits(unit_type_id=u.id, layout=u.layout, layout_label=LAYOUT_LABELS.get(u.layout, u.layout),
                                 available_units=u.available_units,
                                 remaining_units=max(0, u.available_units - u.taken_units),
                                 entries=entries_per_type.get(u.id, 0)) for u in units],
        results=results,
        previous_draws=[LotteryDrawPublic(round=d.round, seed=d.seed, seed_source=d.seed_source,
                                          reason=d.reason, drawn_at=d.drawn_at, order=list(d.order))
                        for d in draws],
    )
