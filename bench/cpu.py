"""CPU per request of the hot paths, in-process: ``python -m bench.cpu [--only signup,booking] [-n 2000]``.

``make bench`` measures throughput, which other work on the machine lowers. This measures what a change
to the code does to one request's cost whatever the machine is doing: the app is called as an ASGI
application from this process (no HTTP server, no load generator), one request at a time, on a fresh
PostgreSQL database, and the process's own CPU time (``time.process_time``) is divided by the number of
requests. PostgreSQL's CPU is not in it (another process); its round trips are counted
(``app.roundtrips``) and printed. Uvicorn's HTTP parsing is not in it either: add about 0.1 ms.

Optionally ``--profile out.prof`` writes a cProfile of the measured requests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import Bench


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    """One request through the ASGI app, the way uvicorn hands it over."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": raw, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "state": {}}
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(name: str, requests: list[tuple[str, str, dict[str, str], bytes]], app: Any,
                  profile: cProfile.Profile | None) -> dict[str, Any]:
    from app import roundtrips

    warm = max(1, len(requests) // 10)
    for r in requests[:warm]:
        await call(app, *r)
    counter = roundtrips._counter
    trips0 = counter.n if counter else 0
    statuses: Counter[int] = Counter()
    rest = requests[warm:]
    if profile:
        profile.enable()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for r in rest:
        status, _ = await call(app, *r)
        statuses[status] += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if profile:
        profile.disable()
    trips = (counter.n - trips0) if counter else None
    return {"scenario": name, "requests": len(rest), "cpu_ms": 1000 * cpu / len(rest),
            "wall_ms": 1000 * wall / len(rest), "trips": trips / len(rest) if trips is not None else None,
            "statuses": dict(statuses)}


async def signup(b: Bench, n: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """The flash sign-up's mix: first taps (the first 200 confirmed, then the waitlist), retries with
    the same key (replayed), repeated taps with a new key (the registration already held)."""
    from bench.services import make_event, signup_requests

    event_id, _ = await make_event(b, male=100, female=100)
    people = await b.make_youth(max(200, n * 2 // 5), prefix="cpu")
    reqs = signup_requests(people, event_id, total=n, seed="cpu")
    return [(r["m"], r["p"], r["h"], b"") for r in reqs]


async def booking(b: Bench, n: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """The counselling rush's mix: everyone asks once for one of 20 slots; most lose (409)."""
    from bench.services import make_slots

    people = await b.make_youth(n, prefix="counsel")
    slot_ids = await make_slots(b, 20)
    out = []
    for i, p in enumerate(people):
        body = json.dumps({"slot_id": slot_ids[i % len(slot_ids)], "mode": "video",
                           "intake": {"topic": "career", "description": "找工作压力大，想聊聊。",
                                      "self_harm_thoughts": False}}).encode()
        out.append(("POST", "/api/v1/counselling/bookings", {"authorization": p["auth"],
                                                             "idempotency-key": uuid.uuid4().hex}, body))
    return out


async def me(b: Bench, n: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """The floor: the simplest authenticated read (the token, the principal, the person's row)."""
    people = await b.make_youth(50, prefix="me")
    return [("GET", "/api/v1/me", {"authorization": people[i % len(people)]["auth"]}, b"") for i in range(n)]


async def healthz(b: Bench, n: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """Below the floor: no token, no database; only the middleware and routing."""
    return [("GET", "/healthz", {}, b"")] * n


SCENARIOS: dict[str, Callable[[Bench, int], Awaitable[list[tuple[str, str, dict[str, str], bytes]]]]] = {
    "signup": signup, "booking": booking, "me": me, "healthz": healthz}


async def run(args: argparse.Namespace) -> None:
    import asyncpg

    b = Bench(workers=1, keep_db=False, pg_restart=False)
    admin = await asyncpg.connect(b.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{b.db_name}"')
    await admin.close()
    b._db_created = True
    rt_dir = tempfile.mkdtemp(prefix="youth-cpu-")
    try:
        os.environ.update(b.env(YOUTH_BENCH_ROUND_TRIPS_DIR=rt_dir, YOUTH_LOG_LEVEL="WARNING"))
        if args.generic:
            os.environ["YOUTH_EVENT_SIGNUP_FAST_PATH"] = "false"
        import subprocess

        from bench.common import BIN, ROOT
        subprocess.run([str(BIN / "youth"), "migrate"], cwd=ROOT, env=dict(os.environ), check=True,
                       capture_output=True)
        from app.main import create_app

        app = create_app(start_standin=False)
        profile = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall time
        async with app.router.lifespan_context(app):
            rows = []
            for name in [s for s in args.only.split(",") if s] or list(SCENARIOS):
                reqs = await SCENARIOS[name](b, args.n)
                rows.append(await measure(name, reqs, app, profile))
        print("| scenario | requests | API CPU ms/req (in-process) | wall ms/req | PG round trips/req | statuses |")
        print("|---|---:|---:|---:|---:|---|")
        for r in rows:
            trips = f"{r['trips']:.1f}" if r["trips"] is not None else "–"
            print(f"| {r['scenario']} | {r['requests']} | {r['cpu_ms']:.2f} | {r['wall_ms']:.2f} | {trips} | "
                  f"{r['statuses']} |")
        if profile:
            profile.dump_stats(args.profile)
            print(f"(profile written to {args.profile})")
    finally:
        from app.db import dispose_engine

        await dispose_engine()
        admin = await asyncpg.connect(b.admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{b.db_name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    p.add_argument("-n", type=int, default=2000, help="requests per scenario (a tenth of them warm up)")
    p.add_argument("--profile", default="", help="write a cProfile of the measured requests here")
    p.add_argument("--generic", action="store_true", help="the portable sign-up path, not PostgreSQL's")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    t = time.monotonic()
    main()
    print(f"({time.monotonic() - t:.0f} s)")
