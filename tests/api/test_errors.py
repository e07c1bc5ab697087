"""The error shape everywhere, and bad input that must never become a 500."""

from __future__ import annotations

import re

from app.errors import CATALOGUE

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_catalogue_codes_are_stable_identifiers_with_chinese_messages():
    assert len(CATALOGUE) > 20
    for code, cls in CATALOGUE.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code), code
        assert CHINESE.search(cls.message), code
        assert 400 <= cls.status_code < 600


async def test_unknown_route_and_method(client):
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["code"] == "ROUTE_NOT_FOUND"
    r = await client.delete("/api/v1/auth/login")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_malformed_bodies_are_4xx(client, factory):
    youth = await factory.youth()
    cases = [
        ("post", "/api/v1/auth/wechat/login", {"content": b"{not json"}),
        ("post", "/api/v1/auth/wechat/login", {"json": []}),
        ("post", "/api/v1/auth/wechat/login", {"json": {"code": 123}}),
        ("post", "/api/v1/auth/wechat/login", {"json": {"code": "x" * 10_000}}),
        ("post", "/api/v1/auth/login", {"json": {"username": None}}),
        ("patch", "/api/v1/me", {"json": {"graduation_year": "二〇二〇"}}),
        ("patch", "/api/v1/me", {"content": b"[" * 100_000 + b"]" * 100_000}),
        ("post", "/api/v1/provider/signup", {"json": {"name": "'; DROP TABLE users; --"}}),
        ("get", "/api/v1/staff/audit-log?cursor=%%%", {}),
    ]
    for method, url, kw in cases:
        headers = dict(youth.headers, **({"content-type": "application/json"} if "content" in kw else {}))
        r = await client.request(method, url, headers=headers, **kw)
        assert 400 <= r.status_code < 500, (url, kw.keys(), r.status_code, r.text[:200])
        body = r.json()
        assert set(body) <= {"code", "message", "fields"} and body["code"] and body["message"]


async def test_validation_error_names_fields(client):
    r = await client.post("/api/v1/auth/login", json={})
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"username", "password"}


async def test_oversized_body_is_413(client):
    r = await client.post("/api/v1/auth/wechat/login", content=b"{" + b" " * 2_000_000 + b"}",
                          headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_request_id_is_echoed_or_made(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


async def test_health_and_ready(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


def _bare_app():
    from fastapi import FastAPI

    from app.main import RequestContextMiddleware, install_error_handlers

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body=1024)
    return app


async def test_unhandled_error_is_500_with_request_id_and_no_trace():
    import httpx

    app = _bare_app()

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals 530102199003071238")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as c:
        r = await c.get("/boom", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "INTERNAL_ERROR" and "req-500" in body["message"]
    assert "Traceback" not in r.text and "secret" not in r.text


async def test_database_down_is_503_fast(settings):
    import httpx
    from sqlalchemy import text

    from app.db import make_engine

    app = _bare_app()
    engine = make_engine(settings, "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")

    @app.get("/db")
    async def db():
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/db")
    await engine.dispose()
    assert r.status_code == 503
    assert r.json()["code"] == "DB_UNAVAILABLE"
    assert r.headers["Retry-After"]


async def test_streamed_body_over_the_limit_is_413(client):
    async def chunks():
        for _ in range(40):
            yield b" " * 65536

    r = await client.post("/api/v1/auth/wechat/login", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_ids_beyond_any_column_are_a_client_error(client, factory):
    youth = await factory.youth()
    for huge in (2**31, 2**63 + 1):
        r = await client.get(f"/api/v1/counselling/bookings/{huge}", headers=youth.headers)
        assert r.status_code in (404, 422), (huge, r.status_code, r.text)
        assert r.json()["code"] in ("NOT_FOUND", "VALIDATION_ERROR")
