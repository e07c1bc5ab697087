"""Organisations: sign-up with a checked credit code, staff verification, members, audit."""

from __future__ import annotations

from typing import Any

import pytest

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


# --- standing: suspension, rejection, reinstatement -------------------------------------------------

from datetime import timedelta  # noqa: E402

from sqlalchemy import select  # noqa: E402

from tests.factories import API, bulk_youth, draft, now, organisation, published  # noqa: E402


async def notes_of(user_id: int, kind: str) -> list[Any]:
    from app.db import session_scope
    from models.notifications import Notification

    async with session_scope() as s:
        return list((await s.execute(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == kind).order_by(Notification.id))).scalars())


async def test_staff_suspend_and_reinstate_with_a_reason_and_the_owners_are_told(client, factory):
    owner = await organisation("event_organizer")
    staff = await factory.reviewer()
    url = f"{API}/staff/orgs/{owner.org_id}"
    r = await client.post(f"{url}/suspend", json={}, headers=staff.headers)
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    pending = await organisation("event_organizer", status="pending")
    r = await client.post(f"{API}/staff/orgs/{pending.org_id}/suspend", json={"reason": "尚未认证"}, headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "ORG_STATE_INVALID"
    r = await client.post(f"{url}/suspend", json={"reason": "多名参加者投诉活动收取额外费用"}, headers=staff.headers)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    # retried, or a colleague agreeing: the same answer
    assert (await client.post(f"{url}/suspend", json={"reason": "重复"}, headers=staff.headers)).status_code == 200
    # verifying is no way around a suspension
    r = await client.post(f"{url}/verify", headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "ORG_STATE_INVALID"
    mine = (await client.get(f"{API}/provider/org", headers=owner.headers)).json()
    assert mine["status"] == "suspended" and mine["review_reason"] == "多名参加者投诉活动收取额外费用"
    [note] = await notes_of(owner.user_id, "org.suspended")
    assert "多名参加者投诉活动收取额外费用" in note.body and note.data["org_id"] == owner.org_id
    r = await client.post(f"{url}/reinstate", json={"reason": "已退还费用并整改"}, headers=staff.headers)
    assert r.status_code == 200 and r.json()["status"] == "verified"
    assert len(await notes_of(owner.user_id, "org.reinstated")) == 1
    actions = [e["action"] for e in (await client.get(f"{API}/staff/audit-log", params={
        "target_kind": "organisation", "target_id": owner.org_id}, headers=staff.headers)).json()["items"]]
    assert actions[:2] == ["org.reinstate", "org.suspend"]


async def test_verification_and_rejection_tell_the_owners(client, factory):
    body = signup_body()
    org = (await client.post("/api/v1/provider/signup", json=body)).json()
    other = (await client.post("/api/v1/provider/signup", json=signup_body())).json()
    staff = await factory.reviewer()
    await client.post(f"{API}/staff/orgs/{org['id']}/verify", headers=staff.headers)
    await client.post(f"{API}/staff/orgs/{other['id']}/reject", json={"reason": "营业执照已过期"}, headers=staff.headers)
    from app.db import session_scope
    from models.orgs import OrgMember

    async with session_scope() as s:
        owners = dict((await s.execute(select(OrgMember.org_id, OrgMember.user_id).where(
            OrgMember.org_id.in_([org["id"], other["id"]])))).all())
    assert len(await notes_of(owners[org["id"]], "org.verified")) == 1
    [rejected] = await notes_of(owners[other["id"]], "org.rejected")
    assert "营业执照已过期" in rejected.body


@pytest.mark.parametrize("decision", ["suspend", "reject"])
async def test_an_organisation_without_standing_keeps_nothing_but_its_own_record(client, factory, decision):
    owner, project = await published(client, "housing_project")
    _, spare = await draft(client, "housing_project", owner)
    staff = await factory.reviewer()
    r = await client.post(f"{API}/staff/orgs/{owner.org_id}/{decision}", json={"reason": "资质存疑，暂停使用"},
                          headers=staff.headers)
    assert r.status_code == 200, r.text
    code = {"suspend": "ORG_SUSPENDED", "reject": "ORG_REJECTED"}[decision]
    refused = [
        ("post", f"{API}/provider/housing/projects", {"json": {"name": "新项目"}}),
        ("post", f"{API}/provider/postings/housing_project/{spare['id']}/submit", {}),
        ("post", f"{API}/provider/postings/housing_project/{project['id']}/close", {}),
        ("get", f"{API}/provider/housing/projects/{project['id']}/applications", {}),
        ("get", f"{API}/provider/housing/projects/{project['id']}/applications.csv", {}),
        ("post", f"{API}/provider/org/members", {"json": {"username": unique("ed"), "password": "editor-password-1"}}),
    ]
    for method, url, kw in refused:
        r = await client.request(method, url, headers=owner.headers, **kw)
        assert r.status_code == 403 and r.json()["code"] == code, (url, r.status_code, r.text)
    kept = [f"{API}/provider/org", f"{API}/provider/org/members", f"{API}/provider/postings"]
    for url in kept:
        assert (await client.get(url, headers=owner.headers)).status_code == 200, url


async def test_a_suspended_organisation_reads_no_personal_data_in_any_service(client, factory):
    """Housing applicants' CSV, counselling intake and event attendees: refused at the shared layer."""
    people = await bulk_youth(3)
    housing, project = await published(client, "housing_project")
    r = await client.post(f"{API}/housing/projects/{project['id']}/applications",
                          json={"unit_type_id": project["unit_types"][0]["id"]}, headers=people[0].headers)
    assert r.status_code == 201, r.text
    centre, counsellor = await published(client, "counsellor")
    # The intake is the care team's: the owner reads it as the centre's duty.
    r = await client.patch(f"{API}/provider/counselling/centre", json={"duty_user_ids": [centre.user_id]},
                           headers=centre.headers)
    assert r.status_code == 200, r.text
    slot = await client.post(f"{API}/provider/counselling/counsellors/{counsellor['id']}/slots",
                             json={"starts_at": (now() + timedelta(days=4)).isoformat()}, headers=centre.headers)
    assert slot.status_code == 201, slot.text
    booking = await client.post(f"{API}/counselling/bookings", json={
        "slot_id": slot.json()["id"], "mode": "video",
        "intake": {"topic": "study_stress", "description": "考试压力大", "self_harm_thoughts": False}},
        headers=people[1].headers)
    assert booking.status_code == 201, booking.text
    organiser, event = await published(client, "event")
    assert (await client.post(f"{API}/events/{event['id']}/registrations", headers=people[2].headers)).status_code == 201
    # (provider, personal data, refusal): the intake route finds the centre's booking itself (staff get
    # 404 there too), and to a suspended centre its bookings do not exist.
    personal = [
        (housing, f"{API}/provider/housing/projects/{project['id']}/applications.csv", (403, "ORG_SUSPENDED")),
        (centre, f"{API}/provider/counselling/bookings/{booking.json()['id']}", (404, "NOT_FOUND")),
        (organiser, f"{API}/provider/events/{event['id']}/attendees", (403, "ORG_SUSPENDED")),
    ]
    for provider, url, _ in personal:
        assert (await client.get(url, headers=provider.headers)).status_code == 200, url
    staff = await factory.reviewer()
    for provider, _, _ in personal:
        r = await client.post(f"{API}/staff/orgs/{provider.org_id}/suspend", json={"reason": "接到投诉，暂停核查"},
                              headers=staff.headers)
        assert r.status_code == 200, r.text
    for provider, url, refusal in personal:
        r = await client.get(url, headers=provider.headers)
        assert (r.status_code, r.json()["code"]) == refusal, (url, r.text)
    # reinstated, the organisation reads its applicants again
    await client.post(f"{API}/staff/orgs/{housing.org_id}/reinstate", json={"reason": "核查无误"}, headers=staff.headers)
    assert (await client.get(personal[0][1], headers=housing.headers)).status_code == 200


# --- members -----------------------------------------------------------------------------------------


async def test_owners_remove_members_and_the_account_loses_access_at_once(client, factory):
    owner = await factory.provider("housing_operator")
    editor_name = unique("ed")
    r = await client.post(f"{API}/provider/org/members",
                          json={"username": editor_name, "password": "editor-password-1"}, headers=owner.headers)
    editor_id = r.json()["user_id"]
    editor = await factory.login(editor_name, "editor-password-1", "provider")
    r = await client.delete(f"{API}/provider/org/members/{owner.user_id}", headers=editor.headers)
    assert r.status_code == 403 and r.json()["code"] == "NOT_ORG_OWNER"
    r = await client.delete(f"{API}/provider/org/members/{owner.user_id}", headers=owner.headers)
    assert r.status_code == 409 and r.json()["code"] == "ORG_LAST_OWNER"
    stranger = await factory.provider("housing_operator")
    assert (await client.delete(f"{API}/provider/org/members/{editor_id}", headers=stranger.headers)).status_code == 404
    assert (await client.delete(f"{API}/provider/org/members/{editor_id}", headers=owner.headers)).status_code == 204
    r = await client.get(f"{API}/provider/org", headers=editor.headers)
    assert r.status_code == 403 and r.json()["code"] == "ACCOUNT_SUSPENDED"
    r = await client.post(f"{API}/auth/refresh", json={"refresh_token": editor.refresh_token})
    assert r.status_code in (401, 403)
    members = (await client.get(f"{API}/provider/org/members", headers=owner.headers)).json()["items"]
    assert [m["user_id"] for m in members] == [owner.user_id]


async def test_a_suspended_organisations_owner_can_still_remove_members(client, factory):
    from tests.factories import account

    owner = await organisation("employer")
    editor = await account("provider", org_id=owner.org_id, org_role="editor")
    staff = await factory.reviewer()
    await client.post(f"{API}/staff/orgs/{owner.org_id}/suspend", json={"reason": "暂停核查"}, headers=staff.headers)
    assert (await client.delete(f"{API}/provider/org/members/{editor.user_id}", headers=owner.headers)).status_code == 204


# --- listings on the kit's keyset pages ------------------------------------------------------------


async def test_staff_org_list_members_and_audit_log_page_with_cursors(client, factory):
    from tests.factories import account

    staff = await factory.reviewer()
    made = [(await organisation("incubator", status="pending")).org_id for _ in range(3)]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"status": "pending", "kind": "incubator", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/staff/orgs", params=params, headers=staff.headers)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and set(made) <= set(seen) and len(seen) == len(set(seen))
    r = await client.get(f"{API}/staff/orgs", params={"cursor": "not-a-cursor"}, headers=staff.headers)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CURSOR"

    owner = await organisation("incubator")
    for _ in range(2):
        await account("provider", org_id=owner.org_id, org_role="editor")
    first = (await client.get(f"{API}/provider/org/members", params={"limit": 2}, headers=owner.headers)).json()
    rest = (await client.get(f"{API}/provider/org/members", params={"cursor": first["next_cursor"]},
                             headers=owner.headers)).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None

    for org_id in made:
        await client.post(f"{API}/staff/orgs/{org_id}/verify", headers=staff.headers)
    log = await client.get(f"{API}/staff/audit-log", params={"actor_id": staff.user_id, "action": "org.verify",
                                                              "limit": 2}, headers=staff.headers)
    nxt = await client.get(f"{API}/staff/audit-log", params={"actor_id": staff.user_id, "action": "org.verify",
                                                              "limit": 2, "cursor": log.json()["next_cursor"]},
                           headers=staff.headers)
    ids = [e["id"] for e in log.json()["items"] + nxt.json()["items"]]
    assert len(ids) >= 3 and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
