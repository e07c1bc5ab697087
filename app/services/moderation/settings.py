"""How reports weigh (see app.services.moderation.reports for why these numbers)."""

from __future__ import annotations

from pydantic import Field

from app.config import ServiceSettings, settings_of
from models.moderation import ReportReason


class ModerationSettings(ServiceSettings):
    # Reporters with standing on one posting that put it first in the review queue, marked urgent.
    moderation_report_urgent_threshold: int = Field(default=2, ge=1)
    # Reporters with standing giving a reason of moderation_report_hide_reasons that hide it at once.
    moderation_report_hide_threshold: int = Field(default=3, ge=1)
    moderation_report_hide_reasons: frozenset[ReportReason] = frozenset(
        {ReportReason.illegal, ReportReason.porn, ReportReason.fraud})
    # A real-name verified young person has standing once the account is this old, or at once when they
    # have applied to, signed up for or booked something of the posting's organisation.
    moderation_report_min_account_days: int = Field(default=30, ge=0)


def settings() -> ModerationSettings:
    return settings_of(ModerationSettings)
