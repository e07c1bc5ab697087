"""Counselling (青少年心理健康服务): counsellor profiles, slots, private bookings, session notes, the
centre's duty list and opening hours, risk answers acted on, staff counts.

Privacy: the intake is decrypted only for the booking's care team — its booked counsellor and the
centre's duty list (app.services.counselling.centre) — and for the person; notes only for their author;
a risk answer's follow-ups only for the care team, never for the person. Every such read is audited
without content; staff get counts. Anyone outside the centre gets 404.
Concurrency: a slot's place is taken by its capacity counter (one conditional UPDATE, backed by a
unique partial index on bookings); a person's own booking changes queue on their user row, so the
overlap and upcoming-count checks see each other's results. On PostgreSQL a booking first reads, in
one autocommit statement, the principal, an answer stored under its Idempotency-Key and the slot's
state (``bookings.book_request``): a replay and every refusal of the slot (a rush's "taken") are
answered there with nothing written; a slot still free goes on to the transaction, which decides anew.
Penalties: late cancellations and no-shows count under the shared restriction policy
(app.services.restrictions, service "counselling"); a restriction stops new self-bookings only
(cancelling, moving and attending existing ones go on), and a refused person is still shown the
crisis lines and the centre's contact.
"""

from app.services.counselling import errors, notices, settings
from app.services.counselling.bookings import (
    book,
    book_request,
    cancel,
    centre_booking,
    centre_bookings,
    centre_cancel,
    mark_attendance,
    my_booking,
    my_bookings,
    my_restriction,
    read_note,
    reschedule,
    waive_strike,
    write_note,
)
from app.services.counselling.centre import centre_settings, update_centre
from app.services.counselling.common import KIND, age_band, tags_for
from app.services.counselling.counsellors import (
    create_counsellor,
    create_slot,
    create_slot_pattern,
    free_slots,
    get_counsellor,
    list_counsellors,
    own_counsellor,
    own_counsellors,
    own_slots,
    update_counsellor,
    withdraw_slot,
)
from app.services.counselling.risk import follow_up
from app.services.counselling.risk import queue as risk_queue
from app.services.counselling.stats import stats

__all__ = [
    "KIND", "age_band", "book", "book_request", "cancel", "centre_booking", "centre_bookings", "centre_cancel", "centre_settings",
    "create_counsellor", "create_slot", "create_slot_pattern", "errors", "follow_up", "free_slots",
    "get_counsellor", "list_counsellors", "mark_attendance", "my_booking", "my_bookings", "my_restriction",
    "notices", "own_counsellor", "own_counsellors", "own_slots", "read_note", "reschedule", "risk_queue",
    "settings", "stats", "tags_for", "update_centre", "update_counsellor", "waive_strike", "withdraw_slot",
    "write_note",
]
from app.services.counselling import timeline as _timeline  # noqa: F401  (registers its timeline source)
