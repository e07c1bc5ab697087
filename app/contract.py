"""The API contract: operation ids, the errors each operation answers, and the OpenAPI document.

What a front end generates its client from is built here from the code itself, never written twice:

- **Operation ids** are ``<service>_<verb>``, made from the route function's name (``operation_id``):
  ``sign_up`` in ``routers/events.py`` is ``events_sign_up``; a function whose name already starts with
  its service (or one of the router's aliases, ``me_`` or ``identity_`` in ``routers/profile.py``) keeps it.
- **Errors** are declared where they are raised: a route says ``@raises(HousingFull, NotFound)`` for
  what its service call raises, a dependency carries its own (the principal dependencies answer 401/403,
  a rate limit 429, the session 503), and a route's parameters add 422. ``x-errors`` on each operation,
  its responses (status, Chinese message, an example per code) and ``docs/errors.md`` all come from that
  and from the catalogue (``app.errors.CATALOGUE``).
- **Security** is what the dependencies require: a route that works without a token says so.

``python -m app.contract`` writes ``docs/openapi.json`` (the snapshot the compatibility test compares
with) and ``docs/errors.md``; ``make spec`` runs it.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from app import errors
from app.errors import AppError

F = TypeVar("F", bound=Callable[..., Any])

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "docs" / "openapi.json"
ERRORS_PAGE = ROOT / "docs" / "errors.md"

# Router modules whose operations may also be named after a narrower service than the module's.
ALIASES: dict[str, frozenset[str]] = {
    "profile": frozenset({"me", "identity"}),
    "main": frozenset({"health", "metrics"}),
}


def raises(*errs: type[AppError]) -> Callable[[F], F]:
    """Declare the errors a route (or a dependency) answers beyond those of its dependencies; put it
    under the route decorator. ``@raises()`` says: nothing of its own."""

    def mark(fn: F) -> F:
        fn.__raises__ = (*getattr(fn, "__raises__", ()), *errs)  # type: ignore[attr-defined]
        return fn

    return mark


def service_of(route: Any) -> str:
    return route.endpoint.__module__.rsplit(".", 1)[-1]


def operation_id(route: Any) -> str:
    """FastAPI's ``generate_unique_id_function``: ``<service>_<function name>``."""
    service = service_of(route)
    name: str = route.name
    for prefix in (service, *sorted(ALIASES.get(service, ()))):
        if name.startswith(prefix + "_"):
            return name
    return f"{service}_{name}"


# --- which errors an operation answers -------------------------------------------------------------

def _walk(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _calls(route: Any) -> Iterator[Callable[..., Any]]:
    for dep in _walk(route.dependant):
        if dep.call is not None:
            yield dep.call


def declared(route: Any) -> bool:
    """The route function itself says what it raises (``@raises``)."""
    return hasattr(route.endpoint, "__raises__")


def errors_of(route: Any) -> list[type[AppError]]:
    """Every error the route can answer, by status then code."""
    found: dict[str, type[AppError]] = {}

    def add(items: Iterable[type[AppError]]) -> None:
        for cls in items:
            found.setdefault(cls.code, cls)

    for call in _calls(route):
        add(getattr(call, "__raises__", ()))
    deps = list(_walk(route.dependant))
    params = [p for d in deps for p in (*d.path_params, *d.query_params, *d.header_params, *d.cookie_params)]
    has_body = any(d.body_params for d in deps)
    if params or has_body:
        add([errors.ValidationFailed])
    if has_body:
        # A body that is not text (invalid UTF-8) or nested too deep is refused before any validation.
        add([errors.BadRequest, errors.PayloadTooLarge])
    if any(p.name == "cursor" for p in params):
        add([errors.InvalidCursor])
    return sorted(found.values(), key=lambda c: (c.status_code, c.code))


def example_body(cls: type[AppError]) -> dict[str, Any]:
    body: dict[str, Any] = {"code": cls.code, "message": cls.message}
    if cls is errors.ValidationFailed:
        body["fields"] = {"name": "必填"}
    return body


def _error_responses(errs: list[type[AppError]]) -> dict[str, Any]:
    by_status: dict[int, list[type[AppError]]] = {}
    for cls in errs:
        by_status.setdefault(cls.status_code, []).append(cls)
    out: dict[str, Any] = {}
    for status, classes in sorted(by_status.items()):
        out[str(status)] = {
            "description": "；".join(f"`{c.code}` {c.message}" for c in classes),
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "examples": {c.code: {"summary": c.message, "value": example_body(c)} for c in classes},
            }},
        }
    return out


UNDECLARED_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429, 503)


# --- who may call it -------------------------------------------------------------------------------

def _security(route: Any) -> list[dict[str, list[str]]]:
    from app import deps

    calls = set(_calls(route))
    if deps.current_principal in calls or deps.youth_claims in calls:
        return [{"HTTPBearer": []}]
    if deps.optional_principal in calls:
        return [{}, {"HTTPBearer": []}]  # works without a token; with one the answer is personal
    return []


