"""Counselling (青少年心理健康服务): counsellor profiles, slots, private bookings, session notes, staff counts.

Privacy: the intake and notes are decrypted only for the booking's own centre (notes: their author) and
the person; every such read is audited without content; staff get counts. Anyone else gets 404.
Concurrency: a slot goes to whoever flips it free → booked first (one conditional UPDATE, backed by a
unique partial index on bookings); a person's own booking changes queue on their user row, so the
overlap and upcoming-count checks see each other's results.
"""

from app.services.counselling.bookings import (
    book,
    cancel,
    centre_booking,
    centre_bookings,
    centre_cancel,
    mark_attendance,
    my_booking,
    my_bookings,
    read_note,
    reschedule,
    write_note,
)
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
from app.services.counselling.stats import stats

__all__ = [
    "KIND", "age_band", "book", "cancel", "centre_booking", "centre_bookings", "centre_cancel", "create_counsellor",
    "create_slot", "create_slot_pattern", "free_slots", "get_counsellor", "list_counsellors", "mark_attendance",
    "my_booking", "my_bookings", "own_counsellor", "own_counsellors", "own_slots", "read_note", "reschedule",
    "stats", "tags_for", "update_counsellor", "withdraw_slot", "write_note",
]
