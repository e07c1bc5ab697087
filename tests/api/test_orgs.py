"""Organisations: sign-up with a checked credit code, staff verification, members, audit."""

from __future__ import annotations

from tests.conftest import make_credit_code, unique


def signup_body(**over):
    body = {
        "name": "昆明测试公寓运营公司", "kind": "housing_operator", "credit_code": make_credit_code(),
        "contact_name": "王经理", "contact_phone": "0871-65550000", "owner_username": unique("own"),
        "owner_password": "a-good-password",
    }
    body.update(over)
    return body


async def test_signup_starts_pending_and_staff_verifies(client, factory):
    body = signup_body()
    r = await client.post("/api/v1/provider/signup", json=body)
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["status"] == "pending"
    owner = await factory.login(body["owner_username"], body["owner_password"], "provider")
    assert (await client.get("/api/v1/provider/org", headers=owner.headers)).json()["status"] == "pending"

    staff = await factory.staff()
    pending = await client.get("/api/v1/staff/orgs", params={"status": "pending", "limit": 100}, headers=staff.headers)
    assert org["id"] in [o["id"] for o in pending.json()["items"]]
    r = await client.post(f"/api/v1/staff/orgs/{org['id']}/verify", headers=staff.headers)
    assert r.json()["status"] == "verified"
    log = await client.get("/api/v1/staff/audit-log", params={"target_kind": "organisation", "target_id": org["id"]},
                           headers=staff.headers)
    actions = [e["action"] for e in log.json()["items"]]
    assert "org.verify" in actions and "org.signup" in actions


async def test_reject_needs_reason_and_owner_sees_it(client, factory):
    body = signup_body()
    org = (await client.post("/api/v1/provider/signup", json=body)).json()
    staff = await factory.staff()
    r = await client.post(f"/api/v1/staff/orgs/{org['id']}/reject", json={}, headers=staff.headers)
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    r = await client.post(f"/api/v1/staff/orgs/{org['id']}/reject", json={"reason": "营业执照信息不一致"},
                          headers=staff.headers)
    assert r.json()["status"] == "rejected"
    owner = await factory.login(body["owner_username"], body["owner_password"], "provider")
    mine = (await client.get("/api/v1/provider/org", headers=owner.headers)).json()
    assert mine["review_reason"] == "营业执照信息不一致"


async def test_bad_credit_code_is_422(client):
    code = make_credit_code()
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    r = await client.post("/api/v1/provider/signup", json=signup_body(credit_code=bad))
    assert r.status_code == 422 and "credit_code" in r.json()["fields"]


async def test_duplicate_credit_code_and_username(client):
    body = signup_body()
    assert (await client.post("/api/v1/provider/signup", json=body)).status_code == 201
    r = await client.post("/api/v1/provider/signup", json=signup_body(credit_code=body["credit_code"]))
    assert r.status_code == 409 and r.json()["code"] == "CREDIT_CODE_TAKEN"
    r = await client.post("/api/v1/provider/signup", json=signup_body(owner_username=body["owner_username"]))
    assert r.status_code == 409 and r.json()["code"] == "USERNAME_TAKEN"


async def test_owner_adds_editor_and_editor_cannot_add(client, factory):
    owner = await factory.provider("event_organizer")
    editor_name = unique("ed")
    r = await client.post("/api/v1/provider/org/members",
                          json={"username": editor_name, "password": "editor-password-1", "role": "editor"},
                          headers=owner.headers)
    assert r.status_code == 201, r.text
    editor = await factory.login(editor_name, "editor-password-1", "provider")
    assert editor.org_id == owner.org_id
    r = await client.post("/api/v1/provider/org/members",
                          json={"username": unique("ed"), "password": "editor-password-1"}, headers=editor.headers)
    assert r.status_code == 403 and r.json()["code"] == "NOT_ORG_OWNER"
    names = [m["username"] for m in (await client.get("/api/v1/provider/org/members", headers=owner.headers)).json()["items"]]
    assert editor_name in names


async def test_roles_are_enforced(client, factory):
    youth = await factory.youth()
    provider = await factory.provider("housing_operator")
    assert (await client.get("/api/v1/staff/orgs", headers=youth.headers)).status_code == 403
    assert (await client.get("/api/v1/staff/orgs", headers=provider.headers)).status_code == 403
    assert (await client.get("/api/v1/provider/org", headers=youth.headers)).status_code == 403
    assert (await client.get("/api/v1/staff/orgs")).status_code == 401
