"""春城青居: affordable rental housing for young people (保障性租赁住房).

- ``search``: what young people browse (search, a project's page, eligibility, favourites).
- ``applications``: the young person applies, answers offers, withdraws.
- ``review``: the project's organisation reviews applications (and corrects a decision), withdraws an
  offer, lists and exports them.
- ``projects``: the housing operator's projects and unit types (published through moderation).
- ``allocation``: offers, their lapse and passing a freed unit on — ``lock`` then ``settle``, the only
  way any of them changes a project's allocation — and the sweeper job that lapses offers.
- ``lottery``: the verifiable lottery (frozen list hash, announced seed, HMAC-SHA256 order).
- ``errors``, ``settings``, ``notices``: the service's error codes, settings and notification kinds.

Offer expiry: an offer not accepted within ``YOUTH_HOUSING_OFFER_EXPIRY_HOURS`` (72) lapses and its
unit passes to the next applicant. The sweeper job ``housing.expire_offers`` (``youth sweep``) stores
the lapse; until it has run, reads show such an offer as expired (computed, never written by a GET),
and every change of the project's allocation (an answer, a decision, a re-draw) stores it first under
the project's lock, so nobody acts on an offer that has lapsed. Time comes from ``app.clock.now()``,
read once per operation and handed to the helpers as ``now``, so tests move the clock
(``clock.frozen``) instead of sleeping.
"""

from app.services.housing import errors, notices, settings
from app.services.housing.allocation import expire_offers
from app.services.housing.applications import apply, my_application, my_applications, respond
from app.services.housing.common import KIND, eligibility_of, haversine_km, unmet_rules
from app.services.housing.lottery import (
    ALGORITHM,
    draw,
    freeze,
    list_sha256,
    lottery_for_verification,
    lottery_order,
    lottery_view,
    redraw,
    set_seed,
    verify_lottery,
)
from app.services.housing.projects import (
    add_unit_type,
    create_project,
    delete_unit_type,
    provider_project,
    provider_projects,
    set_intake,
    update_project,
    update_unit_type,
)
from app.services.housing.review import (
    correct_decision,
    decide,
    export_csv,
    provider_applications,
    withdraw_offer,
)
from app.services.housing.search import (
    check_eligibility,
    my_favourites,
    project_detail,
    search,
    set_favourite,
)

__all__ = [
    "ALGORITHM",
    "KIND",
    "add_unit_type",
    "apply",
    "check_eligibility",
    "correct_decision",
    "create_project",
    "decide",
    "delete_unit_type",
    "draw",
    "eligibility_of",
    "errors",
    "expire_offers",
    "export_csv",
    "freeze",
    "haversine_km",
    "list_sha256",
    "lottery_for_verification",
    "lottery_order",
    "lottery_view",
    "my_application",
    "my_applications",
    "my_favourites",
    "notices",
    "project_detail",
    "provider_applications",
    "provider_project",
    "provider_projects",
    "redraw",
    "respond",
    "search",
    "set_favourite",
    "set_intake",
    "set_seed",
    "settings",
    "unmet_rules",
    "update_project",
    "update_unit_type",
    "verify_lottery",
    "withdraw_offer",
]
from app.services.housing import timeline as _timeline  # noqa: F401  (registers its timeline source)
