"""Hostile input on every route of the live app, as every role: never a 500, a refusal is our error
shape, and a refused request changes no row.

GET routes get each query parameter (from the OpenAPI document) set in turn to hostile text, NUL
characters, numbers beyond any column and malformed cursors; path ids get junk and huge values; write
routes get a 2 MB body, 100,000-deep JSON, wrong types, and a valid body with one field at a time
made too long, NUL-laden or out of range. Each kind of abuse is its own test per route, so a known
bug is one strict xfail naming it (BUGS below) and everything else about that route still runs; a fix
turns its xfail into a failure (XPASS), the signal to delete the route from BUGS.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.abuse import (
    ROLES,
    WRITE_METHODS,
    Operation,
    abuse_client,
    diff,
    error_shape_problem,
    example_body,
    fill_path,
    fingerprint,
    get_world,
    keeps_changes,
    operations,
    path_param_kinds,
    resolve,
)
from tests.conftest import IS_POSTGRES

LOCKED_OUT = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})

LONG = "长" * 5_000 + "x" * 5_000  # 10,000 characters
HOSTILE_TEXT = [LONG, "😀🏠", "🏠" * 60, "' OR 1=1 --", "%", "_", "昆明市五华区翠湖南路", "-1", "1e309", "NaN", ""]
NUL_TEXT = ["\x00", "a\x00b"]
HUGE_NUMBERS = [str(2**31), str(2**63), str(-(2**63) - 1), "1" + "0" * 30]
CONTROL = "zq7-nothing-matches-this"  # a search that finds nothing, to compare wildcards against
WILDCARDS = ("%", "_", "' OR 1=1 --")
NOT_AN_ID = ["1.5", "1e3", "abc", "' OR 1=1 --", "😀", "%00", "1;2"]
UNUSED_IDS = ["-1", "0"]  # valid integers: a 404, or 200 where the route is idempotent (un-favourite)
HUGE_PATH_IDS = [str(2**31), str(2**63), "1" + "0" * 30]

# --- known bugs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bug:
    """A bug found by these tests, owned by someone else: its routes' cases are strict xfails."""

    reason: str
    tests: tuple[str, ...]  # the tests (the names given to _ops) it breaks
    routes: frozenset[str]  # operation ids
    databases: tuple[str, ...] = ("sqlite", "postgresql")


# Every bug these tests found is fixed; a new one goes here as a strict xfail naming it.
BUGS: list[Bug] = []


def _xfail(test: str, op: Operation) -> list[Any]:
    database = "postgresql" if IS_POSTGRES else "sqlite"
    return [pytest.mark.xfail(strict=True, reason=bug.reason) for bug in BUGS
            if test in bug.tests and op.id in bug.routes and database in bug.databases]


def _ops(test: str, keep: Any) -> list[Any]:
    return [pytest.param(op, id=op.id, marks=_xfail(test, op)) for op in operations() if keep(op)]


def _query_params(op: Operation) -> list[dict[str, Any]]:
    return op.params("query")


def _is_array(param: dict[str, Any]) -> bool:
    return resolve(param.get("schema")).get("type") == "array"


def _is_free_text(param: dict[str, Any]) -> bool:
    schema = resolve(param.get("schema"))
    return schema.get("type") == "string" and "enum" not in schema and "format" not in schema


def _has_int_path(op: Operation) -> bool:
    return "integer" in path_param_kinds(op).values()


# --- the harness ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def abuse(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with abuse_client(app, "10.66.0.2") as c:
        yield c


