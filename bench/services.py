"""Scenarios of the services: the flash sign-up, the counselling rush, the housing search, and a
worker killed with ``kill -9`` in the middle of a sign-up rush.

Postings are written straight into the database through the models (published, as if reviewed) so
that loading data takes seconds and no content check uses the WeChat server token (the login storm
counts its fetches). Invariants are checked afterwards with plain SQL on the tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import procs
from bench.common import Bench, Row, Summary, copy_rows, percentile, summarize
from bench.metrics import watching
from bench.scenarios import body_of, ceiling, codes_5xx, sellout_seconds

# --- data -----------------------------------------------------------------------------------------


async def make_org(b: Bench, kind: str) -> int:
    from app.db import get_sessionmaker
    from app.validators import credit_code_check_char
    from models.base import utcnow
    from models.orgs import Organisation

    rng = random.Random()
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "9153" + "".join(rng.choice("0123456789") for _ in range(4)) + "".join(
        rng.choice(chars) for _ in range(9))
    async with get_sessionmaker()() as session:
        org = Organisation(name=f"压测机构{b.next_id()}", kind=kind, credit_code=first17 + credit_code_check_char(first17),
                           contact_name="张老师", contact_phone="0871-12345678", status="verified",
                           reviewed_at=utcnow())
        session.add(org)
        await session.commit()
        assert org.id is not None
        return org.id


async def make_event(b: Bench, *, male: int, female: int) -> tuple[int, dict[str, int]]:
    """A published event with gender quotas whose sign-up has just opened; returns (id, quota ids)."""
    from sqlalchemy import select

    from app.db import get_sessionmaker
    from models.base import utcnow
    from models.events import Event, EventQuota

    org_id = await make_org(b, "event_organizer")
    now = utcnow()
    starts = now + timedelta(days=3)
    async with get_sessionmaker()() as session:
        ev = Event(org_id=org_id, status="published", submitted_at=now, published_at=now,
                   title="周末青年联谊·滇池徒步", description="压测活动：滇池边徒步与交友。", venue_name="海埂公园",
                   venue_address="昆明市西山区海埂路", district="西山区", starts_at=starts,
                   ends_at=starts + timedelta(hours=4), signup_opens_at=now - timedelta(seconds=1),
                   signup_closes_at=starts - timedelta(hours=2), capacity=male + female, quota_male=male,
                   quota_female=female)
        session.add(ev)
        await session.flush()
        session.add_all([EventQuota(event_id=ev.id, quota_key="male", capacity=male),
                         EventQuota(event_id=ev.id, quota_key="female", capacity=female)])
        await session.commit()
        quotas = dict((await session.execute(
            select(EventQuota.quota_key, EventQuota.id).where(EventQuota.event_id == ev.id))).all())
        assert ev.id is not None
        return ev.id, quotas


def signup_requests(people: list[dict[str, Any]], event_id: int, *, total: int, seed: str
                    ) -> list[dict[str, Any]]:
    """Everyone taps once; the rest are retries (same Idempotency-Key: a timeout on a bad network)
    and repeated taps (a new key), each sent some time after its original, in a shuffled crowd."""
    rng = random.Random(seed)
    path = f"/api/v1/events/{event_id}/registrations"
    firsts = []
    order = list(range(len(people)))
    rng.shuffle(order)
    for pos, i in enumerate(order):
        p = people[i]
        key = uuid.uuid4().hex
        p["idem"] = key
        firsts.append((float(pos), {"m": "POST", "p": path, "u": p["id"], "kind": "first",
                                    "h": {"authorization": p["auth"], "idempotency-key": key}}))
    extra = total - len(firsts)
    retries, repeats = extra // 2, extra - extra // 2
    keyed: list[tuple[float, dict[str, Any]]] = list(firsts)
    pos_of = {order[pos]: pos for pos in range(len(order))}
    for kind, count in (("retry", retries), ("repeat", repeats)):
        chosen = rng.sample(range(len(people)), min(count, len(people)))
        while len(chosen) < count:
            chosen.append(rng.randrange(len(people)))
        for i in chosen:
            p = people[i]
            key = p["idem"] if kind == "retry" else uuid.uuid4().hex
            after = pos_of[i] + rng.uniform(0.5, len(people) * 0.75)
            keyed.append((after, {"m": "POST", "p": path, "u": p["id"], "kind": kind,
                                  "h": {"authorization": p["auth"], "idempotency-key": key}}))
    keyed.sort(key=lambda kv: kv[0])
    return [r for _, r in keyed]


# --- invariants of a sign-up rush -----------------------------------------------------------------------


async def check_signups(b: Bench, scenario: str, event_id: int, quotas: dict[str, int], capacity: dict[str, int],
                        reqs: list[dict[str, Any]], out: dict[str, Any], *, strict_order: bool = True) -> None:
    conn = await b.pg()
    try:
        regs = await conn.fetch("SELECT id, user_id, quota_key, status, promoted_at FROM event_registrations "
                                "WHERE event_id = $1 ORDER BY id", event_id)
        counters = {r["quota_key"]: (r["taken"], r["capacity"]) for r in await conn.fetch(
            "SELECT quota_key, taken, capacity FROM event_quotas WHERE event_id = $1", event_id)}
        pending_idem = await conn.fetchval(
            "SELECT count(*) FROM idempotency_records WHERE route = $1 AND status_code = 0",
            f"POST /api/v1/events/{event_id}/registrations")
    finally:
        await conn.close()
    confirmed = Counter(r["quota_key"] for r in regs if r["status"] == "confirmed")
    want = " + ".join(f"{capacity[k]}" for k in sorted(capacity))
    got = " + ".join(f"{confirmed.get(k, 0)}" for k in sorted(capacity))
    b.check(scenario, f"exactly {want} confirmed ({'/'.join(sorted(capacity))})",
            all(confirmed.get(k, 0) == capacity[k] for k in capacity), got)
    b.check(scenario, "quota counters equal the confirmed rows, none over capacity",
            all(counters[k][0] == confirmed.get(k, 0) <= counters[k][1] for k in capacity),
            ", ".join(f"{k}: taken {counters[k][0]}/{counters[k][1]}, rows {confirmed.get(k, 0)}" for k in counters))
    per_user = Counter(r["user_id"] for r in regs if r["status"] in ("confirmed", "waitlisted"))
    twice = [u for u, n in per_user.items() if n > 1]
    b.check(scenario, "no person twice", not twice and len(regs) == len(per_user),
            f"{len(twice)} people with 2+ active registrations, {len(regs)} rows for {len(per_user)} people")
    askers = {r["u"] for r in reqs}
    answered = defaultdict(list)
    for req, r in zip(reqs, out["results"], strict=True):
        if r[3] in (200, 201):
            answered[req["u"]].append(body_of(r))
    missing = [u for u in askers if u in answered and u not in per_user]
    b.check(scenario, "everyone answered 201 holds exactly one registration (a place or the waitlist)",
            not missing and set(per_user) <= askers, f"{len(answered)} answered, {len(missing)} without a row")
    by_user = {r["user_id"]: r for r in regs}
    lies = sum(1 for u, bodies in answered.items() for body in bodies
               if body.get("status") == "confirmed" and by_user.get(u, {}).get("status") != "confirmed")
    b.check(scenario, "no answer 'confirmed' without a confirmed row", lies == 0, f"{lies} answers")
    wrong_gender = sum(1 for r in regs if r["quota_key"] not in capacity)
    b.check(scenario, "every registration in a gender quota", wrong_gender == 0, f"{wrong_gender} outside")
    b.check(scenario, "no idempotency key left half-written", pending_idem == 0, f"{pending_idem} in progress")

    # Arrival order, seen from the clients: (1) once someone has been told "waitlisted", nobody who
    # asks later gets a place of that quota except by promotion from the waitlist; (2) a promoted
    # person passed over nobody told "waitlisted" before they even asked; (3) someone told
    # "waitlisted" before another person even asked is ahead of that person in the queue (the queue is
    # registration id order).
    first_send: dict[int, float] = {}
    first_wait_done: dict[str, float] = {}
    wait_done: dict[int, float] = {}
    for req, r in zip(reqs, out["results"], strict=True):
        u = req["u"]
        first_send[u] = min(first_send.get(u, r[1]), r[1])
        body = body_of(r)
        if r[3] in (200, 201) and body.get("status") == "waitlisted":
            k = body.get("quota_key", "")
            first_wait_done[k] = min(first_wait_done.get(k, r[2]), r[2])
            wait_done[u] = min(wait_done.get(u, r[2]), r[2])
    late_winners = [r for r in regs if r["status"] == "confirmed" and r["promoted_at"] is None
                    and r["quota_key"] in first_wait_done
                    and first_send.get(r["user_id"], 0) > first_wait_done[r["quota_key"]]]
    b.check(scenario, "nobody who asked after a 'waitlisted' answer got a place other than by promotion",
            not late_winners, f"{len(late_winners)} late winners")
    # A promoted person must be the head of the queue among the entries committed by then. Someone
    # still waiting with a lower id may merely have been in flight (ids are given before commit), so
    # only a person answered "waitlisted" before the promoted one even asked counts as passed over.
    promoted = [r for r in regs if r["promoted_at"] is not None]
    still_waiting = [r for r in regs if r["status"] == "waitlisted"]
    lower = passed_over = 0
    for p in promoted:
        ahead_of_p = [q for q in still_waiting if q["quota_key"] == p["quota_key"] and q["id"] < p["id"]]
        lower += bool(ahead_of_p)
        passed_over += any(wait_done.get(q["user_id"], float("inf")) < first_send.get(p["user_id"], 0)
                           for q in ahead_of_p)
    b.check(scenario, "promotions go to the head of the waitlist (nobody answered 'waitlisted' passed over)",
            passed_over == 0, f"{len(promoted)} promoted, {passed_over} past someone already waiting, "
            f"{lower} past a lower id (possibly in flight)")
    done_of: dict[int, float] = {}
    for req, r in zip(reqs, out["results"], strict=True):
        if r[3] in (200, 201):
            done_of[req["u"]] = min(done_of.get(req["u"], r[2]), r[2])
    inversions = 0
    waiting = defaultdict(list)
    for r in regs:
        if r["status"] == "waitlisted":
            waiting[r["quota_key"]].append(r)
    for rows in waiting.values():
        best_done = float("inf")  # the earliest answer among people further back in the queue
        for r in reversed(rows):
            if best_done < first_send.get(r["user_id"], float("inf")):
                inversions += 1
            best_done = min(best_done, done_of.get(r["user_id"], float("inf")))
    if strict_order:
        b.check(scenario, "waitlist in arrival order (nobody answered before you asked is behind you)",
                inversions == 0, f"{sum(len(v) for v in waiting.values())} waiting, {inversions} out of order")


# --- 1. flash sign-up -----------------------------------------------------------------------------------


async def flash_signup(b: Bench, *, people_n: int = 2000, requests_n: int = 5000, connections: int | None = None,
                       places: int = 200, name: str = "flash", scenario: str = "1. flash sign-up",
                       targets: bool = True) -> Summary:
    connections = connections or b.rush_connections
    half = places // 2
    people = await b.make_youth(people_n, prefix=name,
                                genders=["male" if i % 2 == 0 else "female" for i in range(people_n)])
    event_id, quotas = await make_event(b, male=half, female=places - half)
    reqs = signup_requests(people, event_id, total=requests_n, seed=name)
    gender = {p["id"]: p["gender"] for p in people}

    ceiling_s, ceiling_out = await ceiling(b, name, [(gender[r["u"]], r["u"]) for r in reqs],
                                           {"male": half, "female": places - half}, connections=connections)
    who = [r["u"] for r in reqs]
    ceiling_sellout = sellout_seconds(ceiling_out, lambda r: r[3] == 200 and body_of(r).get("status") == "confirmed",
                                      who)
    async with watching(b.api_url, scenario, "/api/v1/events/{event_id}/registrations") as watch:
        s, out, cpu = await b.measure(name, b.spec(_wire(reqs), connections=connections, keep_body=True))
    b.metric_lines.append(watch.summary())
    sellout = sellout_seconds(out, lambda r: r[3] in (200, 201) and body_of(r).get("status") == "confirmed", who)
    kinds = Counter((req["kind"], r[3], body_of(r).get("code") or body_of(r).get("status"))
                    for req, r in zip(reqs, out["results"], strict=True))
    b.rows.append(Row(scenario, s, ceiling_s, [
        f"{people_n} people, {requests_n} requests ({connections} connections)",
        f"sold out in {sellout * 1000:.0f} ms" if sellout is not None else "not sold out",
        f"ceiling sold out in {ceiling_sellout * 1000:.0f} ms" if ceiling_sellout is not None else "",
        "answers: " + ", ".join(f"{k[0]} {k[1]} {k[2]}×{n}" for k, n in sorted(kinds.items(), key=str)),
        codes_5xx(out) or "no 5xx",
        cpu,
    ]))
    b.check(scenario, "no 5xx and no dropped connection", s.errors_5xx == 0 and s.transport_errors == 0,
            s.status_text())
    await check_signups(b, scenario, event_id, quotas, {"male": half, "female": places - half}, reqs, out)
    if not targets:
        return s
    violations = [c for c in b.checks if c.scenario == scenario and c.ok is False]
    b.target(f"flash sign-up ≥ 50 % of the ceiling's throughput ({s.rps:.0f} vs {ceiling_s.rps:.0f} req/s)",
             s.rps >= 0.5 * ceiling_s.rps, f"{s.rps / ceiling_s.rps:.0%}" if ceiling_s.rps else "")
    b.target("flash sign-up: zero invariant violations", not violations,
             f"{len(violations)} failed checks" if violations else "")
    b.target("flash sign-up: the 200 places gone in under 0.5 s",
             sellout is not None and sellout < 0.5, f"{sellout * 1000:.0f} ms" if sellout is not None else "never")
    b.target(f"flash sign-up: p99 ≤ 1 s at {connections} connections", s.p99_ms <= 1000, f"{s.p99_ms:.0f} ms")
    return s


async def crowd_signup(b: Bench) -> None:
    """The same rush from 1,000 phones at once: more than the pools hold, so requests queue for a
    connection. The promise is the same answers and invariants, with no 503 (the queue holds 20 s)."""
    s = await flash_signup(b, connections=1000, name="crowd", scenario="1b. flash sign-up, 1,000 connections",
                           targets=False)
    b.target("flash sign-up from 1,000 connections: no request timed out or dropped, p99 ≤ 3 s",
             s.transport_errors == 0 and s.p99_ms <= 3000, f"{s.transport_errors} timed out or dropped, "
             f"p99 {s.p99_ms:.0f} ms")


def _wire(reqs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the load generator needs of each request (the rest is for the checks)."""
    return [{k: v for k, v in r.items() if k in ("m", "p", "h", "b")} for r in reqs]


