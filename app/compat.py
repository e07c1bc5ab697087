"""What would break a client generated from an older OpenAPI document (the versioning promise).

``breaking_changes(old, new)`` lists, in words, every change a mini-program built on ``old`` could
trip over: an operation removed (or its id renamed, which renames the generated function), a
parameter removed, a field
removed from a success answer (at any depth, through ``$ref``, arrays and ``anyOf``), an answer's type
changed, a request field or parameter that becomes required, or a value a request could send that is
no longer accepted (an enum value removed). Additions — operations, optional inputs, answer fields,
error codes — are not breaking. ``tests/contract/test_compat.py`` compares the app with the committed
snapshot ``docs/openapi.json``; ``make spec`` updates the snapshot, which is how a deliberate break is
recorded in the same change.
"""

from __future__ import annotations

from typing import Any

_METHODS = ("get", "put", "post", "delete", "patch")


def _ops(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    out = {}
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                op = item[method]
                out[op.get("operationId") or f"{method} {path}"] = (path, method, op)
    return out


class _Resolver:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas = spec.get("components", {}).get("schemas", {})

    def __call__(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 50:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        return schema if isinstance(schema, dict) else {}


def _variants(schema: dict[str, Any], resolve: _Resolver) -> list[dict[str, Any]]:
    """The non-null alternatives of an ``anyOf``/``oneOf`` (``X | None`` is X), else the schema."""
    schema = resolve(schema)
    alts = schema.get("anyOf") or schema.get("oneOf")
    if not alts:
        return [schema]
    out = [resolve(a) for a in alts]
    return [a for a in out if a.get("type") != "null"] or out


def _types(schema: dict[str, Any], resolve: _Resolver) -> set[str]:
    out: set[str] = set()
    for v in _variants(schema, resolve):
        t = v.get("type")
        if isinstance(t, list):
            out.update(t)
        elif t:
            out.add(t)
        elif "properties" in v:
            out.add("object")
    return out


def _answer_fields(old: Any, new: Any, r_old: _Resolver, r_new: _Resolver, where: str,
                   problems: list[str], depth: int = 0) -> None:
    """Every field the old answer had must still be there, with a type the old client can read."""
    if depth > 12:
        return
    old_v, new_v = _variants(old, r_old), _variants(new, r_new)
    old_t, new_t = _types(old, r_old), _types(new, r_new)
    if old_t and new_t and not new_t <= old_t | {"null"} and not ({"integer"} == old_t and new_t <= {"number"}):
        problems.append(f"{where}: type {sorted(old_t)} became {sorted(new_t)}")
        return
    old_props: dict[str, Any] = {}
    for v in old_v:
        old_props.update(v.get("properties", {}))
    new_props: dict[str, Any] = {}
    for v in new_v:
        new_props.update(v.get("properties", {}))
    for name, sub in old_props.items():
        if name not in new_props:
            problems.append(f"{where}.{name}: removed from the answer")
        else:
            _answer_fields(sub, new_props[name], r_old, r_new, f"{where}.{name}", problems, depth + 1)
    old_items = [v["items"] for v in old_v if "items" in v]
    new_items = [v["items"] for v in new_v if "items" in v]
    if old_items and new_items:
        _answer_fields(old_items[0], new_items[0], r_old, r_new, f"{where}[]", problems, depth + 1)


def _request_fields(old: Any, new: Any, r_old: _Resolver, r_new: _Resolver, where: str,
                    problems: list[str], depth: int = 0) -> None:
    """No new required input, and whatever the old client could send is still accepted."""
    if depth > 12:
        return
    old_v, new_v = _variants(old, r_old), _variants(new, r_new)
    old_req = set().union(*(set(v.get("required", [])) for v in old_v)) if old_v else set()
    new_props: dict[str, Any] = {}
    old_props: dict[str, Any] = {}
    for v in old_v:
        old_props.update(v.get("properties", {}))
    for v in new_v:
        new_props.update(v.get("properties", {}))
        for name in v.get("required", []):
            if name not in old_req:
                problems.append(f"{where}.{name}: newly required in the request")
    for name, sub in old_props.items():
        if name in new_props:
            _request_fields(sub, new_props[name], r_old, r_new, f"{where}.{name}", problems, depth + 1)
        elif any(v.get("additionalProperties") is False for v in new_v):
            problems.append(f"{where}.{name}: no longer accepted in the request")
    old_enum = {x for v in old_v for x in v.get("enum", [])}
    new_enum = {x for v in new_v for x in v.get("enum", [])}
    if old_enum and new_enum and old_enum - new_enum:
        problems.append(f"{where}: values {sorted(map(str, old_enum - new_enum))} no longer accepted")


def _json(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if not content:
        return None
    for media, body in content.items():
        if "json" in media:
            return body.get("schema")
    return None


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    r_old, r_new = _Resolver(old), _Resolver(new)
    problems: list[str] = []
    new_ops = _ops(new)
    for op_id, (path, method, op) in _ops(old).items():
        if op_id not in new_ops:
            problems.append(f"{op_id} ({method.upper()} {path}): operation removed or renamed")
            continue
        n_path, n_method, n_op = new_ops[op_id]
        if (n_path, n_method) != (path, method):
            problems.append(f"{op_id}: moved from {method.upper()} {path} to {n_method.upper()} {n_path}")
        # Success answers: every field kept.
        for status, resp in op.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            n_resp = n_op.get("responses", {}).get(status)
            if n_resp is None:
                problems.append(f"{op_id}: answer {status} removed")
                continue
            o_schema, n_schema = _json(resp.get("content")), _json(n_resp.get("content"))
            if o_schema is not None:
                if n_schema is None:
                    problems.append(f"{op_id} {status}: JSON answer removed")
                else:
                    _answer_fields(o_schema, n_schema, r_old, r_new, f"{op_id} {status}", problems)
        # Parameters: none newly required, none gone that the client sends.
        o_params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
        n_keys = {(p["in"], p["name"]) for p in n_op.get("parameters", [])}
        for where, name in sorted(set(o_params) - n_keys):
            problems.append(f"{op_id}: parameter {name} ({where}) removed (a client sending it is ignored)")
        for p in n_op.get("parameters", []):
            key = (p["in"], p["name"])
            if p.get("required") and not o_params.get(key, {}).get("required"):
                problems.append(f"{op_id}: parameter {p['name']} ({p['in']}) newly required")
            if key in o_params:
                _request_fields(o_params[key].get("schema", {}), p.get("schema", {}), r_old, r_new,
                                f"{op_id} parameter {p['name']}", problems)
        # Request body.
        o_body, n_body = op.get("requestBody"), n_op.get("requestBody")
        if n_body and n_body.get("required") and not (o_body and o_body.get("required")):
            problems.append(f"{op_id}: request body newly required")
        if o_body and n_body:
            o_schema, n_schema = _json(o_body.get("content")), _json(n_body.get("content"))
            if o_schema is not None and n_schema is not None:
                _request_fields(o_schema, n_schema, r_old, r_new, f"{op_id} body", problems)
    return problems
