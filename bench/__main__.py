"""``make bench``: load, fault and ceiling benchmarks against PostgreSQL, printed as one table.

Starts the API the way production runs it (a fresh database, migrations, ``youth serve`` with several
workers, the WeChat stand-in as its own process) next to the bare ceiling app, drives load from a
separate process, checks the invariants in the database afterwards, and writes the table to
bench/results/latest.md. Exits 1 when an invariant or fault check fails (a missed performance
target is reported, not failed). Everything it starts is stopped on the way out, and PostgreSQL is
left running even when the restart scenario fails.

    python -m bench [--only login,flash,...] [--workers 2] [--no-pg-restart] [--keep-db]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import scenarios, services
from bench.common import Bench
from bench.report import render

RESULTS = Path(__file__).resolve().parent / "results"

SCENARIOS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "login": scenarios.login_storm,  # first: the server-token count starts from zero
    "flash": services.flash_signup,
    "crowd": services.crowd_signup,
    "counselling": services.counselling_rush,
    "housing": services.housing_search,
    "timeline": services.timeline_depth,
    "kill9": services.kill_worker_in_rush,
    "pgrestart": scenarios.pg_restart,  # last: it disturbs everything connected to PostgreSQL
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers of the API and of the ceiling")
    p.add_argument("--no-pg-restart", action="store_true",
                   help="skip restarting PostgreSQL (it disconnects every other user of the cluster)")
    p.add_argument("--rush-connections", type=int, default=200,
                   help="client connections of the flash sign-up and the counselling rush")
    p.add_argument("--keep-db", action="store_true", help="keep the bench database and the logs")
    return p.parse_args()


async def run(args: argparse.Namespace) -> int:
    selected = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in selected if s not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.no_pg_restart and "pgrestart" in selected:
        selected.remove("pgrestart")
    b = Bench(workers=args.workers, keep_db=args.keep_db, pg_restart="pgrestart" in selected)
    b.rush_connections = args.rush_connections
    # A SIGTERM (CI timeout, kill) unwinds like Ctrl-C: the servers are stopped and PostgreSQL is up.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    started = time.time()
    try:
        print(f"bench: setting up (database {b.db_name}, {args.workers} workers)…", flush=True)
        await b.setup()
        for name in SCENARIOS:
            if name not in selected:
                continue
            print(f"bench: {name}…", flush=True)
            t0 = time.monotonic()
            try:
                await SCENARIOS[name](b)
            except Exception as exc:  # one broken scenario must not hide the others' figures
                b.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                b.check(name, "scenario ran to the end", False, f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
            print(f"bench: {name} done in {time.monotonic() - t0:.0f}s", flush=True)
            if b.api is not None and not b.api.alive():
                b.errors.append(f"the API exited during {name}:\n{b.api.tail()}")
                break
    except asyncio.CancelledError:
        b.errors.append("interrupted (SIGINT/SIGTERM): the figures are incomplete")
    except Exception as exc:
        b.errors.append(f"set-up: {type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        await b.teardown()
    table = render(b, started=started, finished=time.time())
    print()
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(table, encoding="utf-8")
    print(f"(written to {RESULTS / 'latest.md'})")
    return 1 if b.errors or any(c.ok is False for c in b.checks) else 0


def main() -> None:
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            code = runner.run(run(parse_args()))
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
