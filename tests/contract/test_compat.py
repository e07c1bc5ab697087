"""The versioning promise: the app's document against the committed snapshot (docs/openapi.json).

A change that would break a client generated from the snapshot fails here until the snapshot is
updated in the same change (`make spec`), which makes the break visible in review. The checker itself
is tested on deliberate breaks of the real document."""

from __future__ import annotations

import copy
import json
from typing import Any

from app import contract
from app.compat import breaking_changes
from tests.contract import spec


def _snapshot() -> dict[str, Any]:
    return json.loads(contract.SNAPSHOT.read_text(encoding="utf-8"))


def test_no_breaking_change_against_the_snapshot() -> None:
    problems = breaking_changes(_snapshot(), spec())
    assert not problems, ("breaking API changes against docs/openapi.json (if deliberate, run `make spec`, "
                          "commit the snapshot and list the break in the change):\n" + "\n".join(problems))


def _find(doc: dict[str, Any], op_id: str) -> dict[str, Any]:
    for _p, _m, op in contract.operations(doc):
        if op["operationId"] == op_id:
            return op
    raise KeyError(op_id)


def _schema_name(ref: dict[str, Any]) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


def test_a_removed_operation_is_breaking() -> None:
    new = copy.deepcopy(spec())
    del new["paths"]["/api/v1/me"]["get"]
    assert any("operation removed" in p for p in breaking_changes(spec(), new))


def test_a_renamed_operation_id_is_breaking() -> None:
    new = copy.deepcopy(spec())
    new["paths"]["/api/v1/auth/refresh"]["post"]["operationId"] = "auth_rotate"
    assert any(p.startswith("auth_refresh") for p in breaking_changes(spec(), new))


def test_a_removed_answer_field_is_breaking() -> None:
    old = spec()
    new = copy.deepcopy(old)
    op = _find(new, "auth_refresh")
    name = _schema_name(op["responses"]["200"]["content"]["application/json"]["schema"])
    field = sorted(new["components"]["schemas"][name]["properties"])[0]
    del new["components"]["schemas"][name]["properties"][field]
    assert any(p.endswith(f".{field}: removed from the answer") for p in breaking_changes(old, new))


def test_a_field_removed_deep_in_a_page_is_breaking() -> None:
    old = copy.deepcopy(spec())
    old["components"]["schemas"]["Leaf"] = {"type": "object", "properties": {"a": {"type": "string"},
                                                                              "b": {"type": "string"}}}
    old["components"]["schemas"]["PageOfLeaf"] = {
        "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Leaf"}}}}
    op = _find(old, "auth_refresh")
    op["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/PageOfLeaf"}
    new = copy.deepcopy(old)
    del new["components"]["schemas"]["Leaf"]["properties"]["b"]
    assert breaking_changes(old, new) == ["auth_refresh 200.items[].b: removed from the answer"]


def test_a_new_required_request_field_is_breaking() -> None:
    old = spec()
    new = copy.deepcopy(old)
    op = _find(new, "auth_refresh")
    name = _schema_name(op["requestBody"]["content"]["application/json"]["schema"])
    body = new["components"]["schemas"][name]
    body["properties"]["device"] = {"type": "string"}
    body["required"] = [*body.get("required", []), "device"]
    assert breaking_changes(old, new) == ["auth_refresh body.device: newly required in the request"]


def test_a_new_required_parameter_is_breaking_and_an_optional_one_is_not() -> None:
    old = spec()
    new = copy.deepcopy(old)
    op = _find(new, "me_get")
    op.setdefault("parameters", []).append({"name": "fields", "in": "query", "schema": {"type": "string"}})
    assert breaking_changes(old, new) == []
    op["parameters"][-1]["required"] = True
    assert breaking_changes(old, new) == ["me_get: parameter fields (query) newly required"]


def test_additions_are_not_breaking() -> None:
    old = spec()
    new = copy.deepcopy(old)
    new["paths"]["/api/v1/new-thing"] = {"get": {"operationId": "profile_new_thing", "responses": {"200": {}}}}
    op = _find(new, "auth_refresh")
    name = _schema_name(op["responses"]["200"]["content"]["application/json"]["schema"])
    new["components"]["schemas"][name]["properties"]["extra"] = {"type": "string"}
    assert breaking_changes(old, new) == []


def test_a_removed_parameter_is_breaking() -> None:
    old = spec()
    new = copy.deepcopy(old)
    op = _find(new, "audit_log")
    op["parameters"] = [p for p in op["parameters"] if p["name"] != "date_from"]
    assert breaking_changes(old, new) == [
        "audit_log: parameter date_from (query) removed (a client sending it is ignored)"]
