"""The bench's running context: a fresh database, the servers as child processes, people, numbers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app import roundtrips
from app.config import normalise_database_url
from bench import procs
from bench.procs import BIN, ROOT, Proc


def _libpq_form(url: str) -> str:
    """asyncpg connects with a postgresql:// URL; BENCH_PG_URL may be given in any of the app's forms."""
    return normalise_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


PG_URL = _libpq_form(os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))


# --- numbers -------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass
class Summary:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: Counter[int]
    cpu: float | None = None  # CPU seconds of the server (API or ceiling) and PostgreSQL for these requests
    cpu_api: float | None = None  # ... of which the server's own processes (the API's workers, or the ceiling's)
    cpu_pg: float | None = None  # ... the PostgreSQL backends of the bench's database and the cluster's writers
    cpu_redis: float | None = None  # ... redis-server (shared by the machine: others' commands count too)
    round_trips: int | None = None  # PostgreSQL round trips the server's processes made (app.roundtrips)
    redis_calls: int | None = None  # Redis commands the whole server ran (INFO commandstats)
    others_before: float | None = None  # share of the machine's CPU other processes used in the second before
    others_during: float | None = None  # ... and during the run
    noisy: bool = False

    def per_request_ms(self, cpu: float | None) -> float | None:
        return cpu * 1000 / self.requests if cpu is not None and self.requests else None

    def per_request(self, n: int | None) -> float | None:
        return n / self.requests if n is not None and self.requests else None

    @property
    def cpu_ms_per_request(self) -> float | None:
        return self.cpu * 1000 / self.requests if self.cpu is not None and self.requests else None

    @property
    def errors_5xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    @property
    def transport_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s <= 0)

    def status_text(self) -> str:
        return " ".join(f"{s if s > 0 else ('conn-err' if s == 0 else 'timeout')}×{n}"
                        for s, n in sorted(self.statuses.items()))


def summarize(out: dict[str, Any], results: list[list[Any]] | None = None) -> Summary:
    res = out["results"] if results is None else results
    if not res:
        return Summary(0, 0.0, 0.0, float("nan"), float("nan"), float("nan"), Counter())
    lat = sorted((r[2] - r[1]) * 1000 for r in res)
    span = max(r[2] for r in res) - min(r[1] for r in res)
    return Summary(len(res), span, len(res) / span if span > 0 else float("nan"), percentile(lat, 0.50),
                   percentile(lat, 0.99), lat[-1], Counter(r[3] for r in res))


@dataclass
class Row:
    scenario: str
    summary: Summary | None
    ceiling: Summary | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Check:
    scenario: str
    name: str
    ok: bool | None  # None: not measured
    detail: str = ""


# --- the context ---------------------------------------------------------------------------------------


