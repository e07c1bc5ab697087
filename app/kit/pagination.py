"""Keyset pagination: one function for every listing, one cursor format, one validation.

A listing is a SELECT and its order, given as ``Key``s: each names a cursor field, the SQL expression
it orders by, the Python type of its values and its direction. The last key must make the order total
(an id). ``keyset`` adds the key columns to the statement, applies the cursor as a lexicographic
"after this row" condition (mixed directions allowed), reads ``limit + 1`` rows and returns the page
and the next cursor. Cursors are opaque base64url JSON ``{"o": order, "v": [values]}``: ``o`` names
the order (its keys, directions and the listing's own ``tag``), so a cursor from another listing or
another sort is refused, and each value is checked against its key's type before it reaches SQL.

Keys must not be NULL (wrap nullable columns in ``coalesce``). Where the database can only
over-approximate a filter (a radius around a point is a box in SQL), ``accept`` drops rows in Python
and ``keyset`` reads further batches until the page is full, continuing from the last row it read.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.engine import Row

from app import errors

T = TypeVar("T")

MAX_LIMIT = 100
MAX_ID = 2**63 - 1
_MAX_TEXT = 200


class Page(BaseModel, Generic[T]):
    """Every list answer is one of these: a page of items and where the next one starts."""

    items: list[T] = Field(description="这一页的条目")
    next_cursor: str | None = Field(default=None, description="下一页的 `cursor`；为空表示没有更多")


@dataclass(frozen=True)
class Key:
    """One column of a keyset order: cursor field ``name``, SQL ``expr``, value ``type``, direction."""

    name: str
    expr: Any
    type: type = int
    desc: bool = False

    def encode(self, value: Any) -> Any:
        if value is None:
            raise ValueError(f"keyset key {self.name} is NULL; wrap it in coalesce()")
        if self.type is datetime:
            return _aware(value).isoformat()
        if self.type is date:
            return (value if isinstance(value, date) else date.fromisoformat(value)).isoformat()
        if self.type is float:
            return float(value)
        return value

    def decode(self, raw: Any) -> Any:
        """The cursor's value for this key, or InvalidCursor: it is used directly in SQL."""
        try:
            if self.type is int:
                if type(raw) is int and -MAX_ID <= raw <= MAX_ID:
                    return raw
            elif self.type is float:
                if type(raw) in (int, float) and math.isfinite(raw):
                    return float(raw)
            elif self.type is str:
                if isinstance(raw, str) and len(raw) <= _MAX_TEXT:
                    return raw
            elif self.type is datetime:
                if isinstance(raw, str):
                    at = datetime.fromisoformat(raw)
                    if at.tzinfo is not None:
                        return at.astimezone(UTC)
            elif self.type is date:
                if isinstance(raw, str):
                    return date.fromisoformat(raw)
        except (ValueError, OverflowError):
            pass
        raise errors.InvalidCursor()


def _aware(value: Any) -> datetime:
    # SQLite hands back computed expressions (coalesce, union columns) as text or naive values.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _signature(order: Sequence[Key], tag: str) -> str:
    return tag + ":" + ",".join(f"{k.name}{'-' if k.desc else '+'}" for k in order)


def encode_cursor(order: Sequence[Key], values: Sequence[Any], *, tag: str = "") -> str:
    payload = {"o": _signature(order, tag), "v": [k.encode(v) for k, v in zip(order, values, strict=True)]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(order: Sequence[Key], cursor: str | None, *, tag: str = "") -> list[Any] | None:
    """The typed values of ``cursor`` for ``order``; None for the first page; InvalidCursor otherwise."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.InvalidCursor()
    if (not isinstance(payload, dict) or payload.get("o") != _signature(order, tag)
            or not isinstance(payload.get("v"), list) or len(payload["v"]) != len(order)):
        raise errors.InvalidCursor()
    return [k.decode(v) for k, v in zip(order, payload["v"], strict=True)]


def after(order: Sequence[Key], values: Sequence[Any]) -> Any:
    """SQL: the row comes after ``values`` in ``order`` (lexicographic, per-key direction)."""
    terms = []
    for i, key in enumerate(order):
        equal = [k.expr == v for k, v in zip(order[:i], values[:i], strict=True)]
        beyond = key.expr < values[i] if key.desc else key.expr > values[i]
        terms.append(and_(*equal, beyond))
    return or_(*terms)


def ordering(order: Sequence[Key]) -> list[Any]:
    return [k.expr.desc() if k.desc else k.expr.asc() for k in order]


@dataclass
class Slice:
    """A page of rows (the statement's columns, then the keys' as ``_k0``…) and the next cursor."""

    rows: list[Row[Any]]
    next_cursor: str | None

    def page(self, item: Callable[[Row[Any]], T]) -> Page[T]:
        return Page(items=[item(r) for r in self.rows], next_cursor=self.next_cursor)

    def first(self) -> list[Any]:
        """The first column of each row (the entity of ``select(Model)``)."""
        return [r[0] for r in self.rows]


async def keyset(
    db: Any, stmt: Select[Any], order: Sequence[Key], *, cursor: str | None, limit: int, tag: str = "",
    accept: Callable[[Row[Any]], bool] | None = None, slack: int = 0, max_rounds: int = 20,
) -> Slice:
    """Read one page of ``stmt`` in ``order`` after ``cursor``. ``db`` is a session or a connection.
    ``accept`` filters rows in Python (the page is filled from further batches, ``slack`` extra rows
    each); ``tag`` tells apart listings whose orders would otherwise look the same."""
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.ValidationFailed(fields={"limit": f"每页条数应在 1 到 {MAX_LIMIT} 之间"})
    mark = decode_cursor(order, cursor, tag=tag)
    n = len(order)
    stmt = stmt.add_columns(*(k.expr.label(f"_k{i}") for i, k in enumerate(order))).order_by(*ordering(order))
    batch = limit + 1 + (slack if accept else 0)
    picked: list[Row[Any]] = []
    for _ in range(max_rounds if accept else 1):
        query = stmt.where(after(order, mark)) if mark is not None else stmt
        rows = (await db.execute(query.limit(batch))).all()
        picked += [r for r in rows if accept(r)] if accept else rows
        if len(picked) > limit or len(rows) < batch:
            break
        mark = [_key_value(order[i], rows[-1][i - n]) for i in range(n)]
    nxt = None
    if len(picked) > limit:
        last = picked[limit - 1]
        nxt = encode_cursor(order, [last[i - n] for i in range(n)], tag=tag)
    return Slice(picked[:limit], nxt)


def _key_value(key: Key, value: Any) -> Any:
    return _aware(value) if key.type is datetime else value
