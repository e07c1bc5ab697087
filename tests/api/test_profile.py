"""The profile: ID-number rules, masking, encryption at rest, phone binding."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from app.db import session_scope
from tests.conftest import adult_birth, make_id_number


async def test_wrong_check_character_is_422_naming_the_field(client, factory):
    youth = await factory.youth()
    good = make_id_number(adult_birth(24), "male")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    r = await client.patch("/api/v1/me", json={"id_number": bad}, headers=youth.headers)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert "id_number" in body["fields"]


async def test_impossible_birth_date_is_refused(client, factory):
    youth = await factory.youth()
    from app.validators import id_check_char

    first17 = "53010219990231123"  # 31 February
    r = await client.patch("/api/v1/me", json={"id_number": first17 + id_check_char(first17)}, headers=youth.headers)
    assert r.status_code == 422
    assert "id_number" in r.json()["fields"]


async def test_good_id_number_is_masked_derived_and_encrypted(client, factory):
    youth = await factory.youth()
    number = make_id_number(date(2000, 6, 1), "male")
    r = await client.patch("/api/v1/me", json={"id_number": number, "real_name": "李明"}, headers=youth.headers)
    assert r.status_code == 200, r.text
    me = r.json()
    assert number not in r.text
    assert me["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert me["birth_date"] == "2000-06-01"
    assert me["gender"] == "male"
    assert me["real_name_verified"] is True
    async with session_scope() as session:
        raw = (await session.execute(text("SELECT id_number FROM users WHERE id = :id"), {"id": youth.user_id})).scalar()
    assert raw and number not in raw and raw.startswith("v1:")


async def test_one_account_per_id_number(client, factory):
    a, b = await factory.youth(), await factory.youth()
    number = make_id_number(adult_birth(22), "female")
    assert (await client.patch("/api/v1/me", json={"id_number": number}, headers=a.headers)).status_code == 200
    r = await client.patch("/api/v1/me", json={"id_number": number}, headers=b.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "ID_NUMBER_TAKEN"


async def test_district_must_be_in_kunming_and_unknown_fields_refused(client, factory):
    youth = await factory.youth()
    r = await client.patch("/api/v1/me", json={"district": "朝阳区"}, headers=youth.headers)
    assert r.status_code == 422 and "district" in r.json()["fields"]
    r = await client.patch("/api/v1/me", json={"role": "admin"}, headers=youth.headers)
    assert r.status_code == 422 and "role" in r.json()["fields"]
    r = await client.patch("/api/v1/me", json={"district": "呈贡区", "marital_status": "single"}, headers=youth.headers)
    assert r.status_code == 200 and r.json()["district"] == "呈贡区"


async def test_gender_cannot_contradict_id_number(client, factory):
    youth = await factory.youth(profile=True, gender="female")
    r = await client.patch("/api/v1/me", json={"gender": "male"}, headers=youth.headers)
    assert r.status_code == 422 and "gender" in r.json()["fields"]


async def test_phone_binding_through_wechat(client, factory):
    youth = await factory.youth()
    r = await client.post("/api/v1/me/phone", json={"code": "phone:13812345678"}, headers=youth.headers)
    assert r.status_code == 200, r.text
    assert r.json()["phone_masked"] == "138****5678"
    assert "13812345678" not in r.text
    again = await client.post("/api/v1/me/phone", json={"code": "phone:13812345678"}, headers=youth.headers)
    assert again.status_code == 400
    assert again.json()["code"] == "WECHAT_PHONE_CODE_INVALID"
