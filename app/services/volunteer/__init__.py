"""Volunteering (志愿之城): verified volunteer organisations post projects and their shifts through
review; young people sign up (capacity and overlaps decided by the database), check in and out,
build a record of confirmed service hours with a star level, and get certificates anyone can verify.

Modules: ``projects`` (posting, shifts, browsing), ``signup`` (places, waitlist, cancelling, tickets),
``attendance`` (scans, self check-in by location, no-shows), ``hours`` (confirmation, disputes, the
record, reminders), ``certificates`` (codes, issuing, verifying, revoking), ``pdf``, ``organiser``.
Rules' numbers are settings (``settings.VolunteerSettings``), error codes are in ``errors``.
"""

from app.services.volunteer.attendance import (
    mark_no_shows,
    scan_check_in,
    scan_check_out,
    self_check_in,
    self_check_out,
)
from app.services.volunteer.certificates import (
    get_mine as get_certificate,
)
from app.services.volunteer.certificates import (
    issue as issue_certificate,
)
from app.services.volunteer.certificates import (
    list_mine as my_certificates,
)
from app.services.volunteer.certificates import (
    pdf_of_mine as certificate_pdf,
)
from app.services.volunteer.certificates import (
    staff_get as staff_certificate,
)
from app.services.volunteer.certificates import (
    staff_revoke as revoke_certificate,
)
from app.services.volunteer.certificates import (
    staff_search as search_certificates,
)
from app.services.volunteer.certificates import (
    verify as verify_certificate,
)
from app.services.volunteer.common import KIND
from app.services.volunteer.hours import (
    adjust,
    answer,
    confirm,
    dispute,
    late_organisations,
    my_hours,
    my_hours_detail,
    provider_hours,
    record,
)
from app.services.volunteer.organiser import shift_signups, shift_signups_csv, waive_strike
from app.services.volunteer.projects import (
    add_shift,
    cancel_shift,
    create_project,
    get_own_project,
    get_project,
    list_projects,
    update_project,
    update_shift,
)
from app.services.volunteer.signup import cancel, my_signup, my_signups, sign_up, ticket

__all__ = [
    "KIND", "add_shift", "adjust", "answer", "cancel", "cancel_shift", "certificate_pdf", "confirm",
    "create_project", "dispute", "get_certificate", "get_own_project", "get_project", "issue_certificate",
    "late_organisations", "list_projects", "mark_no_shows", "my_certificates", "my_hours", "my_hours_detail",
    "my_signup", "my_signups", "provider_hours", "record", "revoke_certificate", "scan_check_in", "scan_check_out",
    "search_certificates", "self_check_in", "self_check_out", "shift_signups", "shift_signups_csv", "sign_up",
    "staff_certificate", "ticket", "update_project", "update_shift", "verify_certificate", "waive_strike",
]
from app.services.volunteer import timeline as _timeline  # noqa: F401  (registers its timeline source)