class Probe:
    """Sends requests as one role and checks every answer; a refusal must leave the tables as they were."""

    def __init__(self, client: httpx.AsyncClient, op: Operation, role: str, headers: dict[str, str]) -> None:
        self.client, self.op, self.role, self.headers = client, op, role, headers
        self.problems: list[str] = []
        self.before: dict[str, Any] | None = None
        self.locked_out = False

    async def send(self, what: str, *, url: str | None = None, params: Any = None, expect_4xx: bool = False,
                   expect_status: int | None = None, **kwargs: Any) -> httpx.Response:
        if self.before is None:
            self.before = await fingerprint()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = url or fill_path(self.op)
        r = await self.client.request(self.op.method.upper(), url, params=params, headers=headers, **kwargs)
        where = f"{self.role}: {self.op.method.upper()} {url} {what}"
        if r.status_code >= 500:
            self.problems.append(f"{where} -> {r.status_code} {r.text[:200]}")
        elif r.status_code >= 400 and (problem := error_shape_problem(r)):
            self.problems.append(f"{where} -> {r.status_code} {problem}")
        if expect_status is not None and r.status_code != expect_status:
            self.problems.append(f"{where} -> {r.status_code}, expected {expect_status}: {r.text[:200]}")
        elif expect_4xx and not 400 <= r.status_code < 500:
            self.problems.append(f"{where} -> {r.status_code}, expected a refusal: {r.text[:200]}")
        after = await fingerprint()
        if 400 <= r.status_code < 500 and not keeps_changes(r) and (changed := diff(self.before, after)):
            self.problems.append(f"{where} -> {r.status_code} {r.text[:120]} but changed {changed}")
        self.before = after
        if r.status_code in (401, 403) and _code(r) in LOCKED_OUT:
            self.locked_out = True
        return r


