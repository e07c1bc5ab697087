from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class TimelineStep(BaseModel):
    status: str
    label: str
    at: datetime
    reason: str | None = None


class NextStep(BaseModel):
    """What the person can do next, and by or from when (accept an offer by …, check in from …)."""

    label: str
    by: datetime | None = None
    opens_at: datetime | None = None


class TimelineItem(BaseModel):
    service: str  # housing | events | counselling | volunteer | openings
    kind: str  # what the item is: housing_application, event_registration, …
    id: int
    title: str
    status: str
    status_label: str
    activity_at: datetime  # the latest change: the list is newest first by it
    needs_action: bool
    next_step: NextStep | None = None
    history: list[TimelineStep]
    links: dict[str, Any]  # ids for the mini-program's pages
