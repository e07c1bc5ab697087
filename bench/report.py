"""The one table: figures, ratios to the ceiling, invariant checks, targets, the machine."""

from __future__ import annotations

import math
import time

from bench.common import NOISY, Bench, Check, Summary


def _num(v: float | None, fmt: str = "{:.0f}") -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{a / b:.0%}"


def _mark(ok: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[ok]


def render(b: Bench, *, started: float, finished: float) -> str:
    m = b.machine
    lines = [
        f"# `make bench` — {time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(started))}",
        "",
        f"Machine: nproc {m.get('nproc')}, {m.get('cpu')}, {m.get('memory')} RAM; PostgreSQL {m.get('postgresql')} "
        f"({m.get('pg_settings')}); Python {m.get('python')}; {m.get('os')}; {m.get('idle_before', '')}.",
        f"API: `youth serve --workers {b.workers}` (uvicorn, YOUTH_ENV=test, fresh database), WeChat stand-in "
        f"in its own process; load from a separate asyncio process on the same machine. "
        f"Ceiling: bare FastAPI + asyncpg (`bench/ceiling.py`, {b.workers} workers, same pool size) doing only "
        "the conditional UPDATE and an INSERT, driven with the same requests right before each scenario. "
        f"Total run {finished - started:.0f}s.",
        "",
        "req/s = answers / (last answer − first request); p50/p99 over every request, 4xx/5xx included; "
        "server CPU ms/req = CPU of the server's processes + PostgreSQL + the WeChat stand-in during the run, "
        "per request; req/s vs ceiling = the API's throughput over the bare endpoint's on the same requests.",
        "",
        "CPU ms/req API / PG / Redis: the server's own processes (API workers or the ceiling's), the PostgreSQL "
        "backends of the bench's database plus the cluster's writer processes, and redis-server (the machine's: "
        "anyone's commands count). DB trips/req: PostgreSQL round trips the server's processes made, counted in "
        "the driver (`app/roundtrips.py`: every BEGIN, statement, Parse of a new statement and COMMIT waits for "
        "one), and Redis commands (the whole server's, from INFO commandstats). Others % before / during: the "
        f"machine's CPU other processes took in the second before the run and during it; **NOISY** past "
        f"{NOISY:.0%}.",
        "",
        "| scenario | requests | req/s | p50 ms | p99 ms | server CPU ms/req | CPU ms/req API / PG / Redis "
        "| DB trips/req PG / Redis | ceiling req/s | ceiling p50 / p99 ms | ceiling CPU ms/req API / PG "
        "| ceiling trips/req | req/s vs ceiling | others % before / during | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in b.rows:
        s: Summary | None = row.summary
        c = row.ceiling
        noisy = (s is not None and s.noisy) or (c is not None and c.noisy)
        lines.append("| " + " | ".join([
            row.scenario + (" **NOISY**" if noisy else ""),
            _num(s.requests if s else None),
            _num(s.rps if s else None),
            _num(s.p50_ms if s else None, "{:.1f}"),
            _num(s.p99_ms if s else None, "{:.1f}"),
            _num(s.cpu_ms_per_request if s else None, "{:.1f}"),
            _split(s, redis=True),
            _trips(s, redis=True),
            _num(c.rps if c else None),
            f"{_num(c.p50_ms, '{:.1f}')} / {_num(c.p99_ms, '{:.1f}')}" if c else "–",
            _split(c, redis=False),
            _trips(c, redis=False),
            _ratio(s.rps if s else None, c.rps if c else None),
            _busy(s) + (f"; ceiling {_busy(c)}" if c else ""),
            "; ".join(n for n in row.notes if n).replace("|", "/"),
        ]) + " |")
    lines += ["", "**Targets**", ""]
    lines += [_line(t) for t in b.targets] or ["- (none measured)"]
    if b.metric_lines:
        lines += ["", "**`/metrics` scraped during the rushes** (the API's own figures, all workers)", ""]
        lines += [f"- {m}" for m in b.metric_lines]
    lines += ["", "**Invariants and fault checks**", ""]
    lines += [_line(c, with_scenario=True) for c in b.checks]
    failed = [c for c in b.checks if c.ok is False]
    lines += ["", f"Checks: {sum(c.ok is True for c in b.checks)} passed, {len(failed)} failed, "
                  f"{sum(c.ok is None for c in b.checks)} not measured."]
    if b.warnings:
        lines += ["", "**Warnings**", ""] + [f"- {w}" for w in b.warnings]
    if b.errors:
        lines += ["", "**Errors**", ""] + [f"- {e}" for e in b.errors]
    return "\n".join(lines) + "\n"


def _line(c: Check, with_scenario: bool = False) -> str:
    where = f"{c.scenario}: " if with_scenario else ""
    detail = f" ({c.detail})" if c.detail else ""
    return f"- {_mark(c.ok)} — {where}{c.name}{detail}"


def _split(s: Summary | None, *, redis: bool) -> str:
    if s is None or s.cpu_api is None:
        return "–"
    parts = [s.per_request_ms(s.cpu_api), s.per_request_ms(s.cpu_pg)]
    if redis:
        parts.append(s.per_request_ms(s.cpu_redis))
    return " / ".join(_num(v, "{:.2f}") for v in parts)


def _trips(s: Summary | None, *, redis: bool) -> str:
    if s is None:
        return "–"
    pg = _num(s.per_request(s.round_trips), "{:.1f}")
    return f"{pg} / {_num(s.per_request(s.redis_calls), '{:.1f}')}" if redis else pg


def _busy(s: Summary | None) -> str:
    if s is None or s.others_before is None:
        return "–"
    return f"{_num(s.others_before * 100)} / {_num((s.others_during or 0) * 100)}"