def _code(r: httpx.Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


async def _probes(client: httpx.AsyncClient, factory: Any, op: Operation) -> list[Probe]:
    world = await get_world(client, factory)
    return [Probe(client, op, role, world.for_role(role, op)) for role in ROLES]


def _report(probes: list[Probe]) -> None:
    problems = [p for probe in probes for p in probe.problems]
    shown = "\n".join(p[:700] for p in problems[:8])
    assert not problems, f"{len(problems)} problem(s):\n{shown}"


def _items(r: httpx.Response) -> list[Any] | None:
    if r.status_code != 200:
        return None
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("items") if isinstance(body, dict) and isinstance(body.get("items"), list) else None


def _q(param: dict[str, Any], value: str) -> dict[str, Any]:
    return {param["name"]: [value] if _is_array(param) else value}


# --- GET: query parameters ------------------------------------------------------------------------


def _get_with_query(op: Operation) -> bool:
    return op.method == "get" and bool(_query_params(op))


@pytest.mark.parametrize("op", _ops("query_text", _get_with_query))
async def test_query_parameters_take_hostile_text(op, abuse, factory):
    """Long, emoji, SQL-looking, LIKE wildcards, Chinese, junk numbers: a clear 4xx or correct results;
    a wildcard or SQL-looking search never finds more than a search that matches nothing."""
    probes = await _probes(abuse, factory, op)
    for probe in probes:
        for param in _query_params(op):
            control = None
            for value in ([CONTROL] if _is_free_text(param) else []) + HOSTILE_TEXT:
                r = await probe.send(f"?{param['name']}={value[:30]!r}", params=_q(param, value))
                if probe.locked_out:
                    break
                if value == CONTROL:
                    control = _items(r)
                elif value in WILDCARDS and control is not None and (found := _items(r)) is not None:
                    if len(found) > len(control):
                        probe.problems.append(f"{probe.role}: {op.id} ?{param['name']}={value!r} finds {len(found)} "
                                              f"rows, a search matching nothing finds {len(control)}")
            if probe.locked_out:
                break
    _report(probes)


@pytest.mark.parametrize("op", _ops("query_nul", _get_with_query))
async def test_query_parameters_take_nul_characters(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    for probe in probes:
        for param in _query_params(op):
            for value in NUL_TEXT:
                await probe.send(f"?{param['name']}={value!r}", params=_q(param, value))
                if probe.locked_out:
                    break
            if probe.locked_out:
                break
    _report(probes)


@pytest.mark.parametrize("op", _ops("query_huge", _get_with_query))
async def test_query_parameters_take_numbers_beyond_any_column(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    for probe in probes:
        for param in _query_params(op):
            for value in HUGE_NUMBERS:
                await probe.send(f"?{param['name']}={value}", params=_q(param, value))
                if probe.locked_out:
                    break
            if probe.locked_out:
                break
    _report(probes)


def _has_cursor(op: Operation) -> bool:
    return op.method == "get" and any(p["name"] == "cursor" for p in _query_params(op))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("op", _ops("cursor", _has_cursor))
async def test_malformed_cursors_are_refused(op, abuse, factory):
    """Junk, other JSON, and a real cursor of this listing with each value swapped for another type."""
    probes = await _probes(abuse, factory, op)
    junk = ["!!!", "abc", "%%%", "\x00", LONG[:300], _b64(b"[]"), _b64(b"null"), _b64(b'"x"'), _b64(b"{}"),
            _b64(b'{"id": 1'), _b64("😀".encode()), _b64(b"\xff\xfe")]
    for probe in probes:
        cursors = list(junk)
        r = await probe.send("?limit=1", params={"limit": 1})
        if probe.locked_out:
            continue
        real = r.json().get("next_cursor") if r.status_code == 200 else None
        if real:
            values = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
            for key in values:
                for swap in ("x", -1, 2**31, 2**63, 10**30, 1.5, None, [], {}, True, "' OR 1=1 --", "2026-13-45"):
                    cursors.append(_b64(json.dumps({**values, key: swap}).encode()))
        for cursor in cursors:
            await probe.send(f"?cursor={cursor[:40]!r}", params={"cursor": cursor, "limit": 1})
    _report(probes)


# --- path ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", _ops("path_junk", _has_int_path))
async def test_junk_path_ids_are_refused(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id)
    for probe in probes:
        for name, kind in path_param_kinds(op).items():
            if kind != "integer":
                continue
            for value in NOT_AN_ID + UNUSED_IDS:
                await probe.send(f"({name}={value!r})", url=fill_path(op, {name: value}),
                                 json=body if body is not None else None, expect_4xx=value in NOT_AN_ID)
                if probe.locked_out:
                    break
    _report(probes)


@pytest.mark.parametrize("op", _ops("path_huge", _has_int_path))
async def test_path_ids_beyond_any_column(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id)
    for probe in probes:
        for name, kind in path_param_kinds(op).items():
            if kind != "integer":
                continue
            for value in HUGE_PATH_IDS:
                await probe.send(f"({name}={value})", url=fill_path(op, {name: value}),
                                 json=body if body is not None else None)
                if probe.locked_out:
                    break
    _report(probes)


# --- write routes: bodies -------------------------------------------------------------------------


def _writes(op: Operation) -> bool:
    return op.method in WRITE_METHODS


def _takes_body(op: Operation) -> bool:
    return op.method in WRITE_METHODS and op.body_schema is not None


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("op", _ops("oversized", _writes))
async def test_oversized_bodies_are_413(op, abuse, factory):
    """2 MB with its length declared: refused before anything is read, whatever the route or role."""
    big = b'{"x": "' + b"x" * 2_000_000 + b'"}'
    probes = await _probes(abuse, factory, op)
    for probe in probes:
        await probe.send("2 MB body", content=big, headers=JSON, expect_status=413)
    _report(probes)


async def test_oversized_streamed_bodies_are_413(abuse, factory):
    """2 MB streamed without a length: refused while reading. The middleware alone decides this, so
    one test sweeps every route that reads a body (as every role) instead of one test per route."""
    big = b'{"x": "' + b"x" * 2_000_000 + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 65_536):
            yield big[i:i + 65_536]

    probes = []
    for op in operations():
        if _takes_body(op):
            probes += await _probes(abuse, factory, op)
    for probe in probes:
        await probe.send("2 MB streamed body", content=stream(), headers=JSON, expect_status=413)
    _report(probes)


@pytest.mark.parametrize("op", _ops("deep", _writes))
async def test_deeply_nested_json_is_refused(op, abuse, factory):
    depth = 100_000
    bodies = {"deep array": "[" * depth + "]" * depth, "deep object": '{"a":' * depth + "1" + "}" * depth}
    probes = await _probes(abuse, factory, op)
    for probe in probes:
        for what, body in bodies.items():
            await probe.send(what, content=body.encode(), headers=JSON, expect_4xx=op.body_schema is not None)
    _report(probes)


def _wrong(schema: dict[str, Any]) -> Any:
    """A value of another JSON type than ``schema`` asks for."""
    kind = resolve(schema).get("type")
    return {"string": 12345, "integer": "二十", "number": "很多", "boolean": "maybe", "array": "不是列表",
            "object": ["不是对象"]}.get(kind, {"unexpected": ["structure"]})


def _properties(op: Operation) -> dict[str, Any]:
    return resolve(op.body_schema).get("properties", {})


@pytest.mark.parametrize("op", _ops("wrong_types", _takes_body))
async def test_wrong_types_are_refused(op, abuse, factory):
    """The whole body of another type, every field of another type, one field at a time of another
    type, an unknown field, and JSON sent as text."""
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id) or {}
    props = _properties(op)
    variants: list[tuple[str, dict[str, Any]]] = [
        ("body []", {"json": []}), ('body "x"', {"json": "x"}), ("body 1", {"json": 1}), ("body true", {"json": True}),
        ("every field of another type", {"json": {k: _wrong(v) for k, v in props.items()} or {"x": 1}}),
        ("an unknown field", {"json": {**body, "no_such_field_zq": 1}}),
        ("JSON as text/plain", {"content": json.dumps(body).encode(), "headers": {"content-type": "text/plain"}}),
        ("not JSON", {"content": b"{'a': 1,}", "headers": JSON}),
    ]
    if op.body_required:
        variants.append(("body null", {"content": b"null", "headers": JSON}))
    for name, schema in props.items():
        variants.append((f"{name} of another type", {"json": {**body, name: _wrong(schema)}}))
    for probe in probes:
        for what, kwargs in variants:
            await probe.send(what, expect_4xx=True, **copy.deepcopy(kwargs))
            if probe.locked_out:
                break
    _report(probes)


def _fields_of(op: Operation, kind: str) -> list[str]:
    return [name for name, schema in _properties(op).items() if _leaf_type(schema) == kind]


def _leaf_type(schema: dict[str, Any]) -> str | None:
    schema = resolve(schema)
    if schema.get("type") == "array":
        return "array:" + str(resolve(schema.get("items")).get("type"))
    return schema.get("type")


def _with(body: dict[str, Any], name: str, value: Any, op: Operation) -> dict[str, Any]:
    """``body`` with ``name`` set to ``value`` (inside a one-item list for a list of that type)."""
    leaf = _leaf_type(_properties(op)[name]) or ""
    return {**body, name: [value] if leaf.startswith("array:") else value}


@pytest.mark.parametrize("op", _ops("long_text", _takes_body))
async def test_overlong_text_fields_are_refused(op, abuse, factory):
    """Every text field is bounded: 10,000 characters in any one of them is a 4xx, nothing saved."""
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id) or {}
    names = _fields_of(op, "string") + _fields_of(op, "array:string")
    for probe in probes:
        for name in names:
            await probe.send(f"{name}=<10,000 chars>", json=_with(body, name, LONG, op), expect_4xx=True)
            if probe.locked_out:
                break
    _report(probes)


