"""The notifications service's settings (``YOUTH_NOTIFICATION_*``): how far ahead reminders go out."""

from __future__ import annotations

from app.config import ServiceSettings, settings_of


class NotificationSettings(ServiceSettings):
    notification_event_reminder_hours: float = 24
    notification_counselling_reminder_hours: float = 24
    notification_volunteer_reminder_hours: float = 2
    notification_housing_offer_reminder_hours: float = 24


def settings() -> NotificationSettings:
    return settings_of(NotificationSettings)
