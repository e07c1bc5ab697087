"""A literal-prefix prefilter in front of FastAPI's route matching.

FastAPI (written against 0.165.0, the version in uv.lock) matches a request by asking every included
router in turn, and each included router asks every one of its routes, each by regular expression with
scope bookkeeping around it. A sign-up (``/api/v1/events/...``) is the eighth router: ~100 µs of a
request spent learning that the auth, profile, housing... routes do not match.

A route's path regex starts with its path's literal text up to the first ``{`` (Starlette's
``compile_path``), so a route cannot match — not FULL, not PARTIAL (wrong method), not a Mount — unless
the request's route path starts with that text. Skipping such candidates changes no decision: the
loops of ``APIRouter.app`` (including its redirect-slash retry, which asks ``matches`` again with the
other path) and ``_IncludedRouter._match`` act only on FULL or PARTIAL answers, and keep their order.
Anything whose matching is not a path regex we can read (Host routes, frontend groups, unknown route
types, a prefix that the regex does not begin with) gets the empty prefix, i.e. is always asked.

This touches FastAPI internals (``_IncludedRouter``), so it is kept in this one module;
``tests/api/test_routing_index.py`` pins the source of every function it relies on and fails loudly
when a FastAPI upgrade changes one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _SCOPE_MISSING,
    APIRoute,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
    _restore_fastapi_scope_key,
)
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

WRITTEN_AGAINST = "0.165.0"


def literal_prefix(path: str | None, regex: re.Pattern[str] | None) -> str:
    """What every path this route can match starts with ("" when we cannot tell)."""
    if path is None or regex is None:
        return ""
    prefix = path.split("{", 1)[0]
    # Trust the path only as far as the compiled regex agrees with it.
    return prefix if regex.pattern.startswith("^" + re.escape(prefix)) else ""


def _candidate_prefixes(candidate: Any) -> list[str]:
    if isinstance(candidate, _IncludedRouter):
        return [p for c in candidate.effective_candidates() for p in _candidate_prefixes(c)]
    if isinstance(candidate, _EffectiveRouteContext):
        if isinstance(candidate.original_route, APIRoute):
            # Matched by the context's own regex (``_EffectiveRouteContext.matches``).
            return [literal_prefix(candidate.path_format, getattr(candidate, "path_regex", None))]
        route = candidate.starlette_route
        if route is not None and not _is_host_only(route):
            return [literal_prefix(getattr(route, "path", None), getattr(route, "path_regex", None))]
    return [""]


def _is_host_only(route: BaseRoute) -> bool:
    return not hasattr(route, "path_regex")


def _minimal(prefixes: Iterable[str]) -> tuple[str, ...]:
    """The prefixes that no shorter one already covers (``str.startswith`` takes the tuple)."""
    kept: list[str] = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(kept)


class IndexedIncludedRouter(_IncludedRouter):
    """An included router that skips itself, and its routes, when no path of theirs can match."""

    _index_version: int | None = None
    _index_flat = False
    _index_all: tuple[str, ...] = ("",)
    _index_each: tuple[tuple[tuple[str, ...], Any], ...] = ()

    def _index(self) -> tuple[tuple[str, ...], tuple[tuple[tuple[str, ...], Any], ...]]:
        router = self.original_router
        # The version effective_candidates() is cached by. Summing it over nested included routers walks
        # every route (a microsecond per router per request); without nested routers it is the router's
        # own counter, which include_router/add_api_route/add_route... bump.
        version = router._routes_version if self._index_flat else router._get_routes_version()
        if version != self._index_version:
            candidates = self.effective_candidates()
            each = tuple((_minimal(_candidate_prefixes(c)) or ("",), c) for c in candidates)
            self._index_all = _minimal(p for prefixes, _ in each for p in prefixes) or ("",)
            self._index_each = each
            self._index_flat = not any(isinstance(c, _IncludedRouter) for c in candidates)
            self._index_version = version
        return self._index_all, self._index_each

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        prefixes, _ = self._index()
        if not get_route_path(scope).startswith(prefixes):
            _get_fastapi_scope(scope)  # the side effect the full answer would have had
            return Match.NONE, {}
        return super().matches(scope)

    def _match(self, scope: Scope) -> tuple[Match, Scope, BaseRoute | None, _EffectiveRouteContext | None]:
        # The loop of _IncludedRouter._match (FastAPI 0.165.0), over the candidates that can match.
        _, each = self._index()
        route_path = get_route_path(scope)
        partial: tuple[Scope, BaseRoute, _EffectiveRouteContext | None] | None = None
        for prefixes, candidate in each:
            if not route_path.startswith(prefixes):
                continue
            route_context: _EffectiveRouteContext | None
            if isinstance(candidate, _IncludedRouter):
                match, child_scope = candidate.matches(scope)
                route: BaseRoute = candidate
                route_context = None
            elif isinstance(candidate.original_route, APIRoute):
                route_context = candidate
                fastapi_scope = _get_fastapi_scope(scope)
                previous_context = fastapi_scope.get(_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, _SCOPE_MISSING)
                fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = route_context
                try:
                    match, child_scope = candidate.original_route.matches(scope)
                finally:
                    _restore_fastapi_scope_key(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, previous_context)
                route = candidate.original_route
            else:
                route_context = candidate
                match, child_scope = candidate.matches(scope)
                route = candidate.starlette_route or candidate.original_route
            if match == Match.FULL:
                return match, child_scope, route, route_context
            if match == Match.PARTIAL and partial is None:
                partial = (child_scope, route, route_context)
        if partial is not None:
            child_scope, route, route_context = partial
            return Match.PARTIAL, child_scope, route, route_context
        return Match.NONE, {}, None, None


def install(app: FastAPI) -> None:
    """Swap the app's included routers for indexed ones, before the first request."""
    routes = app.router.routes
    for i, route in enumerate(routes):
        if type(route) is _IncludedRouter:
            routes[i] = IndexedIncludedRouter(original_router=route.original_router,
                                              include_context=route.include_context)
    app.router._mark_routes_changed()
