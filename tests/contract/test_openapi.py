"""The served document: well-formed ids, a spec that lints clean, examples that validate, honest
errors and security, and docs/errors.md generated from the same source."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app import contract, errors
from tests.contract import app_and_spec, spec

OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def test_every_operation_has_a_short_unique_service_prefixed_id() -> None:
    app, doc = app_and_spec()
    seen: dict[str, str] = {}
    routes = {(r.operation_id or r.unique_id): r for r in contract.api_routes(app)}
    for path, method, op in contract.operations(doc):
        op_id = op.get("operationId", "")
        where = f"{method.upper()} {path}"
        assert OPERATION_ID.match(op_id), f"{where}: operation id {op_id!r} is not <service>_<verb>"
        assert len(op_id) <= 48, f"{where}: operation id {op_id!r} is too long"
        assert "api_v1" not in op_id, f"{where}: {op_id!r} is FastAPI's generated id, not a chosen one"
        assert op_id not in seen, f"{where} and {seen[op_id]} share the operation id {op_id!r}"
        seen[op_id] = where
        service = contract.service_of(routes[op_id])
        prefixes = {service, *contract.ALIASES.get(service, ())}
        assert op_id.split("_", 1)[0] in prefixes, f"{where}: {op_id!r} should start with one of {sorted(prefixes)}"


def test_ids_come_from_function_names() -> None:
    class Route:
        def __init__(self, module: str, name: str) -> None:
            self.name = name
            self.endpoint = type("E", (), {"__module__": module})

    assert contract.operation_id(Route("routers.events", "sign_up")) == "events_sign_up"
    assert contract.operation_id(Route("routers.housing", "housing_search")) == "housing_search"
    assert contract.operation_id(Route("routers.profile", "me_get")) == "me_get"
    assert contract.operation_id(Route("routers.events", "me_timeline")) == "events_me_timeline"


def test_the_document_lints_without_errors() -> None:
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in OpenAPIV31SpecValidator(spec()).iter_errors()]
    assert not problems, "\n".join(problems[:20])


def _registry(doc: dict[str, Any]) -> Registry:
    return Registry().with_resource("urn:spec", Resource.from_contents(doc, default_specification=DRAFT202012))


def _examples(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example in the document: schemas' ``example``/``examples``
    (and their properties'), parameters', request bodies' and answers'."""
    found: list[tuple[str, dict[str, Any], Any]] = []

    def schema_examples(where: str, schema: dict[str, Any]) -> None:
        if not isinstance(schema, dict):
            return
        bare = {k: v for k, v in schema.items() if k not in ("example", "examples")}
        if "example" in schema:
            found.append((where, bare, schema["example"]))
        if isinstance(schema.get("examples"), list):
            found.extend((f"{where}.examples[{i}]", bare, ex) for i, ex in enumerate(schema["examples"]))
        for name, sub in schema.get("properties", {}).items():
            schema_examples(f"{where}.{name}", sub)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                schema_examples(f"{where}[{key}]", schema[key])
        for key in ("anyOf", "oneOf", "allOf"):
            for i, sub in enumerate(schema.get(key, [])):
                schema_examples(f"{where}.{key}[{i}]", sub)

    def media_examples(where: str, media: dict[str, Any]) -> None:
        schema = media.get("schema", {})
        if "example" in media:
            found.append((where, schema, media["example"]))
        for name, ex in media.get("examples", {}).items():
            found.append((f"{where}.examples.{name}", schema, ex.get("value")))

    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        schema_examples(f"#/components/schemas/{name}", schema)
    for path, method, op in contract.operations(doc):
        where = f"{method.upper()} {path}"
        for p in op.get("parameters", []):
            schema_examples(f"{where} parameter {p['name']}", p.get("schema", {}))
            if "example" in p:
                found.append((f"{where} parameter {p['name']}", p.get("schema", {}), p["example"]))
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            media_examples(f"{where} request {media_type}", media)
        for status, resp in op.get("responses", {}).items():
            for media_type, media in resp.get("content", {}).items():
                media_examples(f"{where} {status} {media_type}", media)
    return found


