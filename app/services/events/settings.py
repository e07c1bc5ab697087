"""The events service's settings (``YOUTH_EVENT_*``). No-shows and late cancellations count under the
shared restriction policy (``YOUTH_RESTRICTION_*``, app.services.restrictions)."""

from __future__ import annotations

from app.config import ServiceSettings, settings_of


class EventSettings(ServiceSettings):
    # Place-taking transactions per event quota and process that may wait on its counter row at once;
    # more only queue on the row lock and make a rush slower.
    event_signup_gate: int = 4
    # The organiser's scanner accepts tickets from this long before the start until the end.
    event_check_in_opens_minutes: int = 120
    # On PostgreSQL a sign-up takes two round trips (app.services.events.signup_pg); false sends every
    # sign-up down the portable path that SQLite takes (the suite runs both on PostgreSQL).
    event_signup_fast_path: bool = True


def settings() -> EventSettings:
    return settings_of(EventSettings)
