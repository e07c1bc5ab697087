"""The staff console over HTTP: sessions, CSRF, second factor, the work pages acting through the
services, and the dashboards' JSON and CSV with small cells suppressed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app.kit.time import local_day
from tests.factories import Factory, console_login, csrf_of, draft, now, unique

API = "/api/v1"


@pytest.fixture
async def staff(factory: Factory):
    return await factory.staff("moderator")


@pytest.fixture
async def browser(client_at):
    return client_at()


async def _pending(client, kind: str = "event"):
    provider, posting = await draft(client, kind)
    r = await client.post(f"{API}/provider/postings/{kind}/{posting['id']}/submit", headers=provider.headers)
    assert r.status_code == 200, r.text
    return provider, posting


async def test_login_sets_a_strict_httponly_cookie_and_shows_the_queue(browser, staff):
    page = await browser.get("/console/login")
    r = await browser.post("/console/login", data={"username": staff.username, "password": staff.password,
                                                   "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/console/reviews"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("youth_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # test runs over http; prod sets Secure and the __Host- prefix
    queue = await browser.get("/console/reviews")
    assert queue.status_code == 200 and "审核队列" in queue.text
    assert queue.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in queue.headers["content-security-policy"]


async def test_secure_cookie_in_prod_settings(monkeypatch):
    from app.services.console import sessions
    from app.services.console.settings import settings as console_settings

    # Patch the console's own settings section: resetting the shared settings would leave the suite's
    # `settings` fixture holding an object the app no longer reads.
    monkeypatch.setattr(console_settings(), "console_cookie_secure", True)
    assert sessions.cookie_name() == "__Host-youth_console"


async def test_login_without_its_csrf_token_is_refused(browser, staff):
    await browser.get("/console/login")
    r = await browser.post("/console/login", data={"username": staff.username, "password": staff.password,
                                                   "csrf_token": "forged"})
    assert r.status_code == 403 and "CONSOLE_CSRF_FAILED" in r.text
    assert (await browser.get("/console/reviews")).status_code == 303


async def test_providers_and_youth_cannot_log_in(client_at, factory: Factory):
    provider = await factory.provider("event_organizer")
    c = client_at()
    r = await console_login(c, provider)
    assert r.status_code == 403 and "CONSOLE_STAFF_ONLY" in r.text
    # Their bearer tokens open no console page either.
    for who in (provider, await factory.youth()):
        r = await c.get("/console/reviews", headers=who.headers)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


async def test_wrong_password_is_the_shared_login_answer(browser, staff):
    page = await browser.get("/console/login")
    r = await browser.post("/console/login", data={"username": staff.username, "password": "not-it-at-all",
                                                   "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


async def test_a_post_without_the_csrf_token_changes_nothing(client, browser, staff):
    _provider, posting = await _pending(client)
    await console_login(browser, staff)
    url = f"/console/reviews/event/{posting['id']}/approve"
    r = await browser.post(url, data={})
    assert r.status_code == 403 and "CONSOLE_CSRF_FAILED" in r.text
    r = await browser.post(url, data={"csrf_token": "0" * 64})
    assert r.status_code == 403
    detail = await client.get(f"{API}/staff/reviews/event/{posting['id']}", headers=staff.headers)
    assert detail.json()["status"] == "pending_review"


async def test_approve_and_reject_through_the_console(client, browser, staff):
    _, first = await _pending(client)
    provider, second = await _pending(client)
    queue = await console_login(browser, staff)
    token = csrf_of(queue.text)
    page = await browser.get(f"/console/reviews/event/{first['id']}")
    assert page.status_code == 200 and "青年看到的样子" in page.text
    r = await browser.post(f"/console/reviews/event/{first['id']}/approve", data={"csrf_token": token})
    assert r.status_code == 303
    # htmx sends the token as a header and gets the fragment back
    r = await browser.post(f"/console/reviews/event/{second['id']}/reject", data={"reason": "活动地址不完整"},
                           headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 200 and 'id="decision"' in r.text and "<html" not in r.text
    # A rejection needs a reason: the service's own rule, answered as a page.
    r = await browser.post(f"/console/reviews/event/{first['id']}/reject", data={"csrf_token": token})
    assert r.status_code == 409  # already published: the workflow refuses
    mine = (await client.get(f"{API}/provider/postings", headers=provider.headers)).json()["items"]
    rejected = next(p for p in mine if p["id"] == second["id"])
    assert rejected["status"] == "rejected" and rejected["review_reason"] == "活动地址不完整"
    log = (await client.get(f"{API}/staff/audit-log", params={"action": "event.approve", "target_id": first["id"]},
                            headers=staff.headers)).json()["items"]
    assert log and log[0]["actor_id"] == staff.user_id


async def test_resolve_a_report_and_verify_an_organisation(client, browser, staff, factory: Factory):
    _provider, posting = await factory.published("event")
    reporter = await factory.youth()
    rep = await client.post(f"{API}/reports", json={"target_kind": "event", "target_id": posting["id"],
                                                    "reason_code": "spam"}, headers=reporter.headers)
    assert rep.status_code == 201, rep.text
    queue = await console_login(browser, staff)
    token = csrf_of(queue.text)
    reports = await browser.get("/console/reports")
    assert f'id="report-{rep.json()["id"]}"' in reports.text
    r = await browser.post(f"/console/reports/{rep.json()['id']}/resolve",
                           data={"csrf_token": token, "action": "dismiss", "reason": "经核实无问题"})
    assert r.status_code == 303
    mine = (await client.get(f"{API}/staff/reports", params={"status": "dismissed", "target_id": posting["id"],
                                                             "target_kind": "event"},
                             headers=staff.headers)).json()["items"]
    assert [x["id"] for x in mine] == [rep.json()["id"]]

    pending = await factory.provider("employer", verified=False)
    orgs = await browser.get("/console/orgs")
    assert f'id="org-{pending.org_id}"' in orgs.text and "校验位正确" in orgs.text
    r = await browser.post(f"/console/orgs/{pending.org_id}/verify", data={"csrf_token": token})
    assert r.status_code == 303
    org = (await client.get(f"{API}/staff/orgs/{pending.org_id}", headers=staff.headers)).json()
    assert org["status"] == "verified"
    r = await browser.post(f"/console/orgs/{pending.org_id}/suspend", data={"csrf_token": token})
    assert r.status_code == 422 and "请填写原因" in r.text  # a suspension needs a reason
    r = await browser.post(f"/console/reports/{rep.json()['id']}/resolve", data={"csrf_token": token})
    assert r.status_code == 422 and "<html" in r.text and "必填" in r.text  # a page, not JSON


async def test_logout_and_expiry(browser, staff, travel):
    queue = await console_login(browser, staff)
    r = await browser.post("/console/logout", data={"csrf_token": csrf_of(queue.text)})
    assert r.status_code == 303
    assert (await browser.get("/console/reviews")).status_code == 303
    # An idle session ends; so does one after the API's logout (token version).
    await console_login(browser, staff)
    travel(now() + timedelta(minutes=31))
    r = await browser.get("/console/reviews")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]


async def test_api_logout_ends_the_console_session(client, browser, staff):
    await console_login(browser, staff)
    assert (await client.post(f"{API}/auth/logout", json={}, headers=staff.headers)).status_code in (200, 204)
    assert (await browser.get("/console/reviews")).status_code == 303


async def test_totp_enrol_then_required_at_login(client_at, factory: Factory, travel):
    from app.services.console import totp

    admin = await factory.staff("admin")
    c = client_at()
    page = await console_login(c, admin)
    token = csrf_of(page.text)
    assert (await c.post("/console/security/totp/start", data={"csrf_token": token})).status_code == 303
    enrol = await c.get("/console/security")
    secret = enrol.text.split("<code>")[1].split("</code>")[0]
    at = now() + timedelta(seconds=2)  # after the real time of the login above (the throttle compares)
    travel(at)
    code = totp.code_at(secret, totp.step_of(at))
    assert (await c.post("/console/security/totp", data={"csrf_token": token, "code": "000000" if code != "000000"
                                                         else "111111"})).status_code == 422
    assert (await c.post("/console/security/totp", data={"csrf_token": token, "code": code})).status_code == 303
    # Next login: the password alone opens nothing until the code is given; a used code is refused.
    c2 = client_at()
    r = await console_login(c2, admin, follow=False)
    assert r.headers.get("location") == "/console/2fa", (r.status_code, r.text[-600:])
    assert (await c2.get("/console/reviews")).headers["location"] == "/console/2fa"
    two = await c2.get("/console/2fa")
    assert (await c2.post("/console/2fa", data={"csrf_token": csrf_of(two.text), "code": code})).status_code == 422
    travel(at + timedelta(seconds=30))
    nxt = totp.code_at(secret, totp.step_of(at) + 1)
    assert (await c2.post("/console/2fa", data={"csrf_token": csrf_of(two.text), "code": nxt})).status_code == 303
    assert (await c2.get("/console/reviews")).status_code == 200

    # The admin makes it mandatory: a moderator without one must enrol before anything else.
    moderator = await factory.staff("moderator")
    m = client_at()
    r = await console_login(m, moderator)
    assert (await m.post("/console/security/totp-required", data={"csrf_token": csrf_of(r.text), "required": "true"}
                         )).status_code == 403  # not an admin
    assert (await c2.post("/console/security/totp-required",
                          data={"csrf_token": csrf_of(two.text), "required": "true"})).status_code == 303
    try:
        m2 = client_at()
        r = await console_login(m2, moderator)
        assert "管理员要求使用动态验证码" in r.text
        assert (await c2.post("/console/security/totp/disable", data={"csrf_token": csrf_of(two.text)}
                              )).status_code == 409
    finally:
        assert (await c2.post("/console/security/totp-required", data={"csrf_token": csrf_of(two.text)}
                              )).status_code == 303


def test_totp_matches_rfc6238_vectors():
    import base64
    from datetime import UTC, datetime

    from app.services.console import totp

    secret = base64.b32encode(b"12345678901234567890").decode()
    # RFC 6238 appendix B (SHA-1), last six digits
    for ts, code in ((59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")):
        assert totp.code_at(secret, totp.step_of(datetime.fromtimestamp(ts, UTC))) == code


# --- dashboards -------------------------------------------------------------------------------------------


async def test_youth_dashboard_suppresses_small_cells_in_json_and_csv(client, factory: Factory, staff, browser):
    district = "寻甸回族彝族自治县"  # no other test puts anyone there
    people = [await factory.youth(profile={"district": district}, age=20) for _ in range(3)]
    assert people
    today = local_day(now()).isoformat()  # the dashboards count Shanghai days (after 16:00 UTC it is tomorrow)
    r = await client.get(f"{API}/staff/stats/youth", params={"district": district, "date_to": today},
                         headers=staff.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    row = body["rows"][0]
    assert row["label"] == district and "<10" in row["cells"]
    assert all(v == 0 or v == "<10" or v >= 10 for v in row["cells"] + [row["total"], body["total"]])
    r = await client.get(f"{API}/staff/stats/youth.csv", params={"district": district}, headers=staff.headers)
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["区县", "14–17岁"] and rows[1][0] == district and rows[-1][0] == "合计"
    log = (await client.get(f"{API}/staff/audit-log", params={"action": "stats.export", "actor_id": staff.user_id},
                            headers=staff.headers)).json()["items"]
    assert log[0]["target_id"] == "youth" and log[0]["detail"]["district"] == district
    # The page draws the same numbers beside a table.
    await console_login(browser, staff)
    page = await browser.get("/console/stats/youth", params={"district": district})
    assert page.status_code == 200 and 'id="chart-data"' in page.text and "&lt;10" in page.text
    download = await browser.get("/console/stats/youth.csv", params={"district": district})
    assert download.status_code == 200 and download.content.decode("utf-8-sig") == r.content.decode("utf-8-sig")
    assert "attachment" in download.headers["content-disposition"]


async def test_dashboards_answer_for_every_kind(client, staff):
    from app.services.console.stats import DASHBOARDS

    for name in DASHBOARDS:
        r = await client.get(f"{API}/staff/stats/{name}", headers=staff.headers)
        assert r.status_code == 200, (name, r.text)
        assert set(r.json()) >= {"rows", "columns", "column_totals", "total"}
    moderation = (await client.get(f"{API}/staff/stats/moderation", headers=staff.headers)).json()
    from app.kit.postings import REGISTRY

    assert [r["label"] for r in moderation["rows"]] == [k.label for k in REGISTRY.values()]
    r = await client.get(f"{API}/staff/stats/nothing", headers=staff.headers)
    assert r.status_code == 404 and r.json()["code"] == "CONSOLE_UNKNOWN_DASHBOARD"
    r = await client.get(f"{API}/staff/stats/youth", params={"district": "北京"}, headers=staff.headers)
    assert r.status_code == 422


async def test_static_assets_are_the_pinned_ones_and_no_page_names_another_host():
    import hashlib
    import re
    from pathlib import Path

    from routers.console import STATIC, TEMPLATES

    manifest = (STATIC / "vendor" / "MANIFEST.txt").read_text().splitlines()
    entries = [line.split() for line in manifest if line and not line.startswith("#")]
    assert {e[0] for e in entries} == {"htmx.org", "echarts"}
    for _, _, path, digest in entries:
        assert hashlib.sha256((STATIC / "vendor" / path).read_bytes()).hexdigest() == digest, path
        assert (STATIC / "vendor" / Path(path).parent / "LICENSE.txt").exists()
    for page in [*TEMPLATES.glob("*.html"), STATIC / "console.js", STATIC / "console.css"]:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.read_text()), page


async def test_static_files_outside_the_folder_are_not_served(browser):
    assert (await browser.get("/console/static/console.css")).status_code == 200
    for path in ("../../../config.py", "..%2f..%2fsettings.py", "nothing.js"):
        assert (await browser.get(f"/console/static/{path}")).status_code == 404
    assert unique


async def test_suspend_and_reinstate_an_account(client, browser, staff, factory: Factory):
    person = await factory.youth()
    queue = await console_login(browser, staff)
    token = csrf_of(queue.text)
    page = await browser.get("/console/users", params={"user_id": person.user_id})
    assert 'id="account"' in page.text and "正常" in page.text
    r = await browser.post(f"/console/users/{person.user_id}/suspend", data={"csrf_token": token, "reason": "冒用他人信息"})
    assert r.status_code == 303
    r = await client.get(f"{API}/me", headers=person.headers)
    assert r.status_code == 403 and r.json()["code"] == "ACCOUNT_SUSPENDED"
    r = await browser.post(f"/console/users/{person.user_id}/reinstate", data={"csrf_token": token, "reason": "核实无误"})
    assert r.status_code == 303
    assert "正常" in (await browser.get("/console/users", params={"user_id": person.user_id})).text
    assert (await client.get(f"{API}/me", headers=person.headers)).status_code == 401  # old tokens stay ended
    r = await browser.post(f"/console/users/{staff.user_id}/suspend", data={"csrf_token": token, "reason": "试试看"})
    assert r.status_code == 403
    actions = [e["action"] for e in (await client.get(f"{API}/staff/audit-log", params={
        "target_kind": "user", "target_id": person.user_id}, headers=staff.headers)).json()["items"]]
    assert actions[:2] == ["user.reinstate", "user.suspend"]


async def test_certificates_are_looked_up_only_when_asked_and_late_organisations_listed(browser, staff):
    await console_login(browser, staff)
    page = await browser.get("/console/certificates")
    assert page.status_code == 200 and "没有找到证明" not in page.text
    page = await browser.get("/console/certificates", params={"user_id": 1})
    assert page.status_code == 200
    assert (await browser.get("/console/late")).status_code == 200


async def test_activity_counts_a_sign_up_in_its_week_and_district(client, factory: Factory):
    from app.db import session_scope
    from app.services.console import stats

    district = "禄劝彝族苗族自治县"
    person = await factory.youth(profile={"district": district})
    _, event = await factory.published("event")
    f = stats.filters(None, None, district)

    async def table():
        async with session_scope() as session:
            return await stats.DASHBOARDS["activity"].build(session, f)

    before = await table()
    r = await client.post(f"{API}/events/{event['id']}/registrations", headers=person.headers)
    assert r.status_code == 201, r.text
    after = await table()
    column = after.columns.index("活动报名")
    diff = [a[column] - b[column] for a, b in zip(after.cells, before.cells, strict=True)]
    assert diff[-1] == 1 and sum(diff) == 1  # this week, the last row


async def test_late_page_names_an_organisation_slow_to_answer_applicants(client, browser, staff, factory: Factory,
                                                                          travel):
    provider, project = await factory.published("housing_project", name=f"春城青居{unique('')}")
    person = await factory.youth(profile=True)
    r = await client.post(f"{API}/housing/projects/{project['id']}/applications",
                          json={"unit_type_id": project["unit_types"][0]["id"]}, headers=person.headers)
    assert r.status_code == 201, r.text
    org = (await client.get(f"{API}/provider/org", headers=provider.headers)).json()["name"]
    await console_login(browser, staff)
    assert org not in (await browser.get("/console/late")).text
    travel(now() + timedelta(days=15))
    await console_login(browser, staff)
    assert org in (await browser.get("/console/late")).text
