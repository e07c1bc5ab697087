"""Logins, tokens and their refusal paths, as the mini-program and the admin console meet them."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from jose import jwt

from tests.conftest import make_credit_code, unique


async def login(client, code):
    return await client.post("/api/v1/auth/wechat/login", json={"code": code})


async def test_wechat_login_creates_account_and_same_name_is_same_account(client):
    name = unique("wx")
    first = await login(client, f"dev:{name}:a")
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) >= {"access_token", "refresh_token", "expires_in", "user"}
    assert body["user"]["role"] == "youth"
    assert "session_key" not in first.text and "openid" not in first.text
    second = await login(client, f"dev:{name}:b")
    assert second.status_code == 200
    assert second.json()["user"]["id"] == body["user"]["id"]
    other = await login(client, f"dev:{unique('wx')}")
    assert other.json()["user"]["id"] != body["user"]["id"]


async def test_reused_code_is_a_clear_client_error(client):
    code = f"dev:{unique('wx')}:once"
    assert (await login(client, code)).status_code == 200
    again = await login(client, code)
    assert again.status_code == 400
    assert again.json()["code"] == "WECHAT_CODE_USED"
    assert again.json()["message"]


async def test_garbage_code_is_refused(client):
    r = await login(client, "not-a-code")
    assert r.status_code == 400
    assert r.json()["code"] == "WECHAT_CODE_INVALID"


async def test_me_without_token_is_401_in_error_shape(client):
    r = await client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json() == {"code": "UNAUTHENTICATED", "message": "请先登录"}


async def test_refresh_rotates_and_reuse_revokes_the_family(client, factory):
    youth = await factory.youth()
    r1 = await client.post("/api/v1/auth/refresh", json={"refresh_token": youth.refresh_token})
    assert r1.status_code == 200
    rotated = r1.json()["refresh_token"]
    assert rotated != youth.refresh_token
    # The old token again: refused, and the whole family (including the rotated one) is revoked.
    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": youth.refresh_token})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "REFRESH_TOKEN_REUSED"
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated})
    assert after.status_code == 401
    # The access token still works until it expires; logging in again starts a new family.
    assert (await client.get("/api/v1/me", headers=youth.headers)).status_code == 200


async def test_unknown_refresh_token_is_401(client):
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "REFRESH_TOKEN_INVALID"


async def test_logout_revokes_refresh_token(client, factory):
    youth = await factory.youth()
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": youth.refresh_token}, headers=youth.headers)
    assert r.status_code == 204
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": youth.refresh_token})
    assert r.status_code == 401


async def test_staff_password_login_and_wrong_password(client, client_at, factory):
    staff = await factory.staff()
    me = await client.get("/api/v1/me", headers=staff.headers)
    assert me.json()["role"] == "moderator"
    bad = await client_at().post("/api/v1/auth/login", json={"username": staff.username, "password": "wrong-password"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "BAD_CREDENTIALS"


async def test_youth_cannot_password_login(client_at):
    r = await client_at().post("/api/v1/auth/login", json={"username": "nobody-" + uuid.uuid4().hex, "password": "x"})
    assert r.status_code == 401


def _token(claims, secret, alg="HS256"):
    return jwt.encode(claims, secret, algorithm=alg)


async def test_tampered_tokens_are_401(client, factory, settings):
    youth = await factory.youth()
    now = int(time.time())
    base = {"sub": str(youth.user_id), "role": "admin", "typ": "access", "iat": now, "exp": now + 600, "jti": "x"}
    secret = settings.jwt_secret.get_secret_value()
    header_b64 = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    import base64
    import json

    payload_b64 = base64.urlsafe_b64encode(json.dumps(base).encode()).decode().rstrip("=")
    cases = {
        "alg none": f"{header_b64}.{payload_b64}.",
        "wrong key": _token(base, "another-secret-another-secret-123456"),
        "expired": _token(dict(base, exp=now - 10, iat=now - 700), secret),
        "refresh as access": youth.refresh_token,
        "wrong type": _token(dict(base, typ="ticket"), secret),
        "garbage": "abc.def.ghi",
    }
    for name, token in cases.items():
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.json()["code"] in {"TOKEN_INVALID", "TOKEN_EXPIRED"}, name


async def test_suspended_account_gets_its_own_403(client, factory):
    from sqlalchemy import update

    from app.db import session_scope
    from models.accounts import User

    youth = await factory.youth()
    async with session_scope() as session:
        await session.execute(update(User).where(User.id == youth.user_id).values(status="suspended"))
    r = await client.get("/api/v1/me", headers=youth.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "ACCOUNT_SUSPENDED"


# --- password logins: throttles that cannot be turned on others ------------------------------------


async def fail(client, username, password="wrong-password"):
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_strangers_failing_on_an_account_do_not_lock_its_owner(client_at, factory):
    """Five wrong passwords from anywhere once locked any named account (admin included) for 15 minutes."""
    staff = await factory.staff()
    for _ in range(5):
        assert (await fail(client_at(), staff.username)).status_code == 401
    ok = await fail(client_at(), staff.username, staff.password)
    assert ok.status_code == 200, ok.text


async def test_one_address_guessing_one_account_waits_and_only_that_pair(client_at, factory):
    staff = await factory.staff()
    attacker = client_at()
    for _ in range(5):
        assert (await fail(attacker, staff.username)).status_code == 401
    locked = await fail(attacker, staff.username, staff.password)
    assert locked.status_code == 429 and locked.json()["code"] == "LOGIN_LOCKED"
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    # The account from another address, and other accounts from the attacker's address, are not held up.
    assert (await fail(client_at(), staff.username, staff.password)).status_code == 200
    other = await factory.staff()
    assert (await fail(attacker, other.username, other.password)).status_code == 200


async def test_failures_on_many_accounts_from_one_address_lock_none(client_at, factory):
    """Five failures from one address once locked every account from it (in Docker: every client)."""
    shared = client_at()
    for _ in range(6):
        assert (await fail(shared, unique("nobody"))).status_code == 401
    staff = await factory.staff()
    assert (await fail(shared, staff.username, staff.password)).status_code == 200


async def test_many_addresses_guessing_one_account_slow_down_but_its_own_address_does_not(
        client_at, factory, monkeypatch):
    from app.config import settings_of
    from app.services.auth.settings import AuthSettings

    monkeypatch.setattr(settings_of(AuthSettings), "auth_login_user_free_failures", 3)
    staff = await factory.staff()
    home = client_at()
    assert (await fail(home, staff.username, staff.password)).status_code == 200  # a known address now
    for _ in range(3):
        assert (await fail(client_at(), staff.username)).status_code == 401
    slowed = await fail(client_at(), staff.username, staff.password)
    assert slowed.status_code == 429 and 1 <= int(slowed.headers["Retry-After"]) <= 60
    assert (await fail(home, staff.username, staff.password)).status_code == 200


async def test_retry_after_elapses(client_at, factory, travel):
    from datetime import timedelta

    from app import clock

    staff = await factory.staff()
    attacker = client_at()
    start = clock.now()
    travel(start)
    for _ in range(5):
        await fail(attacker, staff.username)
    wait = int((await fail(attacker, staff.username)).headers["Retry-After"])
    travel(start + timedelta(seconds=wait + 1))
    assert (await fail(attacker, staff.username, staff.password)).status_code == 200


@pytest.mark.postgres
async def test_fifty_parallel_guesses_get_exactly_the_allowed_tries(client_at, factory, settings):
    """The failure count was read, then inserted: 50 parallel guesses got 9 tries instead of 5."""
    staff = await factory.staff()
    attacker = client_at()
    answers = await asyncio.gather(*(fail(attacker, staff.username) for _ in range(50)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(401) == settings.login_max_failures and codes.count(429) == 50 - settings.login_max_failures


@pytest.mark.postgres
async def test_fifty_parallel_guesses_from_fifty_addresses_get_the_free_tries(client_at, factory):
    from app.config import settings_of
    from app.services.auth.settings import AuthSettings

    free = settings_of(AuthSettings).auth_login_user_free_failures
    staff = await factory.staff()
    answers = await asyncio.gather(*(fail(client_at(), staff.username) for _ in range(50)))
    assert sorted(r.status_code for r in answers).count(401) == free


async def test_usernames_are_unique_whatever_their_case(client, client_at, factory):
    first = await factory.provider("event_organizer")
    body = {"name": "同名机构", "kind": "event_organizer", "credit_code": make_credit_code(), "contact_name": "张老师",
            "contact_phone": "0871-12345678", "owner_username": first.username.upper(), "owner_password": "another-pw-123"}
    r = await client.post("/api/v1/provider/signup", json=body)
    assert r.status_code == 409 and r.json()["code"] == "USERNAME_TAKEN"
    # Logging in does not depend on the case either.
    assert (await fail(client_at(), first.username.upper(), first.password)).status_code == 200


async def test_the_database_itself_refuses_a_username_differing_in_case():
    """The functional unique index exists (a later batch migration on SQLite would silently drop it)."""
    from sqlalchemy.exc import IntegrityError

    from app.db import session_scope
    from models.accounts import User

    name = unique("Case")
    async with session_scope() as session:
        session.add(User(role="provider", username=name))
    with pytest.raises(IntegrityError):
        async with session_scope() as session:
            session.add(User(role="provider", username=name.lower()))


async def test_trusted_proxy_addresses_name_the_client(app, monkeypatch, factory, settings):
    """In the Docker image every client arrives from the proxy: X-Forwarded-For counts only from the
    addresses in YOUTH_FORWARDED_ALLOW_IPS."""
    import httpx

    from app.config import settings_of
    from app.main import create_app
    from app.services.auth.settings import AuthSettings

    monkeypatch.setattr(settings_of(AuthSettings), "auth_login_user_free_failures", 100)  # pairs only here
    monkeypatch.setattr(settings, "forwarded_allow_ips", "10.77.0.0/16")
    proxied = create_app(start_standin=False)
    staff = await factory.staff()

    def via(ip, forwarded):
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=proxied, client=(ip, 4000)), base_url="http://t",
                                 headers={"X-Forwarded-For": forwarded})

    async with via("10.77.0.5", "203.0.113.7") as a, via("10.77.0.5", "203.0.113.8") as b, \
            via("10.88.0.9", "203.0.113.9") as untrusted:
        for _ in range(5):
            await fail(a, staff.username)
            await fail(untrusted, staff.username, "x" * 10)
        assert (await fail(a, staff.username, staff.password)).status_code == 429
        assert (await fail(b, staff.username, staff.password)).status_code == 200  # another client, same proxy
        # From an untrusted address the header is ignored: the connection's own address counts.
        untrusted.headers["X-Forwarded-For"] = "198.51.100.1"
        assert (await fail(untrusted, staff.username, staff.password)).status_code == 429


# --- tokens --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["exp", "iat", "sub"])
async def test_access_tokens_need_exp_iat_and_sub(client, factory, settings, missing):
    """A token without exp was accepted forever."""
    youth = await factory.youth()
    now = int(time.time())
    claims = {"sub": str(youth.user_id), "role": "youth", "typ": "access", "iat": now, "exp": now + 600, "jti": "j"}
    del claims[missing]
    token = _token(claims, settings.jwt_secret.get_secret_value())
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_INVALID"


async def test_logout_ends_access_tokens_and_a_later_refresh_says_so(client, factory):
    youth = await factory.youth()
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": youth.refresh_token}, headers=youth.headers)
    assert r.status_code == 204
    me = await client.get("/api/v1/me", headers=youth.headers)
    assert me.status_code == 401 and me.json()["code"] == "TOKEN_REVOKED"
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": youth.refresh_token})
    assert again.status_code == 401 and again.json()["code"] == "REFRESH_TOKEN_LOGGED_OUT"


async def test_logout_on_one_device_leaves_the_others_a_refresh(client, factory):
    name = unique("two")
    phone, tablet = await factory.youth(name), await factory.youth(name)
    assert phone.user_id == tablet.user_id
    await client.post("/api/v1/auth/logout", json={"refresh_token": phone.refresh_token}, headers=phone.headers)
    assert (await client.get("/api/v1/me", headers=tablet.headers)).status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tablet.refresh_token})
    assert r.status_code == 200
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200


async def test_suspension_ends_access_tokens_for_good(client, factory):
    from sqlalchemy import update

    from app.db import session_scope
    from models.accounts import User

    youth, reporter = await factory.youth(), await factory.youth()
    staff = await factory.staff()
    r = await client.post("/api/v1/reports", json={"target_kind": "user", "target_id": youth.user_id,
                                                   "reason_code": "harassment"}, headers=reporter.headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/staff/reports/{r.json()['id']}/resolve",
                          json={"action": "suspend_user", "reason": "骚扰他人"}, headers=staff.headers)
    assert r.status_code == 200, r.text
    async with session_scope() as session:  # reinstated: the old token stays ended
        await session.execute(update(User).where(User.id == youth.user_id).values(status="active"))
    r = await client.get("/api/v1/me", headers=youth.headers)
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_REVOKED"


async def test_everyone_with_a_password_can_change_it(client, client_at, factory):
    provider = await factory.provider("housing_operator")
    second = await factory.login(provider.username, provider.password, "provider")
    r = await client.post("/api/v1/auth/password", json={"current_password": "not-it-at-all",
                                                         "new_password": "a-new-password-9"}, headers=provider.headers)
    assert r.status_code == 422 and r.json()["code"] == "WRONG_PASSWORD"
    r = await client.post("/api/v1/auth/password", json={"current_password": provider.password,
                                                         "new_password": "short"}, headers=provider.headers)
    assert r.status_code == 422 and "new_password" in r.json()["fields"]
    r = await client.post("/api/v1/auth/password", json={"current_password": provider.password,
                                                         "new_password": "a-new-password-9"}, headers=provider.headers)
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200
    # Every other session ended; the old password no longer works, the new one does.
    assert (await client.get("/api/v1/me", headers=second.headers)).status_code == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": second.refresh_token})).status_code == 401
    assert (await fail(client_at(), provider.username, provider.password)).status_code == 401
    assert (await fail(client_at(), provider.username, "a-new-password-9")).status_code == 200
    youth = await factory.youth()
    r = await client.post("/api/v1/auth/password", json={"current_password": "x", "new_password": "a-new-password-9"},
                          headers=youth.headers)
    assert r.status_code == 403 and r.json()["code"] == "NO_PASSWORD"


# --- answers ---------------------------------------------------------------------------------------------


async def test_personal_answers_are_not_stored_by_caches(client, factory):
    youth = await factory.youth()
    assert (await client.get("/api/v1/me", headers=youth.headers)).headers["cache-control"] == "no-store"
    r = await client.post("/api/v1/auth/wechat/login", json={"code": f"dev:{unique('c')}"})
    assert r.headers["cache-control"] == "no-store"
    assert "cache-control" not in (await client.get("/api/v1/events")).headers


async def test_api_docs_can_be_turned_off(client, monkeypatch, settings):
    import httpx

    from app.main import create_app

    assert (await client.get("/docs")).status_code == 200
    monkeypatch.setattr(settings, "api_docs", False)
    closed = create_app(start_standin=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=closed), base_url="http://t") as c:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await c.get(path)).status_code == 404, path
    monkeypatch.setattr(settings, "api_docs", None)
    monkeypatch.setattr(settings, "env", "prod")
    assert not settings.docs_enabled
