"""Openings rules below the API: the transition table, effective status, eligibility, the notification
kinds, and the capacity counter refusing a place past the last one."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.schemas.openings import STATUS_LABELS
from app.services.notifications.catalogue import KINDS
from app.services.openings import errors as oerr
from app.services.openings.applying import mask_email, unmet_rules
from app.services.openings.pipeline import PROVIDER, SYSTEM, TRANSITIONS, YOUTH, allowed, can_withdraw, check
from models.openings import APPLICATION_STATUSES, OPEN_STATUSES, Opening, OpeningApplication

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
TERMINAL = set(APPLICATION_STATUSES) - set(OPEN_STATUSES)


def app_in(status: str, answer_by: datetime | None = None) -> OpeningApplication:
    return OpeningApplication(id=1, opening_id=1, org_id=1, user_id=1, kind="internship", status=status,
                              phone="13800000000", answer_by=answer_by, submitted_at=NOW - timedelta(days=1))


def test_terminal_states_have_no_way_out():
    assert TERMINAL == {"accepted", "declined", "lapsed", "rejected", "withdrawn"}
    for (frm, _to) in TRANSITIONS:
        assert frm not in TERMINAL


def test_no_offer_to_a_rejected_applicant_and_no_second_acceptance():
    # Frappe HR #680/#3389 (offers to rejected applicants), OpenCATS #232 (placed twice)
    for role in (YOUTH, PROVIDER, SYSTEM):
        assert not allowed("rejected", "offered", role)
        assert not allowed("accepted", "accepted", role)
        assert not allowed("withdrawn", "submitted", role)


def test_who_makes_which_move():
    assert {to for (frm, to), roles in TRANSITIONS.items() if YOUTH in roles} == {"accepted", "declined", "withdrawn"}
    assert {to for (frm, to), roles in TRANSITIONS.items() if SYSTEM in roles} == {"lapsed", "rejected"}
    assert all(allowed(s, "rejected", PROVIDER) for s in OPEN_STATUSES)
    assert [s for s in APPLICATION_STATUSES if can_withdraw(s)] == ["submitted", "viewed", "interview"]


@pytest.mark.parametrize(("frm", "to"), [p for p in itertools.product(APPLICATION_STATUSES, repeat=2)
                                         if p not in TRANSITIONS])
def test_every_move_outside_the_table_is_refused(frm, to):
    for role in (YOUTH, PROVIDER, SYSTEM):
        with pytest.raises(oerr.TransitionNotAllowed):
            check(app_in(frm), to, role, NOW)


def test_an_offer_past_its_answer_by_time_is_lapsed_for_every_move_but_the_lapse():
    due = app_in("offered", answer_by=NOW - timedelta(minutes=1))
    with pytest.raises(oerr.OfferLapsed):
        check(due, "accepted", YOUTH, NOW)
    with pytest.raises(oerr.OfferLapsed):
        check(due, "rejected", PROVIDER, NOW)
    check(due, "lapsed", SYSTEM, NOW)  # the sweeper's move
    with pytest.raises(oerr.TransitionNotAllowed):
        check(app_in("offered", answer_by=NOW + timedelta(hours=1)), "lapsed", SYSTEM, NOW)


def _opening(**over: Any) -> Opening:
    data: dict[str, Any] = dict(kind="internship", org_id=1, title="t", description="d", district="五华区", places=1,
                                deadline=NOW, contact_name="x", contact_phone="1", min_age=16, max_age=24,
                                graduated_within_years=2, min_education="college", majors=["计算机"])
    data.update(over)
    return Opening(**data)


def _born(age: int) -> date:
    today = date.today()
    return date(today.year - age - 1, 12, 31) if (today.month, today.day) != (12, 31) else date(today.year - age, 1, 1)


def test_eligibility_names_every_unmet_rule_and_honours_the_two_year_graduates():
    year = date.today().year
    ok = dict(education="bachelor", major="计算机科学与技术", graduation_year=year, stage=None, sector=None)
    assert unmet_rules(_opening(), birth=_born(22), **ok) == {}
    assert unmet_rules(_opening(), birth=_born(27), **dict(ok, graduation_year=year - 2)) == {}
    problems = unmet_rules(_opening(), birth=_born(27), **dict(ok, graduation_year=year - 3, education="high_school",
                                                              major="中文"))
    assert set(problems) == {"age", "education", "major"}
    assert set(unmet_rules(_opening(graduated_within_years=None), birth=_born(25), **ok)) == {"age"}
    assert set(unmet_rules(_opening(), birth=_born(15), **ok)) == {"age"}
    place = _opening(kind="incubator", min_age=18, max_age=35, graduated_within_years=None, min_education=None,
                     majors=[], stages=["idea"], sectors=["digital"])
    assert unmet_rules(place, birth=_born(30), education=None, major=None, graduation_year=None, stage="idea",
                       sector="digital") == {}
    assert set(unmet_rules(place, birth=_born(30), education=None, major=None, graduation_year=None,
                           stage="growth", sector="green")) == {"venture.stage", "venture.sector"}


def test_every_opening_notification_renders_with_its_parameters():
    ours = [k for key, k in KINDS.items() if key.startswith("opening.")]
    assert len(ours) == len(STATUS_LABELS) + 2
    for kind in ours:
        params = {p: NOW if p in ("at", "answer_by", "deadline") else "x" for p in kind.params}
        title, body = kind.render(params)
        assert title and body and "{" not in body


def test_emails_are_masked():
    assert mask_email("zhang.san@example.cn") == "z***@example.cn"
    assert mask_email("broken") == "***"


async def test_the_counter_refuses_a_place_past_the_last_one(client):
    from app.db import session_scope
    from app.services.openings.common import PLACES
    from tests.factories import draft

    _, post = await draft(client, "opening", places=2)
    async with session_scope() as s:
        assert [await PLACES.take(s, post["id"]) for _ in range(3)] == [1, 2, None]
