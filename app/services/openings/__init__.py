"""Openings (就业见习 / 创业孵化): verified employers post internship posts and incubators post incubator
places, through review; young people find them, apply with the résumé kept in their profile (or a
venture), and follow a status pipeline with its history and reasons; an accepted offer takes a place
(never over-filled); the sweeper closes openings at their deadline and lapses unanswered offers.

Modules: ``posts`` (posting, browsing, the deadline), ``applying`` (résumé, applying, the person's own
applications), ``pipeline`` (the transition table and every move, the lapse of offers), ``provider``
(applications as the organisation sees them, CSV, response times), ``common`` (the posting kind, the
counter, the notification kinds). Rules' numbers are settings (``settings.OpeningsSettings``), error
codes are in ``errors``.
"""

from app.services.openings.applying import apply, get_resume, mine, my_application, put_resume, view_of
from app.services.openings.common import KIND
from app.services.openings.pipeline import (
    TRANSITIONS,
    accept,
    decline,
    interview,
    offer,
    reject,
    reject_rest,
    withdraw,
)
from app.services.openings.posts import browse, create, detail, get_own, update_opening
from app.services.openings.posts import provider_view as opening_view
from app.services.openings.provider import (
    applications,
    applications_csv,
    get_application,
    open_application,
    provider_view,
    response_times,
)

__all__ = [
    "KIND", "TRANSITIONS", "accept", "applications", "applications_csv", "apply", "browse", "create", "decline",
    "detail", "get_application", "get_own", "get_resume", "interview", "mine", "my_application", "offer", "open_application", "opening_view",
    "provider_view", "put_resume", "reject", "reject_rest", "response_times", "update_opening", "view_of",
    "withdraw",
]
from app.services.openings import reminders as _reminders  # noqa: F401  (registers its reminders)
from app.services.openings import timeline as _timeline  # noqa: F401  (registers its timeline source)
