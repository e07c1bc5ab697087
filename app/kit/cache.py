"""A few seconds of memory for answers many people ask for at once (per process, never shared).

``Recent(seconds)`` keeps values for ``seconds`` (a number, or a callable read at each ``put`` so that a
setting changed in tests applies) and at most ``max_entries`` of them: past that, expired entries go
first, then the oldest. Only for public answers, the same for everyone who asks: whatever depends on
who asks, or must be seen the moment it changes, is never put here. With 0 seconds nothing is kept.
Each process has its own copy, so for ``seconds`` after a change two workers may answer differently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _now() -> float:
    return time.monotonic()


class Recent(Generic[K, V]):
    def __init__(self, seconds: float | Callable[[], float], *, max_entries: int = 1024) -> None:
        self._seconds = seconds if callable(seconds) else (lambda: seconds)
        self.max_entries = max_entries
        self._values: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        found = self._values.get(key)
        if found is None:
            return None
        if found[0] <= _now():
            self._values.pop(key, None)
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        seconds = self._seconds()
        if seconds <= 0:
            return
        now = _now()
        if len(self._values) >= self.max_entries and key not in self._values:
            for k in [k for k, (until, _) in self._values.items() if until <= now]:
                del self._values[k]
            while len(self._values) >= self.max_entries:
                del self._values[next(iter(self._values))]
        self._values[key] = (now + seconds, value)

    def clear(self) -> None:
        self._values.clear()
