"""The volunteering service's settings (``YOUTH_VOLUNTEER_*``)."""

from __future__ import annotations

from pydantic import Field

from app.config import ServiceSettings, settings_of


class VolunteerSettings(ServiceSettings):
    # Cancelling later than this before a shift starts counts as a late cancellation (Engelsystem: 3 h).
    volunteer_cancel_cutoff_hours: float = 3.0
    # Self check-in opens this long before the start and stays open until the end; check-out runs from
    # the check-in until this long after the end.
    volunteer_check_in_opens_minutes: int = 30
    volunteer_check_out_grace_minutes: int = 60
    # Star levels (星级志愿者) by confirmed hours: 1 star at the first threshold, and so on.
    volunteer_star_thresholds_hours: list[int] = Field(default_factory=lambda: [100, 300, 600, 1000, 1500])
    # A volunteer may dispute confirmed hours within this many days of the confirmation.
    volunteer_dispute_days: int = 7
    # Unconfirmed hours remind the organiser after this many working days; records are due (民政部令
    # 第67号 Art. 11) within the second number, after which the organisation is listed as late.
    volunteer_reminder_working_days: int = 7
    volunteer_record_due_working_days: int = 10
    # Where the certificate's QR code points: the public verification address of this deployment.
    volunteer_verify_base_url: str = "http://127.0.0.1:8000"
    # Folders searched for the certificate's CJK font (Debian's fonts-wqy-microhei).
    volunteer_font_paths: list[str] = Field(default_factory=lambda: ["/usr/share/fonts/truetype/wqy"])


def settings() -> VolunteerSettings:
    return settings_of(VolunteerSettings)
