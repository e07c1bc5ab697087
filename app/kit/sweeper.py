"""Due work in one place: the jobs that turn time into state (no-shows after an event, lapsed offers,
closed deadlines, reminders), run by ``youth sweep`` (``--loop`` keeps it running).

Reads never write: a GET shows a state that is due but not swept yet by computing it, and the
sweeper stores it soon after. Services register their jobs at import (``@job("events.no_shows",
every=60)``); a job is ``async (session, now) -> int`` (how many items it handled) and must be
idempotent: it claims what it handles with conditional updates, so running it twice, or in two
sweepers at once, does each item once. On PostgreSQL a run also holds a transaction-scoped advisory
lock per job, so a second sweeper skips a job that is already running instead of queueing behind it.
A job that handled ``batch`` items or more runs again at once (a backlog is worked off in several
short transactions, each committed). The last run of every job is kept in ``sweep_state`` (for the
console and the metrics' sweeper lag); a failing job is logged and retried at its next turn, and
never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.context import run_id
from app.kit.dialect import LOCK_SWEEP_JOB, insert_for, try_advisory_lock
from models.base import utcnow
from models.platform import SweepState

log = logging.getLogger("youth.sweeper")

JobFn = Callable[[AsyncSession, datetime], Awaitable[int]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn
    every_seconds: float
    batch: int | None
    description: str

    @property
    def lock_key(self) -> int:
        return zlib.crc32(self.name.encode()) & 0x7FFFFFFF


JOBS: dict[str, Job] = {}
MAX_ROUNDS = 50


def job(name: str, *, every: float, batch: int | None = None, description: str = "") -> Callable[[JobFn], JobFn]:
    """Register ``fn`` as a sweeper job run every ``every`` seconds."""

    def register(fn: JobFn) -> JobFn:
        if name in JOBS:
            raise RuntimeError(f"sweeper job {name} registered twice")
        JOBS[name] = Job(name, fn, every, batch, description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


async def run_job(j: Job, *, now: datetime | None = None) -> int:
    """One turn of a job: rounds of work, each in its own committed transaction. Returns items handled
    (0 when another sweeper holds the job). Its log lines carry a run id, as a request's do."""
    with run_id("sweep"):
        return await _run_job(j, now=now)


async def _run_job(j: Job, *, now: datetime | None = None) -> int:
    from app.db import session_scope

    started = utcnow()
    total, error = 0, None
    try:
        for _ in range(MAX_ROUNDS):
            async with session_scope() as session:
                if not await try_advisory_lock(session, LOCK_SWEEP_JOB, j.lock_key):
                    return total
                handled = await j.run(session, now or clock.now())
            total += handled
            if j.batch is None or handled < j.batch:
                break
    except Exception as exc:  # a job's failure must not stop the others; it runs again next turn
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.exception("sweeper job %s failed", j.name)
    await _record(j.name, started, total, error)
    if total:
        log.info("sweeper job %s handled %d", j.name, total)
    if error:
        raise SweepFailed(j.name, error)
    return total


class SweepFailed(Exception):
    def __init__(self, name: str, error: str) -> None:
        super().__init__(f"{name}: {error}")
        self.job, self.error = name, error


async def _record(name: str, started: datetime, count: int, error: str | None) -> None:
    from app.db import session_scope

    finished = utcnow()
    values: dict[str, Any] = {"job": name, "last_started_at": started, "last_finished_at": finished,
                              "last_count": count, "last_error": error}
    if error is None:
        values["last_ok_at"] = finished
    async with session_scope() as session:
        stmt = insert_for(session)(SweepState).values(**values)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[SweepState.job], set_={k: v for k, v in values.items() if k != "job"}))


async def sweep(names: Iterable[str] | None = None, *, now: datetime | None = None) -> dict[str, int]:
    """Run each job (all, or ``names``) once; returns the items each handled. Raises SweepFailed
    after running the rest when a job failed."""
    failed: SweepFailed | None = None
    out: dict[str, int] = {}
    for name in names or sorted(JOBS):
        try:
            out[name] = await run_job(JOBS[name], now=now)
        except SweepFailed as exc:
            failed = failed or exc
    if failed:
        raise failed
    return out


async def run_loop(*, tick_seconds: float = 1.0, stop: asyncio.Event | None = None) -> None:
    """Run every job at its own interval until ``stop`` is set (or forever)."""
    due: dict[str, float] = dict.fromkeys(JOBS, 0.0)
    stop = stop or asyncio.Event()
    log.info("sweeper started: %s", ", ".join(sorted(JOBS)))
    while not stop.is_set():
        for name, j in sorted(JOBS.items()):
            if time.monotonic() < due.get(name, 0.0):
                continue
            try:
                await run_job(j)
            except SweepFailed:
                pass  # logged with its traceback in run_job
            due[name] = time.monotonic() + j.every_seconds
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick_seconds)
        except TimeoutError:
            pass
    log.info("sweeper stopped")
