"""Every operation documented for the mini-program team, in Chinese: the rule, and who is not there yet.

An operation of a documented service has a Chinese summary; a Chinese description of what it does,
who may call it and its rules; the errors its route declares (``@raises``, see app/contract.py); an
example of its JSON request body and of its JSON answer; and a description on every field of every
schema it uses. A new router is held to this from its first route.

``NOT_YET_DOCUMENTED`` is the allow-list of router modules still missing some of it. It only shrinks:
a service that meets the rule must leave the list (the test says so), and nothing is added to it.
"""

from __future__ import annotations

import re
from typing import Any

from app import contract
from tests.contract import app_and_spec

NOT_YET_DOCUMENTED: frozenset[str] = frozenset()

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _ref_schemas(node: Any, schemas: dict[str, Any], out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in out:
                out.add(name)
                _ref_schemas(schemas.get(name, {}), schemas, out)
        for value in node.values():
            _ref_schemas(value, schemas, out)
    elif isinstance(node, list):
        for value in node:
            _ref_schemas(value, schemas, out)


def _has_example(media: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "example" in media or media.get("examples"):
        return True
    schema = media.get("schema", {})
    for alt in schema.get("anyOf", []):  # an optional body: X | None
        if "$ref" in alt:
            schema = alt
    ref = schema.get("$ref", "")
    target = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema
    if "example" in target or target.get("examples"):
        return True
    # A page or list of a documented item: the item's example shows it.
    for sub in (target.get("items"), target.get("properties", {}).get("items", {}).get("items")):
        if isinstance(sub, dict) and sub.get("$ref"):
            item = schemas.get(sub["$ref"].rsplit("/", 1)[-1], {})
            if "example" in item or item.get("examples"):
                return True
    return False


def problems_of(route: Any, op: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    schemas = doc.get("components", {}).get("schemas", {})
    out = []
    if not _CJK.search(op.get("summary", "")):
        out.append("summary is not in Chinese")
    if len(_CJK.findall(op.get("description", ""))) < 8:
        out.append("no Chinese description (what it does, who may call it, its rules)")
    if not contract.declared(route):
        out.append("the route does not declare its errors (@raises)")
    for media_type, media in op.get("requestBody", {}).get("content", {}).items():
        if "json" in media_type and not _has_example(media, schemas):
            out.append("no request example")
    for status, resp in op.get("responses", {}).items():
        if status.startswith("2"):
            for media_type, media in resp.get("content", {}).items():
                if "json" in media_type and not _has_example(media, schemas):
                    out.append(f"no example of the {status} answer")
    used: set[str] = set()
    _ref_schemas({k: v for k, v in op.items() if k != "responses"}, schemas, used)
    _ref_schemas({k: v for k, v in op.get("responses", {}).items() if k.startswith("2")}, schemas, used)
    for name in sorted(used):
        for field, sub in schemas[name].get("properties", {}).items():
            if not sub.get("description"):
                out.append(f"{name}.{field} has no description")
    for p in op.get("parameters", []):
        if not p.get("description"):
            out.append(f"parameter {p['name']} has no description")
    return out


def _by_service() -> dict[str, list[tuple[str, list[str]]]]:
    app, doc = app_and_spec()
    routes = {(r.operation_id or r.unique_id): r for r in contract.api_routes(app)}
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for path, method, op in contract.operations(doc):
        route = routes[op["operationId"]]
        out.setdefault(contract.service_of(route), []).append(
            (f"{op['operationId']} ({method.upper()} {path})", problems_of(route, op, doc)))
    return out


def test_documented_services_document_every_operation() -> None:
    failures = [f"{where}: {p}" for service, ops in sorted(_by_service().items())
                if service not in NOT_YET_DOCUMENTED for where, problems in ops for p in problems]
    assert not failures, "\n".join(failures)


def test_the_allow_list_only_shrinks() -> None:
    done = [s for s, ops in _by_service().items() if s in NOT_YET_DOCUMENTED and not any(p for _, p in ops)]
    assert not done, f"{done} meet the rule now: remove them from NOT_YET_DOCUMENTED"
