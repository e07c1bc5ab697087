"""CSV exports: streamed, UTF-8 with a BOM (Excel opens Chinese correctly only with it), a Chinese
header row, and every cell guarded against formula injection.

A service checks access, writes its audit row and returns a ``CsvExport``; the router answers
``response(export)``. Rows are an iterable, or an async iterable such as ``batched(...)``, which reads
the rows in keyset batches on short sessions of its own *after* the request's transaction has
committed — a large export never holds the request's connection (or SQLite's write lock) while the
client downloads it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Select
from starlette.responses import StreamingResponse

from app.kit.pagination import Key, after, ordering
from app.kit.time import display

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a cell: datetimes in Shanghai time, booleans as 是/否, and a cell that starts like a
    formula prefixed with an apostrophe (it would run in a spreadsheet: CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, datetime):
        text = display(value, "%Y-%m-%d %H:%M")
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass
class CsvExport:
    filename: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]]


def _line(values: Sequence[Any]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow([cell(v) for v in values])
    return buf.getvalue().encode("utf-8")


async def encode(export: CsvExport) -> AsyncIterator[bytes]:
    yield BOM.encode("utf-8") + _line(export.header)
    chunk: list[bytes] = []
    if isinstance(export.rows, AsyncIterable):
        async for row in export.rows:
            chunk.append(_line(row))
            if len(chunk) >= 200:
                yield b"".join(chunk)
                chunk = []
    else:
        for row in export.rows:
            chunk.append(_line(row))
    if chunk:
        yield b"".join(chunk)


def attachment(filename: str) -> str:
    """A Content-Disposition for a download (also used for PDFs). RFC 6266/5987: an ASCII fallback
    name and the UTF-8 one, so Chinese file names survive."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def response(export: CsvExport) -> StreamingResponse:
    return StreamingResponse(encode(export), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": attachment(export.filename), "Cache-Control": "no-store"})


async def batched(stmt: Select[Any], key: Key, convert: Callable[[Any], Sequence[Any]], *, size: int = 500
                  ) -> AsyncIterator[Sequence[Any]]:
    """The rows of ``stmt`` in ``key`` order (a unique key such as the id), ``size`` per short session."""
    from app.db import session_scope

    mark: list[Any] | None = None
    stmt = stmt.add_columns(key.expr.label("_k0")).order_by(*ordering([key]))
    while True:
        query = stmt.where(after([key], mark)) if mark is not None else stmt
        async with session_scope() as session:
            rows = (await session.execute(query.limit(size))).all()
            converted = [convert(r) for r in rows]
        for row in converted:
            yield row
        if len(rows) < size:
            return
        mark = [rows[-1][-1]]
