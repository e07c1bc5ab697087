"""Abuse tests: hostile input against every route the live application has.

Shared by test_schemathesis.py and test_inputs.py: the operation list read from the app's own OpenAPI
document (at collection, so each operation is its own test and a new router is covered the moment it
lands), a populated "world" (the demo data set, whose owners and young people we log in as, so path ids
reach real rows), one identity per role, and a fingerprint of every table to prove that a refused
request changed nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from sqlalchemy import String, cast, func, literal, select, union_all

ROLES = ("anonymous", "youth", "provider", "moderator", "admin")
WRITE_METHODS = ("post", "put", "patch")
# Tables that by design change whatever the request's outcome: a rate-limit hit and a password attempt
# are counted in their own transactions (app/kit/ratelimit.py, app/services/auth/throttle.py), and the
# WeChat server-token cache is filled on demand.
SIDE_TABLES = frozenset({"rate_counters", "service_tokens", "login_throttles"})
# Path ids sent where a real row is wanted: the demo data set's first rows of every table.
SMALL_IDS = tuple(range(1, 9))


# --- the operations of the live application ------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return media.get("schema") if media else None

    @property
    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required"))


@cache
def openapi() -> dict[str, Any]:
    """The application's own OpenAPI document, built the way ``/openapi.json`` serves it."""
    from app.main import create_app

    return create_app(start_standin=False).openapi()


@cache
def operations() -> tuple[Operation, ...]:
    out = []
    for path, item in openapi()["paths"].items():
        for method, spec in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                out.append(Operation(method, path, spec))
    return tuple(out)


def resolve(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Follow ``$ref`` into components; an ``anyOf`` with null collapses to its non-null branch."""
    if not schema:
        return {}
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = openapi()["components"]["schemas"][name]
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        return resolve(branches[0])
    return schema


def path_param_kinds(op: Operation) -> dict[str, str]:
    return {p["name"]: resolve(p.get("schema")).get("type", "string") for p in op.params("path")}


def posting_kinds() -> list[str]:
    from app.services import moderation

    openapi()  # importing the routers registers every posting kind
    return sorted(moderation.REGISTRY) or ["event"]


def fill_path(op: Operation, ids: dict[str, Any] | None = None, default_id: int = 1) -> str:
    """The operation's URL with its path parameters set: given values, else a real-looking id / kind."""
    ids = ids or {}
    url = op.path
    for name, kind in path_param_kinds(op).items():
        if name in ids:
            value = ids[name]
        elif kind == "integer":
            value = default_id
        else:
            value = provider_kind_posting(op) if name == "kind" else "x"
        url = url.replace("{" + name + "}", str(value))
    return url


def provider_kind_posting(op: Operation) -> str:
    """A registered posting kind, the one the path's service owns when there is one."""
    kinds = posting_kinds()
    return next((k for k in kinds if f"/{k.split('_')[0]}" in op.path), kinds[0])


# --- schemathesis cases ---------------------------------------------------------------------------


@cache
def st_schema() -> Any:
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi())
    schema.config.generation.update(with_security_parameters=False)  # we send a real token per role ourselves
    return schema


def generate(op: Operation, mode: str, n: int) -> list[Any]:
    """Up to ``n`` schemathesis cases for ``op`` (derandomized: the same cases on every run)."""
    import hypothesis
    from hypothesis import HealthCheck, Phase
    from hypothesis.errors import HypothesisException
    from schemathesis.generation import GenerationMode

    operation = st_schema()[op.path][op.method.upper()]
    out: list[Any] = []

    @hypothesis.settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(operation.as_strategy(generation_mode=GenerationMode(mode)))
    def collect(case: Any) -> None:
        out.append(case)

    try:
        collect()
    except HypothesisException:
        pass  # nothing to negate (no parameters, no body): no such case for this operation
    return out


@cache
def example_body(op_id: str) -> Any:
    """A body that matches the operation's schema (schemathesis' first positive case), to vary one
    field of at a time; None when the operation takes no JSON body."""
    op = next(o for o in operations() if o.id == op_id)
    if op.body_schema is None:
        return None
    for case in generate(op, "positive", 3):
        if isinstance(case.body, dict):
            return case.body
    return {}


# --- identities -----------------------------------------------------------------------------------


@dataclass
class World:
    """Who we send requests as, and whether the demo data set is behind the ids we send."""

    headers: dict[str, dict[str, str]]  # role -> Authorization header ("provider:<org kind>" for each kind)
    seeded: bool
    notes: list[str] = field(default_factory=list)

    def for_role(self, role: str, op: Operation) -> dict[str, str]:
        if role == "provider":
            return self.headers[f"provider:{provider_kind_for(op.path, self.provider_kinds)}"]
        return self.headers[role]

    @property
    def provider_kinds(self) -> list[str]:
        return sorted(k.split(":", 1)[1] for k in self.headers if k.startswith("provider:"))