# --- fault: kill -9 of a worker in the middle of a rush ----------------------------------------------


async def kill_worker_in_rush(b: Bench, *, people_n: int = 1200, requests_n: int = 3000, connections: int = 64,
                              places: int = 200, kill_after: float = 0.6) -> None:
    scenario = "fault: kill -9 worker in a rush"
    assert b.api is not None
    half = places // 2
    people = await b.make_youth(people_n, prefix="kill",
                                genders=["male" if i % 2 == 0 else "female" for i in range(people_n)])
    event_id, quotas = await make_event(b, male=half, female=places - half)
    reqs = signup_requests(people, event_id, total=requests_n, seed="kill")
    workers = procs.uvicorn_workers(b.api.pid)
    run = procs.start_loadgen(b.spec(_wire(reqs), connections=connections, keep_body=True), b.work, "kill9")
    victim, held = None, 0
    try:
        await asyncio.sleep(kill_after)
        if workers:
            # The worker holding the most client connections: its in-flight requests die with it.
            held_by = procs.connections_to(b.api_port, workers)
            victim = max(workers, key=lambda w: held_by.get(w, 0))
            held = held_by.get(victim, 0)
            os.kill(victim, signal.SIGKILL)
        out = await asyncio.to_thread(run.result)
    finally:
        run.kill()
    s = summarize(out)
    dropped = [req for req, r in zip(reqs, out["results"], strict=True) if r[3] <= 0 or r[3] == 503]
    # The clients whose requests died with the worker (or were asked to retry) retry them with the
    # same Idempotency-Key.
    retry_out = await b.load("kill9-retry", b.spec(_wire(dropped), connections=32, keep_body=True)) if dropped \
        else {"results": []}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(procs.uvicorn_workers(b.api.pid)) < b.workers:
        await asyncio.sleep(0.2)
    after = procs.uvicorn_workers(b.api.pid)
    status, _ = await asyncio.to_thread(procs.http_json, "GET", f"{b.api_url}/readyz")
    in_flight_died = sum(1 for r in out["results"] if r[3] <= 0)
    b.rows.append(Row(scenario, s, None, [
        f"worker {victim} (holding {held} of {connections} client connections) killed {kill_after:.1f}s into "
        f"{requests_n} requests" if victim else "no worker found",
        f"requests lost with it: {in_flight_died} (retried with their keys: "
        f"{Counter(r[3] for r in retry_out['results']) or '-'})",
        codes_5xx(out) or "no 5xx",
        f"workers {workers} → {after}",
    ]))
    b.check(scenario, "a worker was killed", victim is not None, str(victim))
    b.check(scenario, "uvicorn replaced the worker; the API answers /readyz",
            len(after) == b.workers and victim not in after and status == 200, f"{after}, readyz {status}")
    b.check(scenario, "no 5xx: only the killed worker's own connections dropped", s.errors_5xx == 0, s.status_text())
    b.check(scenario, "retried requests answered 2xx",
            all(r[3] in (200, 201) for r in retry_out["results"]),
            str(Counter(r[3] for r in retry_out["results"])))
    # Each dropped request answered by its retry, on the rush's clock, for the checks. The person asked
    # when the original was sent: a request that committed a place before its worker died replays
    # "confirmed" on retry, and counting the retry's send time would make that an unfair late win.
    shift = retry_out.get("epoch", 0.0) - out["epoch"]
    retried = iter([[r[0], r[1] + shift, r[2] + shift, *r[3:]] for r in retry_out["results"]])
    merged = {"results": [[r[0], r[1], *next(retried)[2:]] if r[3] <= 0 or r[3] == 503 else r
                          for r in out["results"]]}
    await check_signups(b, scenario, event_id, quotas, {"male": half, "female": places - half}, reqs, merged,
                        strict_order=False)