class Bench:
    def __init__(self, *, workers: int, keep_db: bool, pg_restart: bool) -> None:
        self.workers = workers
        self.rush_connections = 200
        self.keep_db = keep_db
        self.pg_restart = pg_restart
        self.work = Path(tempfile.mkdtemp(prefix="youth-bench-"))
        self.db_name = f"bench_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
        parts = urlsplit(PG_URL)
        self.admin_dsn = PG_URL
        self.dsn = urlunsplit(parts._replace(path=f"/{self.db_name}"))
        self.sa_url = normalise_database_url(self.dsn)
        self.pg_host = parts.hostname or "127.0.0.1"
        self.procs: list[Proc] = []
        self.api: Proc | None = None
        self.api_port = 0
        self.standin_url = ""
        self.ceiling_port = 0
        self.rows: list[Row] = []
        self.checks: list[Check] = []
        self.targets: list[Check] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.metric_lines: list[str] = []  # /metrics as scraped during scenarios (bench.metrics)
        self.machine: dict[str, str] = {}
        self._db_created = False
        self._seq = itertools.count(1)
        self._people = itertools.count(0)
        self._pg_stopped_by_us = False
        # Where the API's and the ceiling's processes count their PostgreSQL round trips.
        self.rt_dirs = {"api": str(self.work / "rt-api"), "ceiling": str(self.work / "rt-ceiling")}

    # --- set-up and tear-down ----------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YOUTH_")}
        env.update({
            "YOUTH_ENV": "test",  # prod refuses the development secrets and the stand-in
            "YOUTH_DATABASE_URL": self.sa_url,
            "YOUTH_LOG_JSON": "false",
            # The load generator is thousands of people arriving from one address: lift the per-address
            # login bucket (a real front proxy hands each person's own address on).
            "YOUTH_RATE_LIMITS": json.dumps({"wechat_login": "1000000/60"}),
            "PYTHONUNBUFFERED": "1",
            # This checkout's code, whatever the virtualenv's editable install points at (worktrees
            # sharing one .venv would otherwise serve another checkout's app through `youth serve`).
            "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        })
        # As production runs several workers: shared counters (rate limits, the token cache) in Redis,
        # when this machine has one (the database stands in otherwise).
        if _redis_reachable():
            env["YOUTH_REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
        if self.standin_url:
            env["YOUTH_WECHAT_BASE_URL"] = self.standin_url
        env.update(extra)
        return env

    async def setup(self) -> None:
        self.machine = await self._machine()
        # Other work on the machine lowers every figure: measure it before starting ours.
        busy0, t0 = procs.machine_busy_seconds(), time.monotonic()
        await asyncio.sleep(2.0)
        busy = (procs.machine_busy_seconds() - busy0) / ((time.monotonic() - t0) * (os.cpu_count() or 1))
        self.machine["idle_before"] = f"{busy:.0%} of the CPU busy with other work just before the run"
        if busy > 0.15:
            self.warnings.append(f"the machine was busy before the run ({busy:.0%} of its CPU): "
                               "the figures are lower than the machine can do")
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
            self._db_created = True
        finally:
            await admin.close()
        # This process loads data and mints tokens with the servers' settings: same database, same keys.
        os.environ.update(self.env())
        res = await asyncio.to_thread(subprocess.run, [str(BIN / "youth"), "migrate"], cwd=ROOT, env=self.env(),
                                      capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"migrations failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
        from bench.ceiling import SCHEMA

        conn = await self.pg()
        try:
            await conn.execute(SCHEMA)
        finally:
            await conn.close()

        port = procs.free_port()
        standin = self.start("standin", [str(BIN / "uvicorn"), "bench.standin_app:app", "--host", "127.0.0.1",
                                         "--port", str(port), "--no-access-log", "--log-level", "warning"])
        self.standin_url = f"http://127.0.0.1:{port}"
        os.environ["YOUTH_WECHAT_BASE_URL"] = self.standin_url
        await asyncio.to_thread(procs.wait_http, f"{self.standin_url}/_standin/stats", standin)

        await self.start_api()

        self.ceiling_port = procs.free_port()
        ceiling = self.start("ceiling", [
            str(BIN / "uvicorn"), "bench.ceiling:app", "--host", "127.0.0.1", "--port", str(self.ceiling_port),
            "--workers", str(self.workers), "--no-access-log", "--log-level", "warning",
        ], BENCH_CEILING_DSN=self.dsn, BENCH_CEILING_ROUND_TRIPS_DIR=self.rt_dirs["ceiling"])
        await asyncio.to_thread(procs.wait_http, f"http://127.0.0.1:{self.ceiling_port}/healthz", ceiling)

    async def start_api(self) -> None:
        """The API as production runs it: ``youth serve`` with several uvicorn workers, migrations done."""
        self.api_port = procs.free_port()
        self.api = self.start("api", [str(BIN / "youth"), "serve", "--host", "127.0.0.1", "--port",
                                      str(self.api_port), "--workers", str(self.workers), "--no-migrate"],
                              YOUTH_BENCH_ROUND_TRIPS_DIR=self.rt_dirs["api"])
        await asyncio.to_thread(procs.wait_http, f"{self.api_url}/readyz", self.api, 90)
        # /readyz answers once one worker is up: wait for all of them before measuring anything.
        deadline = time.monotonic() + 60
        while len(procs.uvicorn_workers(self.api.pid)) < self.workers and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)

    def start(self, name: str, args: list[str], **env: str) -> Proc:
        proc = Proc(name, args, self.env(**env), self.work)
        self.procs.append(proc)
        return proc

    async def teardown(self) -> None:
        procs.kill_loadgens()
        for proc in reversed(self.procs):
            proc.stop()
        if self.pg_restart:
            await asyncio.to_thread(ensure_pg_running)
        with contextlib.suppress(Exception):
            from app.db import dispose_engine

            await dispose_engine()
        if self._db_created and not self.keep_db:
            try:
                admin = await asyncpg.connect(self.admin_dsn, timeout=10)
                try:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                finally:
                    await admin.close()
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"bench: could not drop database {self.db_name}: {exc}", file=sys.stderr)
        if not self.errors and not self.keep_db and not any(c.ok is False for c in self.checks):
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"bench: logs kept in {self.work}", file=sys.stderr)

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    async def pg(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn)

    def next_id(self) -> int:
        return next(self._seq)

    def spec(self, requests: list[dict[str, Any]], *, connections: int, port: int | None = None,
             timeout: float = 15, duration: float | None = None, keep_body: bool = False,
             rate: float | None = None, body_limit: int = 2048) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": port or self.api_port, "connections": connections,
                "timeout": timeout, "duration": duration, "rate": rate, "keep_body": keep_body,
                "body_limit": body_limit, "requests": requests}

    async def load(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(procs.run_loadgen, spec, self.work, name)

    def check(self, scenario: str, name: str, ok: bool | None, detail: str = "") -> bool:
        self.checks.append(Check(scenario, name, ok, detail))
        return bool(ok)

    def cpu_snapshot(self) -> dict[str, Any]:
        """CPU seconds used so far by each of our processes and by the whole machine, and the round
        trips counted so far by the API's and the ceiling's processes."""
        snap: dict[str, Any] = {}
        for proc in self.procs:
            if proc.alive():
                snap[proc.name] = procs.cpu_seconds(proc.pid, reaped=True) + sum(
                    procs.cpu_seconds(p) for p in procs.descendants(proc.pid))
        # PostgreSQL: per process, so that a delta counts only the backends of this bench's database
        # (other databases of a shared cluster are other people's work) and the cluster's own writers
        # (WAL writer, checkpointer, background writer: our commits are most of their work).
        ours: dict[int, float] = {}
        cluster = 0.0
        titles = procs.postgres_processes()
        for pid, title in titles.items():
            own = procs.cpu_seconds(pid)
            # The postmaster also holds its exited backends' CPU (any database's).
            cluster += procs.cpu_seconds(pid, reaped=procs.parent_pid(pid) not in titles)
            client = "(" in title and ")" in title  # a client backend names its peer address
            if (f" {self.db_name} " in title) or (not client and title.startswith("postgres:")):
                ours[pid] = own
        snap["pg_procs"] = ours
        snap["postgres_cluster"] = cluster
        redis = procs.pid_of("redis-server")
        snap["redis"] = procs.cpu_seconds(redis) if redis else 0.0
        snap["redis_calls"] = _redis_calls()
        me = os.times()
        snap["bench"] = me.user + me.system
        snap["machine"] = procs.machine_busy_seconds()
        snap["round_trips"] = {k: sum(roundtrips.read_counts(d).values()) for k, d in self.rt_dirs.items()}
        return snap

    async def measure(self, name: str, spec: dict[str, Any], server: str = "api"
                      ) -> tuple[Summary, dict[str, Any], str]:
        """Run the load generator and account the CPU the server side spent on it: the summary
        (with ``cpu`` set: ``server`` + PostgreSQL + the stand-in, and the split by process), the raw
        results, and a breakdown. Also how busy the machine was with other work just before and during."""
        ncpu = os.cpu_count() or 1
        # One second of the machine just before: someone else's work lowers every figure that follows.
        pre, t_pre = self.cpu_snapshot(), time.monotonic()
        await asyncio.sleep(1.0)
        before = self.cpu_snapshot()
        pre_wall = (time.monotonic() - t_pre) * ncpu
        others_before = max(0.0, (before["machine"] - pre["machine"]) - self._ours(pre, before)) / pre_wall
        # Backends past the pool's steady size close when they are given back: sample them while the
        # load runs, so that one which exits keeps the CPU it had a moment before.
        seen: dict[int, float] = {}
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                for pid, title in procs.postgres_processes().items():
                    if f" {self.db_name} " in title:
                        seen[pid] = max(seen.get(pid, 0.0), procs.cpu_seconds(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            out = await self.load(name, spec)
        finally:
            stop.set()
            sampler.join()
        after = self.cpu_snapshot()
        used = {k: after[k] - before.get(k, 0.0) for k in after if isinstance(after[k], float)}
        final = {**seen, **after["pg_procs"]}
        used["postgres"] = sum(c - before["pg_procs"].get(p, 0.0) for p, c in final.items())
        after["pg_procs"] = final
        gone = [p for p in before["pg_procs"] if p not in final]
        summary = summarize(out)
        summary.cpu = sum(used.get(k, 0.0) for k in (server, "postgres", "standin", "redis"))
        summary.cpu_api = used.get(server, 0.0)
        summary.cpu_pg = used["postgres"]
        summary.cpu_redis = used.get("redis", 0.0)
        rt = after["round_trips"].get(server)
        summary.round_trips = None if rt is None else rt - before["round_trips"].get(server, 0)
        calls_before, calls_after = before["redis_calls"], after["redis_calls"]
        summary.redis_calls = (calls_after - calls_before if calls_before is not None and calls_after is not None
                               else None)
        parts = [f"{k} {used[k]:.1f}" for k in (server, "postgres", "standin", "redis") if used.get(k, 0) >= 0.05]
        load = out.get("cpu", 0.0)
        parts.append(f"load generator {load:.1f}")
        if gone:
            parts.append(f"{len(gone)} of our PostgreSQL backends exited unseen (their CPU is not counted)")
        ours = self._ours(before, after) + load
        wall = out.get("elapsed", 0.0) * ncpu
        other = max(0.0, used.get("machine", 0.0) - ours)
        summary.others_before = others_before
        summary.others_during = other / wall if wall else None
        summary.noisy = others_before > NOISY or (summary.others_during or 0.0) > NOISY
        return summary, out, "CPU s: " + ", ".join(parts)

    def _ours(self, a: dict[str, Any], b: dict[str, Any]) -> float:
        """CPU seconds our own processes used between two snapshots (the load generator aside)."""
        total = sum(b[k] - a.get(k, 0.0) for k in ("api", "ceiling", "standin", "redis", "bench") if k in b)
        total += sum(c - a["pg_procs"].get(p, 0.0) for p, c in b["pg_procs"].items())
        return total

    def target(self, name: str, ok: bool | None, detail: str = "") -> None:
        self.targets.append(Check("target", name, ok, detail))

    async def _machine(self) -> dict[str, str]:
        cpu = platform.processor() or ""
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            pg_version = await admin.fetchval("SHOW server_version")
            settings = await admin.fetch(
                "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', 'shared_buffers', "
                "'synchronous_commit')")
        finally:
            await admin.close()
        mem = ""
        with contextlib.suppress(OSError):
            kb = int(Path("/proc/meminfo").read_text().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GB"
        return {
            "nproc": str(os.cpu_count()),
            "cpu": cpu or "unknown",
            "memory": mem,
            "postgresql": str(pg_version),
            "pg_settings": ", ".join(f"{r['name']}={r['setting']}" for r in settings),
            "python": platform.python_version(),
            "os": platform.platform(),
        }

    # --- people -----------------------------------------------------------------------------------

    async def make_youth(self, n: int, *, prefix: str, genders: list[str] | None = None,
                         age_range: tuple[int, int] = (22, 32)) -> list[dict[str, Any]]:
        """``n`` young people with complete real-name profiles (single, in Kunming), straight into the
        database through the ORM so the encrypted columns and keyed hashes are the server's own."""
        from sqlalchemy import insert

        from app import crypto
        from app.db import get_sessionmaker
        from app.validators import id_check_char, mask_id_number
        from models.accounts import User
        from models.base import utcnow

        rng = random.Random(f"{prefix}-{n}")
        today = date.today()
        batch = self.next_id()
        rows = []
        for i in range(n):
            gender = genders[i] if genders else ("male" if i % 2 == 0 else "female")
            age = rng.randint(*age_range)
            birth = date(today.year - age, 1, 1) + timedelta(days=rng.randrange(0, 300))
            # Unique whatever the birth dates: a running number spread over the area and sequence
            # digits (the sequence's parity is the gender).
            k = next(self._people)
            first17 = f"53{(k // 500) % 10000:04d}{birth:%Y%m%d}{(k % 500) * 2 + (1 if gender == 'male' else 0):03d}"
            number = first17 + id_check_char(first17)
            now = utcnow()
            rows.append({
                "role": "youth", "status": "active", "openid": f"obench{batch}x{i}",
                "nickname": f"{prefix}{i}", "real_name": "测试青年", "id_number": number,
                "id_number_hash": crypto.lookup_hash(number, "id_number"),
                "id_number_masked": mask_id_number(number), "birth_date": birth, "gender": gender,
                "district": "五华区", "education": "bachelor", "graduation_year": today.year - 1,
                "employment_status": "employed", "marital_status": "single", "owns_home_in_kunming": False,
                "works_in_kunming": True, "created_at": now, "updated_at": now,
            })
        async with get_sessionmaker()() as session:
            ids = (await session.execute(insert(User).returning(User.id), rows)).scalars().all()
            await session.commit()
        from app.security import create_access_token

        people = []
        for uid, row in zip(ids, rows, strict=True):
            token, _ = create_access_token(user_id=uid, role="youth")
            people.append({"id": uid, "gender": row["gender"], "auth": f"Bearer {token}"})
        return people

    def refresh_tokens(self, people: list[dict[str, Any]]) -> None:
        """Fresh access tokens (they live 15 minutes; a scenario never outlives one)."""
        from app.security import create_access_token

        for p in people:
            p["auth"] = "Bearer " + create_access_token(user_id=p["id"], role="youth")[0]


async def copy_rows(conn: asyncpg.Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk-load ``rows`` into ``model``'s table with COPY; columns a row leaves out get the model's
    Python-side default (so a column added to the model later needs no change here)."""
    import json as _json

    import sqlalchemy as sa

    table = model.__table__
    cols = [c for c in table.columns if not (c.primary_key and c.autoincrement and c.name not in rows[0])]
    defaults: dict[str, Any] = {}
    for c in cols:
        d = c.default
        defaults[c.name] = (d.arg if d is not None and not callable(d.arg) else
                            (lambda f=d.arg: f({})) if d is not None else lambda: None)
    records = []
    for row in rows:
        rec = []
        for c in cols:
            if c.name in row:
                v = row[c.name]
            else:
                dv = defaults[c.name]
                v = dv() if callable(dv) else dv
            if isinstance(c.type, sa.JSON) and v is not None:
                v = _json.dumps(v, ensure_ascii=False)
            rec.append(v)
        records.append(tuple(rec))
    await conn.copy_records_to_table(table.name, records=records, columns=[c.name for c in cols])


# --- PostgreSQL cluster control ------------------------------------------------------------------------


def pg_cluster() -> tuple[str, str] | None:
    """(version, "main") of the local Debian cluster, when there is exactly one version installed."""
    base = Path("/etc/postgresql")
    if not base.is_dir():
        return None
    versions = sorted(p.name for p in base.iterdir() if (p / "main").is_dir())
    return (versions[-1], "main") if versions else None


def pg_ctl(action: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cluster = pg_cluster()
    if cluster is None:
        raise RuntimeError("no local PostgreSQL cluster under /etc/postgresql")
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster[0], cluster[1], action],
                          capture_output=True, text=True, timeout=timeout, check=False)


def pg_running() -> bool:
    try:
        return pg_ctl("status", timeout=10).returncode == 0
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return False


def ensure_pg_running() -> None:
    """Whatever happened, the bench leaves PostgreSQL running."""
    if pg_cluster() is None or pg_running():
        return
    for _ in range(3):
        try:
            res = pg_ctl("start")
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"bench: starting PostgreSQL failed: {exc}", file=sys.stderr)
            continue
        if res.returncode == 0 or pg_running():
            return
        print(f"bench: starting PostgreSQL failed: {res.stderr.strip()}", file=sys.stderr)
        time.sleep(1)
    print("bench: PostgreSQL is NOT running; start it with "
          "`pg_ctlcluster --skip-systemctl-redirect <version> main start`", file=sys.stderr)


NOISY = 0.10  # a run during which other processes took more than this share of the CPU is marked noisy


def _redis_calls() -> int | None:
    """Commands the local Redis has run since it started (all clients: it is the machine's Redis)."""
    if not _redis_reachable():
        return None
    import redis

    try:
        stats = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).info("commandstats")
    except redis.RedisError:
        return None
    # INFO itself is not a request's work; it is counted once per snapshot, so leave it out.
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def _redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