# --- the document ----------------------------------------------------------------------------------

ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ErrorBody",
    "description": "每个错误的回答：稳定的英文错误码、给人看的中文提示，以及（填写有误时）各字段的问题。"
                   "错误码一览见 docs/errors.md。",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "稳定的英文错误码，前端据此判断", "examples": ["NOT_FOUND"]},
        "message": {"type": "string", "description": "中文提示，可直接展示给用户", "examples": ["找不到该内容，可能已被删除"]},
        "fields": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "null"}],
                   "description": "填写有误的字段及原因（仅 VALIDATION_ERROR）"},
    },
    "example": {"code": "VALIDATION_ERROR", "message": "填写的信息有误，请检查标出的项目", "fields": {"name": "必填"}},
}

# Pydantic leaves constraints it cannot map (a ``Path(ge=1)`` on a type with a BeforeValidator) under
# their Python names, which no OpenAPI tool understands.
_CONSTRAINTS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _normalise(node: Any) -> None:
    if isinstance(node, dict):
        if "type" in node:
            for py, js in _CONSTRAINTS.items():
                if py in node and js not in node and isinstance(node[py], int | float):
                    node[js] = node.pop(py)
        for value in node.values():
            _normalise(value)
    elif isinstance(node, list):
        for value in node:
            _normalise(value)


# --- examples keep their nulls ---------------------------------------------------------------------

_EXAMPLE_KEYS = ("example", "examples")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _raw_schemas(app: Any) -> dict[str, Any]:
    """The component schemas as pydantic makes them, before FastAPI's final encoding drops every
    ``None`` in the document (``exclude_none``), the nulls of examples included. Same fields and names
    as the document's own (FastAPI's functions, the app's setting)."""
    from fastapi.openapi.utils import (
        get_definitions,
        get_fields_from_routes,
        get_flat_models_from_fields,
        get_model_name_map,
    )

    fields = get_fields_from_routes(list(app.routes))
    names = get_model_name_map(get_flat_models_from_fields(fields, known_models=set()))
    _, definitions = get_definitions(fields=fields, model_name_map=names,
                                     separate_input_output_schemas=app.separate_input_output_schemas)
    return definitions


def _restore_examples(raw: Any, done: Any) -> None:
    """Copy ``example``/``examples`` from the pydantic schema ``raw`` onto the document's ``done``,
    walking only where JSON Schema has subschemas (a field may be called ``examples`` too)."""
    if not isinstance(raw, dict) or not isinstance(done, dict):
        return
    from fastapi.encoders import jsonable_encoder

    for key in _EXAMPLE_KEYS:
        if raw.get(key) is not None:
            done[key] = jsonable_encoder(raw[key])
    for key in _SCHEMA_MAPS:
        if isinstance(raw.get(key), dict) and isinstance(done.get(key), dict):
            for name, sub in raw[key].items():
                _restore_examples(sub, done[key].get(name))
    for key in _SCHEMA_ONE:
        _restore_examples(raw.get(key), done.get(key))
    for key in _SCHEMA_LISTS:
        if isinstance(raw.get(key), list) and isinstance(done.get(key), list):
            for sub_raw, sub_done in zip(raw[key], done[key], strict=False):
                _restore_examples(sub_raw, sub_done)


def api_routes(app: Any) -> Iterator[Any]:
    from fastapi.routing import iter_route_contexts

    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is not None and getattr(route, "include_in_schema", False):
            yield route


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                yield path, method, op


