"""Schemas shared across services."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from app import errors
from app.kit.pagination import MAX_LIMIT

# Trimmed, non-empty text; every free-text field of the API uses one of these.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]

# Names other people see (nicknames, real names, organisation names): no control characters (NUL was
# stored on SQLite and refused by PostgreSQL), no lone surrogates, and none of the bidirectional
# controls that make a name display as something else ("\u202e" turns "abc" into "cba").
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _displayable(value: str) -> str:
    for ch in value:
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError("名称中不能含有控制字符或文字方向控制符")
    return value


def display_name(max_length: int, min_length: int = 1) -> object:
    """A display name of at most ``max_length`` characters (trimmed; control characters refused)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
                     AfterValidator(_displayable)]

# Pydantic's lax mode reads a number, or text made only of digits ("12345", "20260101"), as seconds since
# 1970: a typo would close an intake or start an event at once. Every ISO 8601 date-time pydantic parses
# begins with its date, so that is what a date-time input must look like.
_STARTS_WITH_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_time_text(message: str) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, date) or (isinstance(value, str) and _STARTS_WITH_DATE.match(value)):
            return value
        raise ValueError(message)

    return BeforeValidator(check)


# Far enough for any birth date or plan, near enough that moving a day or a time zone never leaves the
# calendar Python can hold (0001-01-01 at +08:00 is in year 0 in UTC: an OverflowError, once a 500).
_FIRST_YEAR, _LAST_YEAR = 1900, 2999


def _within_years(value: date) -> date:
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise ValueError(f"日期应在 {_FIRST_YEAR} 年到 {_LAST_YEAR} 年之间")
    return value


# A moment in time; text with an offset ("Z" or "+08:00") is required.
InstantIn = Annotated[AwareDatetime, _date_time_text("请填写带时区的日期时间，例如 2026-12-31T18:00:00+08:00"),
                      AfterValidator(_within_years),
                      Field(description="ISO 8601 with an offset, e.g. 2026-12-31T18:00:00+08:00")]
# A calendar day, written YYYY-MM-DD.
DayIn = Annotated[date, _date_time_text("请填写日期，例如 2026-12-31"), AfterValidator(_within_years)]


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class StrictModel(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error instead of silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HealthOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"status": "ok"}})

    status: str = Field(description="`ok`（进程存活）或 `ready`（数据库可用）")


# The one naming of date ranges: ``date_from`` and ``date_to``, calendar days in Asia/Shanghai, both
# included (README: conventions).
DateFrom = Annotated[DayIn | None, Query(description="起始日期（含），YYYY-MM-DD，上海时间")]
DateTo = Annotated[DayIn | None, Query(description="截止日期（含），YYYY-MM-DD，上海时间")]

# The paging parameters of every list (README: conventions, every list is a page); each route gives
# its own default page size.
Cursor = Annotated[str | None, Query(max_length=200, description="上一页回答的 `next_cursor`；第一页不填")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"每页条数（1–{MAX_LIMIT}）")]


def renamed_query(new_name_of: dict[str, str]) -> Any:
    """A route dependency refusing query parameters renamed by the API conventions (issue 16), so that a
    client built on the old name gets a 422 naming the new one instead of an unfiltered answer."""
    async def refuse_old_names(request: Request) -> None:
        old = [name for name in new_name_of if name in request.query_params]
        if old:
            raise errors.ValidationFailed(
                "查询参数已改名，请更新小程序", fields={name: f"该参数已改名为 {new_name_of[name]}" for name in old})

    return Depends(refuse_old_names)
