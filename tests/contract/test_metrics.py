"""/metrics: what a Prometheus scrape sees, and who may scrape it."""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import SecretStr

from app.kit import sweeper


def _value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else "")) and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_requests_are_counted_by_route_template_and_status(client: Any, factory: Any) -> None:
    before = _value((await client.get("/metrics")).text, "youth_http_requests_total",
                    method="GET", route="/api/v1/housing/projects/{project_id}", status="404") or 0
    await client.get("/api/v1/housing/projects/987654")
    await client.get("/no/such/route/123")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _value(text, "youth_http_requests_total", method="GET",
                  route="/api/v1/housing/projects/{project_id}", status="404") == before + 1
    # Raw paths never become series: an unknown route counts as "unmatched".
    assert "/no/such/route/123" not in text
    assert _value(text, "youth_http_requests_total", method="GET", route="unmatched", status="404")
    assert _value(text, "youth_http_request_duration_seconds_count", method="GET",
                  route="/api/v1/housing/projects/{project_id}")
    for gauge in ("youth_db_pool_in_use", "youth_db_pool_waiting", "youth_outbox_pending",
                  "youth_outbox_oldest_pending_age_seconds", "youth_outbox_failed"):
        assert _value(text, gauge) is not None, gauge
    assert _value(text, "youth_metrics_database_up") == 1
    assert "youth_db_pool_wait_seconds_bucket" in text


async def test_outbox_and_sweeper_figures_come_from_the_database(client: Any, factory: Any) -> None:
    me = await factory.youth()
    # Straight into the outbox table: what the metric reads, whoever wrote the row.
    from app.db import session_scope
    from models.base import utcnow
    from models.notifications import Notification

    async with session_scope() as session:
        session.add(Notification(user_id=me.user_id, kind="event.promoted", title="测试", body="测试",
                                 next_attempt_at=utcnow()))
    text = (await client.get("/metrics")).text
    assert (_value(text, "youth_outbox_pending") or 0) >= 1
    assert (_value(text, "youth_outbox_oldest_pending_age_seconds") or -1) >= 0
    name = sorted(sweeper.JOBS)[0]
    await sweeper.sweep([name])
    text = (await client.get("/metrics")).text
    since = _value(text, "youth_sweeper_seconds_since_ok", job=name)
    assert since is not None and 0 <= since < 3600
    assert _value(text, "youth_sweeper_lag_seconds", job=name) == 0


async def test_rate_limit_refusals_are_counted(client: Any, factory: Any, monkeypatch: Any, settings: Any) -> None:
    me = await factory.youth()
    monkeypatch.setitem(settings.rate_limits, "profile_update", "1/3600")
    statuses = [(await client.patch("/api/v1/me", json={"nickname": "小张"}, headers=me.headers)).status_code
                for _ in range(2)]
    assert statuses[-1] == 429
    assert (_value((await client.get("/metrics")).text, "youth_rate_limit_refusals_total",
                   bucket="profile_update") or 0) >= 1


async def test_a_token_guards_the_scrape(client: Any, monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setattr(settings, "metrics_token", SecretStr("scrape-secret"))
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
    r = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert r.status_code == 200 and "youth_http_requests_total" in r.text


async def test_prod_without_a_token_answers_404(client: Any, monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setattr(settings, "env", "prod")
    r = await client.get("/metrics")
    assert r.status_code == 404 and r.json()["code"] == "ROUTE_NOT_FOUND"


def test_metrics_are_not_in_the_openapi_document() -> None:
    from tests.contract import spec

    assert "/metrics" not in spec()["paths"]


async def test_sweeper_runs_log_with_a_run_id(caplog: Any) -> None:
    from app.context import _RequestIdFilter

    seen: list[str] = []

    @sweeper.job("contract.test_log", every=3600)
    async def noisy(session: Any, now: Any) -> int:
        logging.getLogger("youth.test").info("working")
        return 1

    handler = logging.Handler()
    handler.addFilter(_RequestIdFilter())
    handler.emit = lambda record: seen.append(record.request_id)  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        await sweeper.sweep(["contract.test_log"])
    finally:
        logging.getLogger().removeHandler(handler)
        sweeper.JOBS.pop("contract.test_log")
    assert seen and all(re.fullmatch(r"sweep-[0-9a-f]{16}", rid) for rid in seen)
    assert len(set(seen)) == 1  # the job's own line and the sweeper's share one id