@pytest.mark.parametrize("op", _ops("body_text", _takes_body))
async def test_text_fields_take_emoji_and_sql_looking_text(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id) or {}
    names = _fields_of(op, "string") + _fields_of(op, "array:string")
    for probe in probes:
        for name in names:
            for value in ("😀🏠 春城", "' OR 1=1 --", "%_\\"):
                await probe.send(f"{name}={value!r}", json=_with(body, name, value, op))
                if probe.locked_out:
                    break
            if probe.locked_out:
                break
    _report(probes)


@pytest.mark.parametrize("op", _ops("body_nul", _takes_body))
async def test_text_fields_take_nul_characters(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id) or {}
    names = _fields_of(op, "string") + _fields_of(op, "array:string")
    for probe in probes:
        for name in names:
            await probe.send(f"{name}='a\\x00b'", json=_with(body, name, "a\x00b", op))
            if probe.locked_out:
                break
    _report(probes)


@pytest.mark.parametrize("op", _ops("body_huge", _takes_body))
async def test_number_fields_beyond_any_column(op, abuse, factory):
    probes = await _probes(abuse, factory, op)
    body = example_body(op.id) or {}
    names = _fields_of(op, "integer") + _fields_of(op, "number") + _fields_of(op, "array:integer")
    for probe in probes:
        for name in names:
            for value in (2**31, 2**63, -(2**63) - 1, 10**30, 1e308):
                await probe.send(f"{name}={value}", json=_with(body, name, value, op))
                if probe.locked_out:
                    break
            if probe.locked_out:
                break
    _report(probes)


# --- what the document promises about these refusals -----------------------------------------------


def test_the_body_limit_is_documented():
    """Every route that takes a body answers 413 past the limit (app.main middleware); the document says so."""
    missing = [op.id for op in operations() if op.body_schema is not None and "413" not in op.spec["responses"]]
    assert not missing, f"{len(missing)} routes do not declare 413, e.g. {missing[:5]}"
