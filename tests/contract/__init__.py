"""The API contract as the mini-program team meets it: ids, errors, examples, compatibility, docs."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def app_and_spec() -> tuple[Any, dict[str, Any]]:
    from app.main import create_app

    app = create_app(start_standin=False)
    return app, app.openapi()


def spec() -> dict[str, Any]:
    return app_and_spec()[1]
