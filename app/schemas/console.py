"""The staff console's dashboards as JSON (``GET /api/v1/staff/stats/{name}``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A count of people below the console's minimum cell (YOUTH_CONSOLE_MIN_CELL) is shown as this text.
Cell = int | str

_EXAMPLE: dict[str, Any] = {
    "name": "youth", "title": "注册青年（年龄段×区县）", "unit": "人", "chart": "bar",
    "filters": {"date_from": "2026-09-08", "date_to": "2026-11-30", "district": None},
    "row_label": "年龄段", "columns": ["五华区", "盘龙区"],
    "rows": [{"label": "18-24", "cells": [120, 45], "total": 165},
             {"label": "25-29", "cells": [86, 31], "total": 117}],
    "column_totals": [206, 76], "total": 282, "suppressed_below": 10,
    "notes": ["年龄按2026-11-30计算；只计已填写出生日期（实名）的青年。"],
}


def dashboard_enum() -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` listing the registered dashboards, read when the document is built (by then
    every service has registered its own with ``app.services.console.stats.dashboard``)."""

    def add(schema: dict[str, Any]) -> None:
        from app.services.console.stats import DASHBOARDS

        schema["enum"] = sorted(DASHBOARDS)
        schema["description"] = "报表名称：" + "；".join(f"`{n}` {DASHBOARDS[n].title}" for n in sorted(DASHBOARDS))

    return add


class DashboardFilters(BaseModel):
    date_from: date = Field(description="统计起始日期（含），上海时间")
    date_to: date = Field(description="统计截止日期（含），上海时间")
    district: str | None = Field(description="只统计这个区县；为空为全市")


class DashboardRow(BaseModel):
    label: str = Field(description="这一行的名称（如年龄段、周、区县）")
    cells: list[Cell] = Field(description="这一行各列的数值，与 `columns` 一一对应；人数不足最小单元格时为文字，如 `\"<10\"`")
    total: Cell = Field(description="这一行的合计（同样可能为 `\"<10\"`）")


class DashboardPublic(BaseModel):
    """A table of counts with row and column totals; counts of people pass through the small-cell rule."""

    model_config = ConfigDict(json_schema_extra={"example": _EXAMPLE})

    name: str = Field(description="报表名称（英文，稳定）")
    title: str = Field(description="报表的中文标题")
    unit: str = Field(description="数值的单位，如“人”“人次”“个”")
    chart: Literal["bar", "line"] = Field(description="工作台所画的图：`bar` 柱状图、`line` 折线图")
    filters: DashboardFilters = Field(description="实际采用的筛选条件（含默认值）")
    row_label: str = Field(description="行的含义，如“年龄段”“周”")
    columns: list[str] = Field(description="各列的名称")
    rows: list[DashboardRow] = Field(description="各行的数值与合计")
    column_totals: list[Cell] = Field(description="各列的合计，与 `columns` 一一对应")
    total: Cell = Field(description="全部合计")
    suppressed_below: int | None = Field(
        description="人数少于此数的单元格显示为 `\"<N\"`（并隐藏能推算出它的其他单元格）；计数对象不是人时为空")
    notes: list[str] = Field(description="报表的说明（统计口径等）")