def _validate(doc: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    # Local $refs ("#/components/...") point into the document: validate against it as the root.
    root = {**doc, **copy.deepcopy(schema)}
    root.pop("$schema", None)
    validator = Draft202012Validator(root, registry=_registry(doc))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)]


def test_every_example_validates_against_its_schema() -> None:
    doc = spec()
    examples = _examples(doc)
    assert len(examples) > 100  # the error examples alone are more: the walk must find them
    problems = []
    for where, schema, value in examples:
        for problem in _validate(doc, schema, value):
            problems.append(f"{where}: {problem}")
    assert not problems, "\n".join(problems[:30])


def test_the_example_check_catches_a_wrong_example() -> None:
    doc = copy.deepcopy(spec())
    doc["components"]["schemas"]["ErrorBody"]["example"] = {"code": 1}
    bad = [w for w, s, v in _examples(doc) if w == "#/components/schemas/ErrorBody" and _validate(doc, s, v)]
    assert bad == ["#/components/schemas/ErrorBody"]


def test_declared_errors_are_in_the_catalogue_and_answered_with_their_status() -> None:
    for path, method, op in contract.operations(spec()):
        for code in op["x-errors"]:
            cls = errors.CATALOGUE[code]
            examples = op["responses"][str(cls.status_code)]["content"]["application/json"]["examples"]
            assert examples[code]["value"]["message"] == cls.message, f"{method} {path}: {code}"


def test_dependencies_add_their_errors() -> None:
    doc = spec()
    change = doc["paths"]["/api/v1/auth/password"]["post"]
    for code in ("UNAUTHENTICATED", "TOKEN_EXPIRED", "RATE_LIMITED", "VALIDATION_ERROR", "DB_UNAVAILABLE"):
        assert code in change["x-errors"]
    assert doc["paths"]["/healthz"]["get"]["x-errors"] == []
    assert set(doc["paths"]["/healthz"]["get"]["responses"]) == {"200"}


def test_public_operations_do_not_demand_a_token() -> None:
    doc = spec()
    assert doc["paths"]["/api/v1/auth/wechat/login"]["post"]["security"] == []
    assert doc["paths"]["/api/v1/housing/projects"]["get"]["security"] == [{}, {"HTTPBearer": []}]
    assert doc["paths"]["/api/v1/me"]["get"]["security"] == [{"HTTPBearer": []}]


def test_no_python_constraint_names_leak_into_schemas() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "type" in node:
                leaked = {"ge", "le", "gt", "lt"} & set(node)
                assert not leaked, f"{where}: {leaked} (should be minimum/maximum)"
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(spec(), "#")


def test_the_errors_page_is_current() -> None:
    expected = contract.errors_page(spec())
    current = contract.ERRORS_PAGE.read_text(encoding="utf-8") if contract.ERRORS_PAGE.exists() else ""
    assert current == expected, "docs/errors.md is stale: run `make spec` and commit it"


@pytest.mark.parametrize("code", ["NOT_FOUND", "RATE_LIMITED"])
def test_the_errors_page_lists_every_code(code: str) -> None:
    assert f"| `{code}` | {errors.CATALOGUE[code].status_code} |" in contract.errors_page(spec())


async def test_answered_errors_are_recorded_and_an_undeclared_one_is_caught(client) -> None:
    """The session-end check (tests/conftest.py) sees what operations answer, and it can fail."""
    r = await client.get("/api/v1/housing/projects/2147483000")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    route, codes = contract.ANSWERED[("GET", "/api/v1/housing/projects/{project_id}")]
    assert "NOT_FOUND" in codes
    assert contract.undeclared_answers({("GET", route.path): (route, {"NOT_FOUND", "VALIDATION_ERROR"})}) == []
    found = contract.undeclared_answers({("GET", route.path): (route, {"NOT_FOUND", "EVENT_CANCELLED"})})
    assert len(found) == 1 and "housing_project_detail" in found[0] and "EVENT_CANCELLED" in found[0]
