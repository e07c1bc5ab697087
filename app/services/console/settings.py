"""The staff console's settings (``YOUTH_CONSOLE_*``)."""

from __future__ import annotations

from app.config import ServiceSettings, get_settings, settings_of


class ConsoleSettings(ServiceSettings):
    # A console session ends after this long without a request, and in any case this long after login.
    console_session_idle_minutes: int = 30
    console_session_max_hours: int = 10
    # The session cookie is sent over HTTPS only (and named with the __Host- prefix); default: on in prod.
    console_cookie_secure: bool | None = None
    # Dashboards and exports show any cell counting 1 to this minus one people as "<N".
    console_min_cell: int = 10
    # The late-organisations page lists organisations with applications undecided for longer than this.
    console_applicant_answer_days: int = 14


def settings() -> ConsoleSettings:
    return settings_of(ConsoleSettings)


def cookie_secure() -> bool:
    s = settings()
    return get_settings().env == "prod" if s.console_cookie_secure is None else s.console_cookie_secure
