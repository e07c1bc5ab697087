"""Small-cell suppression (app.kit.cells): 1–9 hidden, and nothing hidden can be worked out from a
row, a column or a total."""

from __future__ import annotations

import itertools
import random

from app.kit.cells import suppress


def _lines(s):
    rows = [[*s.cells[r], s.row_totals[r]] for r in range(len(s.cells))]
    rows.append([*s.column_totals, s.total])
    cols = [list(col) for col in zip(*rows, strict=True)]
    return rows + cols


def _check(cells, threshold=10):
    s = suppress(cells, threshold)
    shown = [v for line in _lines(s) for v in line if v is not None]
    assert all(v == 0 or v >= threshold for v in shown)
    for line in _lines(s):
        assert sum(v is None for v in line) != 1, (cells, s)
    # what is shown is the truth
    for r, row in enumerate(cells):
        for c, v in enumerate(row):
            assert s.cells[r][c] in (None, v)
        assert s.row_totals[r] in (None, sum(row))
    return s


def test_one_small_cell_takes_a_second_with_it():
    s = _check([[3, 40, 50], [20, 30, 60]])
    # row 0 hides 3 and its smallest other (40); column 0 hides 3 and 20; so on until every line has 0 or ≥ 2
    assert s.cells[0][0] is None and s.cells[0][1] is None and s.cells[1][0] is None
    assert s.total == 203


def test_a_small_total_is_hidden_with_its_cells():
    s = _check([[2, 0], [0, 0]])
    assert s.cells[0][0] is None and s.row_totals[0] is None and s.total is None
    assert s.cells[0][1] == 0


def test_no_small_cells_changes_nothing():
    s = _check([[10, 20], [30, 0]])
    assert s.cells == [[10, 20], [30, 0]] and s.total == 60


def test_one_column_tables():
    s = _check([[5], [50], [60]])
    assert s.cells[0] == [None] and s.row_totals[0] is None
    assert s.cells[1] == [None]  # else 115 − 50 − 60 gives the 5
    assert s.total == 115
    _check([[0], [0]])


def test_random_tables_leave_no_line_with_one_hidden_member():
    rng = random.Random(20261201)
    for _ in range(400):
        rows, cols = rng.randint(1, 6), rng.randint(1, 6)
        cells = [[rng.choice((0, 0, rng.randint(1, 9), rng.randint(10, 80))) for _ in range(cols)]
                 for _ in range(rows)]
        _check(cells)
    for cells in itertools.product((0, 1, 12), repeat=4):
        _check([list(cells[:2]), list(cells[2:])])
