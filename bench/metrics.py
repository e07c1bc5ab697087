"""``/metrics`` scraped while a scenario runs, as operations would see the rush (issue 16).

The watcher scrapes the API every 0.5 s during a scenario (one worker answers for all: ``youth serve``
gives them a shared ``PROMETHEUS_MULTIPROC_DIR``), keeps the highest gauges seen (pool in use and
waiting, outbox backlog and its oldest age) and the difference of the counters and histograms between
the first and the last scrape: requests by route and status, latency quantiles read off the histogram's
buckets, time waited for a pooled connection, rate-limit refusals. The report prints one line per
scenario; the numbers are the service's own, next to the load generator's in the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
GAUGES = ("youth_db_pool_in_use", "youth_db_pool_waiting", "youth_outbox_pending",
          "youth_outbox_oldest_pending_age_seconds", "youth_outbox_failed")


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m:
            labels = frozenset(_LABEL.findall(m.group(2) or ""))
            try:
                out[(m.group(1), labels)] = float(m.group(3))
            except ValueError:
                continue
    return out


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The upper bound of the bucket the q-quantile falls in (cumulative ``(le, count)`` pairs)."""
    buckets = sorted(buckets)
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    for le, n in buckets:
        if n >= q * total:
            return le
    return None


@dataclass
class Watch:
    scenario: str
    route: str
    scrapes: int = 0
    failures: int = 0
    peak: dict[str, float] = field(default_factory=dict)
    first: dict[Any, float] | None = None
    last: dict[Any, float] | None = None

    def add(self, sample: dict[Any, float]) -> None:
        self.scrapes += 1
        self.first = self.first if self.first is not None else sample
        self.last = sample
        for (name, _), value in sample.items():
            if name in GAUGES:
                self.peak[name] = max(self.peak.get(name, 0.0), value)

    def delta(self, name: str, **match: str) -> float:
        if self.first is None or self.last is None:
            return 0.0
        want = set(match.items())
        total = 0.0
        for (n, labels), v in self.last.items():
            if n == name and want <= labels:
                total += v - self.first.get((n, labels), 0.0)
        return total

    def summary(self) -> str:
        if self.last is None:
            return f"{self.scenario}: /metrics not scraped ({self.failures} failed scrapes)"
        by_status: dict[str, float] = defaultdict(float)
        assert self.first is not None
        for (n, labels), v in self.last.items():
            d = dict(labels)
            if n == "youth_http_requests_total" and d.get("route") == self.route:
                by_status[d.get("status", "?")] += v - self.first.get((n, labels), 0.0)
        buckets: dict[float, float] = defaultdict(float)
        for (n, labels), v in self.last.items():
            d = dict(labels)
            if n == "youth_http_request_duration_seconds_bucket" and d.get("route") == self.route:
                le = float("inf") if d["le"] == "+Inf" else float(d["le"])
                buckets[le] += v - self.first.get((n, labels), 0.0)
        p50, p99 = quantile(list(buckets.items()), 0.5), quantile(list(buckets.items()), 0.99)
        waits = self.delta("youth_db_pool_wait_seconds_count")
        waited = self.delta("youth_db_pool_wait_seconds_sum")
        refused = self.delta("youth_rate_limit_refusals_total")
        statuses = ", ".join(f"{k}×{v:.0f}" for k, v in sorted(by_status.items()) if v)
        return (f"{self.scenario}: {self.scrapes} scrapes; `{self.route}` {statuses or 'no requests'}; "
                f"latency p50 ≤ {_s(p50)}, p99 ≤ {_s(p99)} (histogram buckets); "
                f"pool in use ≤ {self.peak.get('youth_db_pool_in_use', 0):.0f}, waiting ≤ "
                f"{self.peak.get('youth_db_pool_waiting', 0):.0f}, {waits:.0f} checkouts waited {waited:.2f} s in all; "
                f"rate-limit refusals {refused:.0f}; outbox pending ≤ {self.peak.get('youth_outbox_pending', 0):.0f}, "
                f"oldest ≤ {self.peak.get('youth_outbox_oldest_pending_age_seconds', 0):.1f} s, failed "
                f"{self.peak.get('youth_outbox_failed', 0):.0f}")


def _s(v: float | None) -> str:
    return "–" if v is None else ("+Inf" if v == float("inf") else f"{v * 1000:.0f} ms")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


@contextlib.asynccontextmanager
async def watching(api_url: str, scenario: str, route: str, every: float = 0.5) -> AsyncIterator[Watch]:
    watch = Watch(scenario, route)

    async def scrape() -> None:
        try:
            watch.add(parse(await asyncio.to_thread(_get, f"{api_url}/metrics")))
        except OSError:
            watch.failures += 1

    async def loop() -> None:
        while True:
            await scrape()
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await scrape()  # the counters after the last answer
