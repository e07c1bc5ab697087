"""The publishing-and-moderation workflow shared by every service's postings, and reports.

draft → pending_review → published | rejected;  published → closed (provider) | taken_down (staff).
Each service registers its posting kind once in the posting registry (app.kit.postings) and calls
``submit``/``after_edit``/``close``; the staff review queue and reports work across all registered kinds.

- ``workflow``: content checks, the provider's steps, the review queue and screen, staff's decisions
  (each tells the organisation's owners, with the reason);
- ``reports``: reports weighed by the reporter's standing, urgent review, hiding for the reasons that
  must not wait, one decision per target (the rules are in its docstring);
- ``cases``: the per-target count of reports behind both;
- ``errors``, ``settings``: the service's own codes and numbers.
"""

from app.kit.postings import REGISTRY
from app.services.moderation.reports import list_reports, report, resolve_report
from app.services.moderation.workflow import (
    POSTING_APPROVED,
    POSTING_REJECTED,
    POSTING_TAKEN_DOWN,
    after_edit,
    check_content,
    close,
    decide,
    provider_close,
    provider_postings,
    provider_submit,
    review_detail,
    review_queue,
    submit,
    take_down,
)

__all__ = [
    "POSTING_APPROVED", "POSTING_REJECTED", "POSTING_TAKEN_DOWN", "REGISTRY", "after_edit", "check_content", "close",
    "decide", "list_reports", "provider_close", "provider_postings", "provider_submit", "report", "resolve_report",
    "review_detail", "review_queue", "submit", "take_down",
]
