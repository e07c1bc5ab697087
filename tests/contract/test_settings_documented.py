"""Every setting is in the README's configuration table, with the default the code has, so a rule's
number (a notice period, a threshold) cannot hide in the code."""

from __future__ import annotations

import re
from typing import Any

from app.config import SECTIONS, Settings
from app.contract import ROOT


def _settings() -> dict[str, Any]:
    from app.services import load_all

    load_all()  # every service's ServiceSettings registers itself in SECTIONS on import
    out: dict[str, Any] = {}
    for cls in (Settings, *SECTIONS):
        for name, info in cls.model_fields.items():
            out[f"YOUTH_{name.upper()}"] = info.get_default(call_default_factory=True)
    return out


def _table() -> dict[str, str]:
    """README variable -> its row's default cell."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration"):]
    section = section[:section.index("\n## ", 5)]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and "YOUTH_" in cells[0]:
            for var in re.findall(r"`(YOUTH_[A-Z0-9_]+)`", cells[0]):
                rows[var] = cells[1]
    return rows


def test_every_setting_is_in_the_readme_and_nothing_else() -> None:
    settings, table = _settings(), _table()
    missing, unknown = sorted(set(settings) - set(table)), sorted(set(table) - set(settings))
    assert not missing, f"add these to the README's configuration table: {missing}"
    assert not unknown, f"the README's configuration table names settings the code does not have: {unknown}"


def test_the_readme_shows_each_numeric_default() -> None:
    table = _table()
    wrong = []
    for var, default in _settings().items():
        if isinstance(default, bool) or not isinstance(default, int | float):
            continue
        shown = str(default) if isinstance(default, int) else f"{default:g}"
        if not re.search(rf"(?<![\d.]){re.escape(shown)}(?![\d.])", table[var].replace(",", " ")):
            wrong.append(f"{var}: the code's default is {shown}, the README says {table[var]}")
    assert not wrong, "\n".join(wrong)
