"""`youth serve` against slow and idle clients, and password hashing kept off the event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
import uvicorn

from app.config import get_settings
from app.server import uvicorn_options


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hi"})


@pytest.fixture
def server(monkeypatch):
    """uvicorn with `youth serve`'s options on a free port, a one-second head deadline."""
    monkeypatch.setattr(get_settings(), "server_header_timeout_seconds", 1.0)
    options = {k: v for k, v in uvicorn_options(get_settings()).items() if k not in ("log_config",)}
    config = uvicorn.Config(_hello, host="127.0.0.1", port=0, lifespan="off", log_config=None, **options)
    srv = uvicorn.Server(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    yield sock.getsockname()[1]
    srv.should_exit = True
    thread.join(timeout=5)


def _closed_by_server(conn: socket.socket) -> bool:
    conn.settimeout(15)  # far beyond the deadline: a connection still open then is the bug
    try:
        return conn.recv(1024) == b""
    except TimeoutError:
        return False


def test_a_connection_that_sends_nothing_is_closed(server):
    """It stayed open for 34 s and more: uvicorn starts no timer before the first byte."""
    with socket.create_connection(("127.0.0.1", server)) as conn:
        assert _closed_by_server(conn)


def test_a_request_head_that_never_ends_is_closed(server):
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert _closed_by_server(conn)


def test_a_prompt_request_is_answered_and_the_next_head_has_its_deadline(server):
    with socket.create_connection(("127.0.0.1", server)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(5)
        assert conn.recv(1024).startswith(b"HTTP/1.1 200")
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a kept-alive request that stalls mid-head
        assert _closed_by_server(conn)


def test_serve_passes_the_timeouts_and_the_concurrency_limit(monkeypatch):
    from typer.testing import CliRunner

    from app.cli import app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(get_settings(), "server_limit_concurrency", 321)
    monkeypatch.setattr(get_settings(), "server_keepalive_seconds", 4)
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 0, result.output
    assert seen["limit_concurrency"] == 321 and seen["timeout_keep_alive"] == 4
    assert seen["http"] == "app.server:HeaderTimeoutProtocol" and seen["proxy_headers"] is False


# --- password hashing --------------------------------------------------------------------------------


async def test_password_hashing_runs_off_the_event_loop(monkeypatch):
    """argon2 ran inside the handlers: nine sign-ups a second stalled every other request."""
    from app import crypto

    loop_thread = threading.get_ident()
    on_the_loop = threading.Event()
    seen: list[int] = []

    def slow_hash(password: str) -> str:
        seen.append(threading.get_ident())
        # Waits for a coroutine on the event loop: if hashing ran on the loop, that could never happen.
        assert on_the_loop.wait(10), "the event loop was blocked while hashing"
        return "hashed"

    monkeypatch.setattr(crypto, "hash_password", slow_hash)
    task = asyncio.ensure_future(crypto.hash_password_async("pw"))
    await asyncio.sleep(0)
    on_the_loop.set()
    assert await task == "hashed" and seen and seen[0] != loop_thread


async def test_password_hashing_uses_a_bounded_pool(monkeypatch):
    from app import crypto

    running, peak = 0, 0
    lock = threading.Lock()

    def counted(password_hash: str | None, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return True

    monkeypatch.setattr(crypto, "verify_password", counted)
    assert all(await asyncio.gather(*(crypto.verify_password_async("h", "p") for _ in range(12))))
    assert peak <= get_settings().password_hash_threads
