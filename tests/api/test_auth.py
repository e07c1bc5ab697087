"""Logins, tokens and their refusal paths, as the mini-program and the admin console meet them."""

from __future__ import annotations

import time
import uuid

from jose import jwt

from tests.conftest import unique


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
