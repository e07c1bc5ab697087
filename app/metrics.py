"""``/metrics`` in the Prometheus text format.

Counted in each process as things happen: requests by method, route template and status, their
latency, rate-limit refusals by bucket, and the database pool (connections in use, requests waiting for
one, how long they waited). Read from the database at each scrape, since any process may have done
the work: the notification outbox (backlog, age of the oldest pending message, failed deliveries) and
the sweeper (seconds since each job's last good run, and how far past its interval that is).

With several API workers (``youth serve --workers N``) each one counts its own share: ``youth serve``
then gives them a shared ``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker adds all of them up.

Not for the public side in production: with ``YOUTH_METRICS_TOKEN`` set a scrape must send it as a
bearer token; in ``prod`` without one, ``/metrics`` answers 404 like any unknown route.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("youth.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# The process's own metrics. In multiprocess mode prometheus_client writes them to files that the
# scraping process reads, so they are registered nowhere but there.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("youth_http_requests_total", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("youth_http_request_duration_seconds", "Time to answer a request, by route template",
                    ["method", "route"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RATE_LIMITED = Counter("youth_rate_limit_refusals_total", "Requests refused by a rate-limit bucket (429)",
                       ["bucket"], registry=REGISTRY)
POOL_IN_USE = Gauge("youth_db_pool_in_use", "Pooled database connections checked out",
                    registry=REGISTRY, multiprocess_mode="livesum")
POOL_WAITING = Gauge("youth_db_pool_waiting", "Requests waiting for a pooled database connection",
                     registry=REGISTRY, multiprocess_mode="livesum")
POOL_WAIT = Histogram("youth_db_pool_wait_seconds", "Time spent waiting for a pooled connection",
                      registry=REGISTRY, buckets=(0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 20))


class MetricsMiddleware:
    """Counts every HTTP request by its route template (``/api/v1/events/{event_id}``, never the raw
    path, so the number of series stays bounded); requests matching no route count as ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)


def instrument_pool(engine: Any) -> None:
    """Connections in use, from the pool's own checkout and checkin events."""
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "checkout")
    def _out(*_: Any) -> None:
        POOL_IN_USE.inc()

    @event.listens_for(engine.sync_engine, "checkin")
    def _in(*_: Any) -> None:
        POOL_IN_USE.dec()


def metered_pool_class() -> type:
    """The asyncio queue pool, counting who waits for a connection and for how long, and handing a
    returned connection to the longest waiter (``app.pool_queue.FairQueue``)."""
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    from app.pool_queue import FairQueue

    class MeteredQueuePool(AsyncAdaptedQueuePool):
        _queue_class = FairQueue

        def _do_get(self) -> Any:
            started = time.perf_counter()
            POOL_WAITING.inc()
            try:
                return super()._do_get()
            finally:
                POOL_WAITING.dec()
                POOL_WAIT.observe(time.perf_counter() - started)

    return MeteredQueuePool


class _DatabaseCollector:
    """Gauges read from the database at scrape time (filled in by ``_read_database``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def collect(self) -> Any:
        v = self.values
        yield GaugeMetricFamily("youth_outbox_pending", "Notifications waiting to be delivered", value=v["pending"])
        yield GaugeMetricFamily("youth_outbox_oldest_pending_age_seconds",
                                "Age of the oldest notification still waiting (0 when none)", value=v["oldest"])
        yield GaugeMetricFamily("youth_outbox_failed", "Notifications whose delivery failed for good",
                                value=v["failed"])
        since = GaugeMetricFamily("youth_sweeper_seconds_since_ok", "Seconds since each job last ran without error",
                                  labels=["job"])
        lag = GaugeMetricFamily("youth_sweeper_lag_seconds",
                                "How far past its interval each sweeper job is (0 when on time)", labels=["job"])
        for job, (age, interval) in sorted(v["jobs"].items()):
            # -1: the job never ran without error (no sweeper yet, or it always fails).
            since.add_metric([job], -1.0 if age is None else age)
            lag.add_metric([job], -1.0 if age is None else max(0.0, age - interval))
        yield since
        yield lag
        yield GaugeMetricFamily("youth_metrics_database_up", "1 when the scrape could read the database",
                                value=v["up"])


async def _read_database() -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.db import get_engine
    from app.kit.sweeper import JOBS
    from models.base import utcnow
    from models.notifications import Notification
    from models.platform import SweepState

    out: dict[str, Any] = {"pending": 0, "oldest": 0.0, "failed": 0, "jobs": {}, "up": 0}
    now = utcnow()

    def age(moment: datetime | None) -> float:
        if moment is None:
            return 0.0
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=now.tzinfo)
        return max(0.0, (now - moment).total_seconds())

    n = Notification.__table__.c
    try:
        async with get_engine().connect() as conn:
            pending, oldest = (await conn.execute(
                select(func.count(), func.min(n.created_at)).where(n.delivery_status == "pending"))).one()
            failed = (await conn.execute(select(func.count()).where(n.delivery_status == "failed"))).scalar_one()
            states = {row.job: row for row in (await conn.execute(select(SweepState.__table__))).all()}
    except Exception as exc:  # a scrape must still answer when the database does not
        log.warning("metrics: database unavailable (%s)", type(exc).__name__)
        return out
    out.update(pending=int(pending), oldest=age(oldest), failed=int(failed), up=1)
    for name, j in JOBS.items():
        state = states.get(name)
        last = state.last_ok_at if state is not None else None
        out["jobs"][name] = (age(last) if last is not None else None, j.every_seconds)
    return out


def _allowed(request: Request) -> bool:
    from app.config import get_settings

    settings = get_settings()
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if token is None:
        return settings.env != "prod"
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def metrics_endpoint(request: Request) -> Response:
    if not _allowed(request):
        from app import errors
        from app.main import error_response

        return error_response(errors.RouteNotFound())
    registry = REGISTRY
    if MULTIPROC:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    db = CollectorRegistry()
    db.register(_DatabaseCollector(await _read_database()))
    return Response(generate_latest(registry) + generate_latest(db), media_type=CONTENT_TYPE)