# --- 2. counselling rush ---------------------------------------------------------------------------------


async def make_slots(b: Bench, n: int) -> list[int]:
    """A published counsellor of a verified centre with ``n`` free one-hour slots from tomorrow on."""
    from app.db import get_sessionmaker
    from models.base import utcnow
    from models.counselling import CounsellingSlot, Counsellor

    org_id = await make_org(b, "counselling_center")
    now = utcnow()
    first = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    async with get_sessionmaker()() as session:
        c = Counsellor(org_id=org_id, status="published", submitted_at=now, published_at=now, display_name="李老师",
                       gender="female", qualifications=["国家二级心理咨询师"], specialties=["emotions", "career"],
                       modes=["in_person", "video"], languages=["普通话"], introduction="压测咨询师",
                       tags="|s:emotions|s:career|m:in_person|m:video|")
        session.add(c)
        await session.flush()
        slots = [CounsellingSlot(counsellor_id=c.id, org_id=org_id, starts_at=first + timedelta(hours=i),
                                 ends_at=first + timedelta(hours=i, minutes=50)) for i in range(n)]
        session.add_all(slots)
        await session.commit()
        return [s.id for s in slots if s.id is not None]


async def counselling_rush(b: Bench, *, people_n: int = 500, slots_n: int = 20, connections: int | None = None
                           ) -> None:
    scenario = "2. counselling rush"
    connections = connections or b.rush_connections
    people = await b.make_youth(people_n, prefix="counsel")
    slot_ids = await make_slots(b, slots_n)
    rng = random.Random("counsel")
    # Everyone wants one slot, all at once; every slot is wanted by about the same number of people.
    wanted = [slot_ids[i % slots_n] for i in range(people_n)]
    rng.shuffle(wanted)
    reqs = [{"m": "POST", "p": "/api/v1/counselling/bookings", "u": p["id"], "slot": slot,
             "h": {"authorization": p["auth"], "idempotency-key": uuid.uuid4().hex},
             "b": json.dumps({"slot_id": slot, "mode": "video",
                              "intake": {"topic": "career", "description": "找工作压力大，想聊聊。",
                                         "self_harm_thoughts": False}})}
            for p, slot in zip(people, wanted, strict=True)]
    ceiling_s, _ = await ceiling(b, "counselling", [(f"s{r['slot']}", r["u"]) for r in reqs],
                                 {f"s{sid}": 1 for sid in slot_ids}, connections=connections)
    async with watching(b.api_url, scenario, "/api/v1/counselling/bookings") as watch:
        s, out, cpu = await b.measure("counselling", b.spec(_wire(reqs), connections=connections, keep_body=True))
    b.metric_lines.append(watch.summary())
    answers = Counter(f"{r[3]} {body_of(r).get('code') or body_of(r).get('status')}" for r in out["results"])
    b.rows.append(Row(scenario, s, ceiling_s, [
        f"{people_n} people, {slots_n} slots, {connections} connections",
        "answers: " + ", ".join(f"{k}×{n}" for k, n in sorted(answers.items())),
        codes_5xx(out) or "no 5xx", cpu,
    ]))
    conn = await b.pg()
    try:
        bookings = await conn.fetch("SELECT id, slot_id, user_id, status FROM counselling_bookings "
                                    "WHERE slot_id = ANY($1::int[])", slot_ids)
        slots = await conn.fetch("SELECT id, taken, capacity FROM counselling_slots WHERE id = ANY($1::int[])",
                                 slot_ids)
    finally:
        await conn.close()
    holding = [x for x in bookings if x["status"] in ("booked", "attended", "no_show")]
    b.check(scenario, f"exactly {slots_n} bookings", len(holding) == slots_n == len(bookings),
            f"{len(holding)} holding, {len(bookings)} rows")
    per_slot = Counter(x["slot_id"] for x in holding)
    b.check(scenario, "no slot booked twice", all(n == 1 for n in per_slot.values()),
            f"{sum(1 for n in per_slot.values() if n > 1)} slots with 2+")
    full = sorted(x["id"] for x in slots if x["taken"] == x["capacity"] == 1)
    b.check(scenario, "every slot's counter says taken, once per booking",
            full == sorted(per_slot) and all(x["taken"] <= x["capacity"] for x in slots), f"{len(full)} full slots")
    winners = {req["u"] for req, r in zip(reqs, out["results"], strict=True) if r[3] == 201}
    b.check(scenario, "the people answered 201 are exactly the people holding a booking",
            winners == {x["user_id"] for x in holding}, f"{len(winners)} answered 201")
    others = Counter(f"{r[3]} {body_of(r).get('code')}" for r in out["results"] if r[3] != 201)
    b.check(scenario, "every loser answered 409 COUNSELLING_SLOT_TAKEN (no 5xx)",
            set(others) <= {"409 COUNSELLING_SLOT_TAKEN"}, ", ".join(f"{k}×{n}" for k, n in others.items()))
    b.target(f"counselling rush ≥ 50 % of the ceiling ({s.rps:.0f} vs {ceiling_s.rps:.0f} req/s)",
             s.rps >= 0.5 * ceiling_s.rps, f"{s.rps / ceiling_s.rps:.0%}" if ceiling_s.rps else "")


