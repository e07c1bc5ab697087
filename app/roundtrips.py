"""Counting PostgreSQL round trips, for the bench only (``YOUTH_BENCH_ROUND_TRIPS_DIR``).

The bench prints round trips per request, counted rather than estimated. pg_stat_statements needs a
server restart to load, which a shared PostgreSQL cannot take, and SQLAlchemy's events miss what the
driver sends on its own (BEGIN, COMMIT, the Parse/Describe of a statement not yet prepared on that
connection). So the count is taken where every message to the server goes: the asyncpg protocol.
Each call below waits for the server's answer, i.e. is one round trip.

Each process counts into an 8-byte file ``<dir>/<pid>.rt`` mapped in memory, which the bench reads
while the process runs (no request, no lock; one writer per file). Off unless the setting is given:
then the engine is built exactly as without this module.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import Any

import asyncpg

_ROUND_TRIP_METHODS = ("query", "prepare", "bind_execute", "bind_execute_many", "bind", "execute",
                       "close_statement", "copy_in", "copy_out")
_counter: _Counter | None = None


class _Counter:
    def __init__(self, directory: str) -> None:
        path = Path(directory) / f"{os.getpid()}.rt"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"\0" * 8)
        self._file = open(path, "r+b")
        self._map = mmap.mmap(self._file.fileno(), 8)
        self.n = 0

    def add(self) -> None:
        self.n += 1
        struct.pack_into("<Q", self._map, 0, self.n)


def _count() -> _Counter:
    global _counter
    if _counter is None or _counter_pid != os.getpid():
        _set_counter()
    assert _counter is not None
    return _counter


_directory = ""
_counter_pid = 0


def _set_counter() -> None:
    global _counter, _counter_pid
    _counter = _Counter(_directory)
    _counter_pid = os.getpid()


class _CountingProtocol:
    """Forwards everything to asyncpg's protocol; the calls that talk to the server count one each."""

    __slots__ = ("_proto",)

    def __init__(self, proto: Any) -> None:
        object.__setattr__(self, "_proto", proto)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._proto, name)
        if name in _ROUND_TRIP_METHODS:
            counter = _count()

            def counted(*args: Any, **kwargs: Any) -> Any:
                counter.add()
                return attr(*args, **kwargs)

            return counted
        return attr

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._proto, name, value)


class CountingConnection(asyncpg.Connection):  # type: ignore[misc]
    def __init__(self, protocol: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(_CountingProtocol(protocol), *args, **kwargs)


def connection_class(directory: str) -> type[asyncpg.Connection]:
    """The asyncpg connection class that counts into ``directory`` (``connect_args["connection_class"]``)."""
    global _directory
    _directory = directory
    return CountingConnection


def read_counts(directory: str | Path) -> dict[int, int]:
    """Round trips so far by process id (the bench's side)."""
    out = {}
    for path in Path(directory).glob("*.rt"):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        if len(raw) >= 8:
            out[int(path.stem)] = struct.unpack_from("<Q", raw)[0]
    return out
