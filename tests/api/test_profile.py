"""The profile and the real-name identity: ID-number rules, one identity per person without an oracle,
the way back for a number's owner, masking, encryption at rest, phone binding, display names."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from sqlalchemy import select, text

from app.db import session_scope
from app.validators import age_on, id_check_char, parse_id_number
from models.accounts import User
from models.notifications import Notification
from tests.conftest import IS_POSTGRES, adult_birth, make_id_number, unique
from tests.factories import organisation

ME, IDENTITY, CLAIMS = "/api/v1/me", "/api/v1/me/identity", "/api/v1/me/identity/claims"


async def bind(client, actor, number, name="测试青年", **extra):
    return await client.put(IDENTITY, json={"real_name": name, "id_number": number, **extra}, headers=actor.headers)


def number_with(first17: str) -> str:
    return first17 + id_check_char(first17)


# --- the number itself ---------------------------------------------------------------------------------


async def test_wrong_check_character_is_422_naming_the_field(client, factory):
    youth = await factory.youth()
    good = make_id_number(adult_birth(24), "male")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    r = await bind(client, youth, bad)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert "id_number" in body["fields"]


async def test_impossible_birth_date_is_refused(client, factory):
    youth = await factory.youth()
    r = await bind(client, youth, number_with("53010219990231123"))  # 31 February
    assert r.status_code == 422
    assert "id_number" in r.json()["fields"]


@pytest.mark.parametrize("spelling", [
    "\uff15" + "30102199303031318"[1:],  # a full-width ５ first
    "530102199303031318".replace("0", "\uff10", 1),  # a full-width ０
    "530102199303031318".replace("1", "\u0661", 1),  # an Arabic-Indic digit one
    "53010219930303131\uff38",  # a full-width Ｘ
])
async def test_only_ascii_digits_make_an_id_number(client, factory, spelling):
    """Unicode digits once made one number several lookup hashes: two accounts, one person."""
    youth = await factory.youth()
    r = await bind(client, youth, spelling)
    assert r.status_code == 422 and "id_number" in r.json()["fields"], r.text
    assert "半角" in r.json()["fields"]["id_number"]


async def test_trimmed_and_upper_cased_x_is_accepted(client, factory):
    youth = await factory.youth()
    while not (number := make_id_number(adult_birth(26), "male")).endswith("X"):
        pass
    r = await bind(client, youth, f"  {number.lower()} ")
    assert r.status_code == 200, r.text
    assert r.json()["me"]["id_number_masked"].endswith(number[-4:])


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60", "66",
                                      "70", "72", "80", "84", "99"])
def test_province_codes_that_do_not_exist_are_refused(province):
    with pytest.raises(ValueError, match="地区码"):
        parse_id_number(number_with(f"{province}010219930303123"))


@pytest.mark.parametrize("province", [11, 15, 21, 23, 31, 37, 41, 46, 50, 54, 61, 65, 71, 81, 83])
def test_every_province_code_of_the_standard_is_accepted(province):
    assert parse_id_number(number_with(f"{province}010219930303123"))[0].startswith(str(province))


def test_older_than_120_is_refused_and_120_is_not():
    today = date(2026, 12, 1)
    assert parse_id_number(number_with("53010219061201123"), today=today)[1] == date(1906, 12, 1)  # 120 today
    with pytest.raises(ValueError, match="出生日期"):
        parse_id_number(number_with("53010219051130123"), today=today)  # 121 since yesterday
    with pytest.raises(ValueError, match="出生日期"):
        parse_id_number(number_with("53010220261202123"), today=today)  # born tomorrow


def test_foreigners_permanent_residence_number_is_accepted():
    """The 2023 card: 9, the issuing province, a nationality code (840), then birth, sequence, check."""
    number, birth, gender = parse_id_number(number_with("95384019900101001"))
    assert (number[0], birth, gender) == ("9", date(1990, 1, 1), "male")
    with pytest.raises(ValueError, match="地区码"):
        parse_id_number(number_with("99984019900101001"))  # no province 99


def test_agrees_with_python_stdnum():
    """An independent implementation (python-stdnum's cn.ric): on thousands of resident numbers, ours
    and stdnum agree, except where a rule of ours that stdnum lacks (the 120-year limit, no birth in
    the future) or stdnum's county table (it knows each county code and when it existed) decides."""
    from stdnum.cn import ric

    rng = random.Random(20261201)
    today = date(2026, 12, 1)
    counties = ("530102", "530111", "110101", "310104", "440305", "650102", "820000", "710000")
    accepted = 0
    for _ in range(4000):
        area = rng.choice(counties) if rng.random() < 0.8 else f"{rng.randrange(10, 100)}{rng.randrange(10**4):04d}"
        birth = f"{rng.randrange(1890, 2030)}{rng.randrange(1, 14):02d}{rng.randrange(1, 33):02d}"
        first17 = f"{area}{birth}{rng.randrange(1000):03d}"
        number = first17 + (id_check_char(first17) if rng.random() < 0.7 else rng.choice("0123456789X"))
        try:
            parse_id_number(number, today=today)
            ours = True
        except ValueError:
            ours = False
        accepted += ours
        try:
            theirs = ric.is_valid(number)
        except KeyError:  # stdnum 2.2 trips over some codes of its own table
            theirs = False
        if ours == theirs:
            continue
        if theirs:  # stdnum accepts what we refuse: only for our age rules
            born = ric.get_birth_date(number)
            assert born > today or age_on(born, today) > 120, number
        else:  # we accept what stdnum refuses: only for its county table
            assert ric.calc_check_digit(number) == number[-1] and ric.get_birth_date(number)
            with pytest.raises((ValueError, KeyError)):
                ric.get_birth_place(number)
    assert accepted > 1000


# --- binding: once, youth only, no oracle ------------------------------------------------------------


async def test_good_id_number_is_masked_derived_and_encrypted(client, factory):
    youth = await factory.youth()
    number = make_id_number(date(2000, 6, 1), "male")
    r = await bind(client, youth, number, "李明")
    assert r.status_code == 200, r.text
    me = r.json()["me"]
    assert number not in r.text
    assert me["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]
    assert me["birth_date"] == "2000-06-01"
    assert me["gender"] == "male"
    assert me["real_name_verified"] is True and me["identity_source"] == "declared"
    assert r.headers["cache-control"] == "no-store"
    async with session_scope() as session:
        raw = (await session.execute(text("SELECT id_number FROM users WHERE id = :id"), {"id": youth.user_id})).scalar()
    assert raw and number not in raw and raw.startswith("v1:")


async def test_binding_a_number_someone_holds_does_not_say_so(client, factory):
    """No ID_NUMBER_TAKEN: the same 200 as a free number, with a claim under review instead of a bound
    identity; the holder keeps the number until staff decide."""
    holder, stranger, other = await factory.youth(), await factory.youth(), await factory.youth()
    number = make_id_number(adult_birth(22), "female")
    assert (await bind(client, holder, number)).status_code == 200
    free = await bind(client, other, make_id_number(adult_birth(22), "female"))
    taken = await bind(client, stranger, number)
    assert taken.status_code == free.status_code == 200
    assert "TAKEN" not in taken.text and "其他账号" not in taken.text
    assert set(taken.json()) == set(free.json())
    assert taken.json()["claim"]["status"] == "pending" and taken.json()["me"]["real_name_verified"] is False
    assert (await client.get(ME, headers=stranger.headers)).json()["identity_claim_status"] == "pending"
    assert (await client.get(ME, headers=holder.headers)).json()["real_name_verified"] is True
    # One number at a time: while the claim is open, the account cannot try another.
    r = await bind(client, stranger, make_id_number(adult_birth(23), "female"))
    assert r.status_code == 409 and r.json()["code"] == "IDENTITY_CLAIM_OPEN"


async def test_a_bound_identity_does_not_change_by_itself(client, factory):
    youth = await factory.youth()
    number = make_id_number(adult_birth(25), "male")
    assert (await bind(client, youth, number)).status_code == 200
    assert (await bind(client, youth, number)).status_code == 200  # the same again: nothing changes
    for change in ({"id_number": make_id_number(adult_birth(25), "male")}, {"real_name": "别人的名字"}):
        r = await client.put(IDENTITY, json={"real_name": "测试青年", "id_number": number, **change},
                             headers=youth.headers)
        assert r.status_code == 409 and r.json()["code"] == "IDENTITY_LOCKED", change
    r = await client.patch(ME, json={"id_number": make_id_number(adult_birth(25), "male")}, headers=youth.headers)
    assert r.status_code == 422 and "id_number" in r.json()["fields"]


async def test_only_youth_accounts_carry_id_numbers(client, factory):
    for actor in (await organisation("housing_operator"), await factory.reviewer()):
        r = await bind(client, actor, make_id_number(adult_birth(30), "male"))
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
        r = await client.post(CLAIMS, json={"real_name": "某人", "id_number": make_id_number(adult_birth(30)),
                                            "evidence": "本人可到窗口出示身份证"}, headers=actor.headers)
        assert r.status_code == 403
        async with session_scope() as session:
            assert (await session.get(User, actor.user_id)).id_number_hash is None


@pytest.mark.postgres
async def test_two_accounts_binding_one_free_number_at_once_get_one_identity(client, factory):
    import asyncio

    people = [await factory.youth() for _ in range(8)]
    number = make_id_number(adult_birth(27), "female")
    answers = await asyncio.gather(*(bind(client, p, number) for p in people))
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    assert sum(r.json()["claim"] is None for r in answers) == 1, [(r.json()["me"]["real_name_verified"], bool(r.json()["claim"])) for r in answers]
    async with session_scope() as session:
        holders = (await session.execute(select(User.id).where(User.id.in_([p.user_id for p in people]),
                                                               User.id_number_hash.is_not(None)))).all()
    assert len(holders) == 1


# --- the owner's way back -----------------------------------------------------------------------------


async def notifications_of(user_id: int) -> list[str]:
    async with session_scope() as session:
        return list((await session.execute(select(Notification.kind).where(Notification.user_id == user_id)))
                    .scalars())


async def test_owner_claims_a_squatted_number_and_staff_move_it(client, factory):
    squatter, owner = await factory.youth(), await factory.youth()
    number = make_id_number(adult_birth(24), "male")
    assert (await bind(client, squatter, number, "冒用者")).status_code == 200
    r = await client.post(CLAIMS, json={"real_name": "王真", "id_number": number,
                                        "evidence": "本人可于工作日到团市委服务窗口出示身份证原件"}, headers=owner.headers)
    assert r.status_code == 202, r.text
    claim = r.json()
    assert claim["status"] == "pending" and number not in r.text
    staff = await factory.staff()
    queue = (await client.get("/api/v1/staff/identity-claims", headers=staff.headers)).json()["items"]
    mine = next(c for c in queue if c["id"] == claim["id"])
    assert mine["holder_id"] == squatter.user_id and mine["holder_identity_source"] == "declared"
    r = await client.post(f"/api/v1/staff/identity-claims/{claim['id']}/decision",
                          json={"approve": True, "reason": "已核验身份证原件"}, headers=staff.headers)
    assert r.status_code == 200, r.text
    assert r.json()["holder_id"] == owner.user_id
    owner_me = (await client.get(ME, headers=owner.headers)).json()
    assert owner_me["real_name_verified"] and owner_me["identity_source"] == "staff" and owner_me["real_name"] == "王真"
    squatter_me = (await client.get(ME, headers=squatter.headers)).json()
    assert not squatter_me["real_name_verified"] and squatter_me["id_number_masked"] is None
    assert "identity.moved" in await notifications_of(squatter.user_id)
    assert "identity.claim_approved" in await notifications_of(owner.user_id)
    again = await client.post(f"/api/v1/staff/identity-claims/{claim['id']}/decision",
                              json={"approve": False, "reason": "重复审核"}, headers=staff.headers)
    assert again.status_code == 409 and again.json()["code"] == "IDENTITY_CLAIM_DECIDED"


async def test_the_claim_a_binding_opened_takes_evidence_and_can_be_rejected(client, factory):
    holder, claimant = await factory.youth(), await factory.youth()
    number = make_id_number(adult_birth(29), "female")
    await bind(client, holder, number)
    opened = (await bind(client, claimant, number)).json()["claim"]
    r = await client.post(CLAIMS, json={"real_name": "测试青年", "id_number": number, "evidence": "可视频核验"},
                          headers=claimant.headers)
    assert r.status_code == 202 and r.json()["id"] == opened["id"] and r.json()["evidence"] == "可视频核验"
    staff = await factory.staff()
    r = await client.post(f"/api/v1/staff/identity-claims/{opened['id']}/decision",
                          json={"approve": False, "reason": "未能核实身份"}, headers=staff.headers)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await client.get(ME, headers=holder.headers)).json()["real_name_verified"] is True
    assert "identity.claim_rejected" in await notifications_of(claimant.user_id)
    mine = (await client.get(CLAIMS, headers=claimant.headers)).json()["items"]
    assert mine[0]["status"] == "rejected" and mine[0]["decision_reason"] == "未能核实身份"


async def test_face_verification_moves_a_squatted_number_at_once(client, factory):
    squatter = await factory.youth()
    name = unique("face")
    owner = await factory.youth(name)
    number = make_id_number(adult_birth(31), "male")
    await bind(client, squatter, number, "冒用者")
    r = await bind(client, owner, number, "赵真", verify_result=f"face:{name}:{number}:赵真:1")
    assert r.status_code == 200, r.text
    assert r.json()["claim"] is None and r.json()["me"]["identity_source"] == "face"
    assert (await client.get(ME, headers=squatter.headers)).json()["id_number_masked"] is None
    assert "identity.moved" in await notifications_of(squatter.user_id)


async def test_a_failed_face_verification_says_the_same_for_taken_and_free_numbers(client, factory):
    holder = await factory.youth()
    taken = make_id_number(adult_birth(28), "female")
    await bind(client, holder, taken)
    name = unique("noface")
    prober = await factory.youth(name)
    answers = []
    for i, number in enumerate((taken, make_id_number(adult_birth(28), "female"))):
        r = await bind(client, prober, number, verify_result=f"face:{name}:{number}:测试青年:{i}")
        answers.append((r.status_code, r.json()["code"]))
    assert answers == [(422, "IDENTITY_VERIFICATION_FAILED")] * 2
    # A verification of someone else (another WeChat user, or another number) counts for nothing either.
    other = unique("face")
    r = await bind(client, prober, taken, verify_result=f"face:{other}:{taken}:测试青年:x")
    assert r.status_code == 422 and r.json()["code"] == "IDENTITY_VERIFICATION_FAILED"


# --- declared facts, display names ------------------------------------------------------------------


async def test_district_must_be_in_kunming_and_unknown_fields_refused(client, factory):
    youth = await factory.youth()
    r = await client.patch(ME, json={"district": "朝阳区"}, headers=youth.headers)
    assert r.status_code == 422 and "district" in r.json()["fields"]
    r = await client.patch(ME, json={"role": "admin"}, headers=youth.headers)
    assert r.status_code == 422 and "role" in r.json()["fields"]
    r = await client.patch(ME, json={"district": "呈贡区", "marital_status": "single"}, headers=youth.headers)
    assert r.status_code == 200 and r.json()["district"] == "呈贡区"
    assert r.headers["cache-control"] == "no-store"


async def test_gender_cannot_contradict_id_number(client, factory):
    youth = await factory.youth(profile=True, gender="female")
    r = await client.patch(ME, json={"gender": "male"}, headers=youth.headers)
    assert r.status_code == 422 and "gender" in r.json()["fields"]


@pytest.mark.parametrize("nickname", ["a\x00b", "\x00", "tab\there", "line\nbreak", "abc\u202egnp.exe", "\u2066x\u2069",
                                      "a\u200fb", "\ud800"])
async def test_display_names_refuse_control_and_direction_characters(client, factory, nickname):
    """The same 422 on SQLite and PostgreSQL (NUL was stored by one and a data error in the other)."""
    youth = await factory.youth()
    as_json = {"headers": {**youth.headers, "content-type": "application/json"}}  # json.dumps escapes surrogates
    r = await client.patch(ME, content=json.dumps({"nickname": nickname}), **as_json)
    assert r.status_code == 422 and "nickname" in r.json()["fields"], (IS_POSTGRES, r.text)
    body = {"real_name": nickname, "id_number": make_id_number(adult_birth(25))}
    r = await client.put(IDENTITY, content=json.dumps(body), **as_json)
    assert r.status_code == 422 and "real_name" in r.json()["fields"]


async def test_display_names_keep_emoji_and_joiners(client, factory):
    youth = await factory.youth()
    r = await client.patch(ME, json={"nickname": "小明👨‍👩‍👧"}, headers=youth.headers)
    assert r.status_code == 200 and r.json()["nickname"] == "小明👨‍👩‍👧"


async def test_phone_binding_through_wechat(client, factory):
    youth = await factory.youth()
    r = await client.post("/api/v1/me/phone", json={"code": "phone:13812345678"}, headers=youth.headers)
    assert r.status_code == 200, r.text
    assert r.json()["phone_masked"] == "138****5678"
    assert "13812345678" not in r.text
    again = await client.post("/api/v1/me/phone", json={"code": "phone:13812345678"}, headers=youth.headers)
    assert again.status_code == 400
    assert again.json()["code"] == "WECHAT_PHONE_CODE_INVALID"
