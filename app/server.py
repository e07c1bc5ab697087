"""How `youth serve` runs uvicorn: timeouts and limits against slow or idle clients.

Uvicorn closes a kept-alive connection that goes quiet, but a connection that never sends a complete
request head has no timer at all: a client that connects and sends nothing (or a header a byte a
minute) holds a connection, a file descriptor and a place under the concurrency limit for as long as
it likes. The protocol below gives every request head a deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings, get_settings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete within
    ``YOUTH_SERVER_HEADER_TIMEOUT_SECONDS`` of the connection (or of a kept-alive request's first byte)."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_head_timer()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(get_settings().server_header_timeout_seconds, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options `youth serve` passes to uvicorn (besides host, port and workers)."""
    return {
        "http": "app.server:HeaderTimeoutProtocol",
        "timeout_keep_alive": settings.server_keepalive_seconds,
        "limit_concurrency": settings.server_limit_concurrency,
        # X-Forwarded-For is read by the app itself (app.main), from YOUTH_FORWARDED_ALLOW_IPS only.
        "proxy_headers": False,
        "server_header": False,
        "log_config": None,
        "access_log": False,
    }
