"""Matchmaking and social events for single young people (青年联谊交友).

An organiser publishes an event through review; young people sign up into a gender quota (confirmed
or waitlisted), get a signed ticket, are checked in, and take part in the mutual choice afterwards.

How places stay correct under a rush (PostgreSQL; SQLite serialises every transaction anyway):
- a place is taken by the quota's capacity counter (``common.PLACES``, app.kit.capacity: one
  conditional ``UPDATE event_quotas SET taken = taken + 1 WHERE taken + 1 <= capacity AND open``), so
  confirmed places can never exceed a quota, whatever runs concurrently;
- a partial unique index allows one active registration per person and event, and the registration is
  inserted with ON CONFLICT DO NOTHING before the counter is touched, so duplicates never reach the hot
  row and a duplicate request simply answers with the existing registration;
- when a quota is full nobody takes its row lock: the waitlist entry is written under a *shared*
  advisory lock on the quota, and everything that frees a place (cancellation, capacity increase) takes
  that lock *exclusively* first. A freed place is therefore either seen by the waitlisting request, or
  its freer sees the new waitlist entry and promotes it — nobody waits while a place stands empty;
- a place standing free while people wait (the rules above never leave one, but a repair by hand or a
  fault outside them might) goes to the head of the waitlist, never to a newcomer. The person read
  says whether anyone waits in the quota; if so the newcomer takes the waitlist path, and a free place
  found there is taken by the conditional UPDATE and given to the first waiting registration ahead of
  the newcomer (the newcomer keeps it only when nobody is ahead). A cancellation or a capacity increase
  fills every free place of the quota, not only the one it frees;
- promoting from the waitlist path runs under the *shared* lock, and is still safe: every promotion
  follows the promoter's own successful ``taken + 1``, so places given never exceed places free; the
  promoter holds the counter row from that UPDATE to its commit, so promoting requests go one at a time
  and each reads the waitlist after the previous one committed; the promoted row is locked FOR UPDATE,
  and all else that changes waitlisted rows (cancellation, capacity change, event cancellation) holds
  the exclusive lock. SKIP LOCKED only keeps the promoter from waiting on a registration while it
  holds the hot row; within these rules no such lock is held then. As on the exclusive path, an entry
  still in flight (inserted, not committed) is not seen although its id may be lower: a place goes to
  the lowest id committed so far, so nobody already told "waitlisted" is ever passed over;
- inside one process at most ``event_signup_gate`` requests per quota wait on the counter row at once
  (queueing in Postgres on one row lock only makes the rush slower).
Lock order: the event row, then a quota's advisory lock, then rows: registrations before counters,
except that a registration locked after the counter row is locked with SKIP LOCKED, never waited for.

After an event, its no-shows are recorded by the sweeper (job ``events.mark_no_shows``), never by a
read: until then every read and the sign-up decision compute them (``common.due_no_show``), so an
answer never depends on whether the sweeper has run. No-shows and late cancellations are strikes in
the shared restriction record (app.services.restrictions, service ``events``). Only people who agreed
to the event as it ran are recorded as no-shows: someone who signed up before its time or place last
changed is told of the change, may cancel without a late cancellation and is never a no-show of it;
and times of an event people signed up for never move into the past.

Modules: ``public`` (listing, detail), ``signup`` (the hot path), ``registrations`` (the person's own,
cancelling, promotion), ``attendance`` (tickets, check-in, no-shows, restrictions), ``choice`` (the
mutual choice), ``organiser``; error codes in ``errors``, settings in ``settings``, notification kinds
in ``notices``.
"""

from app.services.events.attendance import check_in, get_ticket, mark_no_shows, my_restriction, sweep_no_shows
from app.services.events.choice import choice_summary, matches, my_picks, submit_picks
from app.services.events.common import KIND
from app.services.events.organiser import (
    attendees,
    cancel_event,
    change_capacity,
    create_event,
    get_own_event,
    update_event,
    waive_strike,
)
from app.services.events.public import get_event, list_events
from app.services.events.registrations import cancel_registration, my_registration, my_registrations
from app.services.events.signup import sign_up, sign_up_request

__all__ = [
    "KIND",
    "attendees",
    "cancel_event",
    "cancel_registration",
    "change_capacity",
    "check_in",
    "choice_summary",
    "create_event",
    "get_event",
    "get_own_event",
    "get_ticket",
    "list_events",
    "mark_no_shows",
    "matches",
    "my_picks",
    "my_registration",
    "my_registrations",
    "my_restriction",
    "sign_up",
    "sign_up_request",
    "submit_picks",
    "sweep_no_shows",
    "update_event",
    "waive_strike",
]
from app.services.events import timeline as _timeline  # noqa: F401  (registers its timeline source)