# --- 3. housing search -------------------------------------------------------------------------------------


# Rough centres of Kunming's county-level divisions, and how many of the projects each gets.
DISTRICTS: dict[str, tuple[float, float, int]] = {
    "五华区": (25.07, 102.70, 14), "盘龙区": (25.12, 102.75, 14), "官渡区": (25.02, 102.78, 16),
    "西山区": (24.98, 102.65, 12), "呈贡区": (24.89, 102.82, 14), "安宁市": (24.92, 102.48, 6),
    "晋宁区": (24.67, 102.59, 4), "嵩明县": (25.34, 103.04, 4), "宜良县": (24.92, 103.14, 3),
    "富民县": (25.22, 102.50, 3), "石林彝族自治县": (24.77, 103.29, 3), "东川区": (26.08, 103.19, 2),
    "禄劝彝族苗族自治县": (25.55, 102.47, 2), "寻甸回族彝族自治县": (25.56, 103.26, 3),
}
LAYOUTS = ("studio", "one_room", "two_rooms", "three_rooms")
STATIONS = ("东风广场", "五一路", "北京路", "南屏街", "呈贡大学城", "春融街", "昆明南站", "西山公园", "眠山", "联大街")


async def make_projects(b: Bench, n: int) -> int:
    """``n`` published projects (1–3 unit types each, the project's denormalised figures in step)."""
    from models.base import utcnow
    from models.housing import HousingProject, HousingUnitType

    rng = random.Random("housing")
    orgs = [await make_org(b, "housing_operator") for _ in range(20)]
    names = list(DISTRICTS)
    weights = [DISTRICTS[d][2] for d in names]
    now = utcnow()
    projects, units = [], []
    for i in range(n):
        district = rng.choices(names, weights)[0]
        lat0, lng0, _ = DISTRICTS[district]
        types = []
        for layout in rng.sample(LAYOUTS, rng.randint(1, 3)):
            total = rng.randint(10, 200)
            available = rng.randint(0, total)
            taken = rng.randint(0, available)
            base = {"studio": 900, "one_room": 1300, "two_rooms": 1900, "three_rooms": 2600}[layout]
            types.append({"layout": layout, "area_sqm": round(rng.uniform(25, 110), 1),
                          "rent_fen": rng.randint(base * 7, base * 13) * 10, "deposit_fen": 0,
                          "total_units": total, "available_units": available, "taken_units": taken,
                          "created_at": now, "updated_at": now})
        published = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        projects.append({
            "org_id": rng.choice(orgs), "status": "published", "submitted_at": published,
            "published_at": published, "hidden_by_reports": False, "created_at": published, "updated_at": published,
            "name": f"春城青居·{district[:2]}{rng.choice(STATIONS)}{i}号院", "district": district,
            "address": f"昆明市{district}青年路{rng.randint(1, 999)}号",
            "lat": round(lat0 + rng.uniform(-0.06, 0.06), 6), "lng": round(lng0 + rng.uniform(-0.06, 0.06), 6),
            "metro_station": rng.choice(STATIONS) if rng.random() < 0.6 else None,
            "description": "面向新就业大学生和青年人才的保障性租赁住房。", "amenities": ["拎包入住", "近地铁"],
            "photo_urls": [], "allocation": rng.choice(("first_come", "lottery")), "min_age": 18, "max_age": 35,
            "require_no_home": True, "require_work_in_kunming": False,
            "min_rent_fen": min(t["rent_fen"] for t in types), "max_rent_fen": max(t["rent_fen"] for t in types),
            "units_total": sum(t["total_units"] for t in types),
            "units_available": sum(t["available_units"] for t in types),
            "units_remaining": sum(t["available_units"] - t["taken_units"] for t in types),
        })
        units.append(types)
    conn = await b.pg()
    try:
        # COPY, with ids reserved from the table's own sequence so the unit types can point at them.
        ids = [r[0] for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('housing_projects', 'id')) FROM generate_series(1, $1)", n)]
        for pid, row in zip(ids, projects, strict=True):
            row["id"] = pid
        await copy_rows(conn, HousingProject, projects)
        await copy_rows(conn, HousingUnitType, [dict(t, project_id=pid) for pid, types in zip(ids, units, strict=True)
                                                for t in types])
        await conn.execute("ANALYZE housing_projects; ANALYZE housing_unit_types")
    finally:
        await conn.close()
    return len(ids)


