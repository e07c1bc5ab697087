"""The counselling service's settings (``YOUTH_COUNSELLING_*``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from app.config import ServiceSettings, settings_of
from app.schemas.counselling import check_opening_hours


class CounsellingSettings(ServiceSettings):
    # Bookings close this long before a session starts; a person holds at most this many upcoming
    # bookings; cancelling or moving a booking later than this before it counts as late.
    counselling_min_notice_hours: float = 2.0
    counselling_max_upcoming: int = 2
    counselling_late_cancel_hours: float = 12.0
    # Shown with a risk answer, and to a person refused a booking.
    counselling_crisis_resources: list[dict[str, str]] = Field(default_factory=lambda: [
        {"name": "全国心理援助热线", "phone": "12356"},
        {"name": "报警", "phone": "110"},
        {"name": "急救", "phone": "120"},
    ])
    # A flagged booking must be acknowledged by the centre's duty (or its counsellor) within this many
    # hours of the centre's opening hours; past that it escalates to the whole duty list.
    counselling_risk_ack_hours: float = Field(default=1.0, gt=0, le=72)
    # A centre's opening hours until it sets its own: seven entries, Monday first, in Shanghai time.
    counselling_default_opening_hours: list[str | None] = Field(default_factory=lambda: [
        "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", None, None])

    _hours = field_validator("counselling_default_opening_hours")(check_opening_hours)


def settings() -> CounsellingSettings:
    return settings_of(CounsellingSettings)
