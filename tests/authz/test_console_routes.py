"""Every page of the staff console (HTML routes, not in the OpenAPI document, so not in the matrix):
nobody without a staff console session reaches one — anonymous callers, young people and providers
(with their bearer tokens, or after trying the console's login) are sent to the login page or refused;
a staff session without the CSRF token changes nothing; with a session every page answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Factory, console_login

# Open to everyone: the login and second-factor steps and the static files.
PUBLIC = {("GET", "/console"), ("GET", "/console/login"), ("POST", "/console/login"),
          ("GET", "/console/static/{path:path}")}
SAMPLE = {"kind": "event", "posting_id": "1", "decision": "approve", "report_id": "1", "org_id": "1",
          "name": "youth", "path": "console.css", "user_id": "1", "certificate_id": "1"}


def console_routes() -> list[tuple[str, str]]:
    from routers.console import router

    out = []
    for route in router.routes:
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, route.path))
    return out


def _url(path: str) -> str:
    return path.replace("{path:path}", "{path}").format(**SAMPLE)


def test_every_console_route_is_covered():
    routes = console_routes()
    assert len(routes) >= 20
    assert PUBLIC <= set(routes)
    assert all(path.startswith("/console") for _, path in routes)


@pytest.fixture(scope="module")
async def callers(client) -> dict[str, Any]:
    f = Factory(client)
    return {"youth": await f.youth(), "provider": await f.provider("event_organizer"),
            "moderator": await f.staff("moderator")}


@pytest.mark.parametrize("who", ["anon", "youth", "provider", "provider_console_login"])
async def test_no_console_page_without_a_staff_session(client_at, callers, who):
    c = client_at()
    headers = {}
    if who in ("youth", "provider"):
        headers = callers[who].headers
    if who == "provider_console_login":
        r = await console_login(c, callers["provider"])
        assert r.status_code == 403 and "CONSOLE_STAFF_ONLY" in r.text
    failures = []
    for method, path in console_routes():
        if (method, path) in PUBLIC:
            continue
        r = await c.request(method, _url(path), headers=headers, data={"csrf_token": "x", "reason": "理由理由"})
        if method == "GET":
            good = r.status_code == 303 and r.headers["location"].startswith("/console/login")
        else:
            good = r.status_code == 401 and "CONSOLE_LOGIN_REQUIRED" in r.text
        if not good:
            failures.append(f"{method} {path} as {who}: {r.status_code} {r.headers.get('location')}")
    assert not failures, "\n".join(failures)


async def test_with_a_staff_session_every_post_needs_the_csrf_token(client_at, callers):
    c = client_at()
    await console_login(c, callers["moderator"])
    failures = []
    for method, path in console_routes():
        if method != "POST" or (method, path) in PUBLIC:
            continue
        r = await c.post(_url(path), data={"reason": "理由理由", "code": "123456", "action": "dismiss"})
        if r.status_code != 403 or "CONSOLE_CSRF_FAILED" not in r.text:
            failures.append(f"POST {path}: {r.status_code}")
    assert not failures, "\n".join(failures)
    # and with the session every page answers (a missing posting is a 404 page, not an error)
    for method, path in console_routes():
        if method == "GET" and (method, path) not in PUBLIC:
            r = await c.get(_url(path))
            assert r.status_code in (200, 303, 404), (path, r.status_code, r.text[:300])
            assert r.status_code != 303 or not r.headers["location"].startswith("/console/login"), path