def housing_queries(rng: random.Random, n: int) -> list[tuple[str, dict[str, Any]]]:
    """A young person's searches: district and rent filters, layouts, near a point by distance, keywords."""
    out = []
    for _ in range(n):
        params: dict[str, Any] = {}
        kind = rng.choices(("newest", "district", "rent", "layout", "near", "near_district", "available", "keyword"),
                           (15, 20, 15, 10, 20, 8, 7, 5))[0]
        if kind == "district":
            params["district"] = rng.sample(list(DISTRICTS)[:5], rng.randint(1, 2))
            params["sort"] = rng.choice(("rent", "newest"))
        elif kind == "rent":
            lo = rng.randint(5, 20) * 10_000
            params.update(rent_min=lo, rent_max=lo + rng.randint(5, 15) * 10_000, sort="rent")
        elif kind == "layout":
            params["layout"] = rng.sample(LAYOUTS, rng.randint(1, 2))
            params["rent_max"] = rng.randint(15, 35) * 10_000
        elif kind in ("near", "near_district"):
            d = rng.choice(list(DISTRICTS)[:5])
            lat, lng, _ = DISTRICTS[d]
            params["near"] = f"{lat + rng.uniform(-0.03, 0.03):.4f},{lng + rng.uniform(-0.03, 0.03):.4f}"
            params["radius_km"] = rng.choice((2, 3, 5, 8))
            if kind == "near_district":
                params["district"] = [d]
        elif kind == "available":
            params["available_only"] = "true"
            params["district"] = [rng.choice(list(DISTRICTS))]
        elif kind == "keyword":
            params["q"] = rng.choice(STATIONS)
        params["limit"] = 20
        out.append((kind, params))
    return out


