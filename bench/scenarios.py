"""Scenarios that need only the platform: the ceiling, the login storm, PostgreSQL restarted under load."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from typing import Any

from bench import procs
from bench.common import Bench, Row, Summary, ensure_pg_running, pg_cluster, pg_ctl, summarize


def body_of(r: list[Any]) -> dict[str, Any]:
    try:
        data = json.loads(r[4]) if r[4] else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def codes_5xx(out: dict[str, Any]) -> str:
    seen = Counter(f"{r[3]} {body_of(r).get('code', '?')}" for r in out["results"] if r[3] >= 500)
    return ", ".join(f"{k}×{n}" for k, n in seen.most_common(5))


# --- the ceiling ---------------------------------------------------------------------------------------


async def ceiling(b: Bench, name: str, takes: list[tuple[str, int]], capacities: dict[str, int], *,
                  connections: int) -> tuple[Summary, dict[str, Any]]:
    """The bare endpoint driven with the same shape of work as a scenario: ``takes`` are
    (counter name, person) in the scenario's order, ``capacities`` the places of each counter."""
    ids = {key: b.next_id() for key in capacities}
    conn = await b.pg()
    try:
        await conn.executemany("INSERT INTO ceiling.counters (id, capacity) VALUES ($1, $2)",
                               [(ids[k], c) for k, c in capacities.items()])
    finally:
        await conn.close()
    reqs = [{"m": "POST", "p": "/take", "b": json.dumps({"counter": ids[k], "user": u})} for k, u in takes]
    summary, out, _ = await b.measure(f"ceiling-{name}", b.spec(reqs, connections=connections,
                                                                port=b.ceiling_port, keep_body=True), "ceiling")
    conn = await b.pg()
    try:
        over = await conn.fetchval("SELECT count(*) FROM ceiling.counters WHERE id = ANY($1::int[]) "
                                   "AND taken > capacity", list(ids.values()))
    finally:
        await conn.close()
    b.check(f"ceiling ({name})", "no counter over capacity", over == 0, f"{over} over")
    return summary, out


def sellout_seconds(out: dict[str, Any], confirmed: Any, who: list[Any] | None = None) -> float | None:
    """From the first request sent to the moment the last place was given, client side: the latest of
    each winner's first "confirmed" answer (repeats of a winner answer "confirmed" again later)."""
    if not out["results"]:
        return None
    first_win: dict[Any, float] = {}
    for i, r in enumerate(out["results"]):
        if confirmed(r):
            key = who[i] if who is not None else i
            first_win[key] = min(first_win.get(key, r[2]), r[2])
    if not first_win:
        return None
    return max(first_win.values()) - min(r[1] for r in out["results"])


# --- 4. login storm ------------------------------------------------------------------------------------


async def login_storm(b: Bench, *, logins: int = 1000, phones: int = 300, connections: int = 64) -> None:
    scenario = "4. login storm"
    status, stats = await asyncio.to_thread(procs.http_json, "GET", f"{b.standin_url}/_standin/stats")
    before = stats.get("token_fetches", 0) if status == 200 else None
    run = uuid.uuid4().hex[:6]
    reqs = [{"m": "POST", "p": "/api/v1/auth/wechat/login",
             "b": json.dumps({"code": f"dev:storm{run}x{i}:{i}"})} for i in range(logins)]
    # Logins do not contend on one row: the ceiling gets one counter per person, its best case.
    ceiling_s, _ = await ceiling(b, "login", [(f"u{i}", i) for i in range(logins)],
                                 {f"u{i}": 1 for i in range(logins)}, connections=connections)
    s, out, cpu = await b.measure("login", b.spec(reqs, connections=connections, keep_body=True))
    ok = [r for r in out["results"] if r[3] == 200]
    b.check(scenario, f"{logins} logins answered 200", len(ok) == logins, s.status_text())
    b.rows.append(Row(f"{scenario}: WeChat login", s, ceiling_s,
                      [f"{logins} logins, {connections} connections", cpu]))
    b.target(f"login storm ≥ 30 % of the ceiling ({s.rps:.0f} vs {ceiling_s.rps:.0f} req/s)",
             s.rps >= 0.3 * ceiling_s.rps, f"{s.rps / ceiling_s.rps:.0%}" if ceiling_s.rps else "")

    # Login itself uses appid + secret only; the phone API needs the server token. Bind phones from
    # many connections so that every worker needs the token at about the same moment.
    tokens = [body_of(r).get("access_token") for r in ok][:phones]
    tokens = [t for t in tokens if t]
    reqs = [{"m": "POST", "p": "/api/v1/me/phone", "h": {"authorization": f"Bearer {t}"},
             "b": json.dumps({"code": f"phone:138{i:08d}:{run}"})} for i, t in enumerate(tokens)]
    s2, out2, cpu = await b.measure("phone", b.spec(reqs, connections=connections, keep_body=True))
    b.rows.append(Row(f"{scenario}: phone binding (server token)", s2, None,
                      [f"{len(reqs)} bindings across {b.workers} workers", codes_5xx(out2) or "no 5xx",
                       cpu]))
    bound = sum(1 for r in out2["results"] if r[3] == 200)
    b.check(scenario, f"{len(reqs)} phone bindings answered 200", bound == len(reqs) and len(reqs) > 0,
            s2.status_text())
    status, stats = await asyncio.to_thread(procs.http_json, "GET", f"{b.standin_url}/_standin/stats")
    fetches = stats.get("token_fetches") if status == 200 else None
    b.check(scenario, "server token fetched once (stand-in /_standin/stats token_fetches == 1)",
            fetches == 1 and before == 0, f"before {before}, after {fetches}")
    conn = await b.pg()
    try:
        rows = await conn.fetch("SELECT name, fetch_count FROM service_tokens")
        phones_stored = await conn.fetchval("SELECT count(*) FROM users WHERE phone_hash IS NOT NULL")
    finally:
        await conn.close()
    if "YOUTH_REDIS_URL" not in b.env():  # with Redis the shared cache lives there, not in the table
        b.check(scenario, "the shared token row counts one fetch", [r["fetch_count"] for r in rows] == [1],
                ", ".join(f"{r['name']}={r['fetch_count']}" for r in rows))
    b.check(scenario, "every bound phone stored", phones_stored == bound, f"{phones_stored} stored, {bound} bound")


