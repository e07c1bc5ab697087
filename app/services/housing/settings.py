"""The housing service's settings (``YOUTH_HOUSING_*``), read with ``settings_of(HousingSettings)``."""

from pydantic import Field

from app.config import ServiceSettings, settings_of


class HousingSettings(ServiceSettings):
    # An offer not accepted within this many hours lapses and its unit passes to the next applicant.
    housing_offer_expiry_hours: int = Field(72, ge=1, le=24 * 30)
    # Applications a person may hold at once (submitted, eligible, offered or accepted), across projects.
    housing_max_active_applications: int = Field(3, ge=1, le=20)
    # The first page of an anonymous search is kept this long per process (0: never kept); a page may
    # show a change that much later. Logged-in pages and further pages are always read afresh.
    housing_search_cache_seconds: float = Field(2.0, ge=0, le=60)


def housing_settings() -> HousingSettings:
    return settings_of(HousingSettings)