def provider_kind_for(path: str, kinds: list[str]) -> str:
    """The organisation kind whose service a path belongs to (``/provider/events/…`` → event_organizer)."""
    for kind in kinds:
        if f"/{kind.split('_')[0]}" in path:
            return kind
    return "event_organizer" if "event_organizer" in kinds else kinds[0]


_WORLD: World | None = None


async def get_world(client: httpx.AsyncClient, factory: Any) -> World:
    """Built once per session (both abuse modules share it): the demo data set and a login per role."""
    global _WORLD
    if _WORLD is None:
        _WORLD = await _build_world(client, factory)
    return _WORLD


async def _build_world(client: httpx.AsyncClient, factory: Any) -> World:
    from app.db import session_scope
    from app.demo import DEMO_PASSWORD, seed_demo
    from models.accounts import User
    from models.orgs import OrgKind

    notes: list[str] = []
    async with session_scope() as session:
        present = (await session.execute(select(User.id).where(User.username == "admin"))).first()
    seeded = present is not None
    if not seeded:
        try:
            async with session_scope() as session:
                await seed_demo(session)
            seeded = True
        except Exception as exc:
            notes.append(f"demo seed failed ({type(exc).__name__}: {exc}); identities made without demo data")

    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    if seeded:
        # demo2 (阿雯) has an event sign-up, a housing application and a counselling booking.
        r = await client.post("/api/v1/auth/wechat/login", json={"code": f"dev:demo2:{uuid.uuid4().hex[:8]}"})
        assert r.status_code == 200, r.text
        headers["youth"] = _bearer(r.json())
        for role, username in (("moderator", "moderator"), ("admin", "admin")):
            headers[role] = await _login(client, username, DEMO_PASSWORD)
        for kind in OrgKind:
            headers[f"provider:{kind}"] = await _login(client, f"{kind.split('_')[0]}_owner", DEMO_PASSWORD)
    else:
        headers["youth"] = (await factory.youth(profile=True)).headers
        headers["moderator"] = (await factory.staff("moderator")).headers
        headers["admin"] = (await factory.staff("admin")).headers
        for kind in OrgKind:
            headers[f"provider:{kind}"] = (await factory.provider(kind)).headers
    return World(headers=headers, seeded=seeded, notes=notes)


async def _login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return _bearer(r.json())


def _bearer(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['access_token']}"}


# --- what a response must look like ---------------------------------------------------------------


def error_shape_problem(response: httpx.Response) -> str | None:
    """None when the body is our error shape ``{"code", "message"[, "fields"]}``, else what is wrong."""
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:120]!r}"
    if not isinstance(body, dict) or not {"code", "message"} <= set(body) or set(body) - {"code", "message", "fields"}:
        return f"not the error shape: {json.dumps(body, ensure_ascii=False)[:200]}"
    if not isinstance(body["code"], str) or not isinstance(body["message"], str) or not body["message"]:
        return f"code/message are not text: {body!r}"[:200]
    fields = body.get("fields")
    if fields is not None and not (isinstance(fields, dict) and all(isinstance(v, str) for v in fields.values())):
        return f"fields is not a map of texts: {fields!r}"[:200]
    return None


def keeps_changes(response: httpx.Response) -> bool:
    """Refusals that persist by design (a login failure counter, a revoked token family)."""
    from app.errors import CATALOGUE

    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return False
    cls = CATALOGUE.get(code)
    return bool(cls and cls.keep_changes)


# --- database fingerprint -------------------------------------------------------------------------


@cache
def _fingerprint_query() -> Any:
    from sqlmodel import SQLModel

    import models  # noqa: F401 - every table registered on the metadata

    parts = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name in SIDE_TABLES:
            continue
        # The row count, and the newest change where the table records one: a refused request must
        # neither add/delete a row nor touch one.
        touched = (cast(func.max(table.c.updated_at), String) if "updated_at" in table.c
                   else literal(None, String))
        parts.append(select(literal(table.name, String).label("t"), func.count().label("n"),
                            touched.label("u")).select_from(table))
    return union_all(*parts)


async def fingerprint() -> dict[str, tuple[int, str | None]]:
    from app.db import session_scope

    async with session_scope() as session:
        rows = (await session.execute(_fingerprint_query())).all()
    return {t: (n, u) for t, n, u in rows}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}


def abuse_client(app: Any, ip: str) -> httpx.AsyncClient:
    """A client of its own address (rate limits and login lockouts count per address), which sees a
    500 as a response instead of the app's exception."""
    transport = httpx.ASGITransport(app=app, client=(ip, 50000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60)