def _query_path(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return "/api/v1/housing/projects?" + urlencode(params, doseq=True)


def _check_page(kind: str, params: dict[str, Any], page: dict[str, Any]) -> list[str]:
    """What a page must satisfy given its filters."""
    problems = []
    items = page.get("items", [])
    for it in items:
        if "district" in params and it["district"] not in params["district"]:
            problems.append(f"{kind}: district {it['district']}")
        if "rent_max" in params and (it["min_rent_fen"] or 0) > params["rent_max"]:
            problems.append(f"{kind}: rent {it['min_rent_fen']} > {params['rent_max']}")
        if "rent_min" in params and (it["max_rent_fen"] or 0) < params["rent_min"]:
            problems.append(f"{kind}: rent {it['max_rent_fen']} < {params['rent_min']}")
        if "layout" in params and not any(u["layout"] in params["layout"] for u in it["unit_types"]):
            problems.append(f"{kind}: layout")
        if "near" in params and (it.get("distance_km") is None or it["distance_km"] > params["radius_km"] + 0.01):
            problems.append(f"{kind}: distance {it.get('distance_km')}")
        if params.get("available_only") and it["units_remaining"] <= 0:
            problems.append(f"{kind}: not available")
    if "near" in params:
        d = [it["distance_km"] for it in items]
        if d != sorted(d):
            problems.append(f"{kind}: not sorted by distance")
    if params.get("sort") == "rent":
        r = [it["min_rent_fen"] for it in items]
        if r != sorted(r):
            problems.append(f"{kind}: not sorted by rent")
    return problems


async def housing_search(b: Bench, *, projects_n: int = 20_000, connections: int = 64, seconds: float = 15.0,
                         distinct: int = 600) -> None:
    scenario = "3. housing search"
    t0 = time.monotonic()
    made = await make_projects(b, projects_n)
    load_s = time.monotonic() - t0
    viewers = await b.make_youth(200, prefix="house")
    rng = random.Random("search")
    queries = housing_queries(rng, distinct)

    # Page 1 of every query once, with whole bodies: checks the filters and yields the cursors of
    # pages 2 and 3, which the timed run then mixes in (people scroll).
    first = [{"m": "GET", "p": _query_path(p)} for _, p in queries]
    pre = await b.load("housing-pages", b.spec(first, connections=16, keep_body=True, body_limit=1 << 20))
    problems: list[str] = []
    mix: list[tuple[str, dict[str, Any]]] = []
    empty = 0
    for (kind, params), r in zip(queries, pre["results"], strict=True):
        if r[3] != 200:
            problems.append(f"{kind}: HTTP {r[3]}")
            continue
        page = json.loads(r[4])
        problems += _check_page(kind, params, page)
        empty += not page["items"]
        mix.append((kind, params))
        if page.get("next_cursor"):
            mix.append((kind + "+page2", dict(params, cursor=page["next_cursor"])))
    page2 = [{"m": "GET", "p": _query_path(p)} for k, p in mix if k.endswith("+page2")]
    pre2 = await b.load("housing-pages2", b.spec(page2, connections=16, keep_body=True, body_limit=1 << 20))
    for (kind, params), r in zip([m for m in mix if m[0].endswith("+page2")], pre2["results"], strict=True):
        if r[3] != 200:
            problems.append(f"{kind}: HTTP {r[3]}")
            continue
        page = json.loads(r[4])
        problems += _check_page(kind, params, page)
        if page.get("next_cursor"):
            mix.append((kind.replace("page2", "page3"), dict(params, cursor=page["next_cursor"])))
    b.check(scenario, f"{made} published projects loaded", made == projects_n, f"in {load_s:.0f}s")
    b.check(scenario, "every page matches its filters and sort (pages 1–2 of every query)", not problems,
            "; ".join(problems[:5]) + (f" … {len(problems)} in all" if len(problems) > 5 else "")
            or f"{len(first) + len(page2)} pages, {empty} empty")

    rng.shuffle(mix)
    reqs = []
    for i, (_, params) in enumerate(mix):
        req: dict[str, Any] = {"m": "GET", "p": _query_path(params)}
        if i % 3 == 0:  # a third are logged in (their favourites are looked up too)
            req["h"] = {"authorization": viewers[i % len(viewers)]["auth"]}
        reqs.append(req)
    kinds = Counter(k.split("+")[0] for k, _ in mix)

    # The search's own ceiling: the same statements on bare asyncpg, the same JSON (bench/ceiling.py).
    # First the same pages 1 once, to check that it is the same work: every body equal to the API's.
    ceiling_reqs = [dict(r, p=r["p"].replace("/api/v1/housing/projects", "/housing/projects")) for r in reqs]
    same = await b.load("housing-ceiling-pages", b.spec(
        [dict(r, p=r["p"].replace("/api/v1/housing/projects", "/housing/projects")) for r in first],
        connections=16, keep_body=True, body_limit=1 << 20, port=b.ceiling_port))
    differ = [q[0] for q, r, c in zip(queries, pre["results"], same["results"], strict=True)
              if r[3] != 200 or c[3] != 200 or json.loads(r[4]) != json.loads(c[4])]
    b.check(scenario, "the ceiling answers every page 1 with the API's JSON", not differ,
            f"{len(differ)} of {len(first)} differ ({', '.join(sorted(set(differ)))})" if differ
            else f"{len(first)} pages")
    ceiling_s, _, ceiling_cpu = await b.measure("ceiling-housing", b.spec(
        ceiling_reqs, connections=connections, duration=seconds, port=b.ceiling_port), "ceiling")
    s, _, cpu = await b.measure("housing", b.spec(reqs, connections=connections, duration=seconds))
    b.rows.append(Row(f"{scenario}: {connections} clients, no think time", s, ceiling_s, [
        f"{projects_n} projects; {len(mix)} distinct searches ("
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common()) + f"; {sum('+page' in k for k, _ in mix)} "
        "next pages), a third logged in", s.status_text(), cpu, f"ceiling {ceiling_cpu}",
    ]))
    b.check(scenario, "every search answered 200", set(s.statuses) == {200}, s.status_text())
    # The same clients at half that throughput (open loop): the latency of a server that keeps up.
    rate = max(10.0, s.rps / 2)
    s2, out2, cpu2 = await b.measure("housing-paced", b.spec(reqs, connections=connections, duration=seconds,
                                                             rate=rate))
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in out2["results"]:
        by_kind[mix[r[0] % len(mix)][0].split("+")[0]].append((r[2] - r[1]) * 1000)
    b.rows.append(Row(f"{scenario}: {connections} clients at {rate:.0f} req/s (half of the above)", s2, None, [
        s2.status_text(), "p50 / p99 ms by search: " + ", ".join(
            f"{k} {percentile(sorted(v), 0.5):.0f}/{percentile(sorted(v), 0.99):.0f}"
            for k, v in sorted(by_kind.items())), cpu2]))
    b.check(scenario, "every paced search answered 200", set(s2.statuses) == {200}, s2.status_text())
    # Closed loop: each client sends again the moment it is answered, so the mean latency is
    # clients / throughput (Little's law) and its p99 measures the queue more than the search; the
    # paced run below it is the latency target.
    b.target(f"housing search ≥ 50 % of its ceiling ({s.rps:.0f} vs {ceiling_s.rps:.0f} req/s)",
             s.rps >= 0.5 * ceiling_s.rps, f"{s.rps / ceiling_s.rps:.0%}" if ceiling_s.rps else "")
    b.target(f"housing search p99 ≤ 50 ms at {rate:.0f} req/s (half the saturated throughput)",
             s2.p99_ms <= 50, f"{s2.p99_ms:.0f} ms")


