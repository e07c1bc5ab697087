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
    orgs,
    profile,
    volunteer,
)

ROUTERS = [
    auth.router,
    profile.router,
    notifications.router,
    orgs.router,
    housing.router,
    events.router,
    counselling.router,
    volunteer.router,
    moderation.router,
    audit.router,
    console.api,
    console.router,
]
