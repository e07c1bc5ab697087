"""春城青居: affordable rental housing for young people (保障性租赁住房).

- ``search``: what young people browse (search, a project's page, eligibility, favourites).
- ``applications``: applying and answering offers; the organisation's review, list and CSV export.
- ``projects``: the housing operator's projects and unit types (published through moderation).
- ``allocation``: offers, their expiry and passing a unit on, always under the project's row lock,
  so offers never exceed the units available however many decisions arrive at once.
- ``lottery``: the verifiable lottery (frozen list hash, announced seed, HMAC-SHA256 order).

Offer expiry: an offer not accepted within ``housing_offer_expiry_hours`` (72) passes to the next
applicant. ``expire_offers`` does it for every project (a periodic job: ``youth housing-expire-offers``)
and the same processing runs lazily for a project whenever its page, lottery or applications are read
or an offer is answered, so nobody acts on an offer that should have lapsed even if the job is late.
Time comes from ``app.clock.now()``, read once per operation and handed to the helpers as ``now``, so
tests move the clock (``clock.frozen``) instead of sleeping.
"""

from app.services.housing.allocation import expire_offers
from app.services.housing.applications import (
    apply,
    decide,
    export_csv,
    my_application,
    my_applications,
    provider_applications,
    respond,
)
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
    "create_project",
    "decide",
    "delete_unit_type",
    "draw",
    "eligibility_of",
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
    "unmet_rules",
    "update_project",
    "update_unit_type",
    "verify_lottery",
]
