"""The route prefilter (app/routing_index.py) picks exactly what FastAPI picks without it.

Both apps are called at ``app.router`` (no middleware), every FastAPI operation answers who it is
instead of running (so no database is needed), and everything else — 404, 405, the redirect of a
trailing slash, docs and metrics routes — is FastAPI's and Starlette's own answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import json
import re
from typing import Any

import fastapi
import pytest
import starlette.routing
from fastapi import routing as fr
from fastapi.responses import JSONResponse

from app import routing_index
from app.main import create_app

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _fill(path: str, value: str) -> str:
    return _PARAM.sub(lambda m: "vendor/x.js" if m.group(2) == ":path" else value, path)


def _operations(app: Any) -> list[tuple[str, set[str]]]:
    """Every (path format, methods) the app routes to, top-level routes and included ones."""
    ops: list[tuple[str, set[str]]] = []
    for route in app.router.routes:
        if isinstance(route, fr._IncludedRouter):
            for ctx in route.effective_route_contexts():
                target = ctx if isinstance(ctx.original_route, fr.APIRoute) else ctx.starlette_route
                ops.append((target.path_format, set(getattr(target, "methods", None) or ())))
        else:
            ops.append((route.path_format, set(getattr(route, "methods", None) or ())))
    return ops


def _api_routes(app: Any) -> set[str]:
    """The path formats of FastAPI operations (the ones that answer 299 here)."""
    formats = {r.path_format for r in app.router.routes if isinstance(r, fr.APIRoute)}
    for route in app.router.routes:
        if isinstance(route, fr._IncludedRouter):
            formats |= {c.path_format for c in route.effective_route_contexts()
                        if isinstance(c.original_route, fr.APIRoute)}
    return formats


def _requests(ops: list[tuple[str, set[str]]]) -> list[tuple[str, str, str]]:
    """(method, path, root_path): each operation, and the near misses around it."""
    out: set[tuple[str, str, str]] = set()
    for fmt, methods in ops:
        wrong = next(m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in methods)
        for value in ("7", "abc"):
            path = _fill(fmt, value)
            variants = {path, path + "/", path.rstrip("/") or "/", path + "/unknown", path + ".csv",
                        path.rsplit("/", 1)[0] or "/", path.upper(), path + "x"}
            for v in variants:
                for m in (*sorted(methods), wrong):
                    out.add((m, v, ""))
            out.add((sorted(methods)[0] if methods else "GET", "/base" + path, "/base"))
    for extra in ("/", "/api", "/api/v1", "/api/v1/", "/console", "/console/", "/console/static",
                  "/console/static/", "/console/static/app.js", "/console/static/../secret", "/healthz/",
                  "/_warm-up", "/docs", "/redoc", "/openapi.json", "/metrics/", "/api/v1/staff/stats/x.csv",
                  "/api/v1/events/1/registrations", "/api/v1/counselling/bookings", "//api/v1/me", ""):
        for m in ("GET", "POST", "DELETE"):
            out.add((m, extra, ""))
    return sorted(out)


async def _recording_handle(self: fr.APIRoute, scope: Any, receive: Any, send: Any) -> None:
    ctx = fr._get_scope_effective_route_context(scope)
    own = ctx is not None and ctx.original_route is self
    methods = ctx.methods if own else self.methods
    if methods and scope["method"] not in methods:
        await _ORIGINAL_HANDLE(self, scope, receive, send)  # FastAPI's own 405
        return
    await JSONResponse({
        "endpoint": f"{self.endpoint.__module__}.{self.endpoint.__qualname__}",
        "path": ctx.path_format if own else self.path_format,
        "params": scope.get("path_params"),
        "route": getattr(scope.get("route"), "path", None),
    }, status_code=299)(scope, receive, send)


_ORIGINAL_HANDLE = fr.APIRoute.handle


async def _answer(asgi: Any, method: str, path: str, root_path: str) -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": root_path, "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1),
             "server": ("test", 80), "state": {}}
    status, headers, body = 0, {}, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode(): v.decode() for k, v in message["headers"]
                       if k in (b"location", b"allow", b"content-type")}
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    try:
        await asgi(scope, receive, send)
    except Exception as exc:  # HTTPException from a default handler: compare its type and status too
        return -1, {"exc": f"{type(exc).__name__}:{getattr(exc, 'status_code', '')}"}, b""
    if headers.get("content-type", "").startswith("text/plain; version="):
        return status, headers, b"(metrics: counters move between the two calls)"
    return status, headers, b"".join(body)


def test_indexed_app_routes_every_request_like_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    indexed = create_app(start_standin=False)
    monkeypatch.setattr(routing_index, "install", lambda app: None)
    plain = create_app(start_standin=False)
    monkeypatch.setattr(fr.APIRoute, "handle", _recording_handle)

    n_indexed = sum(isinstance(r, routing_index.IndexedIncludedRouter) for r in indexed.router.routes)
    assert n_indexed == sum(isinstance(r, fr._IncludedRouter) for r in plain.router.routes) > 10
    assert not any(isinstance(r, routing_index.IndexedIncludedRouter) for r in plain.router.routes)

    ops = _operations(plain)
    assert _operations(indexed) == ops
    requests = _requests(ops)

    async def run() -> list[tuple[Any, Any, Any, Any]]:
        from app.db import dispose_engine

        diffs, seen = [], []
        try:
            for method, path, root in requests:
                a = await _answer(indexed.router, method, path, root)
                b = await _answer(plain.router, method, path, root)
                if a != b:
                    diffs.append((method, path, a, b))
                seen.append((method, path, a))
        finally:
            # /metrics really runs and reads the database on this event loop: its pooled connections
            # must not outlive the loop, or the tests after this one get connections of a closed loop.
            await dispose_engine()
        return diffs, seen

    diffs, seen = asyncio.run(run())
    assert diffs == []
    # Not a comparison of two empty answers: every operation was reached by its own path, and the
    # near misses produced each kind of refusal.
    reached = {json.loads(body)["path"] for _, _, (status, _, body) in seen if status == 299}
    api_formats = _api_routes(plain)
    assert api_formats - reached == set()
    statuses = {status for _, _, (status, _, _) in seen}
    assert {299, 307, 404, 405} <= statuses, statuses


def test_prefix_is_only_what_the_regex_starts_with() -> None:
    path = "/api/v1/staff/stats/{name}.csv"
    regex, _, _ = starlette.routing.compile_path(path)
    assert routing_index.literal_prefix(path, regex) == "/api/v1/staff/stats/"
    # A path whose compiled regex does not start with its text is never filtered.
    assert routing_index.literal_prefix("/a.b", re.compile("^/a[.]b$")) == ""
    assert routing_index.literal_prefix(None, None) == ""


# The FastAPI / Starlette code the prefilter's correctness depends on (see app/routing_index.py). When an
# upgrade changes one of these, re-read it, re-check the argument in the module docstring (and the copy
# of _IncludedRouter._match), then update the hash.
_PINNED = {
    "fastapi.routing._IncludedRouter._match": "8dc217b8fa3bddbd",
    "fastapi.routing._IncludedRouter.matches": "fdf593d5442ed674",
    "fastapi.routing._IncludedRouter.effective_candidates": "4f34ecd04857053c",
    "fastapi.routing._IncludedRouter._handle_selected": "a6d545fb3c1c36ba",
    "fastapi.routing._IncludedRouter._build_effective_context": "3130faadd0ca2f81",
    "fastapi.routing.APIRouter.app": "89d3c3a8083f410e",
    "fastapi.routing.APIRouter.matches": "050b565f6882b43f",
    "fastapi.routing.APIRoute.matches": "b97ea9942fe14d7e",
    "fastapi.routing._EffectiveRouteContext.matches": "7bf5e9ac8d5e0557",
    "fastapi.routing._get_fastapi_scope": "b651e21d5220afaa",
    "starlette.routing.compile_path": "8092946a4c2c6cc2",
    "starlette.routing.Route.matches": "4de50d376de04a00",
    "starlette.routing.Mount.matches": "ac97bc77afeab550",
    "starlette._utils.get_route_path": "243011d2a68ca7fe",
}


def _source_hash(dotted: str) -> str:
    module, *attrs = dotted.split(".", 2)[:2], *dotted.split(".")[2:]
    obj: Any = importlib.import_module(".".join(module))
    for attr in attrs:
        obj = getattr(obj, attr)
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def test_fastapi_internals_are_the_ones_it_was_written_against() -> None:
    assert fastapi.__version__ == routing_index.WRITTEN_AGAINST, (
        "FastAPI changed: re-check app/routing_index.py against the new routing code")
    changed = {name: _source_hash(name) for name, pinned in _PINNED.items() if _source_hash(name) != pinned}
    assert changed == {}, f"FastAPI/Starlette routing code changed, re-check app/routing_index.py: {changed}"


def test_routes_added_after_the_first_request_are_found() -> None:
    from fastapi import APIRouter, FastAPI

    inner, nested = APIRouter(), APIRouter()
    inner.add_api_route("/a/{x}", lambda x: x, methods=["GET"])
    app = FastAPI()
    app.include_router(inner, prefix="/p")
    routing_index.install(app)
    route = app.router.routes[-1]
    assert isinstance(route, routing_index.IndexedIncludedRouter)
    scope = {"type": "http", "method": "GET", "path": "/p/b/1", "root_path": "", "headers": []}
    assert route.matches(dict(scope))[0] == starlette.routing.Match.NONE
    inner.add_api_route("/b/{x}", lambda x: x, methods=["GET"])
    assert route.matches(dict(scope))[0] == starlette.routing.Match.FULL
    nested.add_api_route("/c", lambda: 1, methods=["POST"])
    inner.include_router(nested, prefix="/n")
    scope["path"] = "/p/n/c"
    assert route.matches(dict(scope))[0] == starlette.routing.Match.PARTIAL
    nested.add_api_route("/d", lambda: 1, methods=["GET"])  # only the nested router's counter moves
    scope["path"] = "/p/n/d"
    assert route.matches(dict(scope))[0] == starlette.routing.Match.FULL
