"""Now, for every time rule of the events service (sign-up window, cut-off, check-in, no-shows, mutual
choice). Tests replace ``now`` to walk through an event's life without sleeping."""

from __future__ import annotations

from datetime import datetime

from models.base import utcnow


def now() -> datetime:
    return utcnow()
