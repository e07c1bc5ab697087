"""Volunteering rules below the API: certificate codes, quarter hours, star levels, distances, masking,
and the database's own refusal of overlapping sign-ups on PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app import errors
from app.db import session_scope
from app.services.volunteer import certificates as certs
from app.services.volunteer.common import distance_m, quarter_hours
from app.services.volunteer.hours import star_level
from tests.factories import bulk_youth, draft, volunteer_shift


def test_codes_carry_80_random_bits_and_a_check_character_that_catches_typos():
    codes = {certs.new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(len(c) == 17 for c in codes)
    assert 32 ** certs.PAYLOAD_CHARS >= 2 ** 64
    code = next(iter(codes))
    assert certs.parse_code(certs.display_code(code).lower()) == code
    for i, ch in itertools.product(range(17), certs.ALPHABET):  # every single wrong character
        if ch != code[i]:
            with pytest.raises(errors.AppError) as e:
                certs.parse_code(code[:i] + ch + code[i + 1:])
            assert e.value.code == "CERTIFICATE_CODE_MISTYPED"
    for i in range(16):  # every swap of two different neighbours
        if code[i] != code[i + 1]:
            with pytest.raises(errors.AppError):
                certs.parse_code(code[:i] + code[i + 1] + code[i] + code[i + 2:])


def test_every_neighbour_swap_is_caught_even_of_0_and_z():
    # Luhn mod 32 missed these (0 and Z weigh the same doubled or not): 3 % of random codes had one.
    payload = "0Z" * 8
    code = payload + certs.check_char(payload)
    for i in range(16):
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
        with pytest.raises(errors.AppError):
            certs.parse_code(swapped)


def test_codes_are_read_the_crockford_way():
    payload = "0123456789ABCDEF"
    code = payload + certs.check_char(payload)
    assert certs.parse_code(" o123-4567-89ab-cdef-" + code[-1].lower()) == code
    assert certs.parse_code("0I23456789ABCDEF" + code[-1]) == code  # I read as 1
    for bad in ("", "U" * 17, code + "0", "东" * 17):
        with pytest.raises(errors.AppError):
            certs.parse_code(bad)


@pytest.mark.parametrize(("minutes", "expected"), [(0, 0), (7, 0), (7.5, 15), (8, 15), (52, 45), (53, 60),
                                                   (128, 135), (180, 180)])
def test_hours_round_to_the_nearest_quarter_hour(minutes, expected):
    assert quarter_hours(minutes * 60) == expected


def test_star_levels_follow_the_thresholds():
    assert [star_level(h) for h in (0, 99.75, 100, 299, 300, 1499, 1500, 5000)] == [
        (0, 100), (0, 100), (1, 300), (1, 300), (2, 600), (4, 1500), (5, None), (5, None)]


def test_distances_and_masked_names():
    assert distance_m(24.9637, 102.6644, 24.9637, 102.6644) == 0
    assert round(distance_m(24.9637, 102.6644, 24.9637 + 800 / 111_195, 102.6644)) == 800
    assert [certs.mask_name(n) for n in ("李", "李明", "欧阳娜娜", "王小明")] == ["李", "李*", "欧**娜", "王*明"]


@pytest.mark.postgres
async def test_the_database_refuses_overlapping_active_sign_ups_itself(client):
    """The exclusion constraint holds even for writes that skip the service's own check."""
    _, p = await draft(client, "volunteer_project", shifts=[
        volunteer_shift(start=datetime.now(UTC) + timedelta(days=d)) for d in (1, 2, 3, 4)])
    (person,) = await bulk_youth(1)
    t0 = datetime(2027, 5, 1, 1, 0, tzinfo=UTC)
    shifts = iter(s["id"] for s in p["shifts"])
    insert = text("INSERT INTO volunteer_signups (shift_id, project_id, user_id, status, starts_at, ends_at, created_at,"
                  " late_cancel) VALUES (:s, :p, :u, :st, :a, :b, now(), false)")

    async def add(status: str, start: datetime, hours: int = 2) -> None:
        async with session_scope() as s:
            await s.execute(insert, {"s": next(shifts), "p": p["id"], "u": person.user_id, "st": status, "a": start,
                                     "b": start + timedelta(hours=hours)})

    await add("signed_up", t0)
    await add("signed_up", t0 + timedelta(hours=2))  # back to back
    await add("cancelled", t0 + timedelta(hours=1))  # cancelled rows do not count
    with pytest.raises(IntegrityError, match="ex_volunteer_signups_no_overlap"):
        await add("waitlisted", t0 + timedelta(hours=1))
