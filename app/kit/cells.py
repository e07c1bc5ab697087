"""Small-cell suppression for published counts of people (dashboards, exports).

A table of counts with its row totals, column totals and grand total. Primary suppression hides every
cell (totals included) counting 1 to ``threshold - 1`` people. Secondary suppression then makes sure
no hidden cell can be worked out from a total: in every row and every column (each with its total as
one more member of the equation "cells = total"), and in the row of column totals and the column of
row totals (with the grand total), a line with exactly one hidden member gets a second one hidden —
its smallest shown positive member — and this repeats until no line has exactly one. Zeros are shown
(a zero says nobody, and hiding it protects nothing). This is the usual rule of statistics offices
(hide 1–9, and whatever would let them be recovered from the margins); it does not solve the general
linear-audit problem across many tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HIDDEN = None


@dataclass(frozen=True)
class Suppressed:
    """The table as it may be shown: ``None`` where a count is hidden."""

    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None

    def label(self, value: int | None, threshold: int) -> int | str:
        return f"<{threshold}" if value is None else value


def suppress(cells: Sequence[Sequence[int]], threshold: int = 10) -> Suppressed:
    rows = len(cells)
    cols = len(cells[0]) if rows else 0
    # Every member of the table, by position: (r, c) a cell, (r, cols) a row total, (rows, c) a column
    # total, (rows, cols) the grand total. Lines are the equations that tie them together.
    value: dict[tuple[int, int], int] = {}
    for r in range(rows):
        for c in range(cols):
            value[(r, c)] = int(cells[r][c])
        value[(r, cols)] = sum(int(x) for x in cells[r])
    for c in range(cols):
        value[(rows, c)] = sum(int(cells[r][c]) for r in range(rows))
    value[(rows, cols)] = sum(value[(r, cols)] for r in range(rows))
    lines = [[(r, c) for c in range(cols + 1)] for r in range(rows + 1)]
    lines += [[(r, c) for r in range(rows + 1)] for c in range(cols + 1)]
    hidden = {pos for pos, v in value.items() if 0 < v < threshold}
    changed = True
    while changed:
        changed = False
        for line in lines:
            if len(line) < 2:
                continue
            if sum(pos in hidden for pos in line) != 1:
                continue
            shown = [pos for pos in line if pos not in hidden and value[pos] > 0]
            if not shown:
                # The others are all zero: the hidden member equals its total, which is hidden too
                # unless the total is the hidden member (then the cells say nothing on their own).
                continue
            hidden.add(min(shown, key=lambda pos: (value[pos], pos)))
            changed = True

    def show(pos: tuple[int, int]) -> int | None:
        return HIDDEN if pos in hidden else value[pos]

    return Suppressed(
        cells=[[show((r, c)) for c in range(cols)] for r in range(rows)],
        row_totals=[show((r, cols)) for r in range(rows)],
        column_totals=[show((rows, c)) for c in range(cols)],
        total=show((rows, cols)),
    )
