"""The openings service's settings (``YOUTH_OPENINGS_*``)."""

from __future__ import annotations

from app.config import ServiceSettings, settings_of


class OpeningsSettings(ServiceSettings):
    # An offer's answer-by time: at least this many hours after it is made, at most the second number of
    # days (the provider picks within; the default is used when it picks none).
    openings_offer_min_hours: int = 24
    openings_offer_max_days: int = 30
    openings_offer_default_days: int = 7
    # Live applications a person may hold at once across all openings (submitted to offered).
    openings_max_open_applications: int = 10
    # How long before an offer's answer-by time, and before an interview, the reminder goes out.
    openings_offer_reminder_hours: float = 24
    openings_interview_reminder_hours: float = 24


def settings() -> OpeningsSettings:
    return settings_of(OpeningsSettings)