# --- 4. my timeline ------------------------------------------------------------------------------------


async def timeline_depth(b: Bench, *, heavy_items: int = 1000, light_items: int = 10, requests_n: int = 400,
                         connections: int = 8) -> None:
    """The first page of ``/me/timeline`` (and of its "needs my action" filter) for a person with 1,000
    housing applications and for one with 10: the cost must not grow with the history."""
    from models.housing import HousingApplication

    scenario = "4. my timeline"
    await make_projects(b, heavy_items)
    heavy, light = await b.make_youth(2, prefix="timeline")
    conn = await b.pg()
    try:
        pairs = await conn.fetch(
            "SELECT p.id, min(u.id) AS unit FROM housing_projects p JOIN housing_unit_types u ON u.project_id = p.id "
            "GROUP BY p.id ORDER BY p.id DESC LIMIT $1", heavy_items)
        rng = random.Random("timeline")
        now = datetime.now(UTC)
        rows = []
        for who, n in ((heavy, heavy_items), (light, light_items)):
            for i, (pid, unit) in enumerate(pairs[:n]):
                at = now - timedelta(minutes=rng.randint(1, 60 * 24 * 365))
                status = rng.choice(("submitted", "eligible", "ineligible", "withdrawn", "offered"))
                row = {"number": f"TL{who['id']}-{i}", "project_id": pid, "unit_type_id": unit, "user_id": who["id"],
                       "status": status, "submitted_at": at, "updated_at": at}
                if status == "offered":
                    row.update(offered_at=at, offer_expires_at=at + timedelta(days=rng.choice((-1, 3))))
                rows.append(row)
        await copy_rows(conn, HousingApplication, rows)
        await conn.execute("ANALYZE housing_applications")
    finally:
        await conn.close()
    p50 = {}
    for label, who, query in (("light", light, ""), ("heavy", heavy, ""), ("heavy, needs my action", heavy,
                                                                          "&needs_action=true")):
        reqs = [{"m": "GET", "p": f"/api/v1/me/timeline?limit=20{query}", "h": {"authorization": who["auth"]}}
                for _ in range(requests_n)]
        s, _, cpu = await b.measure(f"timeline-{label}", b.spec(reqs, connections=connections))
        p50[label] = s.p50_ms
        b.rows.append(Row(f"{scenario}: first page, {label} ({heavy_items if who is heavy else light_items} items)",
                          s, None, [f"{connections} connections", s.status_text(), cpu]))
        b.check(scenario, f"every timeline page answered 200 ({label})", set(s.statuses) == {200}, s.status_text())
    b.target("timeline p50 with 1,000 items within 2× of 10 items", p50["heavy"] <= 2 * p50["light"],
             f"{p50['heavy']:.1f} ms vs {p50['light']:.1f} ms")