# --- fault: PostgreSQL restarted under load -------------------------------------------------------------


async def pg_restart(b: Bench, *, duration: float = 22.0, restart_after: float = 5.0, connections: int = 16) -> None:
    scenario = "fault: PostgreSQL restart"
    if pg_cluster() is None:
        b.check(scenario, "PostgreSQL restarted under load", None, "no local cluster under /etc/postgresql")
        return
    if os.geteuid() != 0:
        b.check(scenario, "PostgreSQL restarted under load", None, "needs root (pg_ctlcluster)")
        return
    people = await b.make_youth(64, prefix="pgr")
    workers_before = procs.uvicorn_workers(b.api.pid) if b.api else []
    reqs = [{"m": "GET", "p": "/api/v1/me", "h": {"authorization": p["auth"]}} for p in people]
    run = procs.start_loadgen(b.spec(reqs, connections=connections, duration=duration, timeout=30,
                                     keep_body=False), b.work, "pg-restart")
    restart_start = restart_end = None
    try:
        await asyncio.sleep(restart_after)
        restart_start = time.time()
        res = await asyncio.to_thread(pg_ctl, "restart", 120)
        restart_end = time.time()
        if res.returncode != 0:
            b.errors.append(f"pg_ctlcluster restart failed: {res.stderr.strip()}")
        out = await asyncio.to_thread(run.result)
    finally:
        run.kill()
        await asyncio.to_thread(ensure_pg_running)
    assert restart_start is not None and restart_end is not None
    epoch = out["epoch"]
    results = [[*r[:4], r[4], epoch + r[1], epoch + r[2]] for r in out["results"]]
    before = [r for r in results if r[6] < restart_start]
    during = [r for r in results if r[6] >= restart_start and r[5] < restart_end + 0.0]
    after = [r for r in results if r[5] >= restart_end]
    failures = [r for r in results if r[3] != 200]
    s = summarize(out)
    fail_lat = sorted((r[2] - r[1]) * 1000 for r in failures)
    first_ok_after = min((r[6] for r in after if r[3] == 200), default=None)
    recovery = first_ok_after - restart_end if first_ok_after is not None else None
    last_bad = max((r[6] for r in after if r[3] != 200), default=None)
    steady = (last_bad - restart_end) if last_bad is not None else 0.0
    codes = Counter(f"{r[3]} {body_of(r).get('code', '?')}" if r[3] > 0 else "dropped/timeout" for r in failures)
    b.rows.append(Row(scenario, s, None, [
        f"{connections} clients on GET /api/v1/me; restart took {restart_end - restart_start:.1f}s, "
        f"{len(during)} requests sent during it",
        "failures: " + (", ".join(f"{k}×{n}" for k, n in codes.most_common()) or "none"),
        (f"failed answers p50 {fail_lat[len(fail_lat) // 2]:.0f} ms, max {fail_lat[-1]:.0f} ms"
         if fail_lat else "no failed answers"),
        f"first 200 after restart: {recovery:.2f}s" if recovery is not None else "no 200 after restart",
        f"last failure {steady:.2f}s after restart" if last_bad is not None else "no failure after restart",
    ]))
    b.check(scenario, "all 200 before the restart", all(r[3] == 200 for r in before),
            f"{len(before)} requests")
    others = [r for r in failures if not (r[3] == 503 and body_of(r).get("code") == "DB_UNAVAILABLE")]
    b.check(scenario, "every failure is 503 DB_UNAVAILABLE (no 500, no dropped connection, no timeout)",
            not others, f"{len(failures)} failures, others: {dict(Counter(r[3] for r in others)) or 'none'}")
    limit_ms = 8000  # db_pool_timeout_seconds (5) + db_connect_timeout_seconds (3): nothing waits longer
    b.check(scenario, f"failures are fast (every failed answer < {limit_ms / 1000:.0f}s, none hangs)",
            not fail_lat or fail_lat[-1] < limit_ms,
            f"max {fail_lat[-1]:.0f} ms" if fail_lat else "no failures")
    b.check(scenario, "first 200 within 10s of the restart, without restarting the API",
            recovery is not None and recovery <= 10, f"{recovery:.2f}s" if recovery is not None else "never")
    b.check(scenario, "all 200 from 10s after the restart on", last_bad is None or steady <= 10,
            f"last failure at +{steady:.2f}s" if last_bad is not None else "no failure after restart")
    workers_after = procs.uvicorn_workers(b.api.pid) if b.api else []
    b.check(scenario, "recovered by itself: the same API workers before and after",
            b.api is not None and b.api.alive() and workers_after == workers_before,
            f"workers {workers_before} → {workers_after}")
