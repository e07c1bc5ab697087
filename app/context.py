"""Per-request context (the request id) and logging set-up."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


@contextmanager
def run_id(kind: str) -> Iterator[str]:
    """One unit of background work (a sweeper job's turn, a delivery batch) logs under its own id, in
    the place and format of a request id, so its lines can be found together: ``sweep-3f9c…``."""
    rid = f"{kind}-{uuid.uuid4().hex[:16]}"
    token = request_id_var.set(rid)
    try:
        yield rid
    finally:
        request_id_var.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _NoResultRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG lines of fetched rows: they are logged after the column types have
    processed them, so encrypted columns appear decrypted, and ``hide_parameters`` does not cover them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


_NO_RESULT_ROWS = _NoResultRows()


def configure_logging(json_logs: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    if json_logs:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        if name == "uvicorn.access" and _access_log_off(lg):
            continue
        lg.handlers = []
        lg.propagate = True
    # SQL parameters would carry personal data: never echo statements.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # Should someone turn statement logging back on to debug, the rows still stay out (a logger's filter
    # holds whatever its level). Parameters are hidden by the engines themselves (hide_parameters).
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NO_RESULT_ROWS)
    # httpx (the warm-up request, the housing importer) logs every request's full URL at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines print each statement with its parameters; a DEBUG root would let them through.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def _access_log_off(lg: logging.Logger) -> bool:
    # uvicorn's access_log=False (--no-access-log, `youth serve`) leaves this logger with no handler and not
    # propagating, and each connection logs requests only if lg.hasHandlers(): routing it to the root
    # handler would turn the access log back on.
    return not lg.handlers and not lg.propagate
