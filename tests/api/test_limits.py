"""Rate limits wherever a stranger can spend our resources: each answers 429 with Retry-After, and each
limit is a setting (YOUTH_RATE_LIMITS; the suite lifts these buckets, so each test sets its own)."""

from __future__ import annotations

import uuid

import pytest

from app.config import get_settings
from tests.conftest import adult_birth, make_credit_code, make_id_number, unique
from tests.factories import published


@pytest.fixture
def limited(monkeypatch):
    def set_rule(bucket: str, rule: str) -> None:
        monkeypatch.setitem(get_settings().rate_limits, bucket, rule)

    return set_rule


def refused(r) -> bool:
    return r.status_code == 429 and r.json()["code"] == "RATE_LIMITED" and int(r.headers["Retry-After"]) > 0


async def test_wechat_login_per_address(client_at, limited):
    limited("wechat_login", "3/60")
    c = client_at()
    answers = [await c.post("/api/v1/auth/wechat/login", json={"code": f"dev:{unique('l')}"}) for _ in range(4)]
    assert [r.status_code for r in answers[:3]] == [200] * 3 and refused(answers[3])
    assert (await client_at().post("/api/v1/auth/wechat/login", json={"code": f"dev:{unique('l')}"})).status_code == 200


async def test_provider_signup_per_address(client_at, limited):
    limited("provider_signup", "2/3600")
    c = client_at()

    def body():
        return {"name": f"限流机构{unique('')}", "kind": "event_organizer", "credit_code": make_credit_code(),
                "contact_name": "张老师", "contact_phone": "0871-12345678", "owner_username": unique("lim"),
                "owner_password": "provider-password-123"}

    answers = [await c.post("/api/v1/provider/signup", json=body()) for _ in range(3)]
    assert [r.status_code for r in answers[:2]] == [201, 201] and refused(answers[2])


async def test_password_login_per_address(client_at, limited):
    limited("password_login", "2/60")
    c = client_at()
    body = {"username": unique("nobody"), "password": "x"}
    answers = [await c.post("/api/v1/auth/login", json=dict(body, username=unique("n"))) for _ in range(3)]
    assert refused(answers[2])


async def test_profile_changes_and_identity_binding_per_person(client, factory, limited):
    limited("profile_update", "2/600")
    limited("identity_bind", "2/86400")
    youth, other = await factory.youth(), await factory.youth()
    answers = [await client.patch("/api/v1/me", json={"nickname": f"n{i}"}, headers=youth.headers) for i in range(3)]
    assert refused(answers[2])
    assert (await client.patch("/api/v1/me", json={"nickname": "n"}, headers=other.headers)).status_code == 200
    bad = make_id_number(adult_birth(25))[:17] + "Y"
    answers = [await client.put("/api/v1/me/identity", json={"real_name": "某", "id_number": bad}, headers=youth.headers)
               for _ in range(3)]
    assert [r.status_code for r in answers[:2]] == [422, 422] and refused(answers[2])


async def test_reports_per_person(client, factory, limited):
    limited("report", "1/3600")
    _provider, event = await published(client, "event")
    youth = await factory.youth()
    body = {"target_kind": "event", "target_id": event["id"], "reason_code": "spam"}
    assert (await client.post("/api/v1/reports", json=body, headers=youth.headers)).status_code == 201
    assert refused(await client.post("/api/v1/reports", json=body, headers=youth.headers))


async def test_subscriptions_per_person_and_only_our_templates(client, factory, limited, settings):
    youth = await factory.youth()
    ours = settings.wechat_templates["event"]
    r = await client.post("/api/v1/me/notifications/subscriptions", json={"template_ids": [ours, uuid.uuid4().hex]},
                          headers=youth.headers)
    assert r.status_code == 422 and "template_ids" in r.json()["fields"]
    limited("subscriptions", "2/60")  # the refused request above counted too
    assert (await client.post("/api/v1/me/notifications/subscriptions", json={"template_ids": [ours]},
                              headers=youth.headers)).json() == {ours: 1}
    assert refused(await client.post("/api/v1/me/notifications/subscriptions", json={"template_ids": [ours]},
                                     headers=youth.headers))


async def test_identity_claims_per_person(client, factory, limited):
    limited("identity_claim", "1/86400")
    youth = await factory.youth()
    body = {"real_name": "某人", "id_number": make_id_number(adult_birth(26)), "evidence": "可到窗口出示身份证"}
    assert (await client.post("/api/v1/me/identity/claims", json=body, headers=youth.headers)).status_code == 202
    assert refused(await client.post("/api/v1/me/identity/claims", json=body, headers=youth.headers))


def test_every_new_bucket_is_declared_with_a_default():
    from app.kit.ratelimit import BUCKETS
    from app.services import load_all

    load_all()
    for name in ("wechat_login", "password_login", "provider_signup", "profile_update", "identity_bind",
                 "identity_claim", "password_change", "report", "subscriptions"):
        assert BUCKETS[name].default.limit >= 1, name
