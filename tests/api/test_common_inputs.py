"""Inputs shared by every service: a date-time is ISO 8601 text, never a number pydantic would read as
seconds since 1970 — in bodies and in query strings, answered 422 with the field named and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select

from app.db import session_scope
from app.schemas.common import InstantIn
from app.validators import SHANGHAI
from tests.api.test_counselling import add_counsellor
from tests.factories import account, event_body, organisation
from tests.factories import housing_project_body as project_body

API = "/api/v1"
# A JSON number, a float, and text pydantic's lax mode also reads as a timestamp (the only kind a query has).
NUMBERS: list[Any] = [12345, 1767225600.5, "1767225600", "20261231"]


def assert_refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["code"] == "VALIDATION_ERROR"
    assert field in out["fields"], out
    assert "日期时间" in out["fields"][field], out


async def count(model: Any, **where: Any) -> int:
    async with session_scope() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return (await session.execute(stmt)).scalar_one()


@pytest.mark.parametrize("value", [*NUMBERS, True, -1, "-12345", "1.5e9", [], {}])
def test_date_time_types_refuse_what_is_not_date_time_text(value):
    with pytest.raises(ValidationError):
        TypeAdapter(InstantIn).validate_python(value)


def test_date_time_types_keep_what_they_accepted():
    instant = TypeAdapter(InstantIn)
    moment = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    assert instant.validate_python("2026-12-31T18:00:00+08:00") == moment
    assert instant.validate_python("2026-12-31T10:00:00Z") == moment
    assert instant.validate_python(moment) == moment
    with pytest.raises(ValidationError, match="timezone"):
        instant.validate_python("2026-12-31T18:00:00")


async def test_housing_project_create_refuses_a_number_for_close_time(client):
    from models.housing import HousingProject

    operator = await organisation("housing_operator")
    for value in NUMBERS:
        r = await client.post(f"{API}/provider/housing/projects", json=project_body(applications_close_at=value),
                              headers=operator.headers)
        assert_refused(r, "applications_close_at")
    # Offset-less text was refused before too; now with a message that says what is missing.
    r = await client.post(f"{API}/provider/housing/projects",
                          json=project_body(applications_close_at="2026-12-31T18:00:00"), headers=operator.headers)
    assert_refused(r, "applications_close_at")
    assert await count(HousingProject, org_id=operator.org_id) == 0


async def test_housing_project_patch_refuses_a_number_for_close_time(client):
    operator = await organisation("housing_operator")
    r = await client.post(f"{API}/provider/housing/projects", json=project_body(), headers=operator.headers)
    assert r.status_code == 201, r.text
    before = r.json()
    url = f"{API}/provider/housing/projects/{before['id']}"
    for value in NUMBERS:
        r = await client.patch(url, json={"applications_close_at": value}, headers=operator.headers)
        assert_refused(r, "applications_close_at")
    after = (await client.get(url, headers=operator.headers)).json()
    assert after["applications_close_at"] is None and after["updated_at"] == before["updated_at"]
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    r = await client.patch(url, json={"applications_close_at": later.isoformat()}, headers=operator.headers)
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["applications_close_at"]) == later


@pytest.mark.parametrize("field", ["starts_at", "signup_closes_at"])
async def test_event_create_refuses_a_number_for_a_time(client, field):
    from models.events import Event

    organiser = await organisation("event_organizer")
    start = datetime.now(UTC) + timedelta(days=5)
    for value in NUMBERS:
        r = await client.post(f"{API}/provider/events", json=event_body(start=start, **{field: value}),
                              headers=organiser.headers)
        assert_refused(r, field)
    assert await count(Event, org_id=organiser.org_id) == 0


async def test_counselling_slot_create_refuses_a_number_and_a_time_without_offset(client):
    from models.counselling import CounsellingSlot

    centre = await organisation("counselling_center")
    cid = await add_counsellor(client, centre, publish=False)
    url = f"{API}/provider/counselling/counsellors/{cid}/slots"
    local = (datetime.now(SHANGHAI) + timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    # Counselling once read an offset-less time as Shanghai time; it is refused like everywhere else.
    for value in (*NUMBERS, local.replace(tzinfo=None).isoformat()):
        r = await client.post(url, json={"starts_at": value}, headers=centre.headers)
        assert_refused(r, "starts_at")
    assert await count(CounsellingSlot, counsellor_id=cid) == 0
    r = await client.post(url, json={"starts_at": local.isoformat()}, headers=centre.headers)
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["starts_at"]) == local


async def test_counselling_slot_ranges_are_calendar_days(client):
    centre = await organisation("counselling_center")
    cid = await add_counsellor(client, centre, publish=False)
    for url, name in ((f"{API}/counselling/counsellors/{cid}/slots", "date_from"),
                      (f"{API}/provider/counselling/counsellors/{cid}/slots", "date_to")):
        for value in (*NUMBERS, "2026-12-31T18:00:00+08:00"):
            r = await client.get(url, params={name: str(value)}, headers=centre.headers)
            assert r.status_code == 422 and name in r.json()["fields"], (url, value, r.text)
    today = datetime.now(SHANGHAI).date()
    r = await client.get(f"{API}/provider/counselling/counsellors/{cid}/slots",
                         params={"date_from": today.isoformat(), "date_to": today.isoformat()}, headers=centre.headers)
    assert r.status_code == 200, r.text


async def test_audit_log_dates_are_calendar_days(client):
    staff = await account("moderator")
    url = f"{API}/staff/audit-log"
    for name, value in [*(("date_from", v) for v in NUMBERS), ("date_to", "2026-12-31T18:00:00")]:
        r = await client.get(url, params={name: str(value)}, headers=staff.headers)
        assert r.status_code == 422 and name in r.json()["fields"], r.text
    r = await client.get(url, params={"date_from": "2026-01-01", "date_to": "2026-12-31"}, headers=staff.headers)
    assert r.status_code == 200, r.text


# --- the calendar's edges: a day or an offset away from year 1 or 9999 is past what Python can hold ----


def test_dates_and_date_times_stay_within_the_years_python_can_shift():
    from app.schemas.common import DayIn

    day = TypeAdapter(DayIn)
    assert str(day.validate_python("2026-12-31")) == "2026-12-31"
    for value in ("0001-01-01", "9999-12-31", 20261231, "20261231"):
        with pytest.raises(ValidationError):
            day.validate_python(value)
    for kind, value in ((InstantIn, "0001-01-01T00:00:00+08:00"), (InstantIn, "9999-12-31T23:00:00-05:00"),
                        (InstantIn, "2026-12-31T18:00:00")):
        with pytest.raises(ValidationError):
            TypeAdapter(kind).validate_python(value)


async def test_day_query_parameters_at_the_calendars_edges_are_refused_not_500(client):
    centre = await organisation("counselling_center")
    staff = await account("moderator")
    for url, name, headers in ((f"{API}/events", "date_from", {}), (f"{API}/events", "date_to", {}),
                               (f"{API}/provider/counselling/bookings", "date_from", centre.headers),
                               (f"{API}/staff/counselling/stats", "date_to", staff.headers),
                               (f"{API}/staff/stats/youth", "date_to", staff.headers)):
        for value in ("0001-01-01", "9999-12-31"):
            r = await client.get(url, params={name: value}, headers=headers)
            assert r.status_code == 422, (url, name, value, r.text)
            assert name in r.json()["fields"]
        r = await client.get(url, params={name: "2026-12-31"}, headers=headers)
        assert r.status_code == 200, (url, name, r.text)


async def test_a_time_at_the_calendars_edge_is_refused_when_creating_an_event(client):
    from models.events import Event

    organiser = await organisation("event_organizer")
    start = datetime.now(UTC) + timedelta(days=5)
    r = await client.post(f"{API}/provider/events", json=event_body(start=start, signup_opens_at="0001-01-01T00:00:00+08:00"),
                          headers=organiser.headers)
    assert r.status_code == 422 and "signup_opens_at" in r.json()["fields"], r.text
    assert await count(Event, org_id=organiser.org_id) == 0


RENAMED_QUERY = [  # (path, old name, new name, who may call it)
    ("/api/v1/counselling/counsellors/{counsellor}/slots", "from", "date_from", "youth"),
    ("/api/v1/provider/counselling/counsellors/{counsellor}/slots", "to", "date_to", "counselling_center"),
    ("/api/v1/provider/counselling/bookings", "from_date", "date_from", "counselling_center"),
    ("/api/v1/staff/counselling/stats", "to_date", "date_to", "moderator"),
    ("/api/v1/staff/stats/events", "from", "date_from", "moderator"),
    ("/api/v1/staff/stats/events.csv", "to", "date_to", "moderator"),
    ("/api/v1/me/volunteer-signups", "upcoming", "upcoming_only", "youth"),
    ("/api/v1/provider/volunteer/hours", "disputed", "dispute_status", "volunteer_org"),
    ("/api/v1/staff/volunteer/certificates", "issued_from", "date_from", "moderator"),
]


@pytest.mark.parametrize(("path", "old", "new", "who"), RENAMED_QUERY)
async def test_a_query_parameter_renamed_by_the_conventions_is_refused_naming_the_new_one(client, factory, path, old,
                                                                                          new, who):
    if who == "youth":
        caller = await factory.youth(profile=True)
    elif who == "moderator":
        caller = await account("moderator")
    else:
        caller = await organisation(who)
    if "{counsellor}" in path:
        owner = caller if who == "counselling_center" else await organisation("counselling_center")
        path = path.format(counsellor=await add_counsellor(client, owner))
    r = await client.get(path, params={old: "2026-12-01"}, headers=caller.headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR" and new in body.get("fields", {}).get(old, ""), body
    ok = await client.get(path, headers=caller.headers)  # without the old name the same call is answered
    assert ok.status_code == 200, ok.text