def finish(app: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document, made truthful: errors, security, constraints, examples with their nulls."""
    by_id = {(r.operation_id or r.unique_id): r for r in api_routes(app)}
    for _path, _method, op in operations(spec):
        route = by_id[op["operationId"]]
        errs = errors_of(route)
        responses = {k: v for k, v in op.get("responses", {}).items() if not k.startswith(("4", "5"))}
        responses.update(_error_responses(errs))
        if not declared(route):
            # Not documented yet (tests/contract/test_documented.py lists who): the old blanket statuses,
            # so that no answer falls outside the document, marked as such.
            for status in UNDECLARED_STATUSES:
                responses.setdefault(str(status), {
                    "description": "（该接口尚未声明具体错误码）",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                })
        op["responses"] = dict(sorted(responses.items()))
        op["x-errors"] = [c.code for c in errs]
        # Said explicitly, also when empty: a public operation needs no token.
        op["security"] = _security(route)
    spec["servers"] = [{"url": "/", "description": "本服务（相对地址）"}]
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, raw in _raw_schemas(app).items():
        _restore_examples(raw, schemas.get(name))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["ErrorBody"] = copy.deepcopy(ERROR_BODY_SCHEMA)
    _normalise(spec)
    return spec


def install(app: Any) -> None:
    """Serve the finished document at /openapi.json (built once per set of routes)."""
    original = app.openapi
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        base = original()
        if cache.get("base") is not base:
            cache["base"], cache["spec"] = base, finish(app, copy.deepcopy(base))
        return cache["spec"]

    app.openapi = openapi


# --- what operations really answer (tests) -----------------------------------------------------------

# Not a contract: a 500 is a bug, found by the test that meets it, never declared.
NEVER_DECLARED = frozenset({errors.InternalError.code})

# (method, route template) -> (the route, the error codes it answered). Filled by AnswerRecorder.
Answered = dict[tuple[str, str], tuple[Any, set[str]]]
ANSWERED: Answered = {}


class AnswerRecorder:
    """ASGI middleware, installed only under ``YOUTH_ENV=test`` (app.main): notes the error code of every
    JSON error answer with the route that gave it, so that the test session can compare what operations
    really answer with what they declare (``undeclared_answers``; tests/conftest.py fails the run)."""

    def __init__(self, app: Any, store: Answered | None = None) -> None:
        self.app = app
        self.store = ANSWERED if store is None else store

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, is_json, body = 0, False, bytearray()

        async def watch(message: Any) -> None:
            nonlocal status, is_json
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                is_json = content_type.startswith(b"application/json")
            elif message["type"] == "http.response.body" and status >= 400 and is_json:
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = scope.get("route")
            if status >= 400 and body and route is not None:
                try:
                    code = json.loads(bytes(body)).get("code")
                except (ValueError, AttributeError):
                    code = None
                if isinstance(code, str):
                    key = (scope.get("method", ""), getattr(route, "path", ""))
                    self.store.setdefault(key, (route, set()))[1].add(code)


def undeclared_answers(answered: Answered | None = None) -> list[str]:
    """Every (operation, code) that was answered but is not among the operation's errors (its own
    ``@raises`` and what its dependencies and parameters add). Only operations in the document that
    declare their errors are held to it; an operation never called is not checked."""
    out = []
    for (method, path), (route, codes) in sorted((answered if answered is not None else ANSWERED).items()):
        if not getattr(route, "include_in_schema", False) or getattr(route, "dependant", None) is None:
            continue
        if not declared(route) or method not in (getattr(route, "methods", None) or ()):
            continue  # a method the path does not have (405) is the router's answer, not an operation's
        allowed = {c.code for c in errors_of(route)} | NEVER_DECLARED
        for code in sorted(codes - allowed):
            out.append(f"{method} {path} ({route.operation_id or operation_id(route)}) answered {code}, "
                       f"which it does not declare")
    return out


# --- docs/errors.md ---------------------------------------------------------------------------------

def _owner(cls: type[AppError]) -> str:
    module = cls.__module__
    if module.startswith("app.services."):
        return module.split(".")[2]
    return "platform"


def errors_page(spec: dict[str, Any]) -> str:
    """Every error code: status, message, where it is defined, and the operations that answer it."""
    used: dict[str, list[str]] = {}
    for _path, _method, op in operations(spec):
        for code in op.get("x-errors", []):
            used.setdefault(code, []).append(op["operationId"])
    lines = [
        "# 错误码 / Error codes",
        "",
        "Generated by `make spec` from the error catalogue (`app/errors.py`, `app/services/*/errors.py`) and",
        "the errors each route declares; `tests/contract/test_openapi.py` fails when this page is stale.",
        "",
        "Every error answers `{\"code\", \"message\"[, \"fields\"]}`: `code` is stable (the front end decides",
        "on it), `message` is Chinese and may be shown as it is. A request that answers an error has changed",
        "nothing. 429 and 503 answers carry `Retry-After`. Each operation lists its own codes in `x-errors`",
        "and in its responses (`/docs`).",
        "",
    ]
    by_owner: dict[str, list[type[AppError]]] = {}
    for cls in errors.CATALOGUE.values():
        by_owner.setdefault(_owner(cls), []).append(cls)
    for owner in sorted(by_owner, key=lambda o: (o != "platform", o)):
        lines += [f"## {owner}", "", "| code | HTTP | message | operations |", "|---|---:|---|---|"]
        for cls in sorted(by_owner[owner], key=lambda c: c.code):
            ops = used.get(cls.code, [])
            shown = ", ".join(f"`{o}`" for o in sorted(ops)) if len(ops) <= 12 else f"{len(ops)} operations"
            lines.append(f"| `{cls.code}` | {cls.status_code} | {cls.message} | {shown or '—'} |")
        lines.append("")
    return "\n".join(lines)


def build_spec() -> dict[str, Any]:
    from app.main import create_app

    return create_app(start_standin=False).openapi()


def dump(spec: dict[str, Any]) -> str:
    return json.dumps(spec, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """``python -m app.contract``: write the snapshot and the error page (``--check``: only compare;
    ``--stdout``: print the document, as /openapi.json serves it)."""
    spec = build_spec()
    if "--stdout" in argv:
        sys.stdout.write(dump(spec))
        return 0
    targets = {SNAPSHOT: dump(spec), ERRORS_PAGE: errors_page(spec)}
    if "--check" in argv:
        stale = [str(p.relative_to(ROOT)) for p, text in targets.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"{p} is stale: run `make spec`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in targets.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
