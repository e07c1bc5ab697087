"""Cost of FastAPI's route selection alone, with and without app/routing_index.py:
``python -m bench.route_match [-n 20000]``. No database, no handler: only the top-level loop
(``route.matches`` over ``app.router.routes``) and the chosen included router's own ``_match``."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("YOUTH_ENV", "test")

from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from app import routing_index
from app.main import create_app

PATHS = [("POST", "/api/v1/events/7/registrations"), ("POST", "/api/v1/counselling/bookings"),
         ("GET", "/api/v1/me"), ("GET", "/healthz"), ("POST", "/api/v1/auth/login"), ("GET", "/nowhere")]


def select(app: Any, method: str, path: str) -> Any:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            if isinstance(route, _IncludedRouter):
                return route._match(scope)[2]
            return route
    return None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=20000)
    n = p.parse_args().n
    indexed = create_app(start_standin=False)
    install, routing_index.install = routing_index.install, lambda app: None
    plain = create_app(start_standin=False)
    routing_index.install = install
    print("| request | plain µs | indexed µs |")
    print("|---|---|---|")
    for method, path in PATHS:
        assert getattr(select(plain, method, path), "path", None) == getattr(select(indexed, method, path), "path", None)
        row = []
        for app in (plain, indexed):
            for _ in range(n // 10):
                select(app, method, path)
            t = time.process_time()
            for _ in range(n):
                select(app, method, path)
            row.append(1e6 * (time.process_time() - t) / n)
        print(f"| {method} {path} | {row[0]:.1f} | {row[1]:.1f} |")


if __name__ == "__main__":
    main()
