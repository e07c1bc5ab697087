"""The load generator: its own process, a minimal keep-alive HTTP/1.1 client on raw asyncio streams.

httpx spends more CPU per request than the server under test, and on a 2-core machine the load
generator shares the cores with the server and PostgreSQL, so the client has to be cheap: requests
are pre-encoded bytes, responses are parsed just enough (status line, Content-Length or chunked).

Run as ``python -m bench.loadgen SPEC.json OUT.json``. The spec::

    {"host": "127.0.0.1", "port": 8000, "connections": 64, "timeout": 10,
     "duration": null,              # seconds: cycle through the requests until then; null: each once
     "rate": null,                  # requests/s in total, open loop: request i is due at i / rate
     "keep_body": false,            # keep response bodies (the first body_limit bytes) in the results
     "body_limit": 2048,
     "requests": [{"m": "POST", "p": "/path", "h": {"authorization": "..."}, "b": "{...}"}, ...]}

The result: ``{"epoch": wall-clock start, "elapsed": s, "results": [[i, t_send, t_done, status, body], ...]}``
with times in seconds since ``epoch``. Status 0 is a connection error (reset, refused), -1 a timeout.
With a ``rate``, ``t_send`` is when the request was due, not when a connection became free to send
it, so a server that falls behind shows its queueing in the latencies (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from typing import Any

_READ_LIMIT = 1 << 20
# uvicorn closes keep-alive connections idle for 5 s; a real client would not send on one it has
# left idle that long, so neither do we (a paced run leaves connections idle between requests).
_IDLE_LIMIT = 4.0


def encode(req: dict[str, Any], host: str) -> bytes:
    body = (req.get("b") or "").encode()
    lines = [f"{req.get('m', 'GET')} {req['p']} HTTP/1.1", f"host: {host}"]
    for k, v in (req.get("h") or {}).items():
        lines.append(f"{k}: {v}")
    if body or req.get("m", "GET") in ("POST", "PUT", "PATCH"):
        lines.append("content-type: application/json")
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=_READ_LIMIT)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is not None and time.perf_counter() - self.last_used > _IDLE_LIMIT:
            self.close()
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            self.close()
        self.last_used = time.perf_counter()
        return status, body


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec.get("host", "127.0.0.1"), int(spec["port"])
    raws = [encode(r, host) for r in spec["requests"]]
    timeout = float(spec.get("timeout", 10))
    duration = spec.get("duration")
    keep_body = bool(spec.get("keep_body"))
    body_limit = int(spec.get("body_limit", 2048))
    rate = float(spec["rate"]) if spec.get("rate") else None
    results: list[list[Any]] = []
    counter = itertools.count()
    n = len(raws)
    epoch_wall = time.time()
    t0 = time.perf_counter()
    deadline = t0 + float(duration) if duration else None

    async def worker() -> None:
        conn = Conn(host, port)
        while True:
            i = next(counter)
            due = t0 + i / rate if rate else None
            if deadline is None:
                if i >= n:
                    break
            elif (due or time.perf_counter()) >= deadline:
                break
            raw = raws[i % n]
            if due is not None:
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            sent = due if due is not None else time.perf_counter()
            body = b""
            try:
                status, body = await asyncio.wait_for(conn.request(raw), timeout)
            except TimeoutError:
                status = -1
                conn.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
                status = 0
                conn.close()
            done = time.perf_counter()
            results.append([i, sent - t0, done - t0, status,
                            body[:body_limit].decode("utf-8", "replace") if keep_body or status >= 500 else None])
            if status == 0:
                await asyncio.sleep(0.02)  # the server is not there: do not spin on refused connections
        conn.close()

    await asyncio.gather(*(worker() for _ in range(int(spec.get("connections", 64)))))
    elapsed = time.perf_counter() - t0
    results.sort(key=lambda r: r[0])
    cpu = os.times()
    return {"epoch": epoch_wall, "elapsed": elapsed, "cpu": cpu.user + cpu.system, "results": results}


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        out = runner.run(run(spec))
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
