"""Every router of the API, in the order they appear in the OpenAPI document."""

from routers import (
    audit,
    auth,
    console,
    counselling,
    events,
    housing,
    moderation,
    notifications,
    openings,
    orgs,
    profile,
    timeline,
    volunteer,
)

ROUTERS = [
    auth.router,
    profile.router,
    notifications.router,
    notifications.staff_router,
    timeline.router,
    orgs.router,
    housing.router,
    events.router,
    counselling.router,
    volunteer.router,
    openings.router,
    moderation.router,
    audit.router,
    console.api,
    console.router,
]
