"""Legacy cursor helpers, being replaced by app.kit.pagination (``keyset``); ``Page`` is the kit's."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from app import errors
from app.kit.pagination import MAX_LIMIT, Page

__all__ = ["MAX_LIMIT", "Page", "decode_cursor", "encode_cursor"]


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *keys: str, text: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The cursor's values, each of a shape SQL can take; ``text`` names keys that must be strings."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidCursor()
    if not isinstance(values, dict) or any(k not in values for k in keys):
        raise errors.InvalidCursor()
    # Services use the values directly in SQL: check their shapes here, once for every listing.
    for key, value in values.items():
        if key in ("id", "i"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif key == "t":
            ok = isinstance(value, str) and _is_datetime(value)
        else:
            ok = value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))
        if not ok or (key in text and not isinstance(value, str)):
            raise errors.InvalidCursor()
    return values


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
